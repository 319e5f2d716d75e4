"""What an appointment's events tell whom: the client and the appointment's staff hear that it was booked,
moved, reassigned or cancelled, and each is reminded by the business's rule (or the service's override)
before it.

A booking plans its reminders; a move cancels the ones not yet sent and plans them again for the new
time; a cancellation cancels them. Each is planned from the event that decided the time, so the unique key
(source event, rule, recipient, channel) keeps a redelivered event from planning twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from notification_svc.domain.audience import zone_or_utc
from notification_svc.domain.delivery import PlannedMessage, Recipient
from notification_svc.domain.reminders import ReminderRule, reminder_instant

REMINDER_KIND = "appointment.reminder"
CHANGE_CHANNELS = ("email", "in_app")
# Bookings the client made itself need no in-app notice of their own.
CLIENT_MADE = frozenset({"portal", "portal_request"})


@dataclass(frozen=True)
class AppointmentStep:
    tenant_id: uuid.UUID
    kind: str  # "appointment.booked", "appointment.rescheduled" (or .reassigned) or "appointment.cancelled"
    appointment_id: uuid.UUID
    client_id: uuid.UUID
    staff_ids: tuple[uuid.UUID, ...]
    service_ids: tuple[uuid.UUID, ...]
    start: datetime
    timezone: str
    source_event_id: uuid.UUID
    occurred_at: datetime
    variables: dict[str, Any]
    source: str = ""
    cancelled_by: str = ""
    # A move that changed the staff: who was taken off it, and who was put on.
    former_staff_ids: tuple[uuid.UUID, ...] = ()
    added_staff_ids: tuple[uuid.UUID, ...] = ()
    # A follow-up appointment's purpose as booked ("meet", "call", "email", "sms" or a tenant action).
    follow_up_action: str = ""


REASSIGNED = "appointment.reassigned"
FOLLOW_UP_KIND = "appointment.follow_up_due"
# A follow-up the staff member does themselves (no meeting): they are reminded when it is due.
STAFF_ACTIONS = frozenset({"call", "email", "sms"})


def follow_up_reminders(
    step: AppointmentStep, action: str, *, now: datetime, max_attempts: int
) -> list[PlannedMessage]:
    """A follow-up to call, email or text the client reminds its staff member (email and inbox) when it is
    due: at its time, or at once when that has passed."""
    if action not in STAFF_ACTIONS:
        return []
    return [
        PlannedMessage(
            tenant_id=step.tenant_id,
            kind=FOLLOW_UP_KIND,
            category="transactional",
            channel=channel,
            recipient=Recipient("staff", staff_id),
            client_id=step.client_id,
            rule=f"{FOLLOW_UP_KIND}:staff",
            source_event_id=step.source_event_id,
            variables=step.variables | {"audience": "staff", "action": action},
            due_at=max(step.start, now),
            max_attempts=max_attempts,
            subject_id=step.appointment_id,
        )
        for staff_id in dict.fromkeys(step.staff_ids)
        for channel in CHANGE_CHANNELS
    ]


def reassignment(
    step: AppointmentStep, previous_staff: tuple[uuid.UUID, ...], names: Mapping[uuid.UUID, str]
) -> AppointmentStep:
    """A move whose staff differ from those known before: at the same time it is a reassignment (told to
    the client as one); the staff member taken off it and the one put on it hear either way."""
    if not previous_staff:
        return step  # nothing known before (e.g. booked before staff were kept): no change to tell

    def named(ids: tuple[uuid.UUID, ...]) -> str:
        return ", ".join(n for n in dict.fromkeys(names.get(i, "") for i in ids) if n)

    moved = datetime.fromisoformat(step.variables["previous_start"]) != step.start
    return replace(
        step,
        kind=step.kind if moved else REASSIGNED,
        former_staff_ids=tuple(s for s in dict.fromkeys(previous_staff) if s not in step.staff_ids),
        added_staff_ids=tuple(s for s in dict.fromkeys(step.staff_ids) if s not in previous_staff),
        variables=step.variables | {"staff_name": named(step.staff_ids), "previous_staff_name": named(previous_staff)},
    )


def _told(step: AppointmentStep) -> list[tuple[Recipient, str, str]]:
    """(recipient, kind, audience) of each change notice: the client and the appointment's staff hear the
    step; a reassignment's staff put on it hear it was assigned to them, those taken off that it no longer
    is theirs, and those who stay hear only of a time that moved."""
    told = [(Recipient("client", step.client_id), step.kind, "client")]
    for staff_id in dict.fromkeys(step.staff_ids):
        if staff_id in step.added_staff_ids:
            told.append((Recipient("staff", staff_id), REASSIGNED, "staff"))
        elif step.kind != REASSIGNED:
            told.append((Recipient("staff", staff_id), step.kind, "staff"))
    told += [(Recipient("staff", staff_id), REASSIGNED, "former_staff") for staff_id in step.former_staff_ids]
    return told


def _recipients(step: AppointmentStep, audiences: tuple[str, ...]) -> list[Recipient]:
    chosen = []
    if "client" in audiences:
        chosen.append(Recipient("client", step.client_id))
    if "staff" in audiences:
        chosen += [Recipient("staff", staff_id) for staff_id in dict.fromkeys(step.staff_ids)]
    return chosen


def change_notices(step: AppointmentStep, *, max_attempts: int) -> list[PlannedMessage]:
    """The client and the staff hear of a booking, move or cancellation (not of what they did themselves)."""
    planned = []
    for recipient, kind, audience in _told(step):
        for channel in CHANGE_CHANNELS:
            own = recipient.kind == "client" and (step.source in CLIENT_MADE or step.cancelled_by == "client")
            if own and channel == "in_app":
                continue
            planned.append(
                PlannedMessage(
                    tenant_id=step.tenant_id,
                    kind=kind,
                    category="transactional",
                    channel=channel,
                    recipient=recipient,
                    client_id=step.client_id,
                    rule=f"{kind}:{audience}",
                    source_event_id=step.source_event_id,
                    variables=step.variables | {"audience": audience},
                    due_at=step.occurred_at,
                    max_attempts=max_attempts,
                    subject_id=step.appointment_id,
                )
            )
    return planned


def reminders(
    step: AppointmentStep,
    rule: ReminderRule,
    zones: Mapping[uuid.UUID, str],
    *,
    now: datetime,
    max_attempts: int,
) -> list[PlannedMessage]:
    """The rule's reminders of the appointment at its (new) time, each recipient's in its own zone."""
    planned = []
    for recipient in _recipients(step, rule.audiences):
        zone = zone_or_utc(zones.get(recipient.id, ""), step.timezone)
        for offset in rule.offsets:
            due = reminder_instant(step.start, offset, zone, rule.quiet_hours, now=now)
            if due is None:
                continue
            for channel in rule.channels:
                planned.append(
                    PlannedMessage(
                        tenant_id=step.tenant_id,
                        kind=REMINDER_KIND,
                        category="reminders",
                        channel=channel,
                        recipient=recipient,
                        client_id=step.client_id,
                        rule=f"{REMINDER_KIND}:{offset}:{recipient.kind}",
                        source_event_id=step.source_event_id,
                        variables=step.variables | {"audience": recipient.kind, "offset": str(offset)},
                        due_at=due,
                        max_attempts=max_attempts,
                        subject_id=step.appointment_id,
                        fallback_channel="email" if channel == "sms" and "email" not in rule.channels else "",
                        fallback_after=rule.sms_fallback_after,
                    )
                )
    return planned
