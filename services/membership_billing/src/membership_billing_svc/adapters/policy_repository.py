"""The cancellation policy in PostgreSQL: the business's rule and services' overrides with their windows, and
the policy applied once per appointment (its unique key decides between replicas and redeliveries)."""

from __future__ import annotations

import abc
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from membership_billing_svc.adapters.tables import (
    cancellation_policies,
    cancellation_windows,
    ledger_transactions,
    policy_applications,
)
from membership_billing_svc.domain.cancellation_policy import (
    CancellationPolicy,
    Outcome,
    OutcomeKind,
    PolicyApplication,
    Reason,
    RepeatNoShowRule,
    RepeatOutcome,
    Window,
)
from platform_core.ids import new_id

Executor = AsyncSession | AsyncConnection


def _outcome(kind: str, percent: int | None, fee_minor: int | None, currency: str | None) -> Outcome:
    return Outcome(OutcomeKind(kind), percent=percent, fee_minor=fee_minor, currency=currency)


def _outcome_columns(outcome: Outcome, prefix: str = "") -> dict[str, Any]:
    return {
        f"{prefix}kind": outcome.kind.value,
        f"{prefix}percent": outcome.percent,
        f"{prefix}fee_minor": outcome.fee_minor,
        f"{prefix}currency": outcome.currency,
    }


async def load_policies(
    db: Executor, tenant_id: uuid.UUID, service_ids: Sequence[uuid.UUID] | None = None
) -> tuple[CancellationPolicy | None, dict[uuid.UUID, CancellationPolicy]]:
    """The business's rule and the overrides of ``service_ids`` (every override when None)."""
    query = select(cancellation_policies).where(cancellation_policies.c.tenant_id == tenant_id)
    if service_ids is not None:
        query = query.where(
            cancellation_policies.c.service_id.is_(None) | cancellation_policies.c.service_id.in_(service_ids)
        )
    rows = (await db.execute(query)).all()
    if not rows:
        return None, {}
    window_rows = (
        await db.execute(
            select(cancellation_windows)
            .where(
                cancellation_windows.c.tenant_id == tenant_id,
                cancellation_windows.c.policy_id.in_([r.id for r in rows]),
            )
            .order_by(cancellation_windows.c.position)
        )
    ).all()
    windows: dict[uuid.UUID, list[Window]] = {r.id: [] for r in rows}
    for w in window_rows:
        windows[w.policy_id].append(
            Window(_outcome(w.kind, w.percent, w.fee_minor, w.currency), w.within_hours, w.within_days)
        )
    business = None
    services: dict[uuid.UUID, CancellationPolicy] = {}
    for r in rows:
        repeat = (
            RepeatNoShowRule(
                r.repeat_no_shows, r.repeat_period_days, r.repeat_block_days, RepeatOutcome(r.repeat_outcome)
            )
            if r.repeat_no_shows is not None
            else None
        )
        policy = CancellationPolicy(
            tenant_id,
            r.service_id,
            tuple(windows[r.id]),
            _outcome(r.no_show_kind, r.no_show_percent, r.no_show_fee_minor, r.no_show_currency),
            repeat,
            r.applies_to_staff_cancellations,
            r.updated_at,
        )
        if r.service_id is None:
            business = policy
        else:
            services[r.service_id] = policy
    return business, services


class AbstractPolicyRepository(abc.ABC):
    """The business's cancellation rules, and the appointments they were applied to (once each)."""

    def __init__(self) -> None:
        self.seen: set[PolicyApplication] = set()

    @abc.abstractmethod
    async def policies(
        self, tenant_id: uuid.UUID, service_ids: Sequence[uuid.UUID]
    ) -> tuple[CancellationPolicy | None, dict[uuid.UUID, CancellationPolicy]]:
        """The business's rule and the overrides of ``service_ids``."""

    @abc.abstractmethod
    async def replace(self, policy: CancellationPolicy) -> None:
        """The rule of its scope, replaced."""

    @abc.abstractmethod
    async def delete(self, tenant_id: uuid.UUID, service_id: uuid.UUID | None) -> bool:
        """False when the scope had no rule."""

    @abc.abstractmethod
    async def claim(self, application: PolicyApplication) -> bool:
        """Records that the policy is applied to the appointment; False when it was already (nothing to do)."""

    @abc.abstractmethod
    async def no_shows_since(self, tenant_id: uuid.UUID, client_id: uuid.UUID, since: datetime) -> int:
        """The client's no-shows of appointments starting from ``since`` (this one included once claimed)."""

    @abc.abstractmethod
    async def is_reversed(self, tenant_id: uuid.UUID, transaction_id: uuid.UUID) -> bool: ...


