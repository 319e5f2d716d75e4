"""When reminders go out: exact hours, same-local-time days across DST, quiet hours, rules per service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from notification_svc.domain.reminders import (
    DEFAULT_RULE,
    Offset,
    QuietHours,
    ReminderRule,
    reminder_instant,
    rule_for,
)

BERLIN = ZoneInfo("Europe/Berlin")
# 09:00 Europe/Berlin on Monday 30 March 2026, the day after summer time began: 07:00 UTC.
APPOINTMENT = datetime(2026, 3, 30, 9, 0, tzinfo=BERLIN).astimezone(UTC)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_dst_example_24_hours_is_exact_and_1_day_is_the_same_local_time() -> None:
    assert APPOINTMENT == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    hours = reminder_instant(APPOINTMENT, Offset.parse("24h"), BERLIN, None, now=LONG_AGO)
    days = reminder_instant(APPOINTMENT, Offset.parse("1d"), BERLIN, None, now=LONG_AGO)
    # Summer time began at 02:00 on Sunday the 29th, so 09:00 that Sunday is already CEST: 24 h before and
    # a day before agree (07:00 UTC).
    assert hours == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    assert days == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    # Two days before falls before the change: 09:00 CET on Saturday is 08:00 UTC, 47 hours before.
    assert reminder_instant(APPOINTMENT, Offset.parse("2d"), BERLIN, None, now=LONG_AGO) == datetime(
        2026, 3, 28, 8, 0, tzinfo=UTC
    )
    assert reminder_instant(APPOINTMENT, Offset.parse("48h"), BERLIN, None, now=LONG_AGO) == datetime(
        2026, 3, 28, 7, 0, tzinfo=UTC
    )


def test_quiet_hours_move_a_reminder_earlier_never_after_the_appointment() -> None:
    quiet = QuietHours(time(21, 0), time(8, 0))
    # 2 h before 09:00 is 07:00 local, inside 21:00-08:00: moved to 20:59 the evening before.
    moved = reminder_instant(APPOINTMENT, Offset.parse("2h"), BERLIN, quiet, now=LONG_AGO)
    assert moved == datetime(2026, 3, 29, 20, 59, tzinfo=BERLIN).astimezone(UTC)
    assert moved is not None and moved < APPOINTMENT
    # Outside quiet hours nothing moves.
    assert reminder_instant(APPOINTMENT, Offset.parse("1d"), BERLIN, quiet, now=LONG_AGO) == datetime(
        2026, 3, 29, 7, 0, tzinfo=UTC
    )
    # Late evening, inside a window that starts at 21:00 the same day.
    late = datetime(2026, 3, 31, 23, 30, tzinfo=BERLIN).astimezone(UTC)
    assert reminder_instant(late, Offset.parse("1h"), BERLIN, quiet, now=LONG_AGO) == datetime(
        2026, 3, 31, 20, 59, tzinfo=BERLIN
    ).astimezone(UTC)


def test_a_reminder_planned_late_goes_out_now_and_none_for_a_past_appointment() -> None:
    now = datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    assert reminder_instant(APPOINTMENT, Offset.parse("1d"), BERLIN, None, now=now) == now
    assert reminder_instant(APPOINTMENT, Offset.parse("1d"), BERLIN, None, now=APPOINTMENT) is None


@pytest.mark.parametrize("bad", ["0h", "24", "1w", "-1d", "61d", "h"])
def test_offsets_are_hours_or_days(bad: str) -> None:
    with pytest.raises(ValueError):
        Offset.parse(bad)


def test_a_service_override_wins_over_the_business_rule_which_wins_over_the_default() -> None:
    massage, haircut = uuid.uuid4(), uuid.uuid4()
    business = ReminderRule((Offset(2, "h"),), ("client", "staff"), ("email",))
    override = ReminderRule((Offset(3, "d"),), ("client",), ("email",), service_id=massage)
    assert rule_for([business, override], [haircut, massage]) is override
    assert rule_for([business, override], [haircut]) is business
    assert rule_for([override], [haircut]) is DEFAULT_RULE
