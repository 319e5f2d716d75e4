"""Payment-due notices: an open invoice is due soon, due today or overdue, judged on the business's calendar,
and each stage is told once per invoice (the database decides: a notice row per invoice and stage)."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from membership_billing_svc.domain import events


class DueStage(enum.StrEnum):
    DUE_SOON = "due_soon"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"


def due_stage(due_date: date, today: date, soon_days: int) -> tuple[DueStage, int] | None:
    """The stage an open invoice is at ``today`` with the days until it is due (negative: overdue), or None
    while it is not due within ``soon_days``. Only the current stage is told: a notice missed while the
    worker was away is not sent late."""
    days = (due_date - today).days
    if days < 0:
        return DueStage.OVERDUE, days
    if days == 0:
        return DueStage.DUE_TODAY, 0
    if days <= soon_days:
        return DueStage.DUE_SOON, days
    return None


@dataclass
class DueNotice:
    tenant_id: uuid.UUID
    invoice_id: uuid.UUID
    stage: DueStage
    sent_at: datetime
    events: list[Any] = field(default_factory=list)

    def __hash__(self) -> int:
        return hash((self.invoice_id, self.stage))

    @classmethod
    def of(
        cls,
        tenant_id: uuid.UUID,
        invoice_id: uuid.UUID,
        *,
        client_id: uuid.UUID,
        number: int | None,
        currency: str,
        balance_minor: int,
        due_date: date,
        stage: DueStage,
        days: int,
        now: datetime,
    ) -> DueNotice:
        notice = cls(tenant_id, invoice_id, stage, now)
        notice.events.append(
            events.PaymentDue(
                tenant_id=tenant_id,
                invoice_id=invoice_id,
                client_id=client_id,
                number=number,
                currency=currency,
                balance_minor=balance_minor,
                due_date=due_date,
                stage=stage.value,
                days=days,
                occurred_at=now,
            )
        )
        return notice
