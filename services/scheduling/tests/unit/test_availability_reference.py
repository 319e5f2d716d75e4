"""The engine against a reference computation written the obvious way, on inputs hypothesis generates.

The reference knows nothing of the engine's interval arithmetic, binary searches or lazily built options: it
walks every UTC minute around the query's days, reads each one's wall clock in the staff member's zone, marks
working minutes (the weekly hours and exceptions as the module docstring states them, business hours too),
takes the booked minutes out, and offers a grid label of a working range when the label exists on the clock
(its first occurrence), lies in the window, and every minute of its occupied span (buffers included) is free.
Every quantity is whole minutes, so minute sets are exact. DST days of several zones (a 30-minute shift and
one at midnight among them) are in every case.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling_svc.domain.availability import (
    Busy,
    LocalRange,
    ScheduleException,
    Segment,
    ServiceSpec,
    SlotQuery,
    SlotRules,
    StaffAvailability,
    WeeklySchedule,
    find_available_slots,
)

MINUTE = timedelta(minutes=1)
# (zone, a date with a DST change, or none)
ZONES = (
    ("Europe/Berlin", date(2026, 3, 29)),
    ("Europe/Berlin", date(2026, 10, 25)),
    ("America/New_York", date(2026, 11, 1)),
    ("America/Santiago", date(2026, 4, 5)),  # at midnight
    ("Australia/Lord_Howe", date(2026, 4, 5)),  # 30 minutes
    ("Asia/Tokyo", date(2026, 6, 1)),
)
SERVICE = uuid.UUID(int=9)


# --- inputs --------------------------------------------------------------------------------------------------


def quarter(n: int) -> time:
    """The n-th quarter hour of a day; the 96th is midnight at its end, time(0)."""
    return time((n // 4) % 24, 15 * (n % 4))


@st.composite
def local_ranges(draw: st.DrawFn) -> LocalRange:
    start = draw(st.integers(0, 95))
    return LocalRange(quarter(start), quarter(draw(st.integers(start + 1, 96))))


@st.composite
def day_shifts(draw: st.DrawFn) -> LocalRange:
    """A working day's hours (06:00-12:00 to at least four hours later): where bookings crowd."""
    start = draw(st.integers(24, 48))
    return LocalRange(quarter(start), quarter(draw(st.integers(start + 16, 96))))


ranges = st.lists(local_ranges(), max_size=2).map(tuple)
working_ranges = st.one_of(st.tuples(day_shifts()), st.lists(local_ranges(), min_size=1, max_size=2).map(tuple))
# A schedule as (weekly hours, exceptions as (day offset from the first day, available, ranges)).
schedule_specs = st.tuples(
    st.fixed_dictionaries({day: st.one_of(working_ranges, working_ranges, ranges) for day in range(7)}),
    st.lists(st.tuples(st.integers(-1, 3), st.booleans(), ranges), max_size=3),
)
# Bookings as (minutes from the first day's midnight, minutes long): mostly on quarter hours of a day's working
# hours, so that they crowd the grid and their edges meet labels and spans exactly (where touching stays free).
quarters = st.integers(0, 2).flatmap(lambda day: st.integers(96 * day + 24, 96 * day + 88))
booking_specs = st.lists(
    st.one_of(
        st.tuples(quarters, st.integers(1, 12)).map(lambda b: (15 * b[0], 15 * b[1])),
        st.tuples(quarters, st.integers(1, 12)).map(lambda b: (15 * b[0], 15 * b[1])),
        st.tuples(st.integers(-24 * 60, 4 * 24 * 60), st.integers(1, 240)),
    ),
    max_size=10,
)


def schedule_of(
    spec: tuple[dict[int, tuple[LocalRange, ...]], list[tuple[int, bool, tuple[LocalRange, ...]]]],
    zone: str,
    first: date,
) -> WeeklySchedule:
    weekly, exceptions = spec
    return WeeklySchedule(
        zone,
        weekly,
        tuple(
            ScheduleException(first + timedelta(days=offset), available, spans)
            for offset, available, spans in exceptions
        ),
    )


