"""The scheduling service over gRPC, against real PostgreSQL (and the client service it asks about clients)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.common.v1 import types_pb2
from atrium.scheduling.v1 import appointments_pb2 as pb
from atrium.scheduling.v1 import appointments_pb2_grpc as pb_grpc
from atrium.scheduling.v1 import catalogue_pb2 as cat
from atrium.scheduling.v1 import catalogue_pb2_grpc as cat_grpc
from atrium.scheduling.v1 import holds_pb2, holds_pb2_grpc
from platform_core.db import create_engine
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.errors import from_rpc_error
from platform_dev.testing.plugin import wait_until
from scheduling_svc.adapters import client_facts as client_facts_adapter
from scheduling_svc.adapters.repository import deadlocked
from scheduling_svc.config import SchedulingServiceSettings

BERLIN = ZoneInfo("Europe/Berlin")
ALL_WEEK_9_TO_17 = [cat.DayHours(weekday=d, ranges=[cat.TimeRange(start="09:00", end="17:00")]) for d in range(7)]


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


@dataclass
class Business:
    tenant: uuid.UUID
    staff_ids: list[str]
    service_id: str
    client_ids: list[str]
    day: date

    def staff_context(self) -> CallContext:
        return CallContext(self.tenant, Principal("staff", self.staff_ids[0], "owner"))

    def portal_context(self, client_id: str) -> CallContext:
        return CallContext(self.tenant, Principal("portal", str(uuid.uuid4()), "", client_id))


@pytest.fixture
def catalogue(scheduling_channel: grpc.aio.Channel) -> cat_grpc.CatalogueServiceStub:
    return cat_grpc.CatalogueServiceStub(scheduling_channel)


@pytest.fixture
def appointments(scheduling_channel: grpc.aio.Channel) -> pb_grpc.AppointmentServiceStub:
    return pb_grpc.AppointmentServiceStub(scheduling_channel)


@pytest.fixture
def clients(client_channel: grpc.aio.Channel) -> client_grpc.ClientRecordsStub:
    return client_grpc.ClientRecordsStub(client_channel)


@pytest.fixture
def client_merges(client_channel: grpc.aio.Channel) -> client_grpc.ClientMergesStub:
    return client_grpc.ClientMergesStub(client_channel)


async def open_business(
    catalogue: cat_grpc.CatalogueServiceStub,
    clients: client_grpc.ClientRecordsStub,
    *,
    staff: int = 1,
    n_clients: int = 1,
    duration: int = 60,
    capacity: int = 1,
    buffer_after: int = 0,
) -> Business:
    tenant = uuid.uuid4()
    staff_ids = [str(uuid.uuid4()) for _ in range(staff)]
    context = CallContext(tenant, Principal("staff", staff_ids[0], "owner"))
    with bind_call_context(context):
        await catalogue.UpdateSchedulingSettings(
            cat.SchedulingSettings(
                timezone="Europe/Berlin",
                slot_rules=cat.SlotRules(granularity_minutes=30, min_notice_minutes=60, horizon_days=60),
                cancellation_notice_minutes=24 * 60,
            )
        )
        for i, staff_id in enumerate(staff_ids):
            await catalogue.PutStaffMember(
                cat.StaffMember(
                    staff_id=staff_id,
                    display_name=f"Staff {i}",
                    timezone="Europe/Berlin",
                    weekly_hours=ALL_WEEK_9_TO_17,
                    active=True,
                )
            )
        service = await catalogue.CreateService(
            cat.ServiceInput(
                name="Haircut",
                duration_minutes=duration,
                buffer_after_minutes=buffer_after,
                price=types_pb2.Money(amount_minor=4500, currency="EUR"),
                capacity=capacity,
                bookable_online=True,
                staff_ids=staff_ids,
            )
        )
        client_ids = [
            (await clients.CreateClient(client_pb.CreateClientRequest(first_name=f"Client {i}"))).id
            for i in range(n_clients)
        ]
    day = (datetime.now(BERLIN) + timedelta(days=10)).date()
    return Business(tenant, staff_ids, service.id, client_ids, day)


async def book(
    stub: pb_grpc.AppointmentServiceStub, business: Business, client: str, start: datetime, staff: str = ""
) -> pb.Appointment:
    return await stub.BookAppointment(
        pb.BookAppointmentRequest(
            client_id=client,
            segments=[pb.SegmentRequest(service_id=business.service_id, staff_id=staff)],
            start=ts(start),
        )
    )


async def test_slots_follow_working_hours_and_a_booking_takes_its_slot(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    business = await open_business(catalogue, clients, buffer_after=15)
    with bind_call_context(business.staff_context()):
        request = pb.FindAvailableSlotsRequest(
            service_ids=[business.service_id], from_day=business.day.isoformat(), to_day=business.day.isoformat()
        )
        before = await appointments.FindAvailableSlots(request)
        labels = [s.local_start[11:16] for s in before.slots]
        # 60 minutes + 15 buffer must end by 17:00: the last start is 15:30 on the 30-minute grid.
        assert labels[0] == "09:00" and labels[-1] == "15:30" and len(labels) == 14
        booked = await book(appointments, business, business.client_ids[0], local(business.day, 10))
        assert booked.status == "booked" and booked.segments[0].staff_id == business.staff_ids[0]
        after = await appointments.FindAvailableSlots(request)
    remaining = {s.local_start[11:16] for s in after.slots}
    # 10:00-11:15 is taken: 09:00 would end at 10:15 (overlaps), 10:30/11:00 overlap; 11:30 is free again.
    assert {"09:00", "09:30", "10:00", "10:30", "11:00"}.isdisjoint(remaining)
    assert "11:30" in remaining


async def test_the_columns_answer_lists_the_same_slots_as_the_slots_answer(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    """Bookings read as columns (one row per staff member) and slots answered as columns: the same slots, seats and
    staff as a message per slot, over several days with group sessions partly taken."""
    business = await open_business(catalogue, clients, staff=3, n_clients=3, capacity=3)
    with bind_call_context(business.staff_context()):
        await book(appointments, business, business.client_ids[0], local(business.day, 10), business.staff_ids[1])
        await book(appointments, business, business.client_ids[1], local(business.day, 10), business.staff_ids[1])
        await book(appointments, business, business.client_ids[2], local(business.day, 13), business.staff_ids[0])
        last = business.day + timedelta(days=2)
        await book(appointments, business, business.client_ids[0], local(last, 9), business.staff_ids[2])
        request = pb.FindAvailableSlotsRequest(
            service_ids=[business.service_id], from_day=business.day.isoformat(), to_day=last.isoformat()
        )
        slots = (await appointments.FindAvailableSlots(request)).slots
        request.columns = True
        answer = await appointments.FindAvailableSlots(request)
    assert not answer.slots and answer.timezone == "Europe/Berlin"
    columns = answer.columns
    staff = list(columns.staff_ids)
    assert staff == sorted(business.staff_ids)
    rows, at = [], 0
    for micros, local_start, count, seats_left in zip(
        columns.start_micros, columns.local_starts, columns.staff_counts, columns.seats_left, strict=True
    ):
        rows.append((micros, local_start, [staff[i] for i in columns.staff_indexes[at : at + count]], seats_left))
        at += count
    assert at == len(columns.staff_indexes)
    expected = [
        (s.start.seconds * 1_000_000 + s.start.nanos // 1000, s.local_start, list(s.staff_ids), s.seats_left)
        for s in slots
    ]
    assert rows == expected
    # The joined session offers its seats left; the full hours of the one-to-one booking offer the others only.
    ten = next(row for row in rows if row[1].startswith(f"{business.day.isoformat()}T10:00"))
    assert ten[3] == 1 and business.staff_ids[1] in ten[2]
    assert len(rows) > 3 * 14


async def test_the_same_slot_twice_is_a_conflict_naming_it(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    business = await open_business(catalogue, clients, n_clients=2)
    with bind_call_context(business.staff_context()):
        await book(appointments, business, business.client_ids[0], local(business.day, 9))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await book(appointments, business, business.client_ids[1], local(business.day, 9))
    assert raised.value.code() == grpc.StatusCode.ABORTED
    assert "09:00" in (raised.value.details() or "")


async def test_concurrent_attempts_never_overlap_even_when_overriding_availability(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
    scheduling_settings: SchedulingServiceSettings,
) -> None:
    business = await open_business(catalogue, clients, n_clients=20)
    staff_id = business.staff_ids[0]

    async def attempt(i: int) -> str:
        # Overriding availability skips the read-side check: only the database stands between them.
        with bind_call_context(business.staff_context()):
            try:
                await appointments.BookAppointment(
                    pb.BookAppointmentRequest(
                        client_id=business.client_ids[i],
                        segments=[pb.SegmentRequest(service_id=business.service_id, staff_id=staff_id)],
                        start=ts(local(business.day, 9, 15 * (i % 4))),
                        override_availability=True,
                    )
                )
                return "ok"
            except grpc.aio.AioRpcError as exc:
                return f"{exc.code().name}:{from_rpc_error(exc).reason}"

    outcomes = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert outcomes.count("ok") == 1
    assert set(outcomes) == {"ok", "ABORTED:SLOT_TAKEN"}
    engine = create_engine(scheduling_settings.database_url("scheduling"))
    try:
        async with engine.connect() as conn:
            overlaps = await conn.scalar(
                text(
                    "SELECT count(*) FROM time_blocks a JOIN time_blocks b ON a.staff_id = b.staff_id AND a.id < b.id"
                    " AND a.occupied && b.occupied WHERE NOT a.released AND NOT b.released AND a.tenant_id = :t"
                ),
                {"t": business.tenant},
            )
            flagged = await conn.scalar(
                text("SELECT count(*) FROM appointments WHERE tenant_id = :t AND availability_overridden"),
                {"t": business.tenant},
            )
    finally:
        await engine.dispose()
    assert overlaps == 0
    assert flagged == 1


async def test_group_session_fills_to_capacity_and_no_further(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    business = await open_business(catalogue, clients, n_clients=6, capacity=4)

    async def attempt(i: int) -> bool:
        with bind_call_context(business.staff_context()):
            try:
                await book(appointments, business, business.client_ids[i], local(business.day, 11))
                return True
            except grpc.aio.AioRpcError as exc:
                assert exc.code() == grpc.StatusCode.ABORTED, exc.details()
                return False

    results = await asyncio.gather(*(attempt(i) for i in range(6)))
    assert results.count(True) == 4
    with bind_call_context(business.staff_context()):
        slots = await appointments.FindAvailableSlots(
            pb.FindAvailableSlotsRequest(
                service_ids=[business.service_id], from_day=business.day.isoformat(), to_day=business.day.isoformat()
            )
        )
    assert "11:00" not in {s.local_start[11:16] for s in slots.slots}


async def test_reschedule_cancel_and_history(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    business = await open_business(catalogue, clients, n_clients=2)
    with bind_call_context(business.staff_context()):
        first = await book(appointments, business, business.client_ids[0], local(business.day, 9))
        moved = await appointments.RescheduleAppointment(
            pb.RescheduleAppointmentRequest(
                appointment_id=first.id, start=ts(local(business.day, 9, 30)), version=first.version
            )
        )
        assert moved.start == ts(local(business.day, 9, 30)) and moved.version == first.version + 1
        # The old time is free again, the new one is not.
        await book(appointments, business, business.client_ids[1], local(business.day, 14))
        with pytest.raises(grpc.aio.AioRpcError) as stale:
            await appointments.CancelAppointment(
                pb.CancelAppointmentRequest(appointment_id=first.id, reason="ill", version=first.version)
            )
        assert stale.value.code() == grpc.StatusCode.ABORTED
        cancelled = await appointments.CancelAppointment(
            pb.CancelAppointmentRequest(appointment_id=first.id, reason="ill", version=moved.version)
        )
        assert cancelled.status == "cancelled" and cancelled.cancelled_by == "staff"
        again = await book(appointments, business, business.client_ids[1], local(business.day, 9, 30))
        assert again.status == "booked"
        history = await appointments.GetAppointmentHistory(pb.GetAppointmentHistoryRequest(appointment_id=first.id))
    assert [e.action for e in history.entries] == ["booked", "rescheduled", "cancelled"]
    assert json.loads(history.entries[2].changes_json)["reason"] == [None, "ill"]
    assert all(e.actor == f"staff:{business.staff_ids[0]}" for e in history.entries)


async def client_facts(settings: SchedulingServiceSettings, tenant: uuid.UUID, client_id: str) -> Any:
    """Scheduling's copy of what booking knows of a client (its client_facts row), or None."""
    engine = create_engine(settings.database_url("scheduling"))
    try:
        async with engine.connect() as conn:
            return (
                await conn.execute(
                    text("SELECT * FROM client_facts WHERE tenant_id = :t AND client_id = :c"),
                    {"t": tenant, "c": uuid.UUID(client_id)},
                )
            ).one_or_none()
    finally:
        await engine.dispose()


