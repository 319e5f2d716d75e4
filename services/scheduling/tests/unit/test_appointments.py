"""The Appointment aggregate and the catalogue's checks, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest

from atrium.scheduling.v1 import events_pb2 as scheduling_events
from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument
from scheduling_svc.adapters.event_mapping import to_envelope
from scheduling_svc.domain import events
from scheduling_svc.domain.appointments import (
    Appointment,
    Status,
    check_booking_rules,
    check_segments_request,
    plan_back_to_back,
    shifted,
    staff_blocks,
    with_staff,
)
from scheduling_svc.domain.availability import LocalRange
from scheduling_svc.domain.catalogue import (
    BookableService,
    check_exception,
    check_service,
    check_settings,
    check_staff_member,
)

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ANNA, BEN = uuid.uuid4(), uuid.uuid4()


def service(name: str, minutes: int, *, before: int = 0, after: int = 0, capacity: int = 1) -> BookableService:
    definition = check_service(
        name=name,
        description="",
        duration_minutes=minutes,
        buffer_before_minutes=before,
        buffer_after_minutes=after,
        price_minor=3000,
        currency="eur",
        capacity=capacity,
        bookable_online=True,
        staff_ids=[],
        resource_ids=[],
        category="",
        colour="",
        rules=None,
    )
    return BookableService(uuid.uuid4(), definition, archived=False, version=1)


def booked(*staff: uuid.UUID, start: datetime = START) -> Appointment:
    services = [service("Cut", 30, before=10, after=5), service("Colour", 60, before=15, after=20)][: len(staff)]
    return Appointment.book(
        tenant_id=uuid.uuid4(),
        appointment_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        segments=plan_back_to_back(services, staff, start),
        timezone="Europe/Berlin",
        notes="",
        source="staff",
        availability_overridden=False,
        actor="staff:x",
        now=NOW,
    )


def test_services_follow_each_other_and_one_staff_member_is_one_block() -> None:
    appointment = booked(ANNA, ANNA)
    cut, colour = appointment.segments
    assert (cut.end, colour.start) == (START + timedelta(minutes=30),) * 2
    assert cut.currency == "EUR"
    [block] = staff_blocks(appointment.segments)
    # Buffers at the edges of the stretch only: 10 before the cut, 20 after the colour.
    assert (block.start, block.end) == (START - timedelta(minutes=10), START + timedelta(minutes=110))


def test_a_change_of_staff_gives_each_their_own_buffers() -> None:
    first, second = staff_blocks(booked(ANNA, BEN).segments)
    assert (first.staff_id, first.start, first.end) == (
        ANNA,
        START - timedelta(minutes=10),
        START + timedelta(minutes=35),
    )
    assert (second.staff_id, second.start, second.end) == (
        BEN,
        START + timedelta(minutes=15),
        START + timedelta(minutes=110),
    )


def test_booking_records_history_and_an_event() -> None:
    appointment = booked(ANNA)
    assert appointment.status == Status.BOOKED
    assert [h.action for h in appointment.new_history] == ["booked"]
    [event] = appointment.events
    assert isinstance(event, events.AppointmentBooked) and event.start == START


def test_a_follow_up_announces_what_it_follows_and_its_action() -> None:
    original = uuid.uuid4()
    services = [service("Cut", 30)]
    appointment = Appointment.book(
        tenant_id=uuid.uuid4(),
        appointment_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        segments=plan_back_to_back(services, [ANNA], START),
        timezone="Europe/Berlin",
        notes="",
        source="staff",
        availability_overridden=False,
        actor="staff:x",
        now=NOW,
        follow_up_of=original,
        follow_up_action="call",
    )
    [event] = appointment.events
    assert isinstance(event, events.AppointmentBooked)
    assert (event.follow_up_of, event.follow_up_action) == (original, "call")
    payload = scheduling_events.AppointmentBooked()
    assert to_envelope(event).payload.Unpack(payload)
    assert (payload.follow_up_of, payload.follow_up_action) == (str(original), "call")


def test_move_keeps_the_replaced_segments_and_announces_a_reschedule() -> None:
    appointment = booked(ANNA)
    later = START + timedelta(hours=2)
    appointment.move(shifted(appointment.segments, later), overridden=False, actor="staff:x", now=NOW)
    assert appointment.starts_at == later and appointment.replaced_segments is not None
    assert appointment.replaced_segments[0].start == START
    assert isinstance(appointment.events[-1], events.AppointmentRescheduled)
    assert appointment.new_history[-1].changes == {"start": [START.isoformat(), later.isoformat()]}


def test_reassigning_names_the_staff_change_and_a_missing_position_is_refused() -> None:
    appointment = booked(ANNA)
    appointment.move(with_staff(appointment.segments, 0, BEN), overridden=True, actor="staff:x", now=NOW)
    assert appointment.new_history[-1].action == "reassigned"
    assert appointment.availability_overridden
    with pytest.raises(InvalidArgument):
        with_staff(appointment.segments, 3, ANNA)


def test_client_cancellation_respects_the_notice_and_staff_must_say_why() -> None:
    appointment = booked(ANNA)
    with pytest.raises(FailedPrecondition) as late:
        appointment.cancel(
            reason="", by="client", actor="client:c", now=START - timedelta(hours=2), notice=timedelta(hours=24)
        )
    assert late.value.reason == "CANCELLATION_WINDOW_PASSED"
    with pytest.raises(InvalidArgument):
        appointment.cancel(reason=" ", by="staff", actor="staff:x", now=NOW, notice=timedelta(0))
    appointment.cancel(reason="", by="client", actor="client:c", now=NOW, notice=timedelta(hours=24))
    assert (appointment.status, appointment.cancelled_by) == (Status.CANCELLED, "client")
    with pytest.raises(FailedPrecondition):
        appointment.cancel(reason="again", by="staff", actor="staff:x", now=NOW, notice=timedelta(0))


def test_completed_and_no_show_only_from_the_start_and_only_from_booked() -> None:
    appointment = booked(ANNA)
    with pytest.raises(FailedPrecondition) as early:
        appointment.complete(actor="staff:x", now=NOW)
    assert early.value.reason == "APPOINTMENT_NOT_STARTED"
    appointment.mark_no_show(actor="staff:x", now=START + timedelta(minutes=20))
    appointment.complete(actor="staff:x", now=START + timedelta(minutes=40))  # a late client did come
    assert appointment.status == Status.COMPLETED
    with pytest.raises(FailedPrecondition):
        appointment.mark_no_show(actor="staff:x", now=START + timedelta(hours=1))


def test_stale_versions_conflict() -> None:
    appointment = booked(ANNA)
    appointment.check_version(0)  # not given: no check
    appointment.check_version(1)
    with pytest.raises(Conflict):
        appointment.check_version(2)


def test_online_rules_block_and_limit_but_not_staff() -> None:
    check_booking_rules(online=False, blocked=True, active_bookings=9, max_active=1)
    with pytest.raises(FailedPrecondition) as blocked:
        check_booking_rules(online=True, blocked=True, active_bookings=0, max_active=0)
    assert blocked.value.reason == "CLIENT_BLOCKED"
    with pytest.raises(FailedPrecondition) as limited:
        check_booking_rules(online=True, blocked=False, active_bookings=2, max_active=2)
    assert limited.value.reason == "MAX_ACTIVE_BOOKINGS"


def test_segment_requests_are_checked_together() -> None:
    with pytest.raises(InvalidArgument) as raised:
        check_segments_request([uuid.uuid4(), uuid.uuid4()], 2, [5, 1])
    assert {v.field for v in raised.value.violations} == {"segments"}
    with pytest.raises(InvalidArgument):
        check_segments_request([uuid.uuid4()], 6, [5])
    check_segments_request([uuid.uuid4()], 5, [5])


def test_catalogue_checks_name_every_field() -> None:
    with pytest.raises(InvalidArgument) as raised:
        check_service(
            name=" ",
            description="",
            duration_minutes=0,
            buffer_before_minutes=-1,
            buffer_after_minutes=0,
            price_minor=-5,
            currency="euro",
            capacity=0,
            bookable_online=True,
            staff_ids=["nope"],
            resource_ids=[],
            category="",
            colour="red",
            rules=(1, 0, 0),
        )
    assert {v.field for v in raised.value.violations} == {
        "name",
        "duration_minutes",
        "buffer_before_minutes",
        "price.amount_minor",
        "price.currency",
        "capacity",
        "staff_ids[0]",
        "colour",
        "slot_rules.granularity_minutes",
        "slot_rules.horizon_days",
    }


def test_hours_must_be_ordered_and_apart_and_midnight_ends_a_day() -> None:
    member = check_staff_member(
        staff_id=str(uuid.uuid4()),
        display_name="Anna",
        timezone="Europe/Berlin",
        weekly=[(0, [("13:00", "17:00"), ("08:00", "12:00")]), (5, [("18:00", "24:00")])],
        active=True,
        version=0,
    )
    assert member.weekly[0] == (LocalRange(time(8), time(12)), LocalRange(time(13), time(17)))
    assert member.weekly[5] == (LocalRange(time(18), time(0)),)
    with pytest.raises(InvalidArgument) as raised:
        check_staff_member(
            staff_id=str(uuid.uuid4()),
            display_name="",
            timezone="Europe/Berlin",
            weekly=[(0, [("09:00", "12:00"), ("11:00", "13:00")]), (0, [("09:00", "10:00")]), (7, [])],
            active=True,
            version=0,
        )
    assert {v.message for v in raised.value.violations} == {
        "ranges must not overlap",
        "weekday 0 is given twice",
        "must be 0 (Monday) to 6 (Sunday)",
    }


def test_settings_and_exceptions() -> None:
    settings = check_settings(
        timezone="Australia/Lord_Howe",
        granularity_minutes=15,
        min_notice_minutes=0,
        horizon_days=30,
        business_hours=[],
        cancellation_notice_minutes=60,
        max_active_bookings_per_client=3,
        follow_up_actions=["Deal closure", "deal closure", " "],
        version=2,
    )
    assert settings.follow_up_actions == ("deal closure",)
    assert settings.allows_follow_up_action("call") and settings.allows_follow_up_action("deal closure")
    assert not settings.allows_follow_up_action("fax")
    assert settings.business_schedule([]) is None
    with pytest.raises(InvalidArgument) as raised:
        check_exception(staff_id="", day="2026-02-30", available=True, ranges=[], label="")
    assert {v.field for v in raised.value.violations} == {"day", "ranges"}


def test_a_price_in_a_currency_that_does_not_exist_is_refused() -> None:
    with pytest.raises(InvalidArgument) as raised:
        check_service(
            name="Cut",
            description="",
            duration_minutes=30,
            buffer_before_minutes=0,
            buffer_after_minutes=0,
            price_minor=500,
            currency="QQQ",
            capacity=1,
            bookable_online=True,
            staff_ids=[],
            resource_ids=[],
            category="",
            colour="",
            rules=None,
        )
    assert [v.field for v in raised.value.violations] == ["price.currency"]
