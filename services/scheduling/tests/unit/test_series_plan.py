"""The preview of a series: each occurrence ok or clashing (and why), the nearest free start, decisions applied."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from platform_core.errors import Conflict, FailedPrecondition
from scheduling_svc.domain.availability import (
    Busy,
    LocalRange,
    ScheduleException,
    ServiceSpec,
    SlotRules,
    StaffAvailability,
    WeeklySchedule,
)
from scheduling_svc.domain.recurrence import parse_rule
from scheduling_svc.domain.series import (
    Action,
    Calendar,
    Decision,
    Reason,
    plan_occurrences,
    refuse_clashes,
)

BERLIN = "Europe/Berlin"
TZ = ZoneInfo(BERLIN)
NOW = datetime(2025, 1, 1, tzinfo=UTC)
STAFF = uuid.UUID(int=1)
SERVICE = uuid.UUID(int=10)
NINE_TO_FIVE = {d: (LocalRange(time(9), time(17)),) for d in range(5)}
RULES = SlotRules(granularity=timedelta(minutes=30), min_notice=timedelta(0), horizon=timedelta(days=730))
# Tuesdays at 10:00 from 7 January 2025.
TUESDAYS = parse_rule("FREQ=WEEKLY;COUNT=6", datetime(2025, 1, 7, 10, 0), BERLIN).occurrences(
    None, datetime(2026, 1, 1, tzinfo=UTC), 10
)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), TZ).astimezone(UTC)


def calendar(
    *,
    busy: tuple[Busy, ...] = (),
    time_off: tuple[ScheduleException, ...] = (),
    holidays: tuple[ScheduleException, ...] = (),
    wanted: uuid.UUID | None = STAFF,
) -> Calendar:
    staff = StaffAvailability(STAFF, WeeklySchedule(BERLIN, NINE_TO_FIVE, time_off), busy, frozenset({SERVICE}))
    around_the_clock = {d: (LocalRange(time(0), time(0)),) for d in range(7)}
    business = WeeklySchedule(BERLIN, around_the_clock, holidays) if holidays else None
    service = ServiceSpec(SERVICE, timedelta(minutes=60), timedelta(0), timedelta(0), 1, ())
    return Calendar((service,), (staff,), (), business, RULES, BERLIN, (wanted,))


def test_each_clash_is_marked_with_its_reason_and_free_occurrences_are_ok() -> None:
    second, third, fourth = (o.astimezone(TZ).date() for o in TUESDAYS[1:4])
    planned = plan_occurrences(
        TUESDAYS[:5],
        calendar(
            holidays=(ScheduleException(second, available=False),),
            time_off=(ScheduleException(third, available=False, ranges=(LocalRange(time(9), time(12)),)),),
            busy=(Busy(at(fourth, 10), at(fourth, 10, 30)),),
        ),
        NOW,
    )
    assert [p.clash for p in planned] == [None, Reason.HOLIDAY, Reason.TIME_OFF, Reason.BOOKED, None]
    assert planned[0].option is not None and planned[0].option[0].staff_id == STAFF
    assert all(p.action == Action.BOOK for p in planned)
    # The nearest free start the same day: after the 10:00-10:30 booking, 10:30 (09:30 would run into it).
    assert planned[3].proposed_start == at(fourth, 10, 30)
    # Time off until 12:00: the nearest start is 12:00; a holiday leaves nothing that day.
    assert planned[2].proposed_start == at(third, 12)
    assert planned[1].proposed_start is None


def test_outside_working_hours_proposes_the_last_start_of_the_day() -> None:
    evenings = parse_rule("FREQ=WEEKLY;COUNT=2", datetime(2025, 1, 7, 17, 30), BERLIN).occurrences(
        None, datetime(2026, 1, 1, tzinfo=UTC), 10
    )
    planned = plan_occurrences(evenings, calendar(), NOW)
    assert [p.clash for p in planned] == [Reason.OUTSIDE_HOURS, Reason.OUTSIDE_HOURS]
    assert planned[0].proposed_start == at(date(2025, 1, 7), 16)


def test_decisions_skip_and_shift_and_a_shift_onto_an_earlier_occurrence_is_a_clash() -> None:
    first_day = TUESDAYS[0].astimezone(TZ).date()
    planned = plan_occurrences(
        TUESDAYS[:3],
        calendar(),
        NOW,
        decisions={
            TUESDAYS[1]: Decision(Action.SKIP),
            # Shifted onto the first occurrence's own time: the plan has already given that hour away.
            TUESDAYS[2]: Decision(Action.SHIFT, at(first_day, 10, 30)),
        },
    )
    assert planned[0].clash is None and planned[0].start == TUESDAYS[0]
    assert planned[1].action == Action.SKIP and not planned[1].books
    assert planned[2].start == at(first_day, 10, 30) and planned[2].clash == Reason.BOOKED
    shifted = plan_occurrences(
        TUESDAYS[:1], calendar(), NOW, decisions={TUESDAYS[0]: Decision(Action.SHIFT, at(first_day, 14))}
    )
    assert shifted[0].clash is None and shifted[0].start == at(first_day, 14)


def test_saving_a_clash_fails_naming_the_occurrence_unless_overridden_and_never_over_a_booking() -> None:
    second, third = (o.astimezone(TZ).date() for o in TUESDAYS[1:3])
    holiday = calendar(holidays=(ScheduleException(second, available=False),))
    planned = plan_occurrences(TUESDAYS[:2], holiday, NOW)
    with pytest.raises(Conflict) as raised:
        refuse_clashes(planned, BERLIN, override=False)
    assert raised.value.reason == "SLOT_UNAVAILABLE" and "2025-01-14T10:00+01:00" in raised.value.message
    overridden = plan_occurrences(TUESDAYS[:2], holiday, NOW, override=True)
    refuse_clashes(overridden, BERLIN, override=True)  # a holiday can be overridden by staff
    booked = calendar(busy=(Busy(at(third, 10), at(third, 11)),))
    with pytest.raises(Conflict):
        refuse_clashes(plan_occurrences(TUESDAYS[:3], booked, NOW, override=True), BERLIN, override=True)
    skipped = plan_occurrences(TUESDAYS[:2], holiday, NOW, decisions={TUESDAYS[1]: Decision(Action.SKIP)})
    refuse_clashes(skipped, BERLIN, override=False)


def test_an_occurrence_in_the_past_is_never_booked() -> None:
    planned = plan_occurrences(TUESDAYS[:1], calendar(), TUESDAYS[0] + timedelta(minutes=1))
    assert planned[0].clash == Reason.PAST
    with pytest.raises(FailedPrecondition):
        refuse_clashes(planned, BERLIN, override=True)


def test_anyone_qualified_is_taken_when_no_staff_member_is_named() -> None:
    planned = plan_occurrences(TUESDAYS[:2], calendar(wanted=None), NOW)
    assert [p.option[0].staff_id if p.option else None for p in planned] == [STAFF, STAFF]