async def test_portal_client_books_within_rules_and_sees_only_its_own(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
    scheduling_settings: SchedulingServiceSettings,
) -> None:
    business = await open_business(catalogue, clients, n_clients=2)
    mine, theirs = business.client_ids
    with bind_call_context(business.staff_context()):
        other = await book(appointments, business, theirs, local(business.day, 15))
        await clients.SetOnlineBookingBlocked(client_pb.SetOnlineBookingBlockedRequest(id=theirs, blocked=True))

    async def block_arrived() -> bool:
        facts = await client_facts(scheduling_settings, business.tenant, theirs)
        return facts is not None and facts.online_booking_blocked is True

    # Booking reads the block from scheduling's copy, which the client service's event updates.
    await wait_until(block_arrived)
    with bind_call_context(business.portal_context(mine)):
        own = await appointments.BookAppointment(
            pb.BookAppointmentRequest(
                segments=[pb.SegmentRequest(service_id=business.service_id)], start=ts(local(business.day, 10))
            )
        )
        assert own.source == "portal" and own.client_id == mine
        with pytest.raises(grpc.aio.AioRpcError) as hidden:
            await appointments.GetAppointment(pb.GetAppointmentRequest(appointment_id=other.id))
        assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as override:
            await appointments.BookAppointment(
                pb.BookAppointmentRequest(
                    segments=[pb.SegmentRequest(service_id=business.service_id, staff_id=business.staff_ids[0])],
                    start=ts(local(business.day, 12, 15)),
                    override_availability=True,
                )
            )
        assert override.value.code() == grpc.StatusCode.PERMISSION_DENIED
        listed = await appointments.ListClientAppointments(pb.ListClientAppointmentsRequest(view="upcoming"))
        assert [a.id for a in listed.appointments] == [own.id]
        # Cancellation notice is 24 hours; the appointment is 10 days away, so the client may cancel.
        cancelled = await appointments.CancelAppointment(pb.CancelAppointmentRequest(appointment_id=own.id))
        assert cancelled.cancelled_by == "client"
    with bind_call_context(business.portal_context(theirs)):
        with pytest.raises(grpc.aio.AioRpcError) as blocked:
            await appointments.BookAppointment(
                pb.BookAppointmentRequest(
                    segments=[pb.SegmentRequest(service_id=business.service_id)], start=ts(local(business.day, 11))
                )
            )
    assert blocked.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert from_rpc_error(blocked.value).reason == "CLIENT_BLOCKED"