@dataclass(frozen=True)
class Case:
    query: SlotQuery
    staff: list[StaffAvailability]
    business: WeeklySchedule | None


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone, change = draw(st.sampled_from(ZONES))
    days = draw(st.integers(1, 3))
    first = change - timedelta(days=draw(st.integers(0, days - 1)))
    service = ServiceSpec(
        SERVICE,
        draw(st.sampled_from([15, 30, 45, 60, 120])) * MINUTE,
        draw(st.sampled_from([0, 0, 5, 15])) * MINUTE,
        draw(st.sampled_from([0, 0, 10, 30])) * MINUTE,
        1,
        (),
    )
    midnight = datetime.combine(first, time(0), ZoneInfo(zone)).astimezone(UTC)
    staff = []
    for i in range(draw(st.integers(1, 3))):
        own_zone = draw(st.sampled_from([zone, zone, zone, "America/New_York"]))
        performs = draw(st.sampled_from([frozenset({SERVICE})] * 4 + [frozenset({uuid.UUID(int=10)})]))
        staff.append(
            StaffAvailability(
                uuid.UUID(int=i + 1),
                schedule_of(draw(schedule_specs), own_zone, first),
                tuple(
                    Busy(midnight + at * MINUTE, midnight + (at + length) * MINUTE)
                    for at, length in draw(booking_specs)
                ),
                performs,
            )
        )
    query = SlotQuery(
        services=(service,),
        start_day=first,
        end_day=first + timedelta(days=days - 1),
        timezone=draw(st.sampled_from([zone, zone, "UTC", "Pacific/Auckland"])),
        now=midnight + draw(st.sampled_from([-48 * 60, -180, 0, 0, 420])) * MINUTE,
        rules=SlotRules(
            granularity=draw(st.sampled_from([10, 15, 20, 30, 45, 60, 90])) * MINUTE,
            min_notice=draw(st.sampled_from([0, 0, 60, 600])) * MINUTE,
            horizon=draw(
                st.sampled_from([timedelta(days=1), timedelta(days=2), timedelta(days=30), timedelta(days=30)])
            ),
        ),
        staff_ids=draw(st.sampled_from([None, None, None, frozenset({uuid.UUID(int=1), uuid.UUID(int=3)})])),
    )
    business = draw(
        st.sampled_from([False, False, True]).flatmap(
            lambda has: schedule_specs.map(lambda spec: schedule_of(spec, zone, first)) if has else st.none()
        )
    )
    return Case(query, staff, business)


# --- the reference -------------------------------------------------------------------------------------------


def minute(instant: datetime) -> int:
    """An instant (on a whole minute) as minutes since the epoch: minute sets are plain integer sets."""
    return int(instant.timestamp()) // 60


class Clock:
    """Every minute of a stretch of days with the wall-clock time a zone shows at it."""

    def __init__(self, zone: str, first: date, last: date) -> None:
        tz = ZoneInfo(zone)
        at = datetime.combine(first - timedelta(days=2), time(0), UTC)
        end = datetime.combine(last + timedelta(days=4), time(0), UTC)
        self.minutes: list[tuple[int, datetime]] = []  # (minute, wall clock), in time order
        self.readings: dict[datetime, list[int]] = defaultdict(list)  # wall clock -> minutes
        while at < end:
            wall = at.astimezone(tz).replace(tzinfo=None)
            self.minutes.append((minute(at), wall))
            self.readings[wall].append(minute(at))
            at += MINUTE

    def first(self, wall: datetime) -> int:
        """The first minute the clock reads `wall`; if it never does, the minute it jumps over it."""
        if wall in self.readings:
            return self.readings[wall][0]
        return next(at for at, reading in self.minutes if reading > wall)

    def last(self, wall: datetime) -> int:
        """The last minute the clock reads `wall`; if it never does, the minute it jumps over it."""
        if wall in self.readings:
            return self.readings[wall][-1]
        return next(at for at, reading in self.minutes if reading > wall)


