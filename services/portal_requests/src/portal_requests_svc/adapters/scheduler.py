"""Scheduling's appointments and holds, as this service commands them: book an approved request, cancel its
appointment, hold and release a pending request's time, and count a client's upcoming bookings.

Each call carries the caller's tenant and principal (the channel's interceptor copies them). A refusal comes
back as the domain error it was, so the caller gets the same status and reason.
"""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import grpc

from atrium.scheduling.v1 import appointments_pb2 as appointments_pb
from atrium.scheduling.v1 import holds_pb2 as holds_pb
from atrium.scheduling.v1.appointments_pb2_grpc import AppointmentServiceStub
from atrium.scheduling.v1.holds_pb2_grpc import SlotHoldServiceStub
from platform_core import errors
from platform_core.grpc.values import aware, timestamp
from portal_requests_svc.adapters.grpc_errors import domain_error
from portal_requests_svc.domain.events import FreedSlot
from portal_requests_svc.domain.requests import HeldSlot

APPOINTMENT_NOT_BOOKED = "APPOINTMENT_NOT_BOOKED"  # scheduling's refusal to change a cancelled appointment


@dataclass(frozen=True)
class BookedAppointment:
    appointment_id: uuid.UUID
    start: datetime
    end: datetime
    staff_id: uuid.UUID


@dataclass(frozen=True)
class Booking:
    request_id: uuid.UUID
    client_id: uuid.UUID
    service_id: uuid.UUID
    staff_id: uuid.UUID | None
    start: datetime
    timezone: str
    override_availability: bool
    # For the team only: kept on the appointment, never shown to the client.
    staff_notes: str = ""
    ticket: str = ""
    # The request's tentative hold, released by scheduling in the booking's transaction.
    hold_id: uuid.UUID | None = None


@dataclass(frozen=True)
class SlotToHold:
    hold_id: uuid.UUID  # the request's id
    client_id: uuid.UUID
    service_id: uuid.UUID
    staff_id: uuid.UUID | None  # None: anyone who performs the service
    start: datetime
    label: str  # the request's reference, shown in staff calendars


@dataclass(frozen=True)
class PlacedHold:
    hold_id: uuid.UUID  # the id of the request that placed it
    placed_at: datetime


class AbstractScheduler(abc.ABC):
    @abc.abstractmethod
    async def book(self, booking: Booking) -> BookedAppointment:
        """Book the appointment; the same request id books once and returns that appointment again."""

    @abc.abstractmethod
    async def times_of(self, appointment_id: uuid.UUID) -> list[FreedSlot]:
        """Each service's staff member and time of the appointment."""

    @abc.abstractmethod
    async def upcoming_bookings(self, client_id: uuid.UUID) -> int:
        """How many upcoming booked appointments the client has (scheduling's exact count)."""

    @abc.abstractmethod
    async def cancel(self, appointment_id: uuid.UUID, reason: str) -> None:
        """Cancel the appointment as the caller (a client within the cancellation notice only); an
        appointment cancelled already is left as it is."""

    @abc.abstractmethod
    async def hold(self, slot: SlotToHold) -> HeldSlot:
        """Hold the slot (or move the request's hold to it) where a booking could go; Conflict naming the slot
        when it is not free, and then nothing changes."""

    @abc.abstractmethod
    async def release_hold(self, hold_id: uuid.UUID) -> None:
        """Give the held time back (nothing to release is fine)."""

    @abc.abstractmethod
    async def holds_between(self, start: datetime, end: datetime) -> list[PlacedHold]:
        """The business's holds of times overlapping [start, end), each once."""


# The longest window scheduling lists holds for at once.
LIST_HOLDS_WINDOW = timedelta(days=42)

# Scheduling's field names -> this API's, for a refusal of a hold (the request's first preferred time).
_HOLD_FIELDS = {"start": "options[0].start", "staff_id": "preferred_staff_id"}

# Scheduling's field names -> this API's, for a refusal of the booking an approval makes.
_BOOKING_FIELDS = {"segments[0].staff_id": "staff_id", "segments[0].service_id": "service_id", "client_id": "client_id"}


