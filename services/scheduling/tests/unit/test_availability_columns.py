"""Bookings handed over as BusyColumns (parallel columns, as the database's arrays give them): the same entries and
the same slots as a tuple of Busy, whether the columns come sorted by start in UTC (merged straight from them) or
not (the general path)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling_svc.domain.availability import (
    Busy,
    BusyColumns,
    StaffAvailability,
    find_available_slots,
)

from .test_availability_fast_path import case

BERLIN = ZoneInfo("Europe/Berlin")


def columns(entries: list[Busy]) -> BusyColumns:
    return BusyColumns(
        [b.start for b in entries],
        [b.end for b in entries],
        [b.service_id for b in entries],
        [b.session_start for b in entries],
        [b.seats for b in entries],
    )


def as_columns(member: StaffAvailability, order: str) -> StaffAvailability:
    entries = list(member.busy)
    if order == "sorted":  # as the database sorts them: by start (then any order)
        entries.sort(key=lambda b: b.start)
    elif order == "reversed":
        entries.sort(key=lambda b: b.start, reverse=True)
    elif order == "local":  # sorted, but not in UTC
        entries = [replace(b, start=b.start.astimezone(BERLIN)) for b in sorted(entries, key=lambda b: b.start)]
    return replace(member, busy=columns(entries))


@pytest.mark.parametrize("seed", range(300))
@pytest.mark.parametrize("order", ["sorted", "reversed", "local"])
def test_columns_give_the_slots_a_tuple_gives(seed: int, order: str) -> None:
    query, staff, resources, business = case(seed)
    expected = find_available_slots(query, staff, resources, business)
    found = find_available_slots(query, [as_columns(m, order) for m in staff], resources, business)
    assert found == expected


def test_columns_read_as_the_tuple_of_entries_they_stand_for() -> None:
    rng = random.Random(7)
    start = datetime(2026, 3, 29, 8, tzinfo=UTC)
    entries = [
        Busy(start + timedelta(minutes=rng.randrange(600)), start + timedelta(hours=11), None, None, 1)
        for _ in range(5)
    ]
    entries.append(Busy(start, start + timedelta(hours=1), entries[0].service_id, start, 3))
    table = columns(entries)
    assert len(table) == 6 and list(table) == entries and tuple(table) == tuple(entries)
    assert table[0] == entries[0] and table[-1] == entries[-1] and table[1:3] == tuple(entries[1:3])
    assert table == tuple(entries) and table == columns(entries) and hash(table) == hash(tuple(entries))
    assert table != tuple(entries[:5])
    with pytest.raises(IndexError):
        table[6]


def test_columns_of_different_lengths_are_refused() -> None:
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="different lengths"):
        BusyColumns([now], [now + timedelta(hours=1)], [], [None], [1])
