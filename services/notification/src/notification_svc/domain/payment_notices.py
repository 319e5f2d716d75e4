"""What billing's events tell the client: an invoice issued, a payment received, and reminders that a
payment is due (3 days before its due date and on the day) and overdue (3 days after), each at 09:00 in
the client's zone. An invoice paid or voided cancels the reminders not yet sent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from notification_svc.domain.delivery import PlannedMessage, Recipient

PAYMENT_REMINDER_KINDS = ("payment.due", "payment.overdue")
# (kind, days relative to the due date) of the default payment rule.
PAYMENT_SCHEDULE = (("payment.due", -3), ("payment.due", 0), ("payment.overdue", 3))
LOCAL_SEND_TIME = time(9, 0)


@dataclass(frozen=True)
class BillingStep:
    tenant_id: uuid.UUID
    kind: str  # e.g. "invoice.issued", "payment.received", "membership.expiring"
    client_id: uuid.UUID
    subject_id: uuid.UUID  # the invoice (or payment, subscription, appointment)
    source_event_id: uuid.UUID
    occurred_at: datetime
    variables: dict[str, Any]
    due_date: date | None = None
    category: str = "transactional"
    channels: tuple[str, ...] = ("email", "in_app")


def _message(
    step: BillingStep, kind: str, category: str, channel: str, due: datetime, rule: str, days: int = 0
) -> PlannedMessage:
    return PlannedMessage(
        tenant_id=step.tenant_id,
        kind=kind,
        category=category,
        channel=channel,
        recipient=Recipient("client", step.client_id),
        client_id=step.client_id,
        rule=rule,
        source_event_id=step.source_event_id,
        variables=step.variables | {"days": abs(days)},
        due_at=due,
        max_attempts=5,
        subject_id=step.subject_id,
    )


def billing_notices(step: BillingStep, zone: ZoneInfo, *, now: datetime) -> list[PlannedMessage]:
    planned = [
        _message(step, step.kind, step.category, channel, step.occurred_at, f"{step.kind}:client")
        for channel in step.channels
    ]
    if step.due_date is None:
        return planned
    for kind, days in PAYMENT_SCHEDULE:
        moment = datetime.combine(step.due_date + timedelta(days=days), LOCAL_SEND_TIME).replace(tzinfo=zone)
        if moment <= now:
            continue  # a reminder for a day already past is no reminder
        planned.append(_message(step, kind, "reminders", "email", moment, f"{kind}:{days:+d}d:client", days))
    return planned
