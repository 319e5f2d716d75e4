"""The availability engine with fixed dates: each rule of the module docstring, one behaviour per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling_svc.domain.availability import (
    Busy,
    LocalRange,
    ResourceAvailability,
    ScheduleException,
    Segment,
    ServiceSpec,
    Slot,
    SlotQuery,
    SlotRules,
    StaffAvailability,
    WeeklySchedule,
    effective_rules,
    find_available_slots,
    is_bookable,
    plan_segments,
    working_time,
)

BERLIN = "Europe/Berlin"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
MONDAY = date(2026, 6, 1)  # no DST change near it
ALICE, BOB, CAROL = (uuid.UUID(int=n) for n in (1, 2, 3))
ROOM = uuid.UUID(int=100)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def hm(text: str) -> time:
    hours, mins = text.split(":")
    return time(int(hours) % 24, int(mins))


def ranges(*spans: str) -> tuple[LocalRange, ...]:
    """ranges("09:00-12:00", "13:00-24:00")"""
    out = []
    for span in spans:
        start, end = span.split("-")
        out.append(LocalRange(hm(start), hm(end)))
    return tuple(out)


def hours(
    *spans: str, tz: str = BERLIN, days: Iterable[int] = range(7), exceptions: Sequence[ScheduleException] = ()
) -> WeeklySchedule:
    return WeeklySchedule(tz, {day: ranges(*spans) for day in days}, tuple(exceptions))


def service(
    length: int = 60,
    before: int = 0,
    after: int = 0,
    capacity: int = 1,
    resources: tuple[uuid.UUID, ...] = (),
    rules: SlotRules | None = None,
    service_id: uuid.UUID | None = None,
) -> ServiceSpec:
    return ServiceSpec(
        service_id=service_id or uuid.uuid4(),
        duration=minutes(length),
        buffer_before=minutes(before),
        buffer_after=minutes(after),
        capacity=capacity,
        resource_ids=resources,
        rules=rules,
    )


def member(
    staff_id: uuid.UUID, schedule: WeeklySchedule, *services: ServiceSpec, busy: Sequence[Busy] = ()
) -> StaffAvailability:
    return StaffAvailability(staff_id, schedule, tuple(busy), frozenset(s.service_id for s in services))


def rules(grid: int = 30, notice: timedelta = timedelta(0), horizon: timedelta = timedelta(days=400)) -> SlotRules:
    return SlotRules(granularity=minutes(grid), min_notice=notice, horizon=horizon)


def query(
    *services: ServiceSpec,
    day: date = MONDAY,
    end_day: date | None = None,
    tz: str = BERLIN,
    now: datetime = NOW,
    slot_rules: SlotRules | None = None,
    staff_ids: Iterable[uuid.UUID] | None = None,
    seats: int = 1,
) -> SlotQuery:
    return SlotQuery(
        services=services,
        start_day=day,
        end_day=end_day or day,
        timezone=tz,
        now=now,
        rules=slot_rules or rules(),
        staff_ids=None if staff_ids is None else frozenset(staff_ids),
        seats=seats,
    )


def local(day: date, clock: str, tz: str = BERLIN, fold: int = 0) -> datetime:
    """A wall-clock time as a UTC instant."""
    return datetime.combine(day, hm(clock)).replace(tzinfo=ZoneInfo(tz), fold=fold).astimezone(UTC)


def labels(slots: Sequence[Slot], tz: str = BERLIN) -> list[str]:
    return [slot.start.astimezone(ZoneInfo(tz)).strftime("%H:%M") for slot in slots]


def stamps(slots: Sequence[Slot], tz: str = BERLIN) -> list[str]:
    """Local date, clock and offset: tells the two passes of a repeated hour apart."""
    return [slot.start.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M%z") for slot in slots]


def grid(first: str, last: str, step: int = 30) -> list[str]:
    at = datetime.combine(MONDAY, hm(first))
    end = datetime.combine(MONDAY, hm(last))
    out = []
    while at <= end:
        out.append(at.strftime("%H:%M"))
        at += minutes(step)
    return out


def busy(
    day: date,
    start: str,
    end: str,
    service_id: uuid.UUID | None = None,
    session_start: datetime | None = None,
    seats: int = 1,
) -> Busy:
    return Busy(local(day, start), local(day, end), service_id, session_start, seats)


# --- Daylight saving: Europe/Berlin 2026 (29 March 02:00 -> 03:00, 25 October 03:00 -> 02:00) ---------------------


@pytest.mark.parametrize("day", [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)])
def test_day_hours_are_local_hours_around_the_spring_change(day: date) -> None:
    cut = service(60)
    slots = find_available_slots(
        query(cut, day=day, slot_rules=rules(60)), [member(ALICE, hours("09:00-17:00"), cut)], []
    )
    assert labels(slots) == grid("09:00", "16:00", 60)
    assert slots[0].start == local(day, "09:00")
    assert slots[0].start.hour == (8 if day < date(2026, 3, 29) else 7)  # UTC moved, the wall clock did not


@pytest.mark.parametrize("day", [date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26)])
def test_day_hours_are_local_hours_around_the_autumn_change(day: date) -> None:
    cut = service(60)
    slots = find_available_slots(
        query(cut, day=day, slot_rules=rules(60)), [member(ALICE, hours("09:00-17:00"), cut)], []
    )
    assert labels(slots) == grid("09:00", "16:00", 60)
    assert slots[-1].start.hour == (14 if day < date(2026, 10, 25) else 15)


def test_night_shift_on_the_spring_change_skips_the_missing_hour() -> None:
    day = date(2026, 3, 29)
    cut = service(30)
    night = hours("00:00-06:00")
    slots = find_available_slots(query(cut, day=day), [member(ALICE, night, cut)], [])
    assert labels(slots) == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30", "04:00", "04:30", "05:00", "05:30"]
    # The shift is 5 real hours that day: 00:00 CET to 06:00 CEST.
    assert working_time(night, day, day) == [
        (datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 4, tzinfo=UTC))
    ]


def test_night_shift_on_the_autumn_change_offers_the_repeated_hour_once() -> None:
    day = date(2026, 10, 25)
    cut = service(30)
    night = hours("00:00-06:00")
    slots = find_available_slots(query(cut, day=day), [member(ALICE, night, cut)], [])
    assert stamps(slots) == [
        "10-25 00:00+0200",
        "10-25 00:30+0200",
        "10-25 01:00+0200",
        "10-25 01:30+0200",
        "10-25 02:00+0200",  # first pass only: 02:00 and 02:30 CET are not offered again
        "10-25 02:30+0200",
        "10-25 03:00+0100",
        "10-25 03:30+0100",
        "10-25 04:00+0100",
        "10-25 04:30+0100",
        "10-25 05:00+0100",
        "10-25 05:30+0100",
    ]
    # The shift is 7 real hours that day: 00:00 CEST to 06:00 CET.
    assert working_time(night, day, day) == [
        (datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 5, tzinfo=UTC))
    ]


def test_an_end_in_the_repeated_hour_is_its_second_pass_and_labels_stay_before_it() -> None:
    day = date(2026, 10, 25)
    schedule = hours("00:00-02:30")
    assert working_time(schedule, day, day)[0][1] == local(day, "02:30", fold=1)  # 01:30 UTC
    cut = service(30)
    slots = find_available_slots(query(cut, day=day), [member(ALICE, schedule, cut)], [])
    assert labels(slots) == ["00:00", "00:30", "01:00", "01:30", "02:00"]
    # A long service from 02:00 (first pass, 00:00 UTC) fits: the staff member works until 02:30 comes round again.
    long = service(90)
    slots = find_available_slots(query(long, day=day), [member(ALICE, schedule, long)], [])
    assert labels(slots) == ["00:00", "00:30", "01:00", "01:30", "02:00"]
    assert slots[-1].options[0][0].end == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_a_start_in_the_missing_hour_moves_to_the_jump() -> None:
    day = date(2026, 3, 29)
    schedule = hours("02:30-05:00")
    assert working_time(schedule, day, day) == [
        (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 3, 29, 3, tzinfo=UTC))
    ]
    cut = service(30)
    slots = find_available_slots(query(cut, day=day), [member(ALICE, schedule, cut)], [])
    assert labels(slots) == ["03:00", "03:30", "04:00", "04:30"]


def test_the_grid_keeps_its_labels_through_the_missing_hour() -> None:
    # 02:00 + 45-minute steps: 02:00 and 02:45 do not exist that night; 03:30 and 04:15 do. No re-anchoring at 03:00.
    day = date(2026, 3, 29)
    cut = service(30)
    slots = find_available_slots(
        query(cut, day=day, slot_rules=rules(45)), [member(ALICE, hours("02:00-05:00"), cut)], []
    )
    assert labels(slots) == ["03:30", "04:15"]


def test_lord_howe_half_hour_changes() -> None:
    tz = "Australia/Lord_Howe"
    zone = ZoneInfo(tz)
    spring, autumn = date(2026, 10, 4), date(2026, 4, 5)
    assert datetime(2026, 10, 4, 1, tzinfo=zone).utcoffset() == timedelta(hours=10, minutes=30)
    assert datetime(2026, 10, 4, 3, tzinfo=zone).utcoffset() == timedelta(hours=11)
    cut = service(30)
    night = hours("00:00-06:00", tz=tz)
    staff = [member(ALICE, night, cut)]

    slots = find_available_slots(query(cut, day=spring, tz=tz), staff, [])
    assert labels(slots, tz) == grid("00:00", "05:30")[:4] + grid("02:30", "05:30")  # 02:00 does not exist
    assert working_time(night, spring, spring)[0][1] - working_time(night, spring, spring)[0][0] == minutes(330)

    slots = find_available_slots(query(cut, day=autumn, tz=tz), staff, [])
    assert labels(slots, tz) == grid("00:00", "05:30")  # 01:30 happens twice: offered once, at the first pass
    assert slots[3].start == local(autumn, "01:30", tz) == datetime(2026, 4, 4, 14, 30, tzinfo=UTC)
    assert working_time(night, autumn, autumn)[0][1] - working_time(night, autumn, autumn)[0][0] == minutes(390)


# --- Grid, midnight and the client's days -------------------------------------------------------------------------


def test_the_grid_starts_at_each_range_start() -> None:
    cut = service(30)
    slots = find_available_slots(query(cut), [member(ALICE, hours("09:10-11:00", "13:00-14:00"), cut)], [])
    assert labels(slots) == ["09:10", "09:40", "10:10", "13:00", "13:30"]


def test_ranges_run_to_midnight_and_a_service_may_span_it() -> None:
    cut = service(90)
    staff = [member(ALICE, hours("00:00-02:00", "22:00-00:00"), cut)]
    slots = find_available_slots(query(cut, slot_rules=rules(60)), staff, [])
    # 23:00 runs to 00:30 in the next day's range: the working time is continuous across midnight.
    assert stamps(slots) == ["06-01 00:00+0200", "06-01 22:00+0200", "06-01 23:00+0200"]


def test_days_are_cut_in_the_clients_zone() -> None:
    # 1 June in Auckland (+12) is 31 May 12:00 UTC to 1 June 12:00 UTC: the end of Berlin's 31 May, the start of 1 June.
    cut = service(60)
    slots = find_available_slots(
        query(cut, tz="Pacific/Auckland", slot_rules=rules(60)), [member(ALICE, hours("09:00-17:00"), cut)], []
    )
    assert stamps(slots) == [f"05-31 {h}:00+0200" for h in (14, 15, 16)] + [
        f"06-01 {h:02}:00+0200" for h in (9, 10, 11, 12, 13)
    ]


def test_the_staff_members_grid_is_in_their_own_zone() -> None:
    # Staff in London 09:00-11:00 viewed from Berlin: labels 10:00.. on the Berlin clock.
    cut = service(60)
    staff = [member(ALICE, hours("09:00-11:00", tz="Europe/London"), cut)]
    assert labels(find_available_slots(query(cut), staff, [])) == ["10:00", "10:30", "11:00"]


# --- Buffers ----------------------------------------------------------------------------------------------------


def test_buffers_stay_inside_working_hours() -> None:
    massage = service(60, before=15, after=15)
    slots = find_available_slots(
        query(massage, slot_rules=rules(15)), [member(ALICE, hours("09:00-12:00"), massage)], []
    )
    assert labels(slots) == grid("09:15", "10:45", 15)


def test_buffers_may_not_overlap_bookings_but_may_touch_them() -> None:
    cut = service(30, before=10, after=10)
    taken = busy(MONDAY, "10:30", "11:30")  # an existing booking, its buffers included
    slots = find_available_slots(
        query(cut, slot_rules=rules(15)), [member(ALICE, hours("09:00-13:00"), cut, busy=[taken])], []
    )
    assert labels(slots) == ["09:15", "09:30", "09:45", "11:45", "12:00", "12:15"]
    # 09:50 would touch exactly (09:40-10:30): on a 10-minute grid it is offered.
    slots = find_available_slots(
        query(cut, slot_rules=rules(10)), [member(ALICE, hours("09:00-13:00"), cut, busy=[taken])], []
    )
    assert "09:50" in labels(slots) and "10:00" not in labels(slots) and "11:40" in labels(slots)


def test_segments_carry_their_occupied_span() -> None:
    massage = service(60, before=15, after=5)
    slot = find_available_slots(query(massage), [member(ALICE, hours("09:00-12:00"), massage)], [])[0]
    (segment,) = slot.options[0]
    assert (segment.start, segment.end) == (local(MONDAY, "09:30"), local(MONDAY, "10:30"))
    assert (segment.occupied_start, segment.occupied_end) == (local(MONDAY, "09:15"), local(MONDAY, "10:35"))


# --- Notice and horizon -----------------------------------------------------------------------------------------


def test_minimum_notice() -> None:
    cut = service(30)
    now = local(MONDAY, "09:10")
    staff = [member(ALICE, hours("09:00-17:00"), cut)]
    slots = find_available_slots(query(cut, now=now, slot_rules=rules(notice=timedelta(hours=2))), staff, [])
    assert labels(slots)[0] == "11:30"
    slots = find_available_slots(query(cut, now=now, slot_rules=rules(notice=minutes(110))), staff, [])
    assert labels(slots)[0] == "11:00"  # exactly now + notice is allowed


def test_no_slots_in_the_past() -> None:
    cut = service(30)
    slots = find_available_slots(query(cut, now=local(MONDAY, "12:00")), [member(ALICE, hours("09:00-17:00"), cut)], [])
    assert labels(slots)[0] == "12:00"


def test_horizon() -> None:
    cut = service(60)
    now = local(MONDAY, "10:00")
    slots = find_available_slots(
        query(cut, end_day=MONDAY + timedelta(days=3), now=now, slot_rules=rules(60, horizon=timedelta(days=1))),
        [member(ALICE, hours("09:00-17:00"), cut)],
        [],
    )
    assert stamps(slots)[0] == "06-01 10:00+0200"
    assert stamps(slots)[-1] == "06-02 10:00+0200"  # now + horizon exactly is still bookable
    assert len(slots) == 7 + 2


# --- Group sessions and capacity ----------------------------------------------------------------------------------


def group_session(klass: ServiceSpec, start: str, seats: int = 1) -> Busy:
    """One booking of `seats` in a one-hour session of `klass` starting at `start` on MONDAY."""
    end = (datetime.combine(MONDAY, hm(start)) + timedelta(hours=1)).strftime("%H:%M")
    return busy(MONDAY, start, end, service_id=klass.service_id, session_start=local(MONDAY, start), seats=seats)


def test_a_new_group_session_has_every_seat() -> None:
    klass = service(60, capacity=3)
    slots = find_available_slots(query(klass, slot_rules=rules(60)), [member(ALICE, hours("09:00-12:00"), klass)], [])
    assert labels(slots) == ["09:00", "10:00", "11:00"]
    assert {slot.seats_left for slot in slots} == {3}


def test_joining_a_group_session_with_seats_left() -> None:
    klass = service(60, capacity=3)
    taken = [group_session(klass, "10:00"), group_session(klass, "10:00")]  # two bookings of one seat
    staff = [member(ALICE, hours("09:00-12:00"), klass, busy=taken)]
    slots = find_available_slots(query(klass, slot_rules=rules(60)), staff, [])
    assert labels(slots) == ["09:00", "10:00", "11:00"]
    assert [slot.seats_left for slot in slots] == [3, 1, 3]
    # Two seats wanted: only one left in the 10:00 session.
    slots = find_available_slots(query(klass, slot_rules=rules(60), seats=2), staff, [])
    assert labels(slots) == ["09:00", "11:00"]


def test_a_full_group_session_is_not_offered() -> None:
    klass = service(60, capacity=3)
    staff = [member(ALICE, hours("09:00-12:00"), klass, busy=[group_session(klass, "10:00", seats=3)])]
    assert labels(find_available_slots(query(klass, slot_rules=rules(60)), staff, [])) == ["09:00", "11:00"]


def test_a_session_of_another_service_or_start_cannot_be_joined() -> None:
    klass, other = service(60, capacity=3), service(60, capacity=3)
    staff = [member(ALICE, hours("09:00-12:00"), klass, other, busy=[group_session(other, "10:00")])]
    assert labels(find_available_slots(query(klass, slot_rules=rules(60)), staff, [])) == ["09:00", "11:00"]
    # Same service, but a 30-minute grid: 10:30 overlaps the 10:00 session without being it.
    staff = [member(ALICE, hours("09:00-12:00"), klass, busy=[group_session(klass, "10:00")])]
    assert labels(find_available_slots(query(klass), staff, [])) == ["09:00", "10:00", "11:00"]


def test_an_existing_session_off_the_grid_can_be_joined() -> None:
    klass = service(60, capacity=3)
    staff = [member(ALICE, hours("09:00-12:00"), klass, busy=[group_session(klass, "10:20")])]
    slots = find_available_slots(query(klass, slot_rules=rules(60)), staff, [])
    assert labels(slots) == ["09:00", "10:20"]
    assert slots[1].seats_left == 2


def test_a_one_to_one_service_has_one_seat() -> None:
    cut = service(60)
    staff = [member(ALICE, hours("09:00-12:00"), cut)]
    assert find_available_slots(query(cut, seats=2), staff, []) == []
    assert all(slot.seats_left is None for slot in find_available_slots(query(cut), staff, []))


def test_seats_left_is_the_minimum_over_the_staff_offered() -> None:
    klass = service(60, capacity=4)
    staff = [
        member(ALICE, hours("10:00-11:00"), klass, busy=[group_session(klass, "10:00", seats=3)]),
        member(BOB, hours("10:00-11:00"), klass),
    ]
    (slot,) = find_available_slots(query(klass, slot_rules=rules(60)), staff, [])
    assert slot.staff_ids == (ALICE, BOB) and slot.seats_left == 1


# --- Exceptions, business hours and holidays ----------------------------------------------------------------------


def test_a_day_off() -> None:
    cut = service(60)
    schedule = hours("09:00-12:00", exceptions=[ScheduleException(MONDAY, available=False)])
    slots = find_available_slots(
        query(cut, end_day=MONDAY + timedelta(days=1), slot_rules=rules(60)), [member(ALICE, schedule, cut)], []
    )
    assert stamps(slots) == ["06-02 09:00+0200", "06-02 10:00+0200", "06-02 11:00+0200"]


def test_part_of_a_day_off_keeps_the_days_grid() -> None:
    cut = service(30)
    off = ScheduleException(MONDAY, available=False, ranges=ranges("12:10-13:00"))
    slots = find_available_slots(query(cut), [member(ALICE, hours("09:00-17:00", exceptions=[off]), cut)], [])
    assert labels(slots) == grid("09:00", "11:30") + grid("13:00", "16:30")


def test_extra_hours() -> None:
    cut = service(30)
    extra = ScheduleException(MONDAY, available=True, ranges=ranges("18:00-20:00"))
    slots = find_available_slots(query(cut), [member(ALICE, hours("09:00-12:00", exceptions=[extra]), cut)], [])
    assert labels(slots) == grid("09:00", "11:30") + grid("18:00", "19:30")


def test_a_day_off_with_extra_hours_replaces_the_days_hours() -> None:
    cut = service(30)
    changes = [
        ScheduleException(MONDAY, available=False),
        ScheduleException(MONDAY, available=True, ranges=ranges("12:00-14:00")),
    ]
    slots = find_available_slots(query(cut), [member(ALICE, hours("09:00-17:00", exceptions=changes), cut)], [])
    assert labels(slots) == grid("12:00", "13:30")


def test_time_off_wins_over_extra_hours() -> None:
    cut = service(30)
    changes = [
        ScheduleException(MONDAY, available=True, ranges=ranges("18:00-20:00")),
        ScheduleException(MONDAY, available=False, ranges=ranges("17:00-19:00")),
    ]
    slots = find_available_slots(query(cut), [member(ALICE, hours("09:00-10:00", exceptions=changes), cut)], [])
    assert labels(slots) == ["09:00", "09:30", "19:00", "19:30"]


def test_overlapping_ranges_are_one_range_with_one_grid() -> None:
    cut = service(30)
    extra = ScheduleException(MONDAY, available=True, ranges=ranges("08:15-10:00"))
    slots = find_available_slots(query(cut), [member(ALICE, hours("09:00-11:00", exceptions=[extra]), cut)], [])
    assert labels(slots) == ["08:15", "08:45", "09:15", "09:45", "10:15"]


def test_staff_time_is_intersected_with_business_hours() -> None:
    cut = service(30)
    staff = [member(ALICE, hours("08:00-18:00"), cut)]
    slots = find_available_slots(query(cut), staff, [], business_hours=hours("09:00-17:00"))
    assert labels(slots) == grid("09:00", "16:30")


def test_business_hours_filter_the_staff_grid_without_moving_it() -> None:
    cut = service(30)
    staff = [member(ALICE, hours("08:45-12:00"), cut)]
    slots = find_available_slots(query(cut), staff, [], business_hours=hours("09:00-17:00"))
    assert labels(slots) == ["09:15", "09:45", "10:15", "10:45", "11:15"]


def test_business_hours_in_another_zone() -> None:
    cut = service(30)
    staff = [member(ALICE, hours("08:00-18:00"), cut)]
    slots = find_available_slots(query(cut), staff, [], business_hours=hours("09:00-17:00", tz="Europe/London"))
    assert labels(slots) == grid("10:00", "17:30")


def test_business_holidays() -> None:
    cut = service(60)
    holiday = ScheduleException(MONDAY, available=False)
    business = hours("09:00-17:00", exceptions=[holiday])
    staff = [member(ALICE, hours("09:00-11:00"), cut)]
    slots = find_available_slots(
        query(cut, end_day=MONDAY + timedelta(days=1), slot_rules=rules(60)), staff, [], business
    )
    assert stamps(slots) == ["06-02 09:00+0200", "06-02 10:00+0200"]


def test_business_closed_on_a_weekday() -> None:
    cut = service(60)
    business = hours("09:00-17:00", days=range(5))  # Monday to Friday
    staff = [member(ALICE, hours("10:00-11:00"), cut)]
    saturday = date(2026, 6, 6)
    assert find_available_slots(query(cut, day=saturday), staff, [], business) == []


# --- Resources ----------------------------------------------------------------------------------------------------


def test_one_room_shared_by_two_therapists() -> None:
    massage = service(60, resources=(ROOM,))
    staff = [member(ALICE, hours("09:00-12:00"), massage), member(BOB, hours("09:00-12:00"), massage)]
    room = ResourceAvailability(ROOM, capacity=1, busy=(busy(MONDAY, "10:00", "11:00"),))
    slots = find_available_slots(query(massage, slot_rules=rules(60)), staff, [room])
    assert labels(slots) == ["09:00", "11:00"]  # both therapists are free at 10:00; the room is not
    assert all(slot.staff_ids == (ALICE, BOB) for slot in slots)
    assert [[segment.staff_id for (segment,) in slot.options] for slot in slots] == [[ALICE, BOB], [ALICE, BOB]]


def test_a_resource_with_spare_units() -> None:
    massage = service(60, resources=(ROOM,))
    staff = [member(ALICE, hours("09:00-12:00"), massage)]
    rooms = ResourceAvailability(ROOM, capacity=2, busy=(busy(MONDAY, "10:00", "11:00"),))
    assert labels(find_available_slots(query(massage, slot_rules=rules(60)), staff, [rooms])) == grid(
        "09:00", "11:00", 60
    )
    rooms = ResourceAvailability(ROOM, capacity=2, busy=(busy(MONDAY, "10:00", "11:00", seats=2),))
    assert labels(find_available_slots(query(massage, slot_rules=rules(60)), staff, [rooms])) == ["09:00", "11:00"]
    # Two single bookings overlapping only at 10:30-11:00 fill both units only there.
    rooms = ResourceAvailability(
        ROOM, capacity=2, busy=(busy(MONDAY, "09:00", "11:00"), busy(MONDAY, "10:30", "12:00"))
    )
    assert labels(find_available_slots(query(massage), staff, [rooms])) == ["09:00", "09:30", "11:00"]


def test_a_resource_needs_a_free_unit_over_the_buffers_too() -> None:
    massage = service(60, before=15, resources=(ROOM,))
    staff = [member(ALICE, hours("09:00-13:00"), massage)]
    room = ResourceAvailability(ROOM, capacity=1, busy=(busy(MONDAY, "09:00", "10:50"),))
    assert labels(find_available_slots(query(massage), staff, [room]))[0] == "11:30"


def test_a_required_resource_that_is_not_given_is_unavailable() -> None:
    massage = service(60, resources=(ROOM,))
    assert find_available_slots(query(massage), [member(ALICE, hours("09:00-12:00"), massage)], []) == []


def test_a_group_session_holds_its_room_once() -> None:
    klass = service(60, capacity=10, resources=(ROOM,))
    session = [group_session(klass, "10:00"), group_session(klass, "10:00")]
    staff = [member(ALICE, hours("09:00-12:00"), klass, busy=session)]
    room = ResourceAvailability(ROOM, capacity=1, busy=tuple(session))
    slots = find_available_slots(query(klass, slot_rules=rules(60)), staff, [room])
    assert labels(slots) == ["09:00", "10:00", "11:00"]  # 10:00 joins the session, in its room
    assert slots[1].seats_left == 8
    # Another service needing the room at 10:00 finds it held (once) by the session.
    facial = service(60, resources=(ROOM,))
    staff = [member(BOB, hours("09:00-12:00"), facial)]
    assert labels(find_available_slots(query(facial, slot_rules=rules(60)), staff, [room])) == ["09:00", "11:00"]


# --- Several services -------------------------------------------------------------------------------------------


CUT = service(30, after=10)
COLOUR = service(60, before=5, after=15)


def segments(slot: Slot) -> list[list[tuple[object, ...]]]:
    """Each option as (staff, occupied start, start, end, occupied end) on the Berlin clock."""

    def row(segment: Segment) -> tuple[object, ...]:
        clock = [segment.occupied_start, segment.start, segment.end, segment.occupied_end]
        return (
            segment.staff_id,
            *(moment.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M") for moment in clock if moment),
        )

    return [[row(segment) for segment in option] for option in slot.options]


def test_two_services_back_to_back_with_the_same_staff_member() -> None:
    staff = [member(ALICE, hours("09:00-12:00"), CUT, COLOUR)]
    slots = find_available_slots(query(CUT, COLOUR), staff, [])
    # Alice's stretch runs from the cut to the colour's buffer after: 105 minutes must fit before 12:00.
    assert labels(slots) == ["09:00", "09:30", "10:00"]
    assert segments(slots[0]) == [
        [(ALICE, "09:00", "09:00", "09:30", "09:30"), (ALICE, "09:30", "09:30", "10:30", "10:45")]
    ]
    assert slots[0].staff_ids == (ALICE,)


def test_two_services_with_different_staff_each_keep_their_buffers() -> None:
    staff = [member(ALICE, hours("09:00-12:00"), CUT), member(BOB, hours("09:00-12:00"), COLOUR)]
    slots = find_available_slots(query(CUT, COLOUR), staff, [])
    assert labels(slots) == ["09:00", "09:30", "10:00"]
    assert segments(slots[0]) == [
        [(ALICE, "09:00", "09:00", "09:30", "09:40"), (BOB, "09:25", "09:30", "10:30", "10:45")]
    ]
    assert slots[0].staff_ids == (ALICE, BOB)


def test_the_same_staff_member_throughout_is_listed_first() -> None:
    staff = [
        member(ALICE, hours("09:00-12:00"), CUT, COLOUR),
        member(BOB, hours("09:00-12:00"), COLOUR),
        member(CAROL, hours("09:00-12:00"), CUT),
    ]
    slot = find_available_slots(query(CUT, COLOUR), staff, [])[0]
    assert [[segment.staff_id for segment in option] for option in slot.options] == [[ALICE, ALICE], [CAROL, ALICE]]
    assert slot.staff_ids == (ALICE, CAROL)


def test_staff_change_when_the_first_cannot_stay() -> None:
    colour_booked = busy(MONDAY, "09:40", "12:00")
    staff = [
        member(ALICE, hours("09:00-12:00"), CUT, COLOUR, busy=[colour_booked]),
        member(BOB, hours("09:00-12:00"), COLOUR),
    ]
    slot = find_available_slots(query(CUT, COLOUR), staff, [])[0]
    assert labels([slot]) == ["09:00"]
    assert [[segment.staff_id for segment in option] for option in slot.options] == [[ALICE, BOB]]


def test_later_services_need_working_staff() -> None:
    # Bob colours only in the afternoon: after a 09:00 cut with Alice there is nobody to colour.
    staff = [member(ALICE, hours("09:00-12:00"), CUT), member(BOB, hours("13:00-17:00"), COLOUR)]
    slots = find_available_slots(query(CUT, COLOUR), staff, [])
    assert slots == []


def test_plan_segments_buffers_at_each_staff_change() -> None:
    wash = service(15, before=5, after=5)
    start = local(MONDAY, "09:00")
    planned = plan_segments([CUT, wash, COLOUR], start, [ALICE, ALICE, BOB])
    assert [(s.occupied_start, s.occupied_end) for s in planned] == [
        (start, start + minutes(30)),
        (start + minutes(30), start + minutes(50)),  # Alice's last: the wash's buffer after
        (start + minutes(40), start + minutes(120)),  # Bob's first: the colour's buffer before
    ]


# --- Staff restriction, qualification, is_bookable ----------------------------------------------------------------


def test_staff_restriction_and_qualification() -> None:
    cut = service(60)
    staff = [
        member(ALICE, hours("09:00-10:00"), cut),
        member(BOB, hours("09:00-10:00"), cut),
        member(CAROL, hours("09:00-10:00")),  # does not perform the service
    ]
    (slot,) = find_available_slots(query(cut), staff, [])
    assert slot.staff_ids == (ALICE, BOB)
    (slot,) = find_available_slots(query(cut, staff_ids=[BOB, CAROL]), staff, [])
    assert slot.staff_ids == (BOB,)
    assert find_available_slots(query(cut, staff_ids=[CAROL]), staff, []) == []


def test_is_bookable_agrees_with_the_offered_slots() -> None:
    cut = service(30, before=10)
    staff = [member(ALICE, hours("09:00-12:00"), cut), member(BOB, hours("10:00-12:00"), cut)]
    wanted = query(cut, day=date(2026, 5, 1))  # the days are ignored: the start decides
    slot = is_bookable(wanted, local(MONDAY, "10:30"), staff, [])
    assert slot is not None and slot.staff_ids == (ALICE, BOB)
    slot = is_bookable(query(cut, staff_ids=[BOB]), local(MONDAY, "10:30"), staff, [])
    assert slot is not None and slot.staff_ids == (BOB,)
    assert is_bookable(wanted, local(MONDAY, "09:00"), staff, []) is None  # buffer before falls outside hours
    assert is_bookable(wanted, local(MONDAY, "10:15"), staff, []) is None  # off the grid
    assert is_bookable(query(cut, now=local(MONDAY, "11:00")), local(MONDAY, "10:30"), staff, []) is None  # past
    offered = find_available_slots(query(cut), staff, [])
    assert [is_bookable(wanted, slot.start, staff, []) for slot in offered] == offered


# --- Rules and validation -----------------------------------------------------------------------------------------


def test_per_service_rules_override_the_querys() -> None:
    hourly = rules(60, notice=timedelta(hours=1), horizon=timedelta(days=30))
    cut = service(30, rules=hourly)
    colour = service(60, rules=rules(15, notice=timedelta(hours=3), horizon=timedelta(days=60)))
    combined = effective_rules(query(cut, colour))
    assert combined == SlotRules(minutes(60), timedelta(hours=3), timedelta(days=30))
    now = local(MONDAY, "07:30")  # an hour's notice: from 08:30
    slots = find_available_slots(query(cut, now=now), [member(ALICE, hours("08:00-12:00"), cut)], [])
    assert labels(slots) == ["09:00", "10:00", "11:00"]


@pytest.mark.parametrize(
    "bad",
    [
        lambda: query(service(30), now=datetime(2026, 1, 1)),
        lambda: query(service(0)),
        lambda: query(service(30), seats=0),
        lambda: query(service(30), tz="Mars/Olympus_Mons"),
        lambda: query(service(30), slot_rules=rules(0)),
    ],
)
def test_invalid_queries_are_refused(bad: Callable[[], SlotQuery]) -> None:
    cut = service(30)
    with pytest.raises(ValueError):
        find_available_slots(bad(), [member(ALICE, hours("09:00-12:00"), cut)], [])


def test_a_reversed_range_is_refused() -> None:
    cut = service(30)
    with pytest.raises(ValueError, match="empty or reversed"):
        find_available_slots(query(cut), [member(ALICE, hours("12:00-09:00"), cut)], [])


def test_an_empty_day_range_has_no_slots() -> None:
    cut = service(30)
    assert (
        find_available_slots(
            query(cut, end_day=MONDAY - timedelta(days=1)), [member(ALICE, hours("09:00-12:00"), cut)], []
        )
        == []
    )


def test_fewest_staff_changes() -> None:
    blow_dry = service(15)
    staff = [
        member(ALICE, hours("09:00-12:00"), COLOUR),
        member(BOB, hours("09:00-12:00"), COLOUR, blow_dry),
        member(CAROL, hours("09:00-12:00"), CUT),
    ]
    slot = find_available_slots(query(CUT, COLOUR, blow_dry), staff, [])[0]
    # Carol cuts; Bob colours and blow-dries rather than Alice colouring and Bob blow-drying (one change, not two).
    assert [[segment.staff_id for segment in option] for option in slot.options] == [[CAROL, BOB, BOB]]
    assert segments(slot)[0][1:] == [
        (BOB, "09:25", "09:30", "10:30", "10:30"),
        (BOB, "10:30", "10:30", "10:45", "10:45"),
    ]


def test_a_resource_is_needed_only_by_the_services_requiring_it() -> None:
    colour = service(60, resources=(ROOM,))
    staff = [member(ALICE, hours("09:00-12:00"), CUT, colour)]
    room = ResourceAvailability(ROOM, capacity=1, busy=(busy(MONDAY, "10:00", "10:30"),))
    slots = find_available_slots(query(CUT, colour), staff, [room])
    # The room is needed for the colour only, from 30 minutes after the start: 09:00 and 09:30 clash with 10:00-10:30.
    assert labels(slots) == ["10:00", "10:30"]
    slots = find_available_slots(query(CUT, colour), staff, [])
    assert slots == []  # a required room that is not given


def test_is_bookable_for_several_services() -> None:
    staff = [member(ALICE, hours("09:00-12:00"), CUT), member(BOB, hours("09:00-12:00"), COLOUR)]
    slot = is_bookable(query(CUT, COLOUR), local(MONDAY, "10:00"), staff, [])
    assert slot is not None and [[s.staff_id for s in option] for option in slot.options] == [[ALICE, BOB]]
    assert is_bookable(query(CUT, COLOUR), local(MONDAY, "10:30"), staff, []) is None  # colour would end 12:15


def test_time_off_in_the_repeated_hour_covers_both_passes() -> None:
    day = date(2026, 10, 25)
    off = ScheduleException(day, available=False, ranges=ranges("02:00-03:00"))
    schedule = hours("00:00-06:00", exceptions=[off])
    assert working_time(schedule, day, day) == [
        (datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 0, tzinfo=UTC)),  # to 02:00 CEST
        (datetime(2026, 10, 25, 2, tzinfo=UTC), datetime(2026, 10, 25, 5, tzinfo=UTC)),  # from 03:00 CET
    ]
    cut = service(30)
    slots = find_available_slots(query(cut, day=day), [member(ALICE, schedule, cut)], [])
    assert labels(slots) == grid("00:00", "01:30") + grid("03:00", "05:30")


def test_a_weekday_without_hours() -> None:
    cut = service(60)
    schedule = WeeklySchedule(BERLIN, {0: ranges("09:00-10:00")})  # Mondays only
    slots = find_available_slots(query(cut, end_day=MONDAY + timedelta(days=7)), [member(ALICE, schedule, cut)], [])
    assert stamps(slots) == ["06-01 09:00+0200", "06-08 09:00+0200"]