class GrpcScheduler(AbstractScheduler):
    def __init__(self, stub: AppointmentServiceStub, holds: SlotHoldServiceStub) -> None:
        self._stub = stub
        self._holds = holds

    async def hold(self, slot: SlotToHold) -> HeldSlot:
        try:
            held = await self._holds.HoldSlot(
                holds_pb.HoldSlotRequest(
                    hold_id=str(slot.hold_id),
                    client_id=str(slot.client_id),
                    service_id=str(slot.service_id),
                    staff_id=str(slot.staff_id or ""),
                    start=timestamp(slot.start),
                    label=slot.label,
                )
            )
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "scheduling", fields=_HOLD_FIELDS) from exc
        return HeldSlot(uuid.UUID(held.staff_id), aware(held.start), aware(held.end))

    async def release_hold(self, hold_id: uuid.UUID) -> None:
        try:
            await self._holds.ReleaseHold(holds_pb.ReleaseHoldRequest(hold_id=str(hold_id)))
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "scheduling") from exc

    async def holds_between(self, start: datetime, end: datetime) -> list[PlacedHold]:
        found: dict[uuid.UUID, PlacedHold] = {}
        window_start = start
        while window_start < end:
            window_end = min(end, window_start + LIST_HOLDS_WINDOW)
            try:
                listed = await self._holds.ListHolds(
                    holds_pb.ListHoldsRequest(**{"from": timestamp(window_start)}, to=timestamp(window_end))
                )
            except grpc.aio.AioRpcError as exc:
                raise domain_error(exc, "scheduling") from exc
            for held in listed.holds:
                hold_id = uuid.UUID(held.hold_id)
                found[hold_id] = PlacedHold(hold_id, aware(held.created_at))
            window_start = window_end
        return list(found.values())

    async def book(self, booking: Booking) -> BookedAppointment:
        try:
            appointment = await self._stub.BookAppointment(
                appointments_pb.BookAppointmentRequest(
                    client_id=str(booking.client_id),
                    segments=[
                        appointments_pb.SegmentRequest(
                            service_id=str(booking.service_id), staff_id=str(booking.staff_id or "")
                        )
                    ],
                    start=timestamp(booking.start),
                    override_availability=booking.override_availability,
                    request_id=str(booking.request_id),
                    source="portal_request",
                    timezone=booking.timezone,
                    staff_notes=booking.staff_notes,
                    ticket=booking.ticket,
                    hold_id=str(booking.hold_id or ""),
                )
            )
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "scheduling", fields=_BOOKING_FIELDS) from exc
        return BookedAppointment(
            uuid.UUID(appointment.id),
            aware(appointment.start),
            aware(appointment.end),
            uuid.UUID(appointment.segments[0].staff_id),
        )

    async def times_of(self, appointment_id: uuid.UUID) -> list[FreedSlot]:
        try:
            found = await self._stub.GetAppointment(
                appointments_pb.GetAppointmentRequest(appointment_id=str(appointment_id))
            )
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "scheduling") from exc
        return [
            FreedSlot(uuid.UUID(s.service_id), uuid.UUID(s.staff_id), aware(s.start), aware(s.end))
            for s in found.segments
        ]

    async def upcoming_bookings(self, client_id: uuid.UUID) -> int:
        try:
            counted = await self._stub.CountClientBookings(
                appointments_pb.CountClientBookingsRequest(client_id=str(client_id))
            )
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "scheduling") from exc
        return int(counted.upcoming)

    async def cancel(self, appointment_id: uuid.UUID, reason: str) -> None:
        try:
            await self._stub.CancelAppointment(
                appointments_pb.CancelAppointmentRequest(appointment_id=str(appointment_id), reason=reason)
            )
        except grpc.aio.AioRpcError as exc:
            error = domain_error(exc, "scheduling")
            not_booked = isinstance(error, errors.DomainError) and error.reason == APPOINTMENT_NOT_BOOKED
            if not_booked and await self._cancelled(appointment_id):
                return  # an earlier attempt cancelled it and then failed before recording it
            raise error from exc

    async def _cancelled(self, appointment_id: uuid.UUID) -> bool:
        try:
            found = await self._stub.GetAppointment(
                appointments_pb.GetAppointmentRequest(appointment_id=str(appointment_id))
            )
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "scheduling") from exc
        return bool(found.status == "cancelled")
