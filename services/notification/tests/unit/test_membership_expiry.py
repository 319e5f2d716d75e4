"""The membership-expiry rule without a database: which reminders a subscription's facts plan, when (a day
offset keeps the local time across DST), while in tolerance only, and the templates in both languages."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from notification_svc.adapters.message_templates import MessageTemplates
from notification_svc.domain.membership_expiry import (
    DEFAULT_EXPIRY_RULE,
    EXPIRY_KIND,
    MembershipExpiryRule,
    SubscriptionFacts,
    checked_expiry_rule,
    expiry_reminders,
)
from notification_svc.domain.template_catalogue import SAMPLE
from platform_core.errors import InvalidArgument

BERLIN = ZoneInfo("Europe/Berlin")
TENANT, CLIENT, SUBSCRIPTION, EVENT = (uuid.uuid4() for _ in range(4))
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def facts(expires_on: date, tolerance_until: date | None = None, status: str = "active") -> SubscriptionFacts:
    return SubscriptionFacts(
        subscription_id=SUBSCRIPTION,
        client_id=CLIENT,
        membership_name="Yoga 10",
        expires_on=expires_on,
        tolerance_until=tolerance_until or expires_on,
        status=status,
        variables={"membership_name": "Yoga 10", "expires_on": expires_on.isoformat()},
    )


def test_a_day_offset_keeps_the_local_time_across_the_dst_change() -> None:
    # Berlin moves to summer time on 29 March 2026: the day before is UTC+1, the day itself UTC+2.
    rule = MembershipExpiryRule(days=(-1, 0), channels=("email",), send_at=time(9, 0))
    planned = expiry_reminders(TENANT, facts(date(2026, 3, 29)), EVENT, BERLIN, rule, now=NOW)
    assert [m.due_at.astimezone(UTC) for m in planned] == [
        datetime(2026, 3, 28, 8, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 7, 0, tzinfo=UTC),
    ]
    assert [m.variables["phase"] for m in planned] == ["before", "on"]
    assert {(m.kind, m.category, m.subject_id, m.client_id) for m in planned} == {
        (EXPIRY_KIND, "reminders", SUBSCRIPTION, CLIENT)
    }


def test_days_after_the_expiry_are_sent_only_while_the_tolerance_lasts() -> None:
    rule = MembershipExpiryRule(days=(-7, 0, 2, 5), channels=("email",))
    planned = expiry_reminders(TENANT, facts(date(2026, 4, 10), date(2026, 4, 13)), EVENT, BERLIN, rule, now=NOW)
    assert [(m.variables["phase"], m.variables["days"]) for m in planned] == [("before", 7), ("on", 0), ("after", 2)]
    assert [m.rule for m in planned] == [
        f"{EXPIRY_KIND}:-7d:client",
        f"{EXPIRY_KIND}:+0d:client",
        f"{EXPIRY_KIND}:+2d:client",
    ]


def test_days_already_past_are_not_planned() -> None:
    rule = MembershipExpiryRule(days=(-7, -1, 0))
    planned = expiry_reminders(TENANT, facts(date(2026, 3, 4)), EVENT, BERLIN, rule, now=NOW)
    assert [m.variables["days"] for m in planned] == [1, 0]


@pytest.mark.parametrize("status", ["frozen", "cancelled", "expired"])
def test_a_membership_not_running_keeps_no_reminder(status: str) -> None:
    assert (
        expiry_reminders(TENANT, facts(date(2026, 4, 10), status=status), EVENT, BERLIN, DEFAULT_EXPIRY_RULE, now=NOW)
        == []
    )


def test_an_sms_beside_an_email_has_no_fallback_and_an_sms_alone_falls_back_to_email() -> None:
    both = expiry_reminders(
        TENANT,
        facts(date(2026, 4, 10)),
        EVENT,
        BERLIN,
        MembershipExpiryRule(days=(0,), channels=("email", "sms")),
        now=NOW,
    )
    assert [(m.channel, m.fallback_channel) for m in both] == [("email", ""), ("sms", "")]
    alone = expiry_reminders(
        TENANT, facts(date(2026, 4, 10)), EVENT, BERLIN, MembershipExpiryRule(days=(0,), channels=("sms",)), now=NOW
    )
    assert [(m.channel, m.fallback_channel) for m in alone] == [("sms", "email")]


def test_an_expiry_rule_names_each_wrong_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        checked_expiry_rule([-61, 0], ["fax"], "9")
    assert [v.field for v in refused.value.violations] == ["days", "channels", "send_at"]
    assert checked_expiry_rule([3, -3, 3], ["sms", "email", "sms"], "08:15") == MembershipExpiryRule(
        (-3, 3), ("sms", "email"), time(8, 15)
    )


@pytest.mark.parametrize(
    ("language", "phase", "days", "subject"),
    [
        ("en", "before", 7, "Your Yoga 10 membership ends in 7 days"),
        ("en", "on", 0, "Your Yoga 10 membership ends today"),
        ("en", "after", 1, "Your Yoga 10 membership ended 1 day ago"),
        ("de", "before", 1, "Ihre Mitgliedschaft Yoga 10 endet in 1 Tag"),
        ("de", "after", 3, "Ihre Mitgliedschaft Yoga 10 ist vor 3 Tagen abgelaufen"),
    ],
)
def test_the_reminder_reads_by_its_phase_in_both_languages(language: str, phase: str, days: int, subject: str) -> None:
    rendered = MessageTemplates().render(
        language, "membership_expiry_reminder", SAMPLE | {"phase": phase, "days": days}, zone="Europe/Berlin"
    )
    assert rendered.subject == subject
    assert rendered.sms and rendered.text and rendered.html and rendered.inbox
