"""What this service asks other services over gRPC: the client service about the client (at submit time,
authoritatively), scheduling's catalogue about the service, and scheduling's appointments to book.

Each call carries the caller's tenant and principal (the channel's interceptor copies them). A remote
refusal comes back as the domain error it was, so the caller gets the same status and reason.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1.client_service_pb2_grpc import ClientServiceStub
from atrium.scheduling.v1 import appointments_pb2 as appointments_pb
from atrium.scheduling.v1 import catalogue_pb2 as catalogue_pb
from atrium.scheduling.v1 import holds_pb2 as holds_pb
from atrium.scheduling.v1.appointments_pb2_grpc import AppointmentServiceStub
from atrium.scheduling.v1.catalogue_pb2_grpc import CatalogueServiceStub
from atrium.scheduling.v1.holds_pb2_grpc import SlotHoldServiceStub
from platform_core import errors
from platform_core.client_lookup import ClientFacts, find_client
from platform_core.grpc.errors import from_rpc_error
from platform_core.grpc.values import aware, timestamp
from portal_requests_svc.domain.events import FreedSlot
from portal_requests_svc.domain.requests import HeldSlot, ServiceTerms, Technician

BOOKING_REQUEST_FORM = "booking_request"  # the client service's name of the form
APPOINTMENT_NOT_BOOKED = "APPOINTMENT_NOT_BOOKED"  # scheduling's refusal to change a cancelled appointment

_ERRORS: dict[grpc.StatusCode, type[errors.DomainError]] = {
    # What another service cannot find is a reference this one holds (the request's service, its client):
    # the request is not in a state to go ahead (409), not a missing resource of the caller's (404).
    grpc.StatusCode.NOT_FOUND: errors.FailedPrecondition,
    grpc.StatusCode.ABORTED: errors.Conflict,
    grpc.StatusCode.ALREADY_EXISTS: errors.Conflict,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.LimitExceeded,
}


def domain_error(exc: grpc.aio.AioRpcError, service: str, *, fields: dict[str, str] | None = None) -> Exception:
    """The domain error a remote refusal stands for; field names are translated to this API's."""
    remote = from_rpc_error(exc)
    if remote.code == grpc.StatusCode.INVALID_ARGUMENT:
        renamed = [errors.FieldViolation((fields or {}).get(v.field, v.field), v.message) for v in remote.violations]
        return errors.InvalidArgument(renamed, remote.message)
    error_type = _ERRORS.get(remote.code)
    if error_type is not None:
        return error_type(remote.message, reason=remote.reason or None)
    return errors.Unavailable(f"the {service} service could not answer ({remote.code.name})")


@dataclass(frozen=True)
class RequestingClient:
    """What a request needs of its client: may it ask (facts), and how staff know and reach it."""

    facts: ClientFacts
    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class OfferedService:
    service_id: uuid.UUID
    bookable_online: bool
    staff_ids: frozenset[uuid.UUID]
    name: str = ""
    duration_minutes: int = 0

    @property
    def terms(self) -> ServiceTerms:
        return ServiceTerms(self.service_id, self.name, self.duration_minutes)


@dataclass(frozen=True)
class BusinessTerms:
    """What the business's scheduling settings say about requests."""

    timezone: str
    # Upcoming bookings (and pending requests) one client may hold; 0: no limit.
    max_active_bookings_per_client: int = 0


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


class AbstractClientDirectory(abc.ABC):
    @abc.abstractmethod
    async def lookup(self, client_id: uuid.UUID) -> RequestingClient | None:
        """The client in the caller's tenant, or None when it has no such client."""

    @abc.abstractmethod
    async def answer_booking_form(self, client_id: uuid.UUID, answers: Mapping[str, Any]) -> None:
        """Store the client's answers to the booking request form; InvalidArgument (fields ``answers.<key>``)
        when one breaks its field's rules or a required one is missing."""

    @abc.abstractmethod
    async def check_booking_form(self, answers: Mapping[str, Any], region: str) -> dict[str, Any]:
        """Check answers to the booking request form as a new client's (every required one given), storing
        nothing; InvalidArgument (fields ``answers.<key>``) like ``answer_booking_form``. Answers them as the
        client record would keep them (phone numbers read in ``region``), so storing them later needs no region."""


