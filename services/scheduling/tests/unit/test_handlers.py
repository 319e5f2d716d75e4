"""Availability, the appointment lifecycle and tentative holds through the fake unit of work: what is read,
what is written, what is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from scheduling_svc.domain import commands, events
from scheduling_svc.domain.appointments import Appointment, Status
from scheduling_svc.service_layer import handlers, hold_handlers, report_handlers

from .fakes import ANNA, BEN, CLIENT, CUT, TENANT, ZONE, FakeUnitOfWork, a_business

NOW = datetime(2030, 3, 4, 7, 0, tzinfo=UTC)  # a Monday, 08:00 in Berlin
TOMORROW = date(2030, 3, 5)


def at(hour: int, day: date = TOMORROW) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


def booking(start: datetime, staff_id: uuid.UUID | None = ANNA, **changes: object) -> commands.BookAppointment:
    fields: dict[str, object] = {
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "segments": ((CUT, staff_id),),
        "start": start,
        "override_availability": False,
        "notes": "",
        "request_id": None,
        "source": "staff",
        "seats": 1,
        "follow_up_of": None,
        "follow_up_action": "",
        "timezone": "",
        "online": False,
        "actor": "staff:front-desk",
        "now": NOW,
    }
    fields.update(changes)
    return commands.BookAppointment(**fields)  # type: ignore[arg-type]


def slots_query(day: date = TOMORROW, **changes: object) -> commands.FindSlots:
    fields: dict[str, object] = {
        "tenant_id": TENANT,
        "service_ids": (CUT,),
        "from_day": day,
        "to_day": day,
        "staff_ids": None,
        "timezone": "",
        "seats": 1,
        "online": True,
        "now": NOW,
    }
    fields.update(changes)
    return commands.FindSlots(**fields)  # type: ignore[arg-type]


async def book(uow: FakeUnitOfWork, start: datetime, staff_id: uuid.UUID | None = ANNA) -> Appointment:
    return await handlers.book_appointment(booking(start, staff_id), uow)


# --- availability ------------------------------------------------------------------------------


async def test_free_slots_are_cut_in_the_business_zone_and_leave_out_a_booked_staff_member() -> None:
    uow = a_business()
    await book(uow, at(10))

    slots, zone = await handlers.find_slots(slots_query(), uow)

    assert zone == ZONE
    starts = {s.start: s.staff_ids for s in slots}
    # Hourly services on the business's 30-minute grid, from 9:00 to the last start at 16:00.
    assert min(starts) == at(9) and max(starts) == at(16) and len(starts) == 15
    assert starts[at(10)] == (BEN,) and set(starts[at(11)]) == {ANNA, BEN}


async def test_a_range_that_ends_before_it_starts_is_refused_before_anything_is_read() -> None:
    uow = a_business()
    with pytest.raises(InvalidArgument) as refused:
        await handlers.find_slots(slots_query(to_day=TOMORROW - timedelta(days=1)), uow)
    assert refused.value.violations[0].field == "to_day"


# --- booking -----------------------------------------------------------------------------------


async def test_a_booking_is_written_with_its_event_in_one_commit_after_asking_the_directory() -> None:
    uow = a_business()

    appointment = await book(uow, at(10))

    assert uow.client_directory.asked == [CLIENT]  # type: ignore[attr-defined]
    assert uow.stored.appointments[appointment.id] is appointment
    assert (appointment.status, appointment.timezone, appointment.starts_at) == (Status.BOOKED, ZONE, at(10))
    assert appointment.segments[0].staff_id == ANNA and appointment.segments[0].price_minor == 4500
    assert uow.commits == 1 and [type(e) for e in uow.published] == [events.AppointmentBooked]


async def test_a_client_the_directory_does_not_know_is_refused_and_nothing_is_written() -> None:
    uow = a_business()
    with pytest.raises(InvalidArgument) as refused:
        await handlers.book_appointment(booking(at(10), client_id=uuid.uuid4()), uow)
    assert refused.value.violations[0].field == "client_id"
    assert uow.stored.appointments == {} and uow.commits == 0


async def test_the_same_request_id_books_once_and_answers_the_first_booking() -> None:
    uow = a_business()
    first = await handlers.book_appointment(booking(at(10), request_id="r-1"), uow)
    again = await handlers.book_appointment(booking(at(10), request_id="r-1"), uow)
    assert again is first and len(uow.stored.appointments) == 1 and uow.commits == 1


async def test_a_taken_staff_member_is_refused_and_anyone_gets_the_colleague() -> None:
    uow = a_business()
    await book(uow, at(10), ANNA)

    with pytest.raises(Conflict) as refused:
        await book(uow, at(10), ANNA)
    assert refused.value.reason == handlers.SLOT_UNAVAILABLE

    anyone = await book(uow, at(10), None)
    assert anyone.segments[0].staff_id == BEN


async def test_online_a_client_may_not_override_availability() -> None:
    uow = a_business()
    with pytest.raises(PermissionDenied):
        await handlers.book_appointment(booking(at(10), online=True, override_availability=True), uow)


async def test_online_a_client_keeps_to_the_business_limit_of_active_bookings() -> None:
    uow = a_business(max_active_bookings=1)
    await handlers.book_appointment(booking(at(10), online=True, source="portal"), uow)
    with pytest.raises(FailedPrecondition):
        await handlers.book_appointment(booking(at(12), online=True, source="portal"), uow)
    assert len(uow.stored.appointments) == 1


# --- the lifecycle -----------------------------------------------------------------------------


async def test_a_reschedule_moves_the_time_and_frees_the_old_one() -> None:
    uow = a_business()
    appointment = await book(uow, at(10))

    moved = await handlers.move_appointment(
        commands.MoveAppointment(
            TENANT,
            appointment.id,
            version=1,
            override_availability=False,
            actor="staff:x",
            online=False,
            now=NOW,
            start=at(14),
        ),
        uow,
    )

    assert moved.starts_at == at(14) and moved.version == 2
    assert any(isinstance(e, events.AppointmentRescheduled) for e in uow.published)
    slots, _ = await handlers.find_slots(slots_query(staff_ids=frozenset({ANNA})), uow)
    assert at(10) in {s.start for s in slots} and at(14) not in {s.start for s in slots}


async def test_a_reassignment_to_a_busy_colleague_is_refused_and_changes_nothing() -> None:
    uow = a_business()
    appointment = await book(uow, at(10), ANNA)
    await book(uow, at(10), BEN)
    with pytest.raises(Conflict):
        await handlers.move_appointment(
            commands.MoveAppointment(
                TENANT, appointment.id, 1, False, "staff:x", online=False, now=NOW, position=0, staff_id=BEN
            ),
            uow,
        )
    assert uow.stored.appointments[appointment.id].segments[0].staff_id == ANNA


async def test_cancelling_records_who_cancelled_and_frees_the_time() -> None:
    uow = a_business()
    appointment = await book(uow, at(10))

    cancelled = await handlers.cancel_appointment(
        commands.CancelAppointment(TENANT, appointment.id, "", 1, by_client=True, actor=f"client:{CLIENT}", now=NOW),
        uow,
    )

    assert (cancelled.status, cancelled.cancelled_by) == (Status.CANCELLED, "client")
    assert isinstance(uow.published[-1], events.AppointmentCancelled)
    assert (await book(uow, at(10))).starts_at == at(10)


async def test_completing_and_no_show_check_the_version_and_wait_for_the_start() -> None:
    uow = a_business()
    done, missed = await book(uow, at(10)), await book(uow, at(12))
    evening = at(18)

    with pytest.raises(FailedPrecondition):
        await handlers.complete_appointment(commands.CompleteAppointment(TENANT, done.id, 1, "staff:x", NOW), uow)
    with pytest.raises(Conflict):
        await handlers.complete_appointment(commands.CompleteAppointment(TENANT, done.id, 7, "staff:x", evening), uow)
    completed = await handlers.complete_appointment(
        commands.CompleteAppointment(TENANT, done.id, 1, "staff:x", evening), uow
    )
    marked = await handlers.mark_no_show(commands.MarkNoShow(TENANT, missed.id, 1, "staff:x", evening), uow)

    assert (completed.status, marked.status) == (Status.COMPLETED, Status.NO_SHOW)
    assert (completed.version, marked.version) == (2, 2)
    assert [type(e) for e in uow.published[-2:]] == [events.AppointmentCompleted, events.AppointmentNoShow]


async def test_another_business_appointment_is_not_found() -> None:
    uow = a_business()
    appointment = await book(uow, at(10))
    with pytest.raises(NotFound):
        await handlers.complete_appointment(
            commands.CompleteAppointment(uuid.uuid4(), appointment.id, 1, "staff:x", NOW), uow
        )


# --- tentative holds ---------------------------------------------------------------------------


def hold(start: datetime, hold_id: uuid.UUID, staff_id: uuid.UUID | None = ANNA) -> commands.HoldSlot:
    return commands.HoldSlot(TENANT, hold_id, CLIENT, CUT, staff_id, start, "Request 1001", online=True, now=NOW)


async def test_a_hold_takes_the_time_from_others_and_its_holder_books_into_it() -> None:
    uow = a_business()
    hold_id = uuid.uuid4()

    placed = await hold_handlers.hold_slot(hold(at(10), hold_id), uow)

    assert (placed.staff_id, placed.start, placed.end) == (ANNA, at(10), at(11))
    with pytest.raises(Conflict):
        await handlers.book_appointment(booking(at(10), ANNA, client_id=CLIENT, online=True, source="portal"), uow)
    booked = await handlers.book_appointment(booking(at(10), ANNA, online=True, source="portal", hold_id=hold_id), uow)
    assert booked.starts_at == at(10) and uow.stored.holds == {}


async def test_moving_a_hold_gives_back_the_old_time_and_asking_again_changes_nothing() -> None:
    uow = a_business()
    hold_id = uuid.uuid4()
    await hold_handlers.hold_slot(hold(at(10), hold_id), uow)

    moved = await hold_handlers.hold_slot(hold(at(13), hold_id), uow)
    again = await hold_handlers.hold_slot(hold(at(13), hold_id, staff_id=None), uow)

    assert moved.start == at(13) and again == moved and list(uow.stored.holds) == [hold_id]
    assert (await book(uow, at(10), ANNA)).starts_at == at(10)


async def test_a_hold_for_anyone_takes_the_free_colleague() -> None:
    uow = a_business()
    await book(uow, at(10), ANNA)
    placed = await hold_handlers.hold_slot(hold(at(10), uuid.uuid4(), staff_id=None), uow)
    assert placed.staff_id == BEN


async def test_releasing_a_hold_frees_its_time_once_and_only_for_its_client() -> None:
    uow = a_business()
    hold_id = uuid.uuid4()
    await hold_handlers.hold_slot(hold(at(10), hold_id), uow)

    assert not await hold_handlers.release_hold(commands.ReleaseHold(TENANT, hold_id, uuid.uuid4()), uow)
    assert await hold_handlers.release_hold(commands.ReleaseHold(TENANT, hold_id, CLIENT), uow)
    assert not await hold_handlers.release_hold(commands.ReleaseHold(TENANT, hold_id, None), uow)
    assert (await book(uow, at(10), ANNA)).starts_at == at(10)


# --- the report --------------------------------------------------------------------------------


async def test_the_report_counts_each_status_and_each_staff_members_booked_and_available_time() -> None:
    uow = a_business()
    done, _, cancelled = await book(uow, at(10), ANNA), await book(uow, at(12), ANNA), await book(uow, at(10), BEN)
    evening = at(18)
    await handlers.complete_appointment(commands.CompleteAppointment(TENANT, done.id, 1, "staff:x", evening), uow)
    await handlers.cancel_appointment(
        commands.CancelAppointment(TENANT, cancelled.id, "ill", 1, by_client=False, actor="staff:x", now=NOW), uow
    )

    report = await report_handlers.appointment_report(
        commands.GetAppointmentReport(TENANT, TOMORROW.isoformat(), TOMORROW.isoformat(), evening), uow
    )

    assert (report.timezone, report.generated_at) == (ZONE, evening)
    assert (report.totals.booked, report.totals.completed, report.totals.cancelled) == (1, 1, 1)
    [cut] = report.by_service
    assert (cut.name, cut.booked, cut.revenue) == ("Cut", timedelta(hours=2), (("EUR", 4500),))
    anna, ben = sorted(report.by_staff, key=lambda line: line.display_name)
    assert (anna.booked, anna.available, anna.utilization) == (timedelta(hours=2), timedelta(hours=8), 0.25)
    assert (ben.counts.cancelled, ben.booked) == (1, timedelta(0))


async def test_a_report_range_that_is_not_a_date_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        await report_handlers.appointment_report(
            commands.GetAppointmentReport(TENANT, "yesterday", TOMORROW.isoformat(), NOW), a_business()
        )
    assert [v.field for v in refused.value.violations] == ["from"]