async def test_bad_input_names_fields_and_unknown_clients_are_refused(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    business = await open_business(catalogue, clients)
    with bind_call_context(business.staff_context()):
        with pytest.raises(grpc.aio.AioRpcError) as bad_service:
            await catalogue.CreateService(
                cat.ServiceInput(name="", duration_minutes=2, price=types_pb2.Money(amount_minor=-1, currency="eu"))
            )
        fields = {v.field for v in from_rpc_error(bad_service.value).violations}
        assert {"name", "duration_minutes", "price.amount_minor", "price.currency"} <= fields
        with pytest.raises(grpc.aio.AioRpcError) as bad_hours:
            await catalogue.PutStaffMember(
                cat.StaffMember(
                    staff_id=business.staff_ids[0],
                    timezone="Mars/Olympus",
                    weekly_hours=[cat.DayHours(weekday=0, ranges=[cat.TimeRange(start="17:00", end="09:00")])],
                )
            )
        assert {v.field for v in from_rpc_error(bad_hours.value).violations} == {"timezone", "weekly_hours[0][0]"}
        with pytest.raises(grpc.aio.AioRpcError) as unknown_client:
            await book(appointments, business, str(uuid.uuid4()), local(business.day, 9))
    assert unknown_client.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert from_rpc_error(unknown_client.value).violations[0].field == "client_id"


async def test_schema_refuses_overlaps_and_illegal_status_changes(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
    scheduling_settings: SchedulingServiceSettings,
) -> None:
    business = await open_business(catalogue, clients)
    with bind_call_context(business.staff_context()):
        booked = await book(appointments, business, business.client_ids[0], local(business.day, 9))
        await appointments.CancelAppointment(
            pb.CancelAppointmentRequest(appointment_id=booked.id, reason="moved away", version=booked.version)
        )
    engine = create_engine(scheduling_settings.database_url("scheduling"))
    try:
        async with engine.connect() as conn:
            with pytest.raises(Exception, match="cannot change from cancelled to booked"):
                await conn.execute(
                    text("UPDATE appointments SET status = 'booked', cancelled_by = NULL WHERE id = :id"),
                    {"id": uuid.UUID(booked.id)},
                )
            await conn.rollback()
            key = await conn.scalar(
                text("SELECT staff_key FROM staff_members WHERE staff_id = :s"), {"s": uuid.UUID(business.staff_ids[0])}
            )
            insert = text(
                "INSERT INTO time_blocks (tenant_id, id, staff_id, staff_key, service_id, session_start, occupied,"
                " capacity, seats_taken) VALUES (:t, :id, :s, :k, :svc, now(), tstzrange(:a, :b), 1, 1)"
            )
            values = {
                "t": business.tenant,
                "s": uuid.UUID(business.staff_ids[0]),
                "k": key,
                "svc": uuid.UUID(business.service_id),
                "a": local(business.day, 13).astimezone(UTC),
            }
            await conn.execute(insert, {**values, "id": uuid.uuid4(), "b": local(business.day, 14)})
            with pytest.raises(Exception, match="time_blocks_no_overlap"):
                await conn.execute(insert, {**values, "id": uuid.uuid4(), "b": local(business.day, 13, 30)})
            await conn.rollback()
    finally:
        await engine.dispose()


async def test_cut_and_colour_back_to_back_with_two_staff_and_a_follow_up(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    business = await open_business(catalogue, clients, staff=2, duration=30)
    anna, ben = business.staff_ids
    with bind_call_context(business.staff_context()):
        colour = await catalogue.CreateService(
            cat.ServiceInput(
                name="Colour",
                duration_minutes=60,
                price=types_pb2.Money(amount_minor=9000, currency="EUR"),
                capacity=1,
                staff_ids=[ben],
            )
        )
        visit = await appointments.BookAppointment(
            pb.BookAppointmentRequest(
                client_id=business.client_ids[0],
                segments=[
                    pb.SegmentRequest(service_id=business.service_id, staff_id=anna),
                    pb.SegmentRequest(service_id=colour.id),
                ],
                start=ts(local(business.day, 10)),
            )
        )
        assert [(s.staff_id, s.start, s.end) for s in visit.segments] == [
            (anna, ts(local(business.day, 10)), ts(local(business.day, 10, 30))),
            (ben, ts(local(business.day, 10, 30)), ts(local(business.day, 11, 30))),
        ]
        assert visit.end == ts(local(business.day, 11, 30))
        # Ben is busy from 10:30: he cannot take a haircut at 10:30, Anna can (she finished at 10:30).
        slots = await appointments.FindAvailableSlots(
            pb.FindAvailableSlotsRequest(
                service_ids=[business.service_id], from_day=business.day.isoformat(), to_day=business.day.isoformat()
            )
        )
        at_1030 = next(s for s in slots.slots if s.local_start[11:16] == "10:30")
        assert list(at_1030.staff_ids) == [anna]
        follow_up = await appointments.BookAppointment(
            pb.BookAppointmentRequest(
                client_id=business.client_ids[0],
                segments=[pb.SegmentRequest(service_id=business.service_id)],
                start=ts(local(business.day + timedelta(days=7), 10)),
                follow_up_of=visit.id,
                follow_up_action="call",
            )
        )
        assert (follow_up.follow_up_of, follow_up.follow_up_action) == (visit.id, "call")
        with pytest.raises(grpc.aio.AioRpcError) as odd:
            await appointments.BookAppointment(
                pb.BookAppointmentRequest(
                    client_id=business.client_ids[0],
                    segments=[pb.SegmentRequest(service_id=business.service_id)],
                    start=ts(local(business.day + timedelta(days=8), 10)),
                    follow_up_of=visit.id,
                    follow_up_action="fax",
                )
            )
        assert from_rpc_error(odd.value).violations[0].field == "follow_up_action"
        reassigned = await appointments.ReassignStaff(
            pb.ReassignStaffRequest(appointment_id=follow_up.id, position=0, staff_id=ben, version=follow_up.version)
        )
        assert reassigned.segments[0].staff_id == ben


async def test_a_room_for_two_therapists_is_taken_once(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    business = await open_business(catalogue, clients, staff=2, n_clients=2)
    anna, ben = business.staff_ids
    with bind_call_context(business.staff_context()):
        room = await catalogue.CreateResource(cat.ResourceInput(name="Massage room", kind="room", capacity=1))
        massage = await catalogue.CreateService(
            cat.ServiceInput(
                name="Massage",
                duration_minutes=60,
                price=types_pb2.Money(amount_minor=7000, currency="EUR"),
                capacity=1,
                staff_ids=[anna, ben],
                resource_ids=[room.id],
            )
        )
        first = await appointments.BookAppointment(
            pb.BookAppointmentRequest(
                client_id=business.client_ids[0],
                segments=[pb.SegmentRequest(service_id=massage.id, staff_id=anna)],
                start=ts(local(business.day, 14)),
            )
        )
        slots = await appointments.FindAvailableSlots(
            pb.FindAvailableSlotsRequest(
                service_ids=[massage.id], from_day=business.day.isoformat(), to_day=business.day.isoformat()
            )
        )
        assert "14:00" not in {s.local_start[11:16] for s in slots.slots}  # Ben is free, the room is not
        with pytest.raises(grpc.aio.AioRpcError) as taken:
            # Even outside availability the database refuses the room twice.
            await appointments.BookAppointment(
                pb.BookAppointmentRequest(
                    client_id=business.client_ids[1],
                    segments=[pb.SegmentRequest(service_id=massage.id, staff_id=ben)],
                    start=ts(local(business.day, 14, 30)),
                    override_availability=True,
                )
            )
        assert from_rpc_error(taken.value).reason == "RESOURCE_TAKEN"
        await appointments.CancelAppointment(
            pb.CancelAppointmentRequest(appointment_id=first.id, reason="client ill", version=first.version)
        )
        moved_in = await appointments.BookAppointment(
            pb.BookAppointmentRequest(
                client_id=business.client_ids[1],
                segments=[pb.SegmentRequest(service_id=massage.id, staff_id=ben)],
                start=ts(local(business.day, 14, 30)),
                override_availability=True,
            )
        )
        assert moved_in.status == "booked"


async def test_past_appointments_complete_or_no_show_and_online_limits_hold(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    business = await open_business(catalogue, clients, n_clients=2)
    yesterday = business.day - timedelta(days=11)
    with bind_call_context(business.staff_context()):
        walk_ins = [
            await appointments.BookAppointment(
                pb.BookAppointmentRequest(
                    client_id=business.client_ids[0],
                    segments=[pb.SegmentRequest(service_id=business.service_id, staff_id=business.staff_ids[0])],
                    start=ts(local(yesterday, hour)),
                    override_availability=True,  # recorded after the fact
                )
            )
            for hour in (10, 12)
        ]
        done = await appointments.CompleteAppointment(
            pb.AppointmentTransitionRequest(appointment_id=walk_ins[0].id, version=walk_ins[0].version)
        )
        missed = await appointments.MarkNoShow(
            pb.AppointmentTransitionRequest(appointment_id=walk_ins[1].id, version=walk_ins[1].version)
        )
        assert (done.status, missed.status) == ("completed", "no_show")
        with pytest.raises(grpc.aio.AioRpcError) as final:
            await appointments.CancelAppointment(
                pb.CancelAppointmentRequest(appointment_id=done.id, reason="oops", version=done.version)
            )
        assert final.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        history = await appointments.ListClientAppointments(
            pb.ListClientAppointmentsRequest(client_id=business.client_ids[0], view="no_show")
        )
        assert [a.id for a in history.appointments] == [missed.id]
        current = await catalogue.GetSchedulingSettings(cat.GetSchedulingSettingsRequest())
        current.max_active_bookings_per_client = 1
        await catalogue.UpdateSchedulingSettings(current)
    with bind_call_context(business.portal_context(business.client_ids[1])):
        await appointments.BookAppointment(
            pb.BookAppointmentRequest(
                segments=[pb.SegmentRequest(service_id=business.service_id)], start=ts(local(business.day, 9))
            )
        )
        with pytest.raises(grpc.aio.AioRpcError) as limited:
            await appointments.BookAppointment(
                pb.BookAppointmentRequest(
                    segments=[pb.SegmentRequest(service_id=business.service_id)], start=ts(local(business.day, 11))
                )
            )
    assert from_rpc_error(limited.value).reason == "MAX_ACTIVE_BOOKINGS"


async def test_client_merges_move_appointments_and_undo_returns_them_and_erasure_drops_notes(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
    client_merges: client_grpc.ClientMergesStub,
    scheduling_channel: grpc.aio.Channel,
) -> None:
    business = await open_business(catalogue, clients, n_clients=2)
    survivor, duplicate = business.client_ids

    async def ids_of(client_id: str) -> set[str]:
        page = await appointments.ListClientAppointments(pb.ListClientAppointmentsRequest(client_id=client_id))
        return {a.id for a in page.appointments}

    with bind_call_context(business.staff_context()):
        kept = await book(appointments, business, survivor, local(business.day, 9))
        moved = await appointments.BookAppointment(
            pb.BookAppointmentRequest(
                client_id=duplicate,
                segments=[pb.SegmentRequest(service_id=business.service_id)],
                start=ts(local(business.day, 11)),
                notes="prefers the quiet room; allergic to latex",
            )
        )
        holds = holds_pb2_grpc.SlotHoldServiceStub(scheduling_channel)
        hold = await holds.HoldSlot(_hold_request(business, str(uuid.uuid4()), duplicate, local(business.day, 14)))

        async def holder() -> str:
            listed = await holds.ListHolds(
                holds_pb2.ListHoldsRequest(**{"from": ts(local(business.day, 0))}, to=ts(local(business.day, 23)))
            )
            return next(h.client_id for h in listed.holds if h.hold_id == hold.hold_id)

        merge = await client_merges.MergeClients(
            client_pb.MergeClientsRequest(survivor_id=survivor, merged_ids=[duplicate])
        )
        await wait_until(lambda: _equal(ids_of(survivor), {kept.id, moved.id}))
        assert await ids_of(duplicate) == set()
        assert await holder() == survivor  # a pending request's hold follows its client
        history = await appointments.GetAppointmentHistory(pb.GetAppointmentHistoryRequest(appointment_id=moved.id))
        assert history.entries[-1].action == "client_merged"

        await client_merges.UnmergeClients(client_pb.UnmergeClientsRequest(merge_id=merge.id))
        await wait_until(lambda: _equal(ids_of(duplicate), {moved.id}))
        assert await ids_of(survivor) == {kept.id}
        assert await holder() == duplicate

        await clients.EraseClient(client_pb.EraseClientRequest(id=duplicate, confirm=True))

        async def notes_gone() -> bool:
            found = await appointments.GetAppointment(pb.GetAppointmentRequest(appointment_id=moved.id))
            return found.notes == ""

        await wait_until(notes_gone)
        kept_now = await appointments.GetAppointment(pb.GetAppointmentRequest(appointment_id=moved.id))
    # The appointment itself stays (the business's record, and billing's), with its service and price.
    assert kept_now.status == "booked" and kept_now.segments[0].price.amount_minor == 4500


async def _equal(found: Any, expected: set[str]) -> bool:
    return bool(await found == expected)


async def test_booking_knows_clients_from_their_events_and_asks_once_about_one_it_does_not_know(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
    client_merges: client_grpc.ClientMergesStub,
    scheduling_settings: SchedulingServiceSettings,
) -> None:
    business = await open_business(catalogue, clients, n_clients=3)
    known, older, survivor = business.client_ids

    async def facts_of(client_id: str) -> Any:
        return await client_facts(scheduling_settings, business.tenant, client_id)

    async def created_arrived() -> bool:
        return all([await facts_of(c) for c in business.client_ids])

    await wait_until(created_arrived)
    row = await facts_of(known)
    assert (row.online_booking_blocked, row.deleted, row.erased, row.timezone, row.merged_into) == (
        False,
        False,
        False,
        "",
        None,
    )
    assert row.blocked_at.year > 2000  # stamped with the event's time
    # A client older than scheduling's copy: the booking asks the client service once and keeps the answer,
    # stamped older than any event.
    engine = create_engine(scheduling_settings.database_url("scheduling"))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM client_facts WHERE tenant_id = :t AND client_id = :c"),
                {"t": business.tenant, "c": uuid.UUID(older)},
            )
    finally:
        await engine.dispose()
    with bind_call_context(business.staff_context()):
        await book(appointments, business, older, local(business.day, 9))
    asked = await facts_of(older)
    assert asked.deleted is False and asked.blocked_at.year == 1

    # A merged-away client books as its survivor: deleting the survivor refuses the merged-away id too.
    with bind_call_context(business.staff_context()):
        await client_merges.MergeClients(client_pb.MergeClientsRequest(survivor_id=survivor, merged_ids=[older]))
        await clients.DeleteClient(client_pb.DeleteClientRequest(id=survivor))

    async def merge_and_delete_arrived() -> bool:
        merged, kept = await facts_of(older), await facts_of(survivor)
        return str(merged.merged_into) == survivor and kept.deleted is True

    await wait_until(merge_and_delete_arrived)
    with bind_call_context(business.staff_context()), pytest.raises(grpc.aio.AioRpcError) as gone:
        await book(appointments, business, older, local(business.day, 11))
    assert from_rpc_error(gone.value).violations[0].field == "client_id"


async def test_client_facts_keep_the_newest_event_whatever_the_order(
    scheduling_settings: SchedulingServiceSettings,
) -> None:
    tenant, client = uuid.uuid4(), uuid.uuid4()
    early, late = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    engine = create_engine(scheduling_settings.database_url("scheduling"))
    try:
        async with engine.begin() as conn:
            # A redelivered or late event (older than what the row says) changes nothing...
            await client_facts_adapter.record(conn, tenant, [client], late, {"online_booking_blocked": True})
            await client_facts_adapter.record(conn, tenant, [client], early, {"online_booking_blocked": False})
            # ...while what the client service said when asked gives way to any event.
            await client_facts_adapter.record(
                conn, tenant, [client], client_facts_adapter.LOOKED_UP, {"timezone": "Europe/Berlin"}
            )
            await client_facts_adapter.record(conn, tenant, [client], early, {"timezone": "Asia/Tokyo"})
            await client_facts_adapter.record(
                conn, tenant, [client], client_facts_adapter.LOOKED_UP, {"timezone": "Europe/Berlin"}
            )
            row = (
                await conn.execute(
                    text("SELECT * FROM client_facts WHERE tenant_id = :t AND client_id = :c"),
                    {"t": tenant, "c": client},
                )
            ).one()
    finally:
        await engine.dispose()
    assert (row.online_booking_blocked, row.blocked_at) == (True, late)
    assert (row.timezone, row.timezone_at) == ("Asia/Tokyo", early)
    # Deleted and merged were never said: the booking would ask the client service.
    assert row.deleted is None and row.merged_at is None


async def test_a_run_of_client_facts_is_recorded_in_one_statement_as_one_by_one_would(
    scheduling_settings: SchedulingServiceSettings,
    scheduling_channel: grpc.aio.Channel,  # the service running: its database migrated
) -> None:
    tenant, ada, bob, cy = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    early, late = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    engine = create_engine(scheduling_settings.database_url("scheduling"))

    def zone(client: uuid.UUID, at: datetime, timezone: str) -> client_facts_adapter.RecordedFacts:
        return client_facts_adapter.RecordedFacts(client, at, {"timezone": timezone})

    try:
        async with engine.begin() as conn:
            await client_facts_adapter.record(conn, tenant, [cy], late, {"timezone": "Europe/Paris"})
            await client_facts_adapter.record_each(
                conn,
                tenant,
                [
                    zone(ada, late, "Asia/Tokyo"),
                    zone(ada, early, "Europe/Berlin"),  # older than the one before it: loses
                    zone(bob, early, "Europe/Rome"),
                    zone(bob, early, "Europe/Oslo"),  # the same time: the later one wins
                    zone(cy, early, "Europe/Madrid"),  # older than the row's fact: changes nothing
                ],
            )
            rows = await conn.execute(
                text("SELECT client_id, timezone, timezone_at FROM client_facts WHERE tenant_id = :t"), {"t": tenant}
            )
            facts = {r.client_id: (r.timezone, r.timezone_at) for r in rows}
    finally:
        await engine.dispose()
    assert facts == {ada: ("Asia/Tokyo", late), bob: ("Europe/Oslo", early), cy: ("Europe/Paris", late)}


async def test_availability_sees_every_catalogue_change_at_once_whoever_makes_it(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
    scheduling_settings: SchedulingServiceSettings,
) -> None:
    business = await open_business(catalogue, clients)
    engine = create_engine(scheduling_settings.database_url("scheduling"))

    async def version() -> int:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT version FROM catalogue_versions WHERE tenant_id = :t"), {"t": business.tenant}
            )
        return int(found or 0)

    async def starts() -> list[str]:
        found = await appointments.FindAvailableSlots(
            pb.FindAvailableSlotsRequest(
                service_ids=[business.service_id], from_day=business.day.isoformat(), to_day=business.day.isoformat()
            )
        )
        return [s.local_start[11:16] for s in found.slots]

    try:
        with bind_call_context(business.staff_context()):
            assert (await starts())[-1] == "16:00"  # cached from here on
            # Changes through the API, each seen by the very next request.
            before = await version()
            await catalogue.AddScheduleException(
                cat.ScheduleException(
                    staff_id=business.staff_ids[0],
                    day=business.day.isoformat(),
                    available=False,
                    ranges=[cat.TimeRange(start="09:00", end="12:00")],
                )
            )
            assert await version() > before
            assert (await starts())[0] == "12:00"
            await catalogue.UpdateSchedulingSettings(
                cat.SchedulingSettings(
                    timezone="Europe/Berlin",
                    slot_rules=cat.SlotRules(granularity_minutes=60, min_notice_minutes=60, horizon_days=60),
                    cancellation_notice_minutes=24 * 60,
                    version=(await catalogue.GetSchedulingSettings(cat.GetSchedulingSettingsRequest())).version,
                )
            )
            assert await starts() == ["12:00", "13:00", "14:00", "15:00", "16:00"]
            # A change another replica makes (here: straight in the database) is seen at once too: the trigger
            # moves the version the cache is keyed by.
            before = await version()
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "UPDATE staff_members SET weekly_hours = jsonb_set(weekly_hours, CAST(:day AS text[]),"
                        " CAST(:hours AS jsonb)) WHERE tenant_id = :t"
                    ),
                    {"t": business.tenant, "day": [str(business.day.weekday())], "hours": '[["09:00", "14:00"]]'},
                )
            assert await version() > before
            assert await starts() == ["12:00", "13:00"]
    finally:
        await engine.dispose()


