"""Recurrence rules: parsing, validation, expansion on the local wall clock (fixed dates, DST included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from platform_core.errors import InvalidArgument
from scheduling_svc.domain.recurrence import MAX_COUNT, parse_local_start, parse_rule

BERLIN = "Europe/Berlin"
FAR = datetime(2035, 1, 1, tzinfo=UTC)


def expand(rule: str, dtstart: datetime, zone: str = BERLIN, limit: int = 1000) -> list[datetime]:
    return parse_rule(rule, dtstart, zone).occurrences(None, FAR, limit)


def local(instants: list[datetime], zone: str = BERLIN) -> list[str]:
    return [i.astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M") for i in instants]


def test_weekly_on_tuesday_and_thursday() -> None:
    found = expand("FREQ=WEEKLY;BYDAY=TU,TH;COUNT=5", datetime(2025, 3, 4, 9, 0))
    assert local(found) == [
        "Tue 2025-03-04 09:00",
        "Thu 2025-03-06 09:00",
        "Tue 2025-03-11 09:00",
        "Thu 2025-03-13 09:00",
        "Tue 2025-03-18 09:00",
    ]


def test_every_two_weeks() -> None:
    found = expand("FREQ=WEEKLY;INTERVAL=2;COUNT=4", datetime(2025, 1, 6, 14, 30))
    assert local(found) == [
        "Mon 2025-01-06 14:30",
        "Mon 2025-01-20 14:30",
        "Mon 2025-02-03 14:30",
        "Mon 2025-02-17 14:30",
    ]


def test_monthly_on_the_third_monday_and_the_last_friday() -> None:
    third_monday = expand("FREQ=MONTHLY;BYDAY=+3MO;COUNT=4", datetime(2025, 1, 1, 10, 0))
    assert local(third_monday) == [
        "Mon 2025-01-20 10:00",
        "Mon 2025-02-17 10:00",
        "Mon 2025-03-17 10:00",
        "Mon 2025-04-21 10:00",
    ]
    last_friday = expand("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", datetime(2025, 1, 1, 10, 0))
    assert local(last_friday) == ["Fri 2025-01-31 10:00", "Fri 2025-02-28 10:00", "Fri 2025-03-28 10:00"]


def test_monthly_by_day_of_month_skips_months_without_it() -> None:
    found = expand("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3", datetime(2025, 1, 1, 9, 0))
    assert local(found) == ["Fri 2025-01-31 09:00", "Mon 2025-03-31 09:00", "Sat 2025-05-31 09:00"]


def test_until_a_date_includes_that_whole_local_day_and_count_stops_after_n() -> None:
    daily = expand("FREQ=DAILY;UNTIL=20250105", datetime(2025, 1, 1, 18, 0))
    assert len(daily) == 5 and local(daily)[-1] == "Sun 2025-01-05 18:00"
    # UNTIL as a UTC instant: 17:00Z on the 3rd is 18:00 in Berlin, so the 3rd is the last.
    utc_until = expand("FREQ=DAILY;UNTIL=20250103T170000Z", datetime(2025, 1, 1, 18, 0))
    assert local(utc_until)[-1] == "Fri 2025-01-03 18:00"
    assert len(expand("FREQ=YEARLY;COUNT=3", datetime(2025, 2, 1, 9, 0))) == 3


def test_the_wall_clock_time_holds_across_daylight_saving_changes() -> None:
    found = expand("FREQ=WEEKLY;COUNT=3", datetime(2025, 3, 23, 9, 0))
    # 09:00 in Berlin is 08:00Z in winter and 07:00Z from 30 March.
    assert [f.strftime("%m-%d %H:%M") for f in found] == ["03-23 08:00", "03-30 07:00", "04-06 07:00"]
    autumn = expand("FREQ=WEEKLY;COUNT=2", datetime(2025, 10, 19, 9, 0))
    assert [f.strftime("%m-%d %H:%M") for f in autumn] == ["10-19 07:00", "10-26 08:00"]
    new_york = expand("FREQ=DAILY;COUNT=3", datetime(2025, 3, 8, 9, 0), "America/New_York")
    assert [f.strftime("%m-%d %H:%M") for f in new_york] == ["03-08 14:00", "03-09 13:00", "03-10 13:00"]


def test_a_skipped_local_time_moves_forward_and_an_ambiguous_one_is_its_first_occurrence() -> None:
    spring = expand("FREQ=DAILY;COUNT=3", datetime(2025, 3, 29, 2, 30))
    # 02:30 does not exist on 30 March: read with the offset before the jump, it is 03:30 CEST (01:30Z).
    assert [f.strftime("%m-%d %H:%M") for f in spring] == ["03-29 01:30", "03-30 01:30", "03-31 00:30"]
    autumn = expand("FREQ=DAILY;COUNT=2", datetime(2025, 10, 25, 2, 30))
    assert [f.strftime("%m-%d %H:%M") for f in autumn] == ["10-25 00:30", "10-26 00:30"]  # the CEST reading


def test_an_open_ended_rule_is_expanded_only_over_the_window_asked_for() -> None:
    rule = parse_rule("FREQ=WEEKLY;BYDAY=MO", datetime(2025, 1, 6, 9, 0), BERLIN)
    assert rule.open_ended
    window = rule.occurrences(datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC), 100)
    assert local(window) == [
        "Mon 2025-02-03 09:00",
        "Mon 2025-02-10 09:00",
        "Mon 2025-02-17 09:00",
        "Mon 2025-02-24 09:00",
    ]
    assert len(rule.occurrences(None, FAR, 7)) == 7


def test_rules_are_stored_canonical_with_until_in_utc() -> None:
    rule = parse_rule("rrule:freq=weekly;byday=tu,th;until=20250331", datetime(2025, 3, 4, 9, 0), BERLIN)
    assert rule.rule == "FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20250331T215959Z"
    again = parse_rule(rule.rule, rule.dtstart, BERLIN)
    assert again.occurrences(None, FAR, 100) == rule.occurrences(None, FAR, 100)
    assert parse_rule("FREQ=MONTHLY;INTERVAL=1;BYDAY=+3MO", datetime(2025, 1, 1, 9), BERLIN).rule == (
        "FREQ=MONTHLY;BYDAY=+3MO"
    )


def test_cutting_a_counted_series_and_continuing_it_keeps_the_total() -> None:
    rule = parse_rule("FREQ=WEEKLY;COUNT=52", datetime(2025, 1, 7, 10, 0), BERLIN)
    found = rule.occurrences(None, FAR, 100)
    assert len(found) == 52
    thirtieth = found[29]
    assert local([thirtieth]) == ["Tue 2025-07-29 10:00"]
    assert rule.position(thirtieth) == 30
    head = rule.ending_before(thirtieth)
    assert head.count is None and head.occurrences(None, FAR, 100) == found[:29]
    tail = rule.continued_from(thirtieth, datetime(2025, 7, 29, 11, 0))
    assert tail.count == 23
    moved = tail.occurrences(None, FAR, 100)
    assert len(moved) == 23 and all(m - f == timedelta(hours=1) for m, f in zip(moved, found[29:], strict=True))


@pytest.mark.parametrize(
    ("rule", "part"),
    [
        ("FREQ=HOURLY", "FREQ"),
        ("BYDAY=MO", "FREQ"),
        ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL"),
        ("FREQ=WEEKLY;INTERVAL=two", "INTERVAL"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY"),
        ("FREQ=WEEKLY;BYDAY=+2TU", "BYDAY"),
        ("FREQ=MONTHLY;BYDAY=+6MO", "BYDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
        ("FREQ=WEEKLY;BYMONTHDAY=3", "BYMONTHDAY"),
        (f"FREQ=DAILY;COUNT={MAX_COUNT + 1}", "COUNT"),
        ("FREQ=DAILY;COUNT=0", "COUNT"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20250201", "COUNT and UNTIL"),
        ("FREQ=DAILY;UNTIL=2025-02-01", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20240101", "UNTIL"),
        ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ"),
        ("FREQ=DAILY;COUNT", "COUNT"),
    ],
)
def test_bad_rules_are_refused_on_the_rrule_field_naming_the_part(rule: str, part: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_rule(rule, datetime(2025, 1, 7, 10, 0), BERLIN)
    assert {v.field for v in raised.value.violations} == {"rrule"}
    assert any(part in v.message for v in raised.value.violations), raised.value.violations


def test_a_missing_rule_an_unknown_zone_and_a_start_with_an_offset_name_their_fields() -> None:
    with pytest.raises(InvalidArgument) as empty:
        parse_rule("  ", datetime(2025, 1, 7, 10, 0), BERLIN)
    assert empty.value.violations[0].field == "rrule"
    with pytest.raises(InvalidArgument) as zone:
        parse_rule("FREQ=DAILY", datetime(2025, 1, 7, 10, 0), "Mars/Olympus")
    assert zone.value.violations[0].field == "timezone"
    for bad in ("2025-01-07T10:00+01:00", "10:00", "2025-01-07T10:00:30"):
        with pytest.raises(InvalidArgument) as start:
            parse_local_start(bad)
        assert start.value.violations[0].field == "dtstart"
    assert parse_local_start("2025-01-07T10:00") == datetime(2025, 1, 7, 10, 0)