class AbstractCatalogue(abc.ABC):
    @abc.abstractmethod
    async def service(self, service_id: uuid.UUID) -> OfferedService | None:
        """The service, or None when the caller's tenant offers no such (unarchived) service."""

    @abc.abstractmethod
    async def business_terms(self) -> BusinessTerms:
        """The business's zone and booking limit."""

    @abc.abstractmethod
    async def staff_member(self, staff_id: uuid.UUID) -> Technician | None:
        """The staff member (with the name clients see), or None when the business has no such one."""


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


class GrpcClientDirectory(AbstractClientDirectory):
    def __init__(self, stub: ClientServiceStub) -> None:
        self._stub = stub

    async def lookup(self, client_id: uuid.UUID) -> RequestingClient | None:
        client = await find_client(self._stub, client_id)
        if client is None:
            return None
        name = " ".join(n for n in (client.first_name, client.last_name) if n) or client.profile.company_name
        return RequestingClient(ClientFacts.of(client), name, client.email, client.phone)

    async def answer_booking_form(self, client_id: uuid.UUID, answers: Mapping[str, Any]) -> None:
        request = client_pb.UpdateClientRequest(
            id=str(client_id),
            form=BOOKING_REQUEST_FORM,
            custom_fields=_values(answers),
        )
        try:
            await self._stub.UpdateClient(request)
        except grpc.aio.AioRpcError as exc:
            raise _answers_error(exc) from exc

    async def check_booking_form(self, answers: Mapping[str, Any], region: str) -> dict[str, Any]:
        request = client_pb.CheckFormAnswersRequest(
            form=BOOKING_REQUEST_FORM, custom_fields=_values(answers), default_region=region
        )
        try:
            checked = await self._stub.CheckFormAnswers(request)
        except grpc.aio.AioRpcError as exc:
            raise _answers_error(exc) from exc
        return {key: json_format.MessageToDict(value) for key, value in checked.custom_fields.items()}


def _values(answers: Mapping[str, Any]) -> dict[str, struct_pb2.Value]:
    return {key: json_format.ParseDict(value, struct_pb2.Value()) for key, value in answers.items()}


def _answers_error(exc: grpc.aio.AioRpcError) -> Exception:
    """The client service's refusal of form answers; its ``custom_fields.<key>`` are this API's answers."""
    error = domain_error(exc, "client")
    if isinstance(error, errors.InvalidArgument):
        return errors.InvalidArgument(
            [
                errors.FieldViolation(v.field.replace("custom_fields.", "answers.", 1), v.message)
                for v in error.violations
            ],
            error.message,
        )
    return error


class GrpcCatalogue(AbstractCatalogue):
    def __init__(self, stub: CatalogueServiceStub) -> None:
        self._stub = stub

    async def service(self, service_id: uuid.UUID) -> OfferedService | None:
        try:
            found = await self._stub.GetService(catalogue_pb.GetServiceRequest(service_id=str(service_id)))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise errors.Unavailable(f"the scheduling service could not be asked ({exc.code().name})") from exc
        if found.archived:
            return None
        return OfferedService(
            service_id=uuid.UUID(found.id),
            bookable_online=found.definition.bookable_online,
            staff_ids=frozenset(uuid.UUID(s) for s in found.definition.staff_ids),
            name=found.definition.name,
            duration_minutes=found.definition.duration_minutes,
        )

    async def staff_member(self, staff_id: uuid.UUID) -> Technician | None:
        try:
            found = await self._stub.GetStaffMember(catalogue_pb.GetStaffMemberRequest(staff_id=str(staff_id)))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise errors.Unavailable(f"the scheduling service could not be asked ({exc.code().name})") from exc
        return Technician(staff_id, found.display_name)

    async def business_terms(self) -> BusinessTerms:
        try:
            settings = await self._stub.GetSchedulingSettings(catalogue_pb.GetSchedulingSettingsRequest())
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "scheduling") from exc
        return BusinessTerms(settings.timezone, settings.max_active_bookings_per_client)


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
