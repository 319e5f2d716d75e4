"""The single-service fast path against the general path, on random inputs: the same slots, field for field.

find_available_slots answers one-service queries by interval arithmetic (`_Engine._single_service_slots`) and
everything else start by start (`_Engine._general_slots`); the general path also answers one-service queries, so
the two must agree on any input: DST days, schedules with exceptions and overnight ranges, business hours, busy
time, group sessions to join, rooms, notice and horizon, seats, restricted staff and is_bookable's single instant.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling_svc.domain.availability import (
    _EXPANSIONS,
    _EXPANSIONS_KEPT,
    Busy,
    BusyMicros,
    LocalRange,
    ResourceAvailability,
    ScheduleException,
    ServiceSpec,
    Slot,
    SlotQuery,
    SlotRules,
    StaffAvailability,
    WeeklySchedule,
    _Engine,
    find_available_slots,
)

MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
TICK = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# (zone, a date with a DST change in it or none); days around it are queried
ZONES = (
    ("Europe/Berlin", date(2026, 3, 29)),
    ("Europe/Berlin", date(2026, 10, 25)),
    ("America/New_York", date(2026, 11, 1)),
    ("America/Santiago", date(2026, 4, 5)),  # changes at midnight
    ("Australia/Lord_Howe", date(2026, 4, 5)),  # 30-minute shift
    ("Asia/Tokyo", date(2026, 6, 1)),  # none
)
SERVICE = uuid.UUID(int=9)
ROOM = uuid.UUID(int=500)


def clock(rng: random.Random) -> time:
    return time(rng.randrange(24), rng.choice([0, 0, 15, 30, 45]))


def local_range(rng: random.Random) -> LocalRange:
    start = clock(rng)
    end = rng.choice([time(0), clock(rng)])
    if end != time(0) and end <= start:
        start, end = end, start
    if end != time(0) and end <= start:
        end = time(0)
    return LocalRange(start, end)


def schedule(rng: random.Random, tz: str, first: date, days: int) -> WeeklySchedule:
    weekly = {day: tuple(local_range(rng) for _ in range(rng.randrange(3))) for day in range(7)}
    exceptions = []
    for _ in range(rng.randrange(4)):
        day = first + timedelta(days=rng.randrange(-1, days + 1))
        available = rng.random() < 0.5
        spans = tuple(local_range(rng) for _ in range(rng.randrange(3 if available else 2)))
        exceptions.append(ScheduleException(day, available, spans))
    return WeeklySchedule(tz, weekly, tuple(exceptions))


def instant(rng: random.Random, tz: str, first: date, days: int) -> datetime:
    day = first + timedelta(days=rng.randrange(-1, days + 1))
    at = datetime.combine(day, clock(rng)).replace(tzinfo=ZoneInfo(tz), fold=rng.randrange(2))
    off_grid = rng.choice([0, 0, 0, 5, 10]) * MINUTE + rng.choice([0, 0, 0, 0, 1, -1, 59]) * SECOND
    return at.astimezone(UTC) + off_grid


def busy(rng: random.Random, tz: str, first: date, days: int, service: ServiceSpec) -> list[Busy]:
    out = []
    for _ in range(rng.randrange(12)):
        start = instant(rng, tz, first, days)
        length = rng.choice([SECOND, MINUTE, *(n * MINUTE for n in (15, 30, 45, 60, 90, 240))])
        if service.capacity > 1 and rng.random() < 0.6:  # a session of the service, with its buffers
            session = start + service.buffer_before
            seats = rng.randrange(1, service.capacity + 1)
            end = session + service.duration + service.buffer_after
            out.append(Busy(start, end, service.service_id, session, seats))
        else:
            out.append(Busy(start, start + length, seats=rng.choice([1, 1, 2])))
    return out


def case(seed: int) -> tuple[SlotQuery, list[StaffAvailability], list[ResourceAvailability], WeeklySchedule | None]:
    rng = random.Random(seed)
    tz, change = rng.choice(ZONES)
    days = rng.randrange(1, 4)
    first = change - timedelta(days=rng.randrange(days))
    service = ServiceSpec(
        SERVICE,
        rng.choice([15, 30, 45, 60, 120]) * MINUTE,
        rng.choice([0, 0, 5, 15]) * MINUTE,
        rng.choice([0, 0, 10, 30]) * MINUTE,
        rng.choice([1, 1, 3]),
        (ROOM,) if rng.random() < 0.3 else (),
    )
    staff = []
    for i in range(rng.randrange(1, 5)):
        zone = tz if rng.random() < 0.8 else rng.choice(ZONES)[0]
        performs = frozenset({SERVICE}) if rng.random() < 0.9 else frozenset({uuid.UUID(int=10)})
        staff.append(
            StaffAvailability(
                uuid.UUID(int=i + 1),
                schedule(rng, zone, first, days),
                tuple(busy(rng, tz, first, days, service)),
                performs,
            )
        )
    resources = []
    if rng.random() < 0.8:
        room_busy = [entry for entry in busy(rng, tz, first, days, service) if entry.service_id is None]
        for member in staff:  # sessions hold the room too
            room_busy += [entry for entry in member.busy if entry.service_id is not None and rng.random() < 0.7]
        resources.append(ResourceAvailability(ROOM, rng.choice([0, 1, 1, 2, 2, 2]), tuple(room_busy)))
    business = schedule(rng, tz, first, days) if rng.random() < 0.3 else None
    now = (
        datetime.combine(first, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)
        + rng.choice([-48, -3, 0, 7]) * 60 * MINUTE
    )
    query = SlotQuery(
        services=(service,),
        start_day=first,
        end_day=first + timedelta(days=days - 1),
        timezone=rng.choice([tz, tz, "UTC", "Pacific/Auckland"]),
        now=now,
        rules=SlotRules(
            granularity=rng.choice([10, 15, 20, 30, 45, 60, 90]) * MINUTE,
            min_notice=rng.choice([0, 0, 60, 600]) * MINUTE,
            horizon=rng.choice([timedelta(days=2), timedelta(days=30), timedelta(days=30)]),
        ),
        staff_ids=frozenset({uuid.UUID(int=1), uuid.UUID(int=3)}) if rng.random() < 0.2 else None,
        seats=rng.choice([1, 1, 2]) if service.capacity > 1 else 1,
    )
    return query, staff, resources, business


def both_paths(
    query: SlotQuery,
    staff: list[StaffAvailability],
    resources: list[ResourceAvailability],
    business: WeeklySchedule | None,
    only: datetime | None = None,
) -> tuple[list[Slot], list[Slot]]:
    fast = _Engine(query, staff, resources, business, only=only)
    general = _Engine(query, staff, resources, business, only=only)
    if fast.empty:
        return [], []
    return fast._single_service_slots(), general._general_slots()


@pytest.mark.parametrize("seed", range(600))
def test_the_fast_path_gives_the_general_paths_slots(seed: int) -> None:
    query, staff, resources, business = case(seed)
    fast, general = both_paths(query, staff, resources, business)
    assert fast == general
    assert fast == find_available_slots(query, staff, resources, business)
    # is_bookable's engine: one instant, offered or not (the window is the start's own day there, any day here).
    rng = random.Random(seed)
    offered = [slot.start for slot in fast]
    tz, first = query.timezone, query.start_day
    for at in rng.sample(offered, min(3, len(offered))) + [instant(rng, tz, first, 3) for _ in range(3)]:
        assert (
            both_paths(query, staff, resources, business, only=at)[0]
            == both_paths(query, staff, resources, business, only=at)[1]
        )


def test_the_random_cases_reach_every_branch() -> None:
    """The cases above are only worth something if they offer slots, join sessions and are refused by rooms."""
    offered = joined = seats = 0
    for seed in range(600):
        query, staff, resources, business = case(seed)
        slots = find_available_slots(query, staff, resources, business)
        offered += len(slots)
        seats += sum(1 for slot in slots if slot.seats_left is not None)
        joined += sum(
            1
            for slot in slots
            for member in staff
            for entry in member.busy
            if entry.session_start == slot.start and member.staff_id in slot.staff_ids
        )
    assert offered > 3000 and seats > 1000 and joined > 20


def salon_case(seed: int) -> tuple[SlotQuery, list[StaffAvailability], list[StaffAvailability]]:
    """Many staff sharing a few schedules (so a grid), with one-to-one bookings that never overlap but often touch
    (back to back), as the database hands them over: sorted integer columns, and the same as datetime entries."""
    rng = random.Random(seed)
    tz, change = rng.choice(ZONES)
    days = rng.randrange(1, 5)
    first = change - timedelta(days=rng.randrange(days))
    service = ServiceSpec(
        SERVICE,
        rng.choice([15, 30, 60, 90]) * MINUTE,
        rng.choice([0, 0, 5]) * MINUTE,
        rng.choice([0, 0, 10]) * MINUTE,
        1,
        (),
    )
    schedules = [schedule(rng, rng.choice([tz, tz, rng.choice(ZONES)[0]]), first, days) for _ in range(3)]
    as_integers, as_datetimes = [], []
    for i in range(rng.randrange(1, 21)):
        starts: list[int] = []
        ends: list[int] = []
        at = instant(rng, tz, first, -1)
        for _ in range(rng.randrange(30)):
            at += rng.choice([0, 0, 0, 1, 5, 30, 60, 300]) * MINUTE + rng.choice([0, 0, 1]) * SECOND
            end = at + rng.choice([SECOND, 15 * MINUTE, 30 * MINUTE, 60 * MINUTE, 90 * MINUTE])
            starts.append((at - EPOCH) // TICK)
            ends.append((end - EPOCH) // TICK)
            at = end
        hours = rng.choice(schedules)
        performs = frozenset({SERVICE}) if rng.random() < 0.9 else frozenset({uuid.UUID(int=10)})
        as_integers.append(StaffAvailability(uuid.UUID(int=i + 1), hours, BusyMicros(starts, ends), performs))
        entries = tuple(Busy(EPOCH + s * TICK, EPOCH + e * TICK) for s, e in zip(starts, ends, strict=True))
        as_datetimes.append(StaffAvailability(uuid.UUID(int=i + 1), hours, entries, performs))
    query = SlotQuery(
        services=(service,),
        start_day=first,
        end_day=first + timedelta(days=days - 1),
        timezone=rng.choice([tz, "UTC"]),
        now=datetime.combine(first, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC) - timedelta(days=1),
        rules=SlotRules(rng.choice([10, 15, 30, 60]) * MINUTE, timedelta(0), timedelta(days=30)),
        staff_ids=frozenset(uuid.UUID(int=i) for i in range(1, 21, 2)) if rng.random() < 0.2 else None,
    )
    return query, as_integers, as_datetimes


@pytest.mark.parametrize("seed", range(300))
def test_staff_sharing_a_grid_with_back_to_back_bookings_get_the_general_paths_slots(seed: int) -> None:
    query, as_integers, as_datetimes = salon_case(seed)
    fast, general = both_paths(query, as_integers, [], None)
    assert fast == general
    assert fast == both_paths(query, as_datetimes, [], None)[0]


def test_the_salon_cases_share_grids_and_offer_slots_to_several_staff() -> None:
    shared = offered = 0
    for seed in range(300):
        query, as_integers, _ = salon_case(seed)
        shared += len(as_integers) - len({id(member.schedule) for member in as_integers})
        offered += sum(len(slot.staff_ids) > 1 for slot in find_available_slots(query, as_integers, []))
    assert shared > 1000 and offered > 1000


def test_hours_kept_across_queries_follow_every_change_of_the_hours_and_stay_few() -> None:
    """Expanded hours are kept between queries by their content: a day off added, or the same hours in another
    zone, is a different expansion; and only the most recent few are kept."""
    query = case(3)[0]
    service = query.services[0]
    weekly = {day: (LocalRange(time(9), time(17)),) for day in range(7)}
    hours = WeeklySchedule(query.timezone, weekly)
    member = StaffAvailability(uuid.UUID(int=1), hours, (), frozenset({service.service_id}))
    plain = replace(query, staff_ids=None, rules=replace(query.rules, horizon=timedelta(days=30)))
    before = find_available_slots(plain, [member], [])
    assert before and find_available_slots(plain, [member], []) == before
    day_off = replace(hours, exceptions=(ScheduleException(query.start_day, False),))
    after = find_available_slots(plain, [replace(member, schedule=day_off)], [])
    zone = ZoneInfo(query.timezone)
    assert after == [slot for slot in before if slot.start.astimezone(zone).date() != query.start_day]
    elsewhere = replace(hours, timezone="Asia/Tokyo" if query.timezone != "Asia/Tokyo" else "Europe/Berlin")
    assert find_available_slots(plain, [replace(member, schedule=elsewhere)], []) != before
    for n in range(_EXPANSIONS_KEPT + 10):
        extra = (ScheduleException(query.start_day + timedelta(days=n + 40), True, (LocalRange(time(6), time(7)),)),)
        find_available_slots(plain, [replace(member, schedule=replace(hours, exceptions=extra))], [])
    assert len(_EXPANSIONS) <= _EXPANSIONS_KEPT


def test_a_service_needing_a_room_with_nobody_to_take_it_offers_nothing() -> None:
    query, staff, _, _ = case(7)
    service = replace(query.services[0], resource_ids=(ROOM,))
    room = [ResourceAvailability(ROOM, 1, ())]
    for nobody in ([], [replace(member, service_ids=frozenset()) for member in staff]):
        assert find_available_slots(replace(query, services=(service,)), nobody, room) == []
