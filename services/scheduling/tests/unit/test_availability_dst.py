"""Availability across every DST change from 2020 to 2035 in 18 zones, against an independent model.

The model knows only the change itself (the instant, the offset before and after) and derives everything from it:
when a wall-clock label is read (never, once or twice), the working time a range denotes (first reading of its
start to last reading of its end), and so the labels that must be offered. The engine, which works with zoneinfo,
must agree exactly; in addition no offered label may be one the clock skips, none may repeat, ambiguous labels are
offered at their first reading, and every occupied span lies in working time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduling_svc.domain.availability import (
    LocalRange,
    ServiceSpec,
    Slot,
    SlotQuery,
    SlotRules,
    StaffAvailability,
    WeeklySchedule,
    find_available_slots,
)

ZONES = (
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",  # negative DST in the tz database: "winter time" is the saving
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/St_Johns",  # half-hour offset
    "America/Havana",  # falls back at 01:00 to 00:00: midnight happens twice
    "America/Sao_Paulo",  # no DST since 2019: must simply have no changes
    "America/Santiago",  # changes at midnight: 00:00 does not exist, 23:00-24:00 happens twice
    "America/Asuncion",  # until 2024
    "Australia/Sydney",
    "Australia/Lord_Howe",  # 30-minute shift
    "Pacific/Auckland",
    "Pacific/Chatham",  # +12:45 / +13:45, changes at 02:45
    "Asia/Tehran",  # until 2022
    "Asia/Gaza",
    "Africa/Cairo",  # from 2023
)
ONE_DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Change:
    zone: str
    at: datetime  # the UTC instant the offset changes
    before: timedelta
    after: timedelta

    @property
    def day(self) -> date:
        """The local date the change happens on (read on the clock before it)."""
        return (self.at + self.before).date()

    @property
    def wall(self) -> datetime:
        return (self.at + self.before).replace(tzinfo=None)

    def readings(self, wall: datetime) -> list[datetime]:
        """The instants at which the clock reads `wall`: none (skipped), one, or two (repeated)."""
        found = []
        early = (wall - self.before).replace(tzinfo=UTC)
        if early < self.at:
            found.append(early)
        late = (wall - self.after).replace(tzinfo=UTC)
        if late >= self.at:
            found.append(late)
        return found

    def first(self, wall: datetime) -> datetime:
        return min(self.readings(wall), default=self.at)

    def last(self, wall: datetime) -> datetime:
        return max(self.readings(wall), default=self.at)

    def __str__(self) -> str:
        return f"{self.zone} {self.wall:%Y-%m-%d %H:%M} {self.before} -> {self.after}"


@cache
def changes(zone: str) -> tuple[Change, ...]:
    """Every offset change 2020-2035: a daily scan, then bisection to the second."""
    tz = ZoneInfo(zone)
    found = []
    at = datetime(2020, 1, 1, tzinfo=UTC)
    offset = at.astimezone(tz).utcoffset()
    while at < datetime(2036, 1, 1, tzinfo=UTC):
        following = at + ONE_DAY
        new = following.astimezone(tz).utcoffset()
        if new != offset:
            low, high = at, following
            while high - low > timedelta(seconds=1):
                middle = low + timedelta(seconds=(high - low).total_seconds() // 2)  # whole seconds
                low, high = (low, middle) if middle.astimezone(tz).utcoffset() == new else (middle, high)
            assert offset is not None and new is not None
            found.append(Change(zone, high, offset, new))
        at, offset = following, new
    return tuple(found)


ALL_CHANGES = tuple(change for zone in ZONES for change in changes(zone))


def test_the_zones_cover_what_the_scheduling_issue_asks() -> None:
    with_changes = {change.zone for change in ALL_CHANGES}
    assert len(with_changes) >= 12
    assert {"Australia/Lord_Howe", "Australia/Sydney", "America/Santiago", "Pacific/Chatham"} <= with_changes
    assert {change.after - change.before for change in changes("Australia/Lord_Howe")} == {
        timedelta(minutes=30),
        timedelta(minutes=-30),
    }
    assert changes("America/Sao_Paulo") == ()
    assert len(ALL_CHANGES) > 400
    # The model assumes one change within a week of each: true of every zone here.
    for zone in ZONES:
        spaced = changes(zone)
        assert all(b.at - a.at > timedelta(days=14) for a, b in pairwise(spaced))


# --- The model ----------------------------------------------------------------------------------------------------

Ranges = dict[int, list[tuple[time, time]]]


def walls(day: date, ranges: Sequence[tuple[time, time]]) -> list[tuple[datetime, datetime]]:
    """A date's ranges on the wall clock, merged where they overlap or touch."""
    spans = sorted(
        (datetime.combine(day, start), datetime.combine(day + ONE_DAY if end == time(0) else day, end))
        for start, end in ranges
    )
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def model_working_time(change: Change, weekly: Ranges) -> list[tuple[datetime, datetime]]:
    spans = []
    for offset in range(-3, 4):
        day = change.day + offset * ONE_DAY
        spans += [(change.first(start), change.last(end)) for start, end in walls(day, weekly.get(day.weekday(), []))]
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(span for span in spans if span[0] < span[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def inside(working: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return any(low <= start and end <= high for low, high in working)


def model_labels(change: Change, weekly: Ranges, spec: ServiceSpec, step: timedelta) -> list[datetime]:
    """Grid labels of the configured ranges on the change day and its neighbours that the clock shows and whose
    occupied span lies in working time."""
    working = model_working_time(change, weekly)
    found = []
    for offset in (-1, 0):
        day = change.day + offset * ONE_DAY
        for start, end in walls(day, weekly.get(day.weekday(), [])):
            label = start
            while label < end:
                readings = change.readings(label)
                if readings:
                    at = min(readings)
                    if inside(working, at - spec.buffer_before, at + spec.duration + spec.buffer_after):
                        found.append(label)
                label += step
    return sorted(found, key=change.first)


# --- Checking the engine against it -----------------------------------------------------------------------------------

STAFF = uuid.UUID(int=1)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def offered(change: Change, weekly: Ranges, spec: ServiceSpec, step: timedelta) -> list[Slot]:
    schedule = WeeklySchedule(
        change.zone,
        {weekday: tuple(LocalRange(start, end) for start, end in spans) for weekday, spans in weekly.items()},
    )
    staff = StaffAvailability(STAFF, schedule, (), frozenset({spec.service_id}))
    query = SlotQuery(
        services=(spec,),
        start_day=change.day - ONE_DAY,  # the day before too: a change at midnight repeats its last hour
        end_day=change.day,
        timezone=change.zone,
        now=LONG_AGO,
        rules=SlotRules(granularity=step, min_notice=timedelta(0), horizon=timedelta(days=365 * 40)),
    )
    return find_available_slots(query, [staff], [])


def check(change: Change, weekly: Ranges, spec: ServiceSpec, step: timedelta) -> None:
    tz = ZoneInfo(change.zone)
    slots = offered(change, weekly, spec, step)
    shown = [slot.start.astimezone(tz).replace(tzinfo=None) for slot in slots]
    context = f"{change}, ranges {weekly}, every {step}, {spec.duration} +{spec.buffer_before}/{spec.buffer_after}"
    assert shown == model_labels(change, weekly, spec, step), context
    assert len(set(shown)) == len(shown), f"a label offered twice: {context}"
    working = model_working_time(change, weekly)
    for slot, label in zip(slots, shown, strict=True):
        assert slot.start == change.first(label), f"{label} not at its first reading: {context}"
        assert label.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == label, context
        (segment,) = slot.options[0]
        assert segment.occupied_start is not None and segment.occupied_end is not None
        assert inside(working, segment.occupied_start, segment.occupied_end), f"{label} outside hours: {context}"


def every_day(*spans: tuple[time, time]) -> Ranges:
    return {weekday: list(spans) for weekday in range(7)}


def spec(length: int, before: int = 0, after: int = 0) -> ServiceSpec:
    return ServiceSpec(uuid.UUID(int=7), length * MINUTE, before * MINUTE, after * MINUTE, 1, ())


FIXED = {
    "night shift, 30-minute grid": (every_day((time(0), time(6))), spec(30), 30 * MINUTE),
    "across midnight, 45-minute grid, buffer": (
        every_day((time(22), time(0)), (time(0), time(3, 30))),
        spec(60, before=15),
        45 * MINUTE,
    ),
    "two ranges, 20-minute grid": (every_day((time(1), time(4)), (time(21), time(0))), spec(45, after=10), 20 * MINUTE),
    "whole days, hourly grid": (every_day((time(0), time(0))), spec(90), 60 * MINUTE),
}


@pytest.mark.parametrize("name", FIXED)
def test_every_change_with_fixed_hours(name: str) -> None:
    weekly, service, step = FIXED[name]
    for change in ALL_CHANGES:
        check(change, weekly, service, step)


def test_every_change_with_boundaries_inside_it() -> None:
    # Ranges starting and ending in the skipped or repeated stretch, and just either side of it.
    for change in ALL_CHANGES:
        wall = change.wall
        shift = abs(change.after - change.before)
        edges = [(wall + k * shift / 2 - 30 * MINUTE).time() for k in range(4)]
        weekly = every_day(
            *[(a, b) for a, b in ((time(0), edges[1]), (edges[0], edges[2]), (edges[2], edges[3])) if a < b]
        )
        check(change, weekly, spec(15), 15 * MINUTE)


# --- Generated hours ----------------------------------------------------------------------------------------------


# Strategies are built once: building them per example costs more than the check itself.
# A boundary is either anywhere on a 5-minute clock or within two hours of the change (where it skips or repeats).
POINT = st.tuples(st.booleans(), st.integers(0, 288), st.integers(-24, 24))
DAY_RANGES = st.lists(st.tuples(POINT, POINT), max_size=3)
WEEK = st.tuples(*[DAY_RANGES] * 7)
LENGTHS = st.sampled_from([10, 15, 30, 45, 60, 90, 120, 240])
BUFFERS = st.sampled_from([0, 5, 15, 30])
STEPS = st.sampled_from([5, 10, 15, 20, 30, 45, 60, 90])


@st.composite
def generated(draw: st.DrawFn) -> tuple[Change, Ranges, ServiceSpec, timedelta]:
    change = draw(st.sampled_from(ALL_CHANGES))
    near = (change.wall.hour * 60 + change.wall.minute) // 5

    def clock(point: tuple[bool, int, int]) -> int:
        close, anywhere, delta = point
        return min(max(near + delta, 0), 288) if close else anywhere

    weekly: Ranges = {}
    for weekday, pairs in enumerate(draw(WEEK)):
        spans = sorted({tuple(sorted((clock(a), clock(b)))) for a, b in pairs})
        weekly[weekday] = [(_time(a), _time(b)) for a, b in spans if a < b]
    length, before, after = draw(LENGTHS), draw(BUFFERS), draw(BUFFERS)
    return change, weekly, spec(length, before, after), draw(STEPS) * MINUTE


def _time(fives: int) -> time:
    """A point on the 5-minute clock; 288 is midnight at the end of the day."""
    return time((fives * 5 // 60) % 24, fives * 5 % 60)


@settings(
    max_examples=200, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(generated())
def test_generated_hours_around_changes(case: tuple[Change, Ranges, ServiceSpec, timedelta]) -> None:
    check(*case)
