"""Memberships and subscriptions without a database, on fixed dates: periods by days and months, freeze and
resume moving the expiry by exactly the frozen (and unused) days, tolerance days across a month end and a DST
change, renewals from the expiry or from today when lapsed, and what the calendar does by itself (each
change told once) at the business's midnight in its own zone."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from membership_billing_svc.domain import events
from membership_billing_svc.domain.memberships import Extra, Membership, Subscription, SubscriptionStatus
from platform_core.errors import FailedPrecondition, InvalidArgument

TENANT = uuid.uuid4()
NOW = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
AUCKLAND = ZoneInfo("Pacific/Auckland")
NEW_YORK = ZoneInfo("America/New_York")


def membership(
    *,
    count: int = 30,
    unit: str = "day",
    tolerance: int = 0,
    auto_renew: bool = False,
    notice: int = 7,
    extras: tuple[Extra, ...] = (),
) -> Membership:
    return Membership.define(
        TENANT,
        uuid.uuid4(),
        name="Gold",
        package_id=uuid.uuid4(),
        benefits="",
        duration_count=count,
        duration_unit=unit,
        price_minor=9900,
        currency="eur",
        tax_rate_bp=0,
        invoicing="auto",
        payment_terms_days=7,
        tolerance_days=tolerance,
        auto_renew=auto_renew,
        expiring_notice_days=notice,
        extras=list(extras),
        now=NOW,
    )


def subscribe(m: Membership, starts_on: date) -> Subscription:
    s = Subscription.register(
        m, uuid.uuid4(), uuid.uuid4(), starts_on=starts_on, invoice_id=None, request_id=None, now=NOW
    )
    s.events.clear()
    return s


def kinds(s: Subscription) -> list[str]:
    return [type(e).__name__ for e in s.events]


def test_a_definition_reports_every_broken_rule_by_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        Membership.define(
            TENANT,
            uuid.uuid4(),
            name=" ",
            package_id=None,
            benefits="",
            duration_count=0,
            duration_unit="month",
            price_minor=-1,
            currency="EURO",
            tax_rate_bp=0,
            invoicing="later",
            payment_terms_days=0,
            tolerance_days=400,
            auto_renew=False,
            expiring_notice_days=0,
            extras=[Extra("", 5)],
            now=NOW,
        )
    assert {v.field for v in refused.value.violations} == {
        "name",
        "package_id",
        "duration_count",
        "price_minor",
        "currency",
        "invoicing",
        "tolerance_days",
        "extras[0].description",
    }


@pytest.mark.parametrize(
    ("count", "unit", "starts_on", "last_day"),
    [
        (30, "day", date(2026, 1, 10), date(2026, 2, 8)),
        (1, "month", date(2026, 1, 10), date(2026, 2, 9)),
        # A month from 31 January: the next period starts on 28 February.
        (1, "month", date(2026, 1, 31), date(2026, 2, 27)),
        (12, "month", date(2028, 2, 29), date(2029, 2, 27)),
    ],
)
def test_a_period_lasts_its_days_or_calendar_months(count: int, unit: str, starts_on: date, last_day: date) -> None:
    assert membership(count=count, unit=unit).last_day(starts_on) == last_day


def test_registration_invoices_the_price_and_the_extras_and_a_renewal_the_price_alone() -> None:
    m = membership(extras=(Extra("Joining fee", 2500), Extra("Card", 0)))
    client = uuid.uuid4()
    first = m.invoice_for(client, uuid.uuid4(), with_extras=True, now=NOW)
    assert first is not None and first.total_minor == 12400 and len(first.lines) == 2
    renewal = m.invoice_for(client, uuid.uuid4(), with_extras=False, now=NOW)
    assert renewal is not None and renewal.total_minor == 9900


def test_registration_is_active_and_told() -> None:
    m = membership()
    s = Subscription.register(
        m, uuid.uuid4(), uuid.uuid4(), starts_on=date(2026, 1, 10), invoice_id=None, request_id="r", now=NOW
    )
    assert s.status is SubscriptionStatus.ACTIVE and s.expires_on == date(2026, 2, 8)
    (activated,) = s.events
    assert isinstance(activated, events.MembershipActivated) and activated.subscription.expires_on == s.expires_on


def test_freezing_10_days_moves_the_expiry_10_days_and_an_early_resume_gives_back_the_unused() -> None:
    s = subscribe(membership(), date(2026, 1, 10))
    assert s.freeze(date(2026, 1, 20), days=10, until=None, reason="travel", now=NOW) == 10
    assert (s.status, s.expires_on, s.frozen_until, s.lot_shift_days) == (
        SubscriptionStatus.FROZEN,
        date(2026, 2, 18),
        date(2026, 1, 30),
        10,
    )
    # Resumed on day 4 of the freeze: 6 days unused.
    assert s.resume(date(2026, 1, 24), NOW) == 6
    assert (s.status, s.expires_on, s.frozen_until, s.lot_shift_days) == (
        SubscriptionStatus.ACTIVE,
        date(2026, 2, 12),
        None,
        4,
    )
    assert kinds(s) == ["MembershipFrozen", "MembershipResumed"]
    assert s.events[1].unused_days == 6


def test_a_freeze_until_a_date_freezes_through_the_day_before_and_runs_out_by_itself() -> None:
    s = subscribe(membership(), date(2026, 1, 10))
    s.freeze(date(2026, 1, 20), days=None, until=date(2026, 2, 3), reason="", now=NOW)
    assert s.expires_on == date(2026, 2, 8) + timedelta(days=14)
    s.refresh(date(2026, 2, 2), NOW)
    assert s.status is SubscriptionStatus.FROZEN
    s.refresh(date(2026, 2, 3), NOW)
    assert s.status is SubscriptionStatus.ACTIVE and s.expires_on == date(2026, 2, 22)
    assert s.events[-1].unused_days == 0


@pytest.mark.parametrize(
    ("days", "until", "field"),
    [
        (0, None, "days"),
        (366, None, "days"),
        (None, date(2026, 1, 20), "until"),
        (None, None, "days"),
        (3, date(2026, 2, 1), "days"),
    ],
)
def test_a_freeze_needs_one_of_days_or_a_later_date(days: int | None, until: date | None, field: str) -> None:
    s = subscribe(membership(), date(2026, 1, 10))
    with pytest.raises(InvalidArgument) as refused:
        s.freeze(date(2026, 1, 20), days=days, until=until, reason="", now=NOW)
    assert field in {v.field for v in refused.value.violations}
    assert s.status is SubscriptionStatus.ACTIVE and s.expires_on == date(2026, 2, 8)


def test_only_a_running_active_subscription_freezes() -> None:
    s = subscribe(membership(tolerance=3), date(2026, 1, 10))
    with pytest.raises(FailedPrecondition):
        s.freeze(date(2026, 1, 9), days=3, until=None, reason="", now=NOW)
    with pytest.raises(FailedPrecondition):
        # In tolerance by then.
        s.freeze(date(2026, 2, 9), days=3, until=None, reason="", now=NOW)
    s2 = subscribe(membership(), date(2026, 1, 10))
    s2.freeze(date(2026, 1, 11), days=3, until=None, reason="", now=NOW)
    with pytest.raises(FailedPrecondition):
        s2.freeze(date(2026, 1, 11), days=3, until=None, reason="", now=NOW)


def test_tolerance_days_across_a_month_end_then_expiry_each_told_once() -> None:
    s = subscribe(membership(count=1, unit="month", tolerance=5, notice=3), date(2026, 1, 1))
    assert (s.expires_on, s.tolerance_until) == (date(2026, 1, 31), date(2026, 2, 5))
    s.refresh(date(2026, 1, 28), NOW)
    assert kinds(s) == ["MembershipExpiring"] and s.events[0].days_left == 3
    s.refresh(date(2026, 1, 29), NOW)
    s.refresh(date(2026, 1, 31), NOW)
    assert s.status is SubscriptionStatus.ACTIVE and kinds(s) == ["MembershipExpiring"]
    s.refresh(date(2026, 2, 1), NOW)
    assert s.status is SubscriptionStatus.TOLERANCE
    s.refresh(date(2026, 2, 5), NOW)
    assert s.status is SubscriptionStatus.TOLERANCE
    s.refresh(date(2026, 2, 6), NOW)
    s.refresh(date(2026, 2, 7), NOW)
    assert s.status is SubscriptionStatus.EXPIRED and kinds(s) == ["MembershipExpiring", "MembershipExpired"]


def test_tolerance_across_a_dst_change_ends_at_the_business_midnight() -> None:
    # Berlin springs forward on 29 March 2026: the day has 23 hours, the midnights stay midnights.
    s = subscribe(membership(count=20, tolerance=3), date(2026, 3, 7))
    assert (s.expires_on, s.tolerance_until) == (date(2026, 3, 26), date(2026, 3, 29))
    s.schedule(BERLIN)
    assert s.next_review_at == datetime(2026, 3, 19, 0, 0, tzinfo=BERLIN)
    s.refresh(date(2026, 3, 27), NOW)
    s.schedule(BERLIN)
    assert s.status is SubscriptionStatus.TOLERANCE
    # The end of tolerance: Berlin's midnight after 29 March, 22:00 UTC (CEST), not 23:00 as in winter.
    assert s.next_review_at == datetime(2026, 3, 30, 0, 0, tzinfo=BERLIN)
    assert s.next_review_at.astimezone(UTC) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "utc_instant"),
    [
        (AUCKLAND, datetime(2026, 2, 8, 11, 0, tzinfo=UTC)),  # NZDT, UTC+13
        (NEW_YORK, datetime(2026, 2, 9, 5, 0, tzinfo=UTC)),  # EST, UTC-5
    ],
)
def test_expiry_is_the_business_midnight_in_its_own_zone(zone: ZoneInfo, utc_instant: datetime) -> None:
    s = subscribe(membership(notice=0), date(2026, 1, 10))
    s.notice_sent_for = s.expires_on
    s.schedule(zone)
    # The last day is 8 February: it ends at the midnight that starts the 9th, there.
    assert s.next_review_at is not None and s.next_review_at.astimezone(UTC) == utc_instant
    day_before = (utc_instant - timedelta(minutes=1)).astimezone(zone).date()
    s.refresh(day_before, NOW)
    assert s.status is SubscriptionStatus.ACTIVE
    s.refresh(utc_instant.astimezone(zone).date(), NOW)
    assert s.status is SubscriptionStatus.EXPIRED


def test_a_renewal_continues_from_the_expiry_in_tolerance_and_from_today_when_lapsed() -> None:
    m = membership(count=30, tolerance=5)
    s = subscribe(m, date(2026, 1, 10))
    s.refresh(date(2026, 2, 10), NOW)
    assert s.status is SubscriptionStatus.TOLERANCE
    period = s.renew(m, date(2026, 2, 10), invoice_id=None, request_id=None, now=NOW)
    assert (period.starts_on, period.expires_on, s.status) == (
        date(2026, 2, 9),
        date(2026, 3, 10),
        SubscriptionStatus.ACTIVE,
    )
    assert s.starts_on == date(2026, 1, 10)
    assert s.events[-1].previous_expires_on == date(2026, 2, 8)

    lapsed = subscribe(m, date(2026, 1, 10))
    lapsed.refresh(date(2026, 4, 1), NOW)
    assert lapsed.status is SubscriptionStatus.EXPIRED
    period = lapsed.renew(m, date(2026, 4, 1), invoice_id=None, request_id=None, now=NOW)
    assert (period.starts_on, lapsed.starts_on, lapsed.expires_on, lapsed.status) == (
        date(2026, 4, 1),
        date(2026, 4, 1),
        date(2026, 4, 30),
        SubscriptionStatus.ACTIVE,
    )


def test_an_automatic_renewal_is_wanted_the_day_after_the_expiry_and_no_expiring_notice_goes() -> None:
    s = subscribe(membership(auto_renew=True), date(2026, 1, 10))
    s.refresh(date(2026, 2, 5), NOW)
    assert kinds(s) == [] and not s.wants_auto_renewal(date(2026, 2, 8))
    assert s.wants_auto_renewal(date(2026, 2, 9))


def test_a_cancelled_subscription_ends_its_credits_and_takes_no_other_action() -> None:
    m = membership()
    s = subscribe(m, date(2026, 1, 10))
    s.cancel("moved away", "staff", NOW)
    assert s.status is SubscriptionStatus.CANCELLED and s.lots_end_at == NOW and not s.auto_renew
    assert isinstance(s.events[-1], events.MembershipCancelled) and s.events[-1].cancelled_by == "staff"
    for act in (
        lambda: s.freeze(date(2026, 1, 20), days=3, until=None, reason="", now=NOW),
        lambda: s.renew(m, date(2026, 1, 20), invoice_id=None, request_id=None, now=NOW),
        lambda: s.cancel("", "staff", NOW),
        lambda: s.resume(date(2026, 1, 20), NOW),
    ):
        with pytest.raises(FailedPrecondition):
            act()
    s.schedule(BERLIN)
    assert s.next_review_at is None