@cache  # the cases share a few zones and dates; reading every minute's clock once is enough
def clock_of(zone: str, first: date, last: date) -> Clock:
    return Clock(zone, first, last)


def wall_ranges(day: date, ranges: list[LocalRange]) -> list[tuple[datetime, datetime]]:
    """A date's ranges as wall-clock intervals, merged where they overlap or touch."""
    spans = sorted(
        (datetime.combine(day, r.start), datetime.combine(day + timedelta(days=1) if r.end == time(0) else day, r.end))
        for r in ranges
    )
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def day_ranges(schedule: WeeklySchedule, day: date) -> tuple[list[LocalRange], list[LocalRange]]:
    """(the ranges a date works, the ranges an exception takes off)."""
    exceptions = [e for e in schedule.exceptions if e.day == day]
    whole_day_off = any(not e.available and not e.ranges for e in exceptions)
    on = [] if whole_day_off else list(schedule.weekly.get(day.weekday(), ()))
    on += [r for e in exceptions if e.available for r in e.ranges]
    return on, [r for e in exceptions if not e.available for r in e.ranges]


def working_minutes(schedule: WeeklySchedule, first: date, last: date) -> set[int]:
    clock = clock_of(schedule.timezone, first, last)
    on: set[int] = set()
    off: set[int] = set()
    day = first - timedelta(days=2)
    while day <= last + timedelta(days=2):
        working, removed = day_ranges(schedule, day)
        for start, end in wall_ranges(day, working):
            on.update(range(clock.first(start), clock.last(end)))
        for start, end in wall_ranges(day, removed):
            off.update(range(clock.first(start), clock.last(end)))
        day += timedelta(days=1)
    return on - off


def reference(case: Case) -> set[tuple[datetime, uuid.UUID]]:
    query, (service,) = case.query, case.query.services
    first, last = query.start_day, query.end_day
    client = ZoneInfo(query.timezone)
    earliest, latest = minute(query.now + query.rules.min_notice), minute(query.now + query.rules.horizon)
    before, after = service.buffer_before // MINUTE, (service.duration + service.buffer_after) // MINUTE
    business = working_minutes(case.business, first, last) if case.business is not None else None
    offered = set()
    for member in case.staff:
        if service.service_id not in member.service_ids:
            continue
        if query.staff_ids is not None and member.staff_id not in query.staff_ids:
            continue
        free = working_minutes(member.schedule, first, last)
        if business is not None:
            free &= business
        for busy in member.busy:
            free.difference_update(range(minute(busy.start), minute(busy.end)))
        clock = clock_of(member.schedule.timezone, first, last)
        day = first - timedelta(days=2)
        while day <= last + timedelta(days=2):
            for start, end in wall_ranges(day, day_ranges(member.schedule, day)[0]):
                label = start
                while label < end:
                    if label in clock.readings:
                        at = clock.readings[label][0]  # its first occurrence
                        instant = datetime.fromtimestamp(at * 60, UTC)
                        if (
                            first <= instant.astimezone(client).date() <= last
                            and earliest <= at <= latest
                            and free.issuperset(range(at - before, at + after))
                        ):
                            offered.add((instant, member.staff_id))
                    label += query.rules.granularity
            day += timedelta(days=1)
    return offered


# --- the property --------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(cases())
def test_the_engine_offers_what_the_reference_offers(case: Case) -> None:
    slots = find_available_slots(case.query, case.staff, [], case.business)
    assert {(slot.start, staff_id) for slot in slots for staff_id in slot.staff_ids} == reference(case)
    (service,) = case.query.services
    assert [slot.start for slot in slots] == sorted({slot.start for slot in slots})
    for slot in slots:
        assert list(slot.staff_ids) == sorted(set(slot.staff_ids))
        assert slot.seats_left is None
        end = slot.start + service.duration
        assert slot.options == tuple(
            (
                Segment(
                    SERVICE, staff_id, slot.start, end, slot.start - service.buffer_before, end + service.buffer_after
                ),
            )
            for staff_id in slot.staff_ids
        )
