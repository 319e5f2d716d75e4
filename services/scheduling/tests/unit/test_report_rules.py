"""Report rules, pure: rates, utilization, the range, and available time from schedules. Fixed dates, no I/O."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from platform_core.errors import InvalidArgument
from scheduling_svc.domain.availability import LocalRange, ScheduleException, WeeklySchedule, available_time
from scheduling_svc.domain.reports import Counts, StaffLine, check_range

BERLIN = ZoneInfo("Europe/Berlin")
ANNA = uuid.UUID("0190a5d0-0000-7000-8000-0000000000a1")


def test_rates_are_defined_by_their_denominators_and_absent_without_one() -> None:
    counts = Counts(booked=3, completed=6, cancelled=2, no_show=2)
    assert counts.total == 13
    assert counts.no_show_rate == pytest.approx(2 / 8)
    assert counts.cancellation_rate == pytest.approx(2 / 13)
    assert Counts().no_show_rate is None and Counts().cancellation_rate is None
    assert Counts(booked=4).no_show_rate is None and Counts(booked=4).cancellation_rate == 0
    assert Counts.of({"completed": 2, "no_show": 1}) == Counts(completed=2, no_show=1)


def test_utilization_is_booked_over_available_and_absent_without_working_time() -> None:
    line = StaffLine(ANNA, "Anna", Counts(), timedelta(hours=9), timedelta(hours=36))
    assert line.utilization == pytest.approx(0.25)
    assert StaffLine(ANNA, "Anna", Counts(), timedelta(hours=1), timedelta(0)).utilization is None


def test_a_report_range_is_at_most_366_days_in_order() -> None:
    assert check_range("2026-01-01", "2026-12-31") == (date(2026, 1, 1), date(2026, 12, 31))
    assert check_range("2024-01-01", "2024-12-31")[1] == date(2024, 12, 31)  # a leap year: 366 days
    for first, last, fields in (
        ("2026-01-01", "2027-01-02", {"to"}),
        ("2026-02-01", "2026-01-31", {"to"}),
        ("yesterday", "2026-13-01", {"from", "to"}),
    ):
        with pytest.raises(InvalidArgument) as raised:
            check_range(first, last)
        assert {v.field for v in raised.value.violations} == fields


def test_available_time_is_working_time_within_business_hours_and_the_range() -> None:
    nine_to_five = {d: (LocalRange(time(9), time(17)),) for d in range(7)}
    # 2026-03-02 is a Monday; the Wednesday is off.
    staff = WeeklySchedule("Europe/Berlin", nine_to_five, (ScheduleException(date(2026, 3, 4), False),))
    week_start = datetime(2026, 3, 2, tzinfo=BERLIN)
    week_end = week_start + timedelta(days=7)
    assert available_time(staff, None, week_start, week_end) == timedelta(hours=6 * 8)
    business = WeeklySchedule(
        "Europe/Berlin",
        {d: (LocalRange(time(10), time(16)),) for d in range(6)},  # closed on Sundays
        (ScheduleException(date(2026, 3, 6), False),),  # a holiday on the Friday
    )
    # Monday, Tuesday, Thursday, Saturday: 6 hours each.
    assert available_time(staff, business, week_start, week_end) == timedelta(hours=4 * 6)
    # Only the part of a day inside the range counts.
    assert available_time(staff, None, week_start + timedelta(hours=12), week_start + timedelta(days=1)) == timedelta(
        hours=5
    )
    assert available_time(staff, None, week_end, week_start) == timedelta(0)


def test_available_time_follows_the_wall_clock_across_a_dst_change() -> None:
    nights = WeeklySchedule("Europe/Berlin", {d: (LocalRange(time(0), time(6)),) for d in range(7)})
    change_day = datetime(2026, 3, 29, tzinfo=BERLIN)  # clocks go from 02:00 to 03:00
    assert available_time(nights, None, change_day, change_day + timedelta(hours=23)) == timedelta(hours=5)