class SqlAlchemyPolicyRepository(AbstractPolicyRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self._session = session

    async def policies(
        self, tenant_id: uuid.UUID, service_ids: Sequence[uuid.UUID]
    ) -> tuple[CancellationPolicy | None, dict[uuid.UUID, CancellationPolicy]]:
        return await load_policies(self._session, tenant_id, service_ids)

    async def replace(self, policy: CancellationPolicy) -> None:
        """Windows go with the row they belong to."""
        await self.delete(policy.tenant_id, policy.service_id)
        policy_id = new_id()
        repeat = policy.repeat_no_shows
        await self._session.execute(
            insert(cancellation_policies).values(
                tenant_id=policy.tenant_id,
                id=policy_id,
                service_id=policy.service_id,
                repeat_no_shows=repeat.no_shows if repeat else None,
                repeat_period_days=repeat.period_days if repeat else None,
                repeat_block_days=repeat.block_days if repeat else None,
                repeat_outcome=(repeat.outcome if repeat else RepeatOutcome.BLOCK_ONLINE_BOOKING).value,
                applies_to_staff_cancellations=policy.applies_to_staff_cancellations,
                updated_at=policy.updated_at,
                **_outcome_columns(policy.no_show, "no_show_"),
            )
        )
        if policy.windows:
            await self._session.execute(
                insert(cancellation_windows),
                [
                    {
                        "tenant_id": policy.tenant_id,
                        "policy_id": policy_id,
                        "position": i,
                        "within_hours": w.within_hours,
                        "within_days": w.within_days,
                        **_outcome_columns(w.outcome),
                    }
                    for i, w in enumerate(policy.windows)
                ],
            )

    async def delete(self, tenant_id: uuid.UUID, service_id: uuid.UUID | None) -> bool:
        scope = (
            cancellation_policies.c.service_id.is_(None)
            if service_id is None
            else cancellation_policies.c.service_id == service_id
        )
        result = await self._session.execute(
            delete(cancellation_policies)
            .where(cancellation_policies.c.tenant_id == tenant_id, scope)
            .returning(cancellation_policies.c.id)
        )
        return result.first() is not None

    async def claim(self, application: PolicyApplication) -> bool:
        claimed = (
            await self._session.execute(
                pg_insert(policy_applications)
                .values(
                    tenant_id=application.tenant_id,
                    id=new_id(),
                    appointment_id=application.appointment_id,
                    client_id=application.client_id,
                    reason=application.reason.value,
                    starts_at=application.starts_at,
                    decided_at=application.decided_at,
                )
                .on_conflict_do_nothing(constraint="policy_applications_appointment")
                .returning(policy_applications.c.id)
            )
        ).first()
        if claimed is not None:
            self.seen.add(application)
        return claimed is not None

    async def no_shows_since(self, tenant_id: uuid.UUID, client_id: uuid.UUID, since: datetime) -> int:
        """Counted under a lock of the client's no-show record, so two no-shows decided at once both see each
        other (the later one blocks)."""
        await self._session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"no-shows:{tenant_id}:{client_id}"},
        )
        count = (
            await self._session.execute(
                select(func.count()).where(
                    policy_applications.c.tenant_id == tenant_id,
                    policy_applications.c.client_id == client_id,
                    policy_applications.c.reason == Reason.NO_SHOW.value,
                    policy_applications.c.starts_at >= since,
                )
            )
        ).scalar_one()
        return int(count)

    async def is_reversed(self, tenant_id: uuid.UUID, transaction_id: uuid.UUID) -> bool:
        found = (
            await self._session.execute(
                select(ledger_transactions.c.id).where(
                    ledger_transactions.c.tenant_id == tenant_id,
                    ledger_transactions.c.reverses_id == transaction_id,
                )
            )
        ).first()
        return found is not None
