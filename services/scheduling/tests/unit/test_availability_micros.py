"""Bookings handed over as BusyMicros (integer microseconds since the epoch, as the bookings statement reads them):
the engine, which works on integer instants from the fetch onward, gives exactly the slots the same bookings give
as datetimes, on random inputs (DST days, zones, sessions, rooms, edges off the minute by some microseconds)."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling_svc.domain.availability import (
    Busy,
    BusyMicros,
    StaffAvailability,
    _instant,
    _micros,
    find_available_slots,
    is_bookable,
)

from .test_availability_fast_path import case

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def micros(moment: datetime) -> int:
    """The reference conversion, independent of the engine's: whole seconds from timestamp() plus the micros."""
    utc = moment.astimezone(UTC)
    return int(utc.replace(microsecond=0).timestamp()) * 1_000_000 + utc.microsecond


def jittered(entries: list[Busy], rng: random.Random) -> list[Busy]:
    """Edges moved by a few microseconds either way, so that sub-second precision matters to the answer."""
    tick = timedelta(microseconds=1)
    return [
        replace(
            b, start=b.start + rng.choice([0, 0, 1, -1, 999_999]) * tick, end=b.end + rng.choice([0, 0, 1, -3]) * tick
        )
        for b in entries
    ]


def as_micros(member: StaffAvailability, order: str) -> StaffAvailability:
    entries = sorted(member.busy, key=lambda b: b.start)
    if order == "reversed":  # not sorted: the engine must not rely on it
        entries.reverse()
    return replace(
        member,
        busy=BusyMicros(
            [micros(b.start) for b in entries],
            [micros(b.end) for b in entries],
            [b.service_id for b in entries],
            [b.session_start for b in entries],
            [b.seats for b in entries],
        ),
    )


@pytest.mark.parametrize("seed", range(300))
@pytest.mark.parametrize("order", ["sorted", "reversed"])
def test_integer_bookings_give_the_slots_datetime_bookings_give(seed: int, order: str) -> None:
    query, staff, resources, business = case(seed)
    rng = random.Random(seed)
    staff = [replace(member, busy=tuple(jittered(list(member.busy), rng))) for member in staff]
    expected = find_available_slots(query, staff, resources, business)
    found = find_available_slots(query, [as_micros(m, order) for m in staff], resources, business)
    assert found == expected
    assert all(slot.start.tzinfo is UTC for slot in found)
    # The booking path's check reads the same integers: the same slot at every offered start (and none elsewhere).
    integer_staff = [as_micros(m, order) for m in staff]
    for slot in rng.sample(expected, min(3, len(expected))):
        assert is_bookable(query, slot.start, integer_staff, resources, business) == is_bookable(
            query, slot.start, staff, resources, business
        )
    if expected:
        off = expected[0].start + timedelta(minutes=1, microseconds=1)
        assert is_bookable(query, off, integer_staff, resources, business) == is_bookable(
            query, off, staff, resources, business
        )


def test_integer_bookings_read_as_utc_busy_entries() -> None:
    start = datetime(2026, 10, 25, 0, 30, 0, 1, tzinfo=UTC)  # Berlin's clock goes back at 01:00 UTC
    session = uuid.UUID(int=3)
    table = BusyMicros(
        [micros(start), micros(start + timedelta(hours=1))],
        [micros(start + timedelta(hours=1)), micros(start + timedelta(hours=2, microseconds=7))],
        [None, session],
        [None, start],
        [1, 2],
    )
    entries = (
        Busy(start, start + timedelta(hours=1)),
        Busy(start + timedelta(hours=1), start + timedelta(hours=2, microseconds=7), session, start, 2),
    )
    assert len(table) == 2 and tuple(table) == entries and table == entries and hash(table) == hash(entries)
    assert table[1] == entries[1] and table[-1] == entries[-1] and table[0:1] == entries[:1]
    assert all(entry.start.tzinfo is UTC and entry.end.tzinfo is UTC for entry in table)
    with pytest.raises(IndexError):
        table[2]


def test_integer_bookings_without_sessions_are_one_seat_spans() -> None:
    start = datetime(2026, 3, 29, 1, 59, tzinfo=UTC)
    table = BusyMicros([micros(start)], [micros(start + timedelta(minutes=2))])
    assert tuple(table) == (Busy(start, start + timedelta(minutes=2), None, None, 1),)


def test_integer_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        BusyMicros([0, 1], [2])
    with pytest.raises(ValueError, match="different lengths"):
        BusyMicros([0], [2], [None], [None], [1, 1])


@pytest.mark.parametrize("seed", range(20))
def test_instants_and_integers_convert_exactly_both_ways(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(500):
        value = rng.randrange(-(10**16), 10**17)  # 1653 to 5138, to the microsecond
        instant = _instant(value)
        assert instant.tzinfo is UTC
        assert instant == EPOCH + timedelta(microseconds=value)
        assert _micros(instant) == value == micros(instant)
        assert _micros(instant.astimezone(BERLIN)) == value
