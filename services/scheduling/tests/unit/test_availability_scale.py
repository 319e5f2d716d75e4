"""Availability at the size the scheduling issue names, and against a brute-force count on random bookings."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling_svc.domain.availability import (
    Busy,
    LocalRange,
    ResourceAvailability,
    ServiceSpec,
    SlotQuery,
    SlotRules,
    StaffAvailability,
    WeeklySchedule,
    find_available_slots,
)

BERLIN = ZoneInfo("Europe/Berlin")
FIRST_DAY = date(2026, 6, 1)  # a month with no DST change: the brute force below works in plain local time
MINUTE = timedelta(minutes=1)
HOURS = ((time(9), time(13)), (time(14), time(19)))  # Monday to Saturday
ROOM = uuid.UUID(int=500)


def salon(
    rng: random.Random, staff_count: int, days: int, bookings: int, service: ServiceSpec
) -> list[StaffAvailability]:
    schedule = WeeklySchedule("Europe/Berlin", {d: tuple(LocalRange(a, b) for a, b in HOURS) for d in range(6)})
    busy: list[list[Busy]] = [[] for _ in range(staff_count)]
    for _ in range(bookings):
        day = FIRST_DAY + timedelta(days=rng.randrange(days))
        start = datetime.combine(day, time(rng.randrange(8, 19), rng.choice([0, 10, 15, 30, 45])), tzinfo=BERLIN)
        length = rng.choice([20, 30, 45, 60, 90, 120]) * MINUTE
        busy[rng.randrange(staff_count)].append(Busy(start.astimezone(UTC), (start + length).astimezone(UTC)))
    return [
        StaffAvailability(uuid.UUID(int=i + 1), schedule, tuple(busy[i]), frozenset({service.service_id}))
        for i in range(staff_count)
    ]


def month_query(service: ServiceSpec, days: int, step: int = 15) -> SlotQuery:
    return SlotQuery(
        services=(service,),
        start_day=FIRST_DAY,
        end_day=FIRST_DAY + timedelta(days=days - 1),
        timezone="Europe/Berlin",
        now=datetime(2026, 5, 1, tzinfo=UTC),
        rules=SlotRules(granularity=step * MINUTE, min_notice=timedelta(0), horizon=timedelta(days=90)),
    )


def test_twenty_staff_thirty_days_two_thousand_bookings() -> None:
    # The size; how fast it runs is measured by `make bench`, not asserted here.
    service = ServiceSpec(uuid.UUID(int=9), 60 * MINUTE, 10 * MINUTE, 10 * MINUTE, 1, ())
    staff = salon(random.Random(1), 20, 30, 2000, service)
    slots = find_available_slots(month_query(service, 30), staff, [])
    assert len(slots) > 500 and sum(len(slot.staff_ids) for slot in slots) > 3000


def brute_force(
    staff: list[StaffAvailability], service: ServiceSpec, days: int, step: int, room: ResourceAvailability | None
) -> set[tuple[datetime, uuid.UUID]]:
    """Every (start, staff) pair, checking each candidate against every booking: obviously right, quadratic."""
    found = set()
    for member in staff:
        for offset in range(days):
            day = FIRST_DAY + timedelta(days=offset)
            for start, end in HOURS if day.weekday() < 6 else ():
                at = datetime.combine(day, start, tzinfo=BERLIN)
                closing = datetime.combine(day, end, tzinfo=BERLIN)
                while at < closing:
                    low, high = at - service.buffer_before, at + service.duration + service.buffer_after
                    if (
                        low >= datetime.combine(day, start, tzinfo=BERLIN)
                        and high <= closing
                        and all(b.end <= low or b.start >= high for b in member.busy)
                        and (room is None or room_free(room, low, high))
                    ):
                        found.add((at.astimezone(UTC), member.staff_id))
                    at += step * MINUTE
    return found


def room_free(room: ResourceAvailability, low: datetime, high: datetime) -> bool:
    """A free unit throughout [low, high), counting bookings minute by minute."""
    at = low
    while at < high:
        if sum(b.seats for b in room.busy if b.start <= at < b.end) >= room.capacity:
            return False
        at += MINUTE
    return True


@pytest.mark.parametrize("seed", range(3))
def test_staff_bookings_agree_with_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    service = ServiceSpec(uuid.UUID(int=9), rng.choice([30, 45, 60]) * MINUTE, 5 * MINUTE, 15 * MINUTE, 1, ())
    staff = salon(rng, 4, 7, 120, service)
    step = rng.choice([10, 15, 30])
    slots = find_available_slots(month_query(service, 7, step), staff, [])
    offered = {(slot.start, staff_id) for slot in slots for staff_id in slot.staff_ids}
    assert offered == brute_force(staff, service, 7, step, None)


@pytest.mark.parametrize("seed", range(3))
def test_a_shared_room_agrees_with_brute_force(seed: int) -> None:
    rng = random.Random(100 + seed)
    service = ServiceSpec(uuid.UUID(int=9), 45 * MINUTE, 5 * MINUTE, 10 * MINUTE, 1, (ROOM,))
    staff = salon(rng, 3, 3, 20, service)
    room_busy = []
    for _ in range(25):
        day = FIRST_DAY + timedelta(days=rng.randrange(3))
        start = datetime.combine(day, time(rng.randrange(8, 19), rng.choice([0, 20, 40])), tzinfo=BERLIN)
        room_busy.append(Busy(start, start + rng.choice([30, 60, 90]) * MINUTE, seats=rng.choice([1, 1, 2])))
    room = ResourceAvailability(ROOM, capacity=2, busy=tuple(room_busy))
    slots = find_available_slots(month_query(service, 3, 15), staff, [room])
    offered = {(slot.start, staff_id) for slot in slots for staff_id in slot.staff_ids}
    assert offered == brute_force(staff, service, 3, 15, room)
