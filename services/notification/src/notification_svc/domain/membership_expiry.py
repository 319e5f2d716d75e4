"""The business's membership-expiry rule: reminders that a client's membership ends (days before its last
paid day, on the day) and has ended (days after, only while the tolerance lasts), at a local time in the
client's zone. They are planned from the subscription's facts as billing's Membership* events tell them;
each new fact (renewed, frozen, resumed) cancels those not yet sent and plans them again, and a subscription
cancelled or expired for good keeps none. A business that set a rule hears no one-off ``membership.expiring``
notice from billing's ``expiring_notice_days``: the rule's messages replace it (the client is not told twice);
without one, the default rule only adds the day itself and the tolerance after it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from notification_svc.domain.day_rules import checked_day_rule, local_moment
from notification_svc.domain.delivery import PlannedMessage
from notification_svc.domain.payment_notices import BillingStep, client_message

EXPIRY_KIND = "membership.expiry_reminder"
# Billing's one-off notice at the membership's expiring_notice_days, which a business's own rule replaces.
EXPIRING_NOTICE = "membership.expiring"
EARLIEST_DAY, LATEST_DAY = -60, 60
# Statuses in which the membership still runs out (a frozen one resumes first; cancelled and expired are over).
RUNNING = frozenset({"active", "tolerance"})


@dataclass(frozen=True)
class MembershipExpiryRule:
    """Days relative to the expiry date (-7: a week before; 0: on the day; 3: three days after, while in
    tolerance), the channels, and the local time in the client's zone."""

    days: tuple[int, ...] = (0, 3)
    channels: tuple[str, ...] = ("email",)
    send_at: time = time(9, 0)


DEFAULT_EXPIRY_RULE = MembershipExpiryRule()


def checked_expiry_rule(days: Sequence[int], channels: Sequence[str], send_at: str) -> MembershipExpiryRule:
    return MembershipExpiryRule(*checked_day_rule(days, channels, send_at, earliest=EARLIEST_DAY, latest=LATEST_DAY))


@dataclass(frozen=True)
class SubscriptionFacts:
    subscription_id: uuid.UUID
    client_id: uuid.UUID
    membership_name: str
    expires_on: date
    tolerance_until: date
    status: str
    # What the templates are told of it (name, dates, price, auto_renew).
    variables: dict[str, Any]


def expiry_reminders(
    tenant_id: uuid.UUID,
    facts: SubscriptionFacts,
    source_event_id: uuid.UUID,
    zone: ZoneInfo,
    rule: MembershipExpiryRule,
    *,
    now: datetime,
) -> list[PlannedMessage]:
    """The rule's reminders of the subscription's expiry still ahead (none unless it is running)."""
    if facts.status not in RUNNING:
        return []
    step = BillingStep(
        tenant_id=tenant_id,
        kind=EXPIRY_KIND,
        client_id=facts.client_id,
        subject_id=facts.subscription_id,
        source_event_id=source_event_id,
        occurred_at=now,
        variables=facts.variables,
    )
    planned = []
    for days in rule.days:
        day_offset = local_moment(facts.expires_on, days, rule.send_at, zone)
        if days > 0 and day_offset.date() > facts.tolerance_until:
            continue  # past the tolerance the membership is over: billing's expired notice tells that
        if day_offset <= now:
            continue
        phase = "before" if days < 0 else "on" if days == 0 else "after"
        for channel in rule.channels:
            message = client_message(
                step, EXPIRY_KIND, "reminders", channel, day_offset, f"{EXPIRY_KIND}:{days:+d}d:client", days
            )
            message = replace(message, variables=message.variables | {"phase": phase})
            if channel == "sms" and "email" in rule.channels:
                message = replace(message, fallback_channel="", fallback_after=0)  # the email goes anyway
            planned.append(message)
    return planned