def _hold_request(
    business: Business, hold_id: str, client: str, start: datetime, staff: str = ""
) -> holds_pb2.HoldSlotRequest:
    return holds_pb2.HoldSlotRequest(
        hold_id=hold_id, client_id=client, service_id=business.service_id, staff_id=staff, start=ts(start), label="REQ"
    )


async def test_a_hold_takes_its_slot_from_others_and_its_holder_books_into_it(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
    scheduling_channel: grpc.aio.Channel,
) -> None:
    holds = holds_pb2_grpc.SlotHoldServiceStub(scheduling_channel)
    business = await open_business(catalogue, clients, n_clients=2, buffer_after=15)
    mia, ben = business.client_ids
    hold_id = str(uuid.uuid4())
    ten = local(business.day, 10)
    slots = pb.FindAvailableSlotsRequest(
        service_ids=[business.service_id], from_day=business.day.isoformat(), to_day=business.day.isoformat()
    )
    with bind_call_context(business.portal_context(mia)):
        held = await holds.HoldSlot(_hold_request(business, hold_id, "", ten))
        assert (held.staff_id, held.end.ToDatetime(tzinfo=UTC)) == (business.staff_ids[0], ten + timedelta(hours=1))
        # The same slot again is the same hold.
        assert (await holds.HoldSlot(_hold_request(business, hold_id, "", ten))).created_at == held.created_at
    with bind_call_context(business.portal_context(ben)):
        offered = {s.local_start[11:16] for s in (await appointments.FindAvailableSlots(slots)).slots}
        assert {"09:30", "10:00", "10:30", "11:00"}.isdisjoint(offered) and "11:30" in offered
        # Another client can neither hold, book nor release it.
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await holds.HoldSlot(_hold_request(business, str(uuid.uuid4()), "", ten))
        assert raised.value.code() == grpc.StatusCode.ABORTED and "10:00" in (raised.value.details() or "")
        assert (await holds.ReleaseHold(holds_pb2.ReleaseHoldRequest(hold_id=hold_id))).released is False
        # A client naming another's hold in its own booking does not release it.
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await appointments.BookAppointment(
                pb.BookAppointmentRequest(
                    client_id=ben,
                    segments=[pb.SegmentRequest(service_id=business.service_id)],
                    start=ts(ten),
                    hold_id=hold_id,
                )
            )
        assert raised.value.code() == grpc.StatusCode.ABORTED and "10:00" in (raised.value.details() or "")
    with bind_call_context(business.staff_context()):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await appointments.BookAppointment(
                pb.BookAppointmentRequest(
                    client_id=ben,
                    segments=[pb.SegmentRequest(service_id=business.service_id, staff_id=business.staff_ids[0])],
                    start=ts(ten),
                    override_availability=True,  # past availability, never over a hold
                )
            )
        assert (raised.value.code(), from_rpc_error(raised.value).reason) == (grpc.StatusCode.ABORTED, "SLOT_TAKEN")
        assert "10:00" in (raised.value.details() or "")
        listed = await holds.ListHolds(
            holds_pb2.ListHoldsRequest(**{"from": ts(local(business.day, 0))}, to=ts(local(business.day, 23)))
        )
        assert [(h.hold_id, h.client_id, h.label) for h in listed.holds] == [(hold_id, mia, "REQ")]
        # The holder books into its own hold: released and booked in one transaction.
        booked = await appointments.BookAppointment(
            pb.BookAppointmentRequest(
                client_id=mia,
                segments=[pb.SegmentRequest(service_id=business.service_id, staff_id=business.staff_ids[0])],
                start=ts(ten),
                request_id=hold_id,
                source="portal_request",
                hold_id=hold_id,
            )
        )
        assert booked.status == "booked"
        listed = await holds.ListHolds(
            holds_pb2.ListHoldsRequest(**{"from": ts(local(business.day, 0))}, to=ts(local(business.day, 23)))
        )
        assert list(listed.holds) == []


