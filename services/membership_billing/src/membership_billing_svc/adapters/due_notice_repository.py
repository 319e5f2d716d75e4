"""Payment-due notices in PostgreSQL: which open invoices are at a stage not told yet, claimed so replicas
share them, and the notice rows whose primary key lets each stage be told once."""

from __future__ import annotations

import abc
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from membership_billing_svc.adapters.tables import invoices, payment_due_notices
from membership_billing_svc.domain.invoices import OPEN_STATUSES, InvoiceKind
from membership_billing_svc.domain.payment_due import DueNotice, DueStage

OPEN = [s.value for s in OPEN_STATUSES]
# A business's today is at most a day from UTC's.
ZONE_SLACK = timedelta(days=1)


def _told(stage: Any) -> Any:
    return exists().where(
        payment_due_notices.c.tenant_id == invoices.c.tenant_id,
        payment_due_notices.c.invoice_id == invoices.c.id,
        payment_due_notices.c.stage == stage,
    )


def _open_standard() -> Any:
    return and_(invoices.c.status.in_(OPEN), invoices.c.kind == InvoiceKind.STANDARD.value)


class AbstractDueNoticeRepository(abc.ABC):
    """Which open invoices are at a stage not told yet, and the notices told (each stage once)."""

    def __init__(self) -> None:
        self.seen: set[DueNotice] = set()

    def add(self, notice: DueNotice) -> None:
        self.seen.add(notice)

    @abc.abstractmethod
    async def due_tenants(self, utc_today: date, soon_days: int, limit: int) -> list[uuid.UUID]:
        """Businesses with open invoices due within the notice window whose overdue stage was not told."""

    @abc.abstractmethod
    async def claim(self, tenant_id: uuid.UUID, today: date, soon_days: int, limit: int) -> list[Any]:
        """The business's open invoices at a stage not told yet (rows with id, client_id, number, currency,
        total_minor, paid_minor, due_date), locked."""

    @abc.abstractmethod
    async def save(self) -> None:
        """A notice whose stage was told already says nothing."""


class SqlAlchemyDueNoticeRepository(AbstractDueNoticeRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self._session = session

    async def due_tenants(self, utc_today: date, soon_days: int, limit: int) -> list[uuid.UUID]:
        rows = (
            await self._session.execute(
                select(invoices.c.tenant_id)
                .where(
                    _open_standard(),
                    invoices.c.due_date <= utc_today + timedelta(days=soon_days) + ZONE_SLACK,
                    ~_told(DueStage.OVERDUE.value),
                )
                .group_by(invoices.c.tenant_id)
                .limit(limit)
            )
        ).all()
        return [r.tenant_id for r in rows]

    async def claim(self, tenant_id: uuid.UUID, today: date, soon_days: int, limit: int) -> list[Any]:
        """Those another replica (or a payment) holds are skipped."""
        stage = case(
            (invoices.c.due_date < today, DueStage.OVERDUE.value),
            (invoices.c.due_date == today, DueStage.DUE_TODAY.value),
            else_=DueStage.DUE_SOON.value,
        )
        return list(
            (
                await self._session.execute(
                    select(invoices)
                    .where(
                        invoices.c.tenant_id == tenant_id,
                        _open_standard(),
                        invoices.c.due_date <= today + timedelta(days=soon_days),
                        ~_told(stage),
                    )
                    .order_by(invoices.c.due_date, invoices.c.id)
                    .limit(limit)
                    .with_for_update(of=invoices, skip_locked=True)
                )
            ).all()
        )

    async def save(self) -> None:
        # A replica that got there first told the stage: this notice's event goes nowhere.
        for notice in self.seen:
            inserted = (
                await self._session.execute(
                    insert(payment_due_notices)
                    .values(
                        tenant_id=notice.tenant_id,
                        invoice_id=notice.invoice_id,
                        stage=notice.stage.value,
                        sent_at=notice.sent_at,
                    )
                    .on_conflict_do_nothing()
                    .returning(payment_due_notices.c.invoice_id)
                )
            ).first()
            if inserted is None:
                notice.events.clear()
