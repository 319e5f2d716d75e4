"""Reminder rules (the business's and per-service overrides) and the newest known start of each appointment."""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from notification_svc.domain.reminders import Offset, QuietHours, ReminderRule


@dataclass(frozen=True)
class KnownAppointment:
    previous_staff: tuple[uuid.UUID, ...]
    follow_up_action: str


class AbstractReminderStore(abc.ABC):
    @abc.abstractmethod
    async def rules(self, tenant_id: uuid.UUID) -> list[ReminderRule]: ...

    @abc.abstractmethod
    async def set_rule(self, tenant_id: uuid.UUID, rule: ReminderRule, now: datetime) -> None: ...

    @abc.abstractmethod
    async def delete_rule(self, tenant_id: uuid.UUID, service_id: uuid.UUID | None) -> bool: ...

    @abc.abstractmethod
    async def advance(
        self,
        tenant_id: uuid.UUID,
        appointment_id: uuid.UUID,
        start: datetime,
        *,
        cancelled: bool,
        as_of: datetime,
        staff_ids: tuple[uuid.UUID, ...] = (),
        follow_up_action: str = "",
    ) -> KnownAppointment | None:
        """Record the appointment's newest start (or its cancellation), staff and follow-up action (kept
        from its booking when a later event names none); returns the staff known before (none for a new
        appointment) and its follow-up action, or None when a newer fact is known (this event is late and
        plans nothing)."""


class SqlAlchemyReminderStore(AbstractReminderStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rules(self, tenant_id: uuid.UUID) -> list[ReminderRule]:
        rows = await self.session.execute(
            text(
                "SELECT service_id, offsets, audiences, channels, quiet_start, quiet_end, sms_fallback_after "
                "FROM reminder_rules "
                "WHERE tenant_id = :t ORDER BY service_id NULLS FIRST"
            ),
            {"t": tenant_id},
        )
        return [
            ReminderRule(
                tuple(Offset.parse(o) for o in r.offsets),
                tuple(r.audiences),
                tuple(r.channels),
                QuietHours(r.quiet_start, r.quiet_end) if r.quiet_start is not None else None,
                r.service_id,
                r.sms_fallback_after,
            )
            for r in rows
        ]

    async def set_rule(self, tenant_id: uuid.UUID, rule: ReminderRule, now: datetime) -> None:
        await self.delete_rule(tenant_id, rule.service_id)
        await self.session.execute(
            text(
                "INSERT INTO reminder_rules (tenant_id, service_id, offsets, audiences, channels, quiet_start, "
                "quiet_end, sms_fallback_after, updated_at) "
                "VALUES (:t, :s, :offsets, :audiences, :channels, :qs, :qe, :fallback, :now)"
            ),
            {
                "t": tenant_id,
                "s": rule.service_id,
                "offsets": [str(o) for o in rule.offsets],
                "audiences": list(rule.audiences),
                "channels": list(rule.channels),
                "qs": rule.quiet_hours.start if rule.quiet_hours else None,
                "qe": rule.quiet_hours.end if rule.quiet_hours else None,
                "fallback": rule.sms_fallback_after,
                "now": now,
            },
        )

    async def delete_rule(self, tenant_id: uuid.UUID, service_id: uuid.UUID | None) -> bool:
        result = await self.session.execute(
            text(
                "DELETE FROM reminder_rules WHERE tenant_id = :t AND service_id IS NOT DISTINCT FROM CAST(:s AS uuid)"
            ),
            {"t": tenant_id, "s": service_id},
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def advance(
        self,
        tenant_id: uuid.UUID,
        appointment_id: uuid.UUID,
        start: datetime,
        *,
        cancelled: bool,
        as_of: datetime,
        staff_ids: tuple[uuid.UUID, ...] = (),
        follow_up_action: str = "",
    ) -> KnownAppointment | None:
        advanced = (
            await self.session.execute(
                text(
                    """
                    WITH known AS (
                        SELECT staff_ids FROM appointment_schedule WHERE tenant_id = :t AND appointment_id = :a
                    )
                    INSERT INTO appointment_schedule (tenant_id, appointment_id, start_at, cancelled, as_of, staff_ids,
                        follow_up_action)
                    VALUES (:t, :a, :start, :cancelled, :as_of, CAST(:staff AS uuid[]), :action)
                    ON CONFLICT (tenant_id, appointment_id) DO UPDATE SET start_at = excluded.start_at,
                        cancelled = appointment_schedule.cancelled OR excluded.cancelled, as_of = excluded.as_of,
                        -- A cancellation names no staff: the last known stay.
                        staff_ids = CASE WHEN excluded.cancelled THEN appointment_schedule.staff_ids
                                         ELSE excluded.staff_ids END,
                        follow_up_action = CASE WHEN excluded.follow_up_action = ''
                                                THEN appointment_schedule.follow_up_action
                                                ELSE excluded.follow_up_action END
                    WHERE appointment_schedule.as_of <= excluded.as_of AND NOT appointment_schedule.cancelled
                    RETURNING coalesce((SELECT staff_ids FROM known), '{}') AS previous, follow_up_action
                    """
                ),
                {
                    "t": tenant_id,
                    "a": appointment_id,
                    "start": start,
                    "cancelled": cancelled,
                    "as_of": as_of,
                    "staff": [str(s) for s in staff_ids],
                    "action": follow_up_action,
                },
            )
        ).first()
        if advanced is None:
            return None
        return KnownAppointment(tuple(advanced.previous), advanced.follow_up_action)