async def test_a_hold_moves_only_to_a_free_slot_and_of_two_holds_racing_for_one_slot_one_wins(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
    scheduling_channel: grpc.aio.Channel,
    scheduling_settings: SchedulingServiceSettings,
) -> None:
    holds = holds_pb2_grpc.SlotHoldServiceStub(scheduling_channel)
    business = await open_business(catalogue, clients, n_clients=8)
    nine, eleven = local(business.day, 9), local(business.day, 11)

    async def try_hold(client: str) -> Any:
        with bind_call_context(business.staff_context()):
            try:
                return await holds.HoldSlot(_hold_request(business, str(uuid.uuid4()), client, nine))
            except grpc.aio.AioRpcError as exc:
                return exc

    outcomes = await asyncio.gather(*(try_hold(c) for c in business.client_ids))
    won = [o for o in outcomes if isinstance(o, holds_pb2.SlotHold)]
    lost = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(won) == 1 and len(lost) == 7
    assert {from_rpc_error(e).reason for e in lost} <= {"SLOT_TAKEN", "SLOT_UNAVAILABLE"}
    winner = won[0]
    with bind_call_context(business.staff_context()):
        await book(appointments, business, business.client_ids[0], eleven)
        # Moving onto a booked slot changes nothing; onto a free one gives the old time back.
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await holds.HoldSlot(_hold_request(business, winner.hold_id, winner.client_id, eleven))
        assert raised.value.code() == grpc.StatusCode.ABORTED
        moved = await holds.HoldSlot(_hold_request(business, winner.hold_id, winner.client_id, local(business.day, 13)))
        assert moved.start.ToDatetime(tzinfo=UTC) == local(business.day, 13)
        assert (await book(appointments, business, business.client_ids[1], nine)).status == "booked"
        assert (await holds.ReleaseHold(holds_pb2.ReleaseHoldRequest(hold_id=winner.hold_id))).released is True
        assert (await holds.ReleaseHold(holds_pb2.ReleaseHoldRequest(hold_id=winner.hold_id))).released is False
        assert (await book(appointments, business, business.client_ids[2], local(business.day, 13))).status == "booked"
    engine = create_engine(scheduling_settings.database_url("scheduling"), pool_size=1)
    try:
        async with engine.connect() as conn:
            live = await conn.scalar(
                text("SELECT count(*) FROM slot_holds WHERE tenant_id = :t"), {"t": business.tenant}
            )
            assert live == 0
    finally:
        await engine.dispose()


