"""gRPC servicer of availability and appointments. A portal principal acts only for its own client, only
within the online rules; anything else it asks about looks missing."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.common.v1 import types_pb2
from atrium.scheduling.v1 import appointments_pb2 as pb
from atrium.scheduling.v1 import appointments_pb2_grpc as pb_grpc
from platform_core.errors import InvalidArgument, NotFound, PermissionDenied
from platform_core.grpc.context import CallContext, current_context
from platform_core.grpc.values import aware, record_id, reference_id, require_staff, timestamp
from platform_core.ids import parse_uuid
from scheduling_svc import views
from scheduling_svc.domain import commands
from scheduling_svc.domain.appointments import Appointment
from scheduling_svc.domain.availability import Slot
from scheduling_svc.domain.catalogue import Checked
from scheduling_svc.service_layer import handlers
from scheduling_svc.service_layer.unit_of_work import SchedulingUnitOfWork

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AppointmentService"].full_name
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def actor_of(call: CallContext) -> str:
    p = call.principal
    return f"client:{p.client_id}" if p.is_portal else f"{p.kind}:{p.id}"


def appointment_message(a: Appointment) -> pb.Appointment:
    message = pb.Appointment(
        id=str(a.id),
        client_id=str(a.client_id),
        status=a.status.value,
        start=timestamp(a.starts_at),
        end=timestamp(a.ends_at),
        timezone=a.timezone,
        segments=[
            pb.Segment(
                position=s.position,
                service_id=str(s.service_id),
                service_name=s.service_name,
                staff_id=str(s.staff_id),
                start=timestamp(s.start),
                end=timestamp(s.end),
                seats=s.seats,
                price=types_pb2.Money(amount_minor=s.price_minor, currency=s.currency),
            )
            for s in a.segments
        ],
        notes=a.notes,
        source=a.source,
        availability_overridden=a.availability_overridden,
        cancellation_reason=a.cancellation_reason,
        cancelled_by=a.cancelled_by or "",
        series_id=str(a.series_id or ""),
        follow_up_of=str(a.follow_up_of or ""),
        follow_up_action=a.follow_up_action,
        version=a.version,
        created_at=timestamp(a.created_at),
        updated_at=timestamp(a.updated_at),
    )
    # The team's notes and ticket never reach a client in the portal.
    if not current_context().principal.is_portal:
        message.staff_notes, message.ticket = a.staff_notes, a.ticket
    return message


def slot_columns(slots: Sequence[Slot], local: ZoneInfo) -> pb.SlotColumns:
    """One-service slots as SlotColumns: each staff id written once, each slot a few packed numbers."""
    # Slots offering the same staff share one tuple of their ids (see the engine), and a UUID hashes in Python:
    # each distinct tuple is turned into indexes once, found by identity (the tuples live in `slots` meanwhile).
    tuples = {id(slot.staff_ids): slot.staff_ids for slot in slots}
    staff = sorted({staff_id for staff_ids in tuples.values() for staff_id in staff_ids})
    index = {staff_id: i for i, staff_id in enumerate(staff)}
    positions = {key: [index[staff_id] for staff_id in staff_ids] for key, staff_ids in tuples.items()}
    indexes: list[int] = []
    for slot in slots:
        indexes += positions[id(slot.staff_ids)]
    starts = [_instant_columns(slot.start, local) for slot in slots]
    return pb.SlotColumns(
        staff_ids=[str(staff_id) for staff_id in staff],
        start_micros=[micros for micros, _ in starts],
        local_starts=[text for _, text in starts],
        staff_counts=[len(slot.staff_ids) for slot in slots],
        staff_indexes=indexes,
        seats_left=[slot.seats_left or 0 for slot in slots],
    )


@functools.lru_cache(maxsize=8192)
def _instant_columns(start: datetime, local: ZoneInfo) -> tuple[int, str]:
    """A slot start as microseconds since the epoch and as local text: the same starts come back request after
    request (a month of slots is a few hundred of them)."""
    return (start - EPOCH) // MICROSECOND, start.astimezone(local).isoformat(timespec="minutes")


def _day(raw: str, field: str, checked: Checked) -> date:
    return checked.day(raw, field) or date.min


def _own_client(call: CallContext) -> uuid.UUID | None:
    """The client a portal principal acts for; None for staff."""
    if not call.principal.is_portal:
        return None
    client_id = parse_uuid(call.principal.client_id)
    if client_id is None:
        raise NotFound("appointment not found")
    return client_id


class AppointmentServicer(pb_grpc.AppointmentServiceServicer):
    def __init__(
        self,
        *,
        uow_factory: Callable[[], SchedulingUnitOfWork],
        engine: AsyncEngine,
    ) -> None:
        self._uow_factory = uow_factory
        self._engine = engine

    async def FindAvailableSlots(
        self, request: pb.FindAvailableSlotsRequest, context: grpc.aio.ServicerContext
    ) -> pb.FindAvailableSlotsResponse:
        call = current_context()
        checked = Checked()
        service_ids = checked.uuids(list(request.service_ids), "service_ids")
        if not request.service_ids:
            checked.add("service_ids", "name at least one service")
        staff_ids = checked.uuids(list(request.staff_ids), "staff_ids")
        from_day, to_day = _day(request.from_day, "from_day", checked), _day(request.to_day, "to_day", checked)
        if request.timezone:
            checked.timezone(request.timezone, "timezone")
        checked.raise_if_any()
        online = request.online or call.principal.is_portal
        slots, zone = await handlers.find_slots(
            commands.FindSlots(
                tenant_id=call.tenant_id,
                service_ids=service_ids,
                from_day=from_day,
                to_day=to_day,
                staff_ids=frozenset(staff_ids) or None,
                timezone=request.timezone,
                seats=request.seats or 1,
                online=online,
                now=datetime.now(UTC),
            ),
            self._uow_factory(),
        )
        local = ZoneInfo(zone)
        if request.columns and len(service_ids) == 1:
            return pb.FindAvailableSlotsResponse(timezone=zone, columns=slot_columns(slots, local))
        # A month offers each staff member's id thousands of times: each is turned into text once.
        id_text = {staff_id: str(staff_id) for staff_id in {s for slot in slots for s in slot.staff_ids}}
        return pb.FindAvailableSlotsResponse(
            timezone=zone,
            slots=[
                pb.Slot(
                    start=timestamp(slot.start),
                    local_start=slot.start.astimezone(local).isoformat(timespec="minutes"),
                    staff_ids=[id_text[s] for s in slot.staff_ids],
                    options=[
                        pb.SlotOption(
                            segments=[
                                pb.SegmentOption(
                                    service_id=str(seg.service_id),
                                    staff_id=str(seg.staff_id),
                                    start=timestamp(seg.start),
                                    end=timestamp(seg.end),
                                )
                                for seg in option
                            ]
                        )
                        for option in (slot.options if len(service_ids) > 1 else ())
                    ],
                    seats_left=slot.seats_left or 0,
                )
                for slot in slots
            ],
        )

    async def BookAppointment(
        self, request: pb.BookAppointmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Appointment:
        call = current_context()
        own = _own_client(call)
        checked = Checked()
        client_id = checked.identifier(request.client_id, "client_id") if request.client_id or own is None else own
        if own is not None and client_id != own:
            raise NotFound("client not found")
        segments: list[tuple[uuid.UUID, uuid.UUID | None]] = []
        for i, segment in enumerate(request.segments):
            service_id = checked.identifier(segment.service_id, f"segments[{i}].service_id")
            staff_id = checked.identifier(segment.staff_id, f"segments[{i}].staff_id") if segment.staff_id else None
            if service_id is not None:
                segments.append((service_id, staff_id))
        if not request.segments:
            checked.add("segments", "name at least one service")
        if not request.HasField("start"):
            checked.add("start", "is required")
        if request.timezone:
            checked.timezone(request.timezone, "timezone")
        hold_id = checked.identifier(request.hold_id, "hold_id") if request.hold_id else None
        follow_up_of = checked.identifier(request.follow_up_of, "follow_up_of") if request.follow_up_of else None
        if request.follow_up_action and follow_up_of is None:
            checked.add("follow_up_of", "a follow-up action needs the appointment it follows")
        if follow_up_of is not None and not request.follow_up_action:
            checked.add("follow_up_action", "say what the follow-up is: meet, call, email, sms or your own")
        checked.raise_if_any()
        assert client_id is not None
        if own is not None and (request.staff_notes or request.ticket):
            raise PermissionDenied("only staff write staff notes and tickets")
        source = "portal" if own is not None else (request.source or "staff")
        if own is None and source == "portal":
            raise InvalidArgument.single("source", "staff book as staff or from a portal request")
        appointment = await handlers.book_appointment(
            commands.BookAppointment(
                tenant_id=call.tenant_id,
                client_id=client_id,
                segments=tuple(segments),
                start=aware(request.start),
                override_availability=request.override_availability,
                notes=request.notes,
                request_id=request.request_id or None,
                source=source,
                seats=request.seats or 1,
                follow_up_of=follow_up_of,
                follow_up_action=request.follow_up_action.strip().lower(),
                timezone=request.timezone,
                online=own is not None,
                actor=actor_of(call),
                now=datetime.now(UTC),
                staff_notes=request.staff_notes,
                ticket=request.ticket,
                hold_id=hold_id,
            ),
            self._uow_factory(),
        )
        return appointment_message(appointment)

    async def _owned(self, call: CallContext, raw_id: str) -> uuid.UUID:
        """The appointment id, when the caller may act on it (a portal client: only its own)."""
        appointment_id = record_id(raw_id, "appointment")
        own = _own_client(call)
        if own is not None:
            appointment = await views.get_appointment(self._engine, call.tenant_id, appointment_id)
            if appointment.client_id != own:
                raise NotFound("appointment not found")
        return appointment_id

    async def RescheduleAppointment(
        self, request: pb.RescheduleAppointmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Appointment:
        call = require_staff()
        appointment_id = record_id(request.appointment_id, "appointment")
        if not request.HasField("start"):
            raise InvalidArgument.single("start", "is required")
        moved = await handlers.move_appointment(
            commands.MoveAppointment(
                tenant_id=call.tenant_id,
                appointment_id=appointment_id,
                version=request.version,
                override_availability=request.override_availability,
                actor=actor_of(call),
                online=False,
                now=datetime.now(UTC),
                start=aware(request.start),
            ),
            self._uow_factory(),
        )
        return appointment_message(moved)

    async def ReassignStaff(
        self, request: pb.ReassignStaffRequest, context: grpc.aio.ServicerContext
    ) -> pb.Appointment:
        call = require_staff()
        appointment_id = record_id(request.appointment_id, "appointment")
        staff_id = reference_id(request.staff_id, "staff_id", "staff member")
        moved = await handlers.move_appointment(
            commands.MoveAppointment(
                tenant_id=call.tenant_id,
                appointment_id=appointment_id,
                version=request.version,
                override_availability=request.override_availability,
                actor=actor_of(call),
                online=False,
                now=datetime.now(UTC),
                position=request.position,
                staff_id=staff_id,
            ),
            self._uow_factory(),
        )
        return appointment_message(moved)

    async def CancelAppointment(
        self, request: pb.CancelAppointmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Appointment:
        call = current_context()
        appointment_id = await self._owned(call, request.appointment_id)
        cancelled = await handlers.cancel_appointment(
            commands.CancelAppointment(
                tenant_id=call.tenant_id,
                appointment_id=appointment_id,
                reason=request.reason,
                version=request.version,
                by_client=call.principal.is_portal,
                actor=actor_of(call),
                now=datetime.now(UTC),
            ),
            self._uow_factory(),
        )
        return appointment_message(cancelled)

    async def CompleteAppointment(
        self, request: pb.AppointmentTransitionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Appointment:
        call = require_staff()
        appointment_id = record_id(request.appointment_id, "appointment")
        done = await handlers.complete_appointment(
            commands.CompleteAppointment(
                call.tenant_id, appointment_id, request.version, actor_of(call), datetime.now(UTC)
            ),
            self._uow_factory(),
        )
        return appointment_message(done)

    async def MarkNoShow(
        self, request: pb.AppointmentTransitionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Appointment:
        call = require_staff()
        appointment_id = record_id(request.appointment_id, "appointment")
        marked = await handlers.mark_no_show(
            commands.MarkNoShow(call.tenant_id, appointment_id, request.version, actor_of(call), datetime.now(UTC)),
            self._uow_factory(),
        )
        return appointment_message(marked)

    async def GetAppointment(
        self, request: pb.GetAppointmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Appointment:
        call = current_context()
        appointment_id = record_id(request.appointment_id, "appointment")
        appointment = await views.get_appointment(self._engine, call.tenant_id, appointment_id)
        own = _own_client(call)
        if own is not None and appointment.client_id != own:
            raise NotFound("appointment not found")
        return appointment_message(appointment)

    async def ListAppointments(
        self, request: pb.ListAppointmentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAppointmentsResponse:
        call = require_staff()
        checked = Checked()
        staff_ids = checked.uuids(list(request.staff_ids), "staff_ids")
        if not request.HasField("from"):
            checked.add("from", "is required")
        if not request.HasField("to"):
            checked.add("to", "is required")
        checked.raise_if_any()
        found = await views.appointments_in_window(
            self._engine,
            call.tenant_id,
            aware(getattr(request, "from")),
            aware(request.to),
            staff_ids,
            list(request.statuses),
        )
        return pb.ListAppointmentsResponse(appointments=[appointment_message(a) for a in found])

    async def GetAppointmentHistory(
        self, request: pb.GetAppointmentHistoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentHistory:
        call = require_staff()
        appointment_id = record_id(request.appointment_id, "appointment")
        rows = await views.history(self._engine, call.tenant_id, appointment_id)
        return pb.AppointmentHistory(
            entries=[
                pb.HistoryEntry(at=timestamp(r.at), actor=r.actor, action=r.action, changes_json=json.dumps(r.changes))
                for r in rows
            ]
        )

    async def ListClientAppointments(
        self, request: pb.ListClientAppointmentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAppointmentsResponse:
        call = current_context()
        own = _own_client(call)
        client_id = own if own is not None else reference_id(request.client_id, "client_id", "client")
        if own is not None and request.client_id and request.client_id != str(own):
            raise NotFound("client not found")
        found, token = await views.client_appointments(
            self._engine,
            call.tenant_id,
            client_id,
            request.view,
            datetime.now(UTC),
            request.page.page_size,
            request.page.page_token,
        )
        return pb.ListAppointmentsResponse(
            appointments=[appointment_message(a) for a in found], page=types_pb2.PageInfo(next_page_token=token)
        )

    async def CountClientBookings(
        self, request: pb.CountClientBookingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientBookingCount:
        call = current_context()
        own = _own_client(call)
        if own is not None and request.client_id and request.client_id != str(own):
            raise NotFound("client not found")
        client_id = own if own is not None else reference_id(request.client_id, "client_id", "client")
        return pb.ClientBookingCount(
            upcoming=await views.count_upcoming(self._engine, call.tenant_id, client_id, datetime.now(UTC))
        )
