"""The cancellation policy's windows, table-driven across each window's edges in two zones, across the spring
DST change of each (fixed dates), and the outcome rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from membership_billing_svc.domain.cancellation_policy import (
    FREE,
    CancellationPolicy,
    Outcome,
    OutcomeKind,
    RepeatNoShowRule,
    RepeatOutcome,
    applicable,
    applies_to,
    share,
)
from platform_core.errors import InvalidArgument
from platform_core.validation import Violations

TENANT = uuid.uuid4()
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)

FEE_HALF = Outcome(OutcomeKind.FEE, percent=50)
FORFEIT_ALL = Outcome(OutcomeKind.FORFEIT, percent=100)
FEE_FIXED = Outcome(OutcomeKind.FEE, fee_minor=2000, currency="EUR")

# The morning after each zone's spring change: 24 hours before is an hour earlier on the wall clock than
# "1 day before".
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
STARTS = {
    "Europe/Berlin": datetime(2026, 3, 29, 9, 0, tzinfo=BERLIN),
    "America/New_York": datetime(2026, 3, 8, 9, 0, tzinfo=NEW_YORK),
}


def policy(*windows: tuple[int, int, Outcome], no_show: Outcome = FREE) -> CancellationPolicy:
    return CancellationPolicy.checked(
        TENANT,
        None,
        windows=list(windows),
        no_show=no_show,
        repeat_no_shows=None,
        applies_to_staff_cancellations=False,
        violations=Violations(),
        now=NOW,
    )


HOURS = policy((48, 0, FEE_HALF), (24, 0, FORFEIT_ALL))
DAYS = policy((0, 1, FEE_FIXED))


@pytest.mark.parametrize("zone_name", sorted(STARTS))
@pytest.mark.parametrize(
    ("before_start", "expected"),
    [
        (timedelta(hours=72), FREE),
        (timedelta(hours=48) + SECOND, FREE),
        # Exactly at a deadline is still on time for it.
        (timedelta(hours=48), FREE),
        (timedelta(hours=48) - SECOND, FEE_HALF),
        (timedelta(hours=24) + SECOND, FEE_HALF),
        (timedelta(hours=24), FEE_HALF),
        (timedelta(hours=24) - SECOND, FORFEIT_ALL),
        (timedelta(0), FORFEIT_ALL),
        # After the start: the tightest window.
        (-timedelta(hours=2), FORFEIT_ALL),
    ],
)
def test_hour_windows_count_elapsed_time(zone_name: str, before_start: timedelta, expected: Outcome) -> None:
    start = STARTS[zone_name].astimezone(UTC)
    window = HOURS.window_at(start, ZoneInfo(zone_name), start - before_start)
    assert (window.outcome if window else FREE) == expected


@pytest.mark.parametrize(
    ("zone_name", "wall_deadline_utc"),
    [
        # 09:00 CET on Saturday 28 March (CET, +01:00); 24 hours before the start would be 08:00 local.
        ("Europe/Berlin", datetime(2026, 3, 28, 8, 0, tzinfo=UTC)),
        # 09:00 EST on Saturday 7 March (-05:00); 24 hours before would be 08:00 local.
        ("America/New_York", datetime(2026, 3, 7, 14, 0, tzinfo=UTC)),
    ],
)
@pytest.mark.parametrize(("offset", "charged"), [(-SECOND, False), (timedelta(0), False), (SECOND, True)])
def test_day_windows_keep_the_wall_clock_time_across_dst(
    zone_name: str, wall_deadline_utc: datetime, offset: timedelta, charged: bool
) -> None:
    zone = ZoneInfo(zone_name)
    start = STARTS[zone_name].astimezone(UTC)
    assert start - wall_deadline_utc == timedelta(hours=23)
    window = DAYS.window_at(start, zone, wall_deadline_utc + offset)
    assert (window is not None) is charged
    assert DAYS.free_until(start, zone) == wall_deadline_utc
    assert wall_deadline_utc.astimezone(zone).hour == 9


def test_free_until_is_the_earliest_charging_deadline() -> None:
    start = datetime(2026, 6, 10, 12, tzinfo=UTC)
    assert HOURS.free_until(start, BERLIN) == start - timedelta(hours=48)
    assert policy((24, 0, FREE)).free_until(start, BERLIN) is None
    assert policy().window_at(start, BERLIN, start) is None


def test_a_free_window_inside_a_charging_one_frees_the_last_hours() -> None:
    start = datetime(2026, 6, 10, 12, tzinfo=UTC)
    grace = policy((24, 0, FEE_FIXED), (1, 0, FREE))
    window = grace.window_at(start, BERLIN, start - timedelta(minutes=30))
    assert window is not None and window.outcome == FREE
    window = grace.window_at(start, BERLIN, start - timedelta(hours=2))
    assert window is not None and window.outcome == FEE_FIXED


@pytest.mark.parametrize(
    ("outcome", "price", "units", "fee", "forfeited"),
    [
        (FEE_HALF, 5001, 2, (2501, "EUR"), 0),
        (FEE_HALF, 0, 2, None, 0),
        (FEE_FIXED, 9999, 1, (2000, "EUR"), 0),
        (FORFEIT_ALL, 5000, 3, None, 3),
        (Outcome(OutcomeKind.FORFEIT, percent=50), 5000, 1, None, 1),
        (Outcome(OutcomeKind.FORFEIT, percent=50), 5000, 3, None, 2),
        (FREE, 5000, 3, None, 0),
    ],
)
def test_what_an_outcome_charges(
    outcome: Outcome, price: int, units: int, fee: tuple[int, str] | None, forfeited: int
) -> None:
    assert outcome.fee_for(price, "EUR") == fee
    assert outcome.forfeited_units(units) == forfeited


def test_share_rounds_half_up() -> None:
    assert [share(1, 50), share(3, 50), share(101, 10), share(5, 1)] == [1, 2, 10, 0]


@pytest.mark.parametrize(
    ("kind", "percent", "fee_minor", "currency", "fields"),
    [
        ("late", 0, 0, "", {"w.kind"}),
        ("free", 10, 0, "", {"w"}),
        ("forfeit", 0, 0, "", {"w.percent"}),
        ("forfeit", 101, 0, "", {"w.percent"}),
        ("fee", 0, 0, "", {"w"}),
        ("fee", 10, 100, "EUR", {"w"}),
        ("fee", 10, 0, "EUR", {"w.currency"}),
        ("fee", 0, 100, "EURO", {"w.currency"}),
        ("fee", 0, -5, "EUR", {"w.fee_minor"}),
    ],
)
def test_outcome_shapes_are_checked(kind: str, percent: int, fee_minor: int, currency: str, fields: set[str]) -> None:
    violations = Violations()
    Outcome.checked(kind, percent, fee_minor, currency, violations, "w")
    assert {v.field for v in violations.found} == fields


def test_windows_and_the_repeat_rule_are_checked() -> None:
    with pytest.raises(InvalidArgument) as raised:
        CancellationPolicy.checked(
            TENANT,
            uuid.uuid4(),
            windows=[(24, 1, FREE), (24, 0, FREE), (24, 0, FREE), (0, 0, FREE), (0, 91, FREE)],
            no_show=FREE,
            repeat_no_shows=(0, 30, 7),
            applies_to_staff_cancellations=True,
            violations=Violations(),
            now=NOW,
        )
    fields = {v.field for v in raised.value.violations}
    assert fields == {
        "windows[0]",
        "windows[2]",
        "windows[3]",
        "windows[4].within_days",
        "repeat_no_shows",
        "repeat_no_shows.no_shows",
        "applies_to_staff_cancellations",
    }


def test_a_service_override_replaces_the_business_rule_and_staff_cancellations_are_free_unless_said() -> None:
    override = policy((2, 0, FEE_FIXED))
    assert applicable(HOURS, override) is override
    assert applicable(HOURS, None) is HOURS
    assert applicable(None, None) is None
    assert applies_to(HOURS, "client")
    assert not applies_to(HOURS, "staff")
    strict = CancellationPolicy.checked(
        TENANT,
        None,
        windows=[],
        no_show=FREE,
        repeat_no_shows=(3, 30, 14),
        applies_to_staff_cancellations=True,
        violations=Violations(),
        now=NOW,
    )
    assert applies_to(strict, "staff")


@pytest.mark.parametrize(
    ("zone", "decided_local", "lapses_local"),
    [
        # Elapsed days: across the spring change the wall clock moves an hour, the instant is exactly 14 x 24 h.
        ("Europe/Berlin", datetime(2030, 3, 20, 10, 0), datetime(2030, 4, 3, 11, 0)),
        ("America/New_York", datetime(2030, 3, 1, 10, 0), datetime(2030, 3, 15, 11, 0)),
        # No change in between: the same wall-clock time.
        ("Europe/Berlin", datetime(2030, 6, 1, 10, 0), datetime(2030, 6, 15, 10, 0)),
    ],
)
def test_the_repeat_outcome_lapses_after_its_days_of_elapsed_time_in_any_zone(
    zone: str, decided_local: datetime, lapses_local: datetime
) -> None:
    rule = RepeatNoShowRule(3, 30, 14, RepeatOutcome.REQUIRE_APPROVAL)
    decided = decided_local.replace(tzinfo=ZoneInfo(zone))
    until = rule.lasts_until(decided.astimezone(UTC))
    assert until - decided == timedelta(days=14)
    assert until.astimezone(ZoneInfo(zone)).replace(tzinfo=None) == lapses_local
    assert rule.since(decided) == decided - timedelta(days=30)
    assert (rule.tripped(2), rule.tripped(3), rule.tripped(4)) == (False, True, True)