async def test_racing_bookings_for_anyone_each_get_a_staff_member_and_a_retried_request_books_once(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    business = await open_business(catalogue, clients, staff=2, n_clients=3)
    start = local(business.day, 10)
    with bind_call_context(business.staff_context()):
        # Both see two free staff members and may aim at the same one first: the loser takes the other.
        booked = await asyncio.gather(*(book(appointments, business, c, start) for c in business.client_ids[:2]))
        assert {a.segments[0].staff_id for a in booked} == set(business.staff_ids)
        # The same request sent five times at once books once; every answer is that booking.
        retried = await asyncio.gather(
            *(
                appointments.BookAppointment(
                    pb.BookAppointmentRequest(
                        client_id=business.client_ids[2],
                        segments=[pb.SegmentRequest(service_id=business.service_id)],
                        start=ts(local(business.day, 14)),
                        request_id="request-1",
                    )
                )
                for _ in range(5)
            )
        )
        assert len({a.id for a in retried}) == 1
        listed = await appointments.ListClientAppointments(
            pb.ListClientAppointmentsRequest(client_id=business.client_ids[2])
        )
    assert len(listed.appointments) == 1


async def test_a_deadlock_is_told_apart_from_other_database_errors(
    scheduling_settings: SchedulingServiceSettings,
) -> None:
    """Two bookings inserting overlapping time at once can deadlock; the loser answers SLOT_TAKEN (a lost race)
    because the repository recognises PostgreSQL's deadlock error, provoked here on two rows taken crosswise."""
    tenant, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    engine = create_engine(scheduling_settings.database_url("scheduling"))
    take = text("UPDATE client_facts SET erased = erased WHERE tenant_id = :t AND client_id = :c")
    try:
        async with engine.begin() as conn:
            for client in (first, second):
                await client_facts_adapter.record(conn, tenant, [client], datetime.now(UTC), {"deleted": False})
        both_hold_one = asyncio.Barrier(2)

        async def crosswise(mine: uuid.UUID, theirs: uuid.UUID) -> str:
            try:
                async with engine.begin() as conn:
                    await conn.execute(take, {"t": tenant, "c": mine})
                    await both_hold_one.wait()
                    await conn.execute(take, {"t": tenant, "c": theirs})
                return "ok"
            except DBAPIError as exc:
                return "deadlocked" if deadlocked(exc) else repr(exc)

        outcomes = await asyncio.gather(crosswise(first, second), crosswise(second, first))
    finally:
        await engine.dispose()
    assert sorted(outcomes) == ["deadlocked", "ok"]
