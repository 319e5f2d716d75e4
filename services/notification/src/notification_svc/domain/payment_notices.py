"""What billing's events tell the client: an invoice issued, a payment received, and reminders that a
payment is due (before its due date and on the day) and overdue (after it), at a local time in the client's
zone, by the business's payment reminder rule (by default 3 days before, on the day and 3 days overdue, at
09:00, by email). An invoice paid or voided cancels the reminders not yet sent; a refund that reopens a paid
invoice plans them again (those still ahead)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from notification_svc.domain.day_rules import checked_day_rule, local_moment
from notification_svc.domain.delivery import PlannedMessage, Recipient

PAYMENT_REMINDER_KINDS = ("payment.due", "payment.overdue")
EARLIEST_DAY, LATEST_DAY = -60, 90
SMS_FALLBACK_AFTER = 2


@dataclass(frozen=True)
class PaymentRule:
    """Days relative to the due date (-3: three days before; 0: on the day; 3: three days overdue), the
    channels, and the local time in the client's zone."""

    days: tuple[int, ...] = (-3, 0, 3)
    channels: tuple[str, ...] = ("email",)
    send_at: time = time(9, 0)


DEFAULT_PAYMENT_RULE = PaymentRule()


def checked_payment_rule(days: Sequence[int], channels: Sequence[str], send_at: str) -> PaymentRule:
    return PaymentRule(*checked_day_rule(days, channels, send_at, earliest=EARLIEST_DAY, latest=LATEST_DAY))


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


@dataclass(frozen=True)
class InvoiceFacts:
    """What payment reminders are planned from, kept as billing tells of an invoice."""

    invoice_id: uuid.UUID
    client_id: uuid.UUID
    number: int
    currency: str
    total_minor: int
    due_date: date | None


def client_message(
    step: BillingStep, kind: str, category: str, channel: str, due: datetime, rule: str, days: int = 0
) -> PlannedMessage:
    sms_alone = channel == "sms" and category == "reminders"
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
        # A payment reminder by SMS goes by email after failing (never both delivered).
        fallback_channel="email" if sms_alone else "",
        fallback_after=SMS_FALLBACK_AFTER if sms_alone else 0,
    )


def payment_reminders(step: BillingStep, zone: ZoneInfo, rule: PaymentRule, *, now: datetime) -> list[PlannedMessage]:
    """The rule's reminders of the invoice's due date still ahead, at the rule's local time."""
    if step.due_date is None:
        return []
    planned = []
    for days in rule.days:
        kind = "payment.overdue" if days > 0 else "payment.due"
        moment = local_moment(step.due_date, days, rule.send_at, zone)
        if moment <= now:
            continue  # a reminder for a day already past is no reminder
        for channel in rule.channels:
            message = client_message(step, kind, "reminders", channel, moment, f"{kind}:{days:+d}d:client", days)
            if channel == "sms" and "email" in rule.channels:
                message = replace(message, fallback_channel="", fallback_after=0)  # the email goes anyway
            planned.append(message)
    return planned


def billing_notices(
    step: BillingStep, zone: ZoneInfo, *, now: datetime, rule: PaymentRule = DEFAULT_PAYMENT_RULE
) -> list[PlannedMessage]:
    planned = [
        client_message(step, step.kind, step.category, channel, step.occurred_at, f"{step.kind}:client")
        for channel in step.channels
    ]
    return planned + payment_reminders(step, zone, rule, now=now)
