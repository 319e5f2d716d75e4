"""Use cases of the scheduling service: availability and the appointment lifecycle. Each runs in one unit
of work; the database has the last word on overlaps and seats."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from platform_core.errors import Conflict, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from platform_core.ids import new_id
from scheduling_svc.adapters.catalogue_store import AvailabilityInputs
from scheduling_svc.adapters.client_directory import AbstractClientDirectory
from scheduling_svc.adapters.hold_store import HeldTime, without_hold
from scheduling_svc.adapters.repository import SLOT_TAKEN
from scheduling_svc.domain import availability
from scheduling_svc.domain.appointments import (
    Appointment,
    Segment,
    check_booking_rules,
    check_segments_request,
    plan_back_to_back,
    shifted,
    staff_blocks,
    with_staff,
)
from scheduling_svc.domain.catalogue import BookableService, SchedulingSettings
from scheduling_svc.service_layer.unit_of_work import DUPLICATE_REQUEST, SchedulingUnitOfWork

MAX_RANGE_DAYS = 62
# Staff see every free slot from now on, not only what clients may book (notice and horizon are client rules).
STAFF_HORIZON = timedelta(days=730)
SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"
MAX_BOOKING_ATTEMPTS = 5


@dataclass(frozen=True)
class SlotSearch:
    service_ids: tuple[uuid.UUID, ...]
    from_day: date
    to_day: date
    staff_ids: frozenset[uuid.UUID] | None
    timezone: str  # empty: the business's
    seats: int
    online: bool


def _local_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(zone))


def _specs(services: Sequence[BookableService], online: bool) -> tuple[availability.ServiceSpec, ...]:
    """Online, each service's own slot rules apply; staff are held to the granularity only."""
    return tuple(
        availability.ServiceSpec(
            s.id,
            s.definition.duration,
            s.definition.buffer_before,
            s.definition.buffer_after,
            s.definition.capacity,
            tuple(s.definition.resource_ids),
            rules=s.definition.rules if online else None,
        )
        for s in services
    )


def _rules(services: Sequence[BookableService], settings: SchedulingSettings, online: bool) -> availability.SlotRules:
    if online:
        return settings.rules
    return availability.SlotRules(services[0].rules(settings).granularity, timedelta(0), STAFF_HORIZON)


def _check_bookable(services: Sequence[BookableService], online: bool) -> None:
    for service in services:
        if service.archived:
            raise InvalidArgument.single("service_ids", f"{service.name} is no longer offered")
        if online and not service.definition.bookable_online:
            raise InvalidArgument.single("service_ids", f"{service.name} cannot be booked online")


def _query(inputs: AvailabilityInputs, search: SlotSearch, zone: str, now: datetime) -> availability.SlotQuery:
    return availability.SlotQuery(
        services=_specs(inputs.services, search.online),
        start_day=search.from_day,
        end_day=search.to_day,
        timezone=zone,
        now=now,
        rules=_rules(inputs.services, inputs.settings, search.online),
        staff_ids=search.staff_ids,
        seats=search.seats,
    )


async def find_slots(
    uow: SchedulingUnitOfWork, tenant_id: uuid.UUID, search: SlotSearch, now: datetime
) -> tuple[list[availability.Slot], str]:
    if search.to_day < search.from_day:
        raise InvalidArgument.single("to_day", "must not be before from_day")
    if (search.to_day - search.from_day).days >= MAX_RANGE_DAYS:
        raise InvalidArgument.single("to_day", f"ask for at most {MAX_RANGE_DAYS} days at a time")
    async with uow:
        settings = await uow.catalogue.settings(tenant_id)
        zone = search.timezone or settings.timezone
        inputs = await uow.catalogue.availability_inputs(
            tenant_id,
            search.service_ids,
            _local_midnight(search.from_day, zone),
            _local_midnight(search.to_day + timedelta(days=1), zone),
            settings=settings,
        )
    _check_bookable(inputs.services, search.online)
    check_segments_request(search.service_ids, search.seats, [s.definition.capacity for s in inputs.services])
    slots = availability.find_available_slots(
        _query(inputs, search, zone, now), inputs.staff, inputs.resources, inputs.business
    )
    return slots, zone


# --- booking -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingRequest:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    segments: tuple[tuple[uuid.UUID, uuid.UUID | None], ...]  # (service, staff or any)
    start: datetime
    override_availability: bool
    notes: str
    request_id: str | None
    source: str
    seats: int
    follow_up_of: uuid.UUID | None
    follow_up_action: str
    timezone: str
    online: bool  # made by the client (portal): online rules apply, no override
    actor: str
    staff_notes: str = ""
    ticket: str = ""
    # The client's tentative hold this booking replaces (released in its transaction).
    hold_id: uuid.UUID | None = None


def _segments_of(
    services: Sequence[BookableService], option: Sequence[availability.Segment], seats: int
) -> tuple[Segment, ...]:
    planned = plan_back_to_back(services, [o.staff_id for o in option], option[0].start, seats)
    # The engine's times are authoritative (they include how it places consecutive services).
    return tuple(replace(p, start=o.start, end=o.end) for p, o in zip(planned, option, strict=True))


def _matching(
    slot: availability.Slot | None, wanted: Sequence[uuid.UUID | None]
) -> list[tuple[availability.Segment, ...]]:
    """The slot's options that give each service to the staff member asked for (None: anyone)."""
    if slot is None:
        return []
    return [
        option
        for option in slot.options
        if all(w is None or w == seg.staff_id for w, seg in zip(wanted, option, strict=True))
    ]


def _without_own_time(inputs: AvailabilityInputs, appointment: Appointment) -> AvailabilityInputs:
    """Availability as if ``appointment`` did not hold its time (for moving it)."""
    own = {(b.staff_id, b.start, b.end) for b in staff_blocks(appointment.segments)}
    staff = []
    for member in inputs.staff:
        busy = []
        for b in member.busy:
            if (member.staff_id, b.start, b.end) in own:
                if b.seats > appointment.segments[0].seats:  # a group session others still attend
                    busy.append(replace(b, seats=b.seats - appointment.segments[0].seats))
                continue
            busy.append(b)
        staff.append(replace(member, busy=tuple(busy)))
    return AvailabilityInputs(inputs.settings, inputs.services, staff, inputs.resources, inputs.business)


def _unavailable(start: datetime, zone: str) -> Conflict:
    local = start.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")
    return Conflict(f"no staff member is free for this booking at {local}", reason=SLOT_UNAVAILABLE)


async def _candidates(
    inputs: AvailabilityInputs,
    *,
    start: datetime,
    wanted_staff: Sequence[uuid.UUID | None],
    seats: int,
    override: bool,
    online: bool,
    zone: str,
    now: datetime,
) -> list[tuple[Segment, ...]]:
    """Ways to book ``start``, best first: the requested staff, or every qualified assignment free then."""
    if override:
        missing = [i for i, s in enumerate(wanted_staff) if s is None]
        if missing:
            raise InvalidArgument(
                [FieldViolation(f"segments[{i}].staff_id", "is required when overriding availability") for i in missing]
            )
        return [plan_back_to_back(inputs.services, [s for s in wanted_staff if s is not None], start, seats)]
    local_day = start.astimezone(ZoneInfo(zone)).date()
    query = availability.SlotQuery(
        services=_specs(inputs.services, online),
        start_day=local_day,
        end_day=local_day,
        timezone=zone,
        now=now,
        rules=_rules(inputs.services, inputs.settings, online),
        # Narrow the search only when every service names its staff member; otherwise the options are
        # filtered below, so "Anna for the cut, anyone for the colour" can still find Ben.
        staff_ids=frozenset(s for s in wanted_staff if s is not None) if None not in wanted_staff else None,
        seats=seats,
    )
    slot = availability.is_bookable(query, start, inputs.staff, inputs.resources, inputs.business)
    options = _matching(slot, wanted_staff)
    if not options:
        raise _unavailable(start, zone)
    return [_segments_of(inputs.services, option, seats) for option in options]


async def book_appointment(
    uow: SchedulingUnitOfWork, directory: AbstractClientDirectory, request: BookingRequest, now: datetime
) -> Appointment:
    if request.online and request.override_availability:
        raise PermissionDenied("only staff can book outside the configured availability")
    if request.request_id:
        async with uow:
            existing = await uow.appointments.get_by_request_id(request.tenant_id, request.request_id)
        if existing is not None:
            return existing
    client = await directory.lookup(request.client_id)
    if client is None or client.deleted:
        raise InvalidArgument.single("client_id", "names no client of this business")
    service_ids = tuple(s for s, _ in request.segments)
    async with uow:
        settings = await uow.catalogue.settings(request.tenant_id)
        zone = request.timezone or client.timezone or settings.timezone
        held = await _own_hold(uow, request)
        if request.override_availability:
            # Staff placing a booking by hand: only the services' terms are needed; the database still
            # refuses an overlap.
            inputs = AvailabilityInputs(
                settings, await uow.catalogue.ordered_services(request.tenant_id, service_ids), [], [], None
            )
        else:
            inputs = await uow.catalogue.availability_inputs(
                request.tenant_id,
                service_ids,
                request.start - timedelta(days=1),
                request.start + timedelta(days=2),
                settings=settings,
            )
            inputs = without_hold(inputs, held)  # the holder books into (or past) its own hold
        _check_bookable(inputs.services, request.online)
        check_segments_request(service_ids, request.seats, [s.definition.capacity for s in inputs.services])
        limited = request.online and settings.max_active_bookings_per_client > 0
        check_booking_rules(
            online=request.online,
            blocked=client.online_booking_blocked,
            active_bookings=(
                await uow.appointments.count_active_for_client(request.tenant_id, request.client_id, now)
                if limited
                else 0
            ),
            max_active=settings.max_active_bookings_per_client,
        )
        if request.follow_up_of is not None:
            await _check_follow_up(uow, request, settings)
        candidates = await _candidates(
            inputs,
            start=request.start,
            wanted_staff=[s for _, s in request.segments],
            seats=request.seats,
            override=request.override_availability,
            online=request.online,
            zone=zone,
            now=now,
        )
        # The first choice is tried in the transaction that read the inputs (the database still has the last
        # word on overlaps); only a lost race opens another for the next choice.
        try:
            return await _take(uow, _appointment(request, candidates[0], zone, now), held)
        except Conflict as exc:
            refused = exc
    # When someone takes the first choice of staff a moment earlier, another qualified one may still be free:
    # a client who asked for anyone gets them instead of a conflict.
    for segments in candidates[1:MAX_BOOKING_ATTEMPTS]:
        if refused.reason != SLOT_TAKEN:
            break
        try:
            async with uow:
                return await _take(uow, _appointment(request, segments, zone, now), held)
        except Conflict as exc:
            refused = exc
    if request.request_id and refused.reason in (SLOT_TAKEN, DUPLICATE_REQUEST):
        # A concurrent send of the same request may have taken the time: its booking is the answer.
        async with uow:
            existing = await uow.appointments.get_by_request_id(request.tenant_id, request.request_id)
        if existing is not None:
            return existing
    raise refused


def _appointment(request: BookingRequest, segments: tuple[Segment, ...], zone: str, now: datetime) -> Appointment:
    return Appointment.book(
        tenant_id=request.tenant_id,
        appointment_id=new_id(),
        client_id=request.client_id,
        segments=segments,
        timezone=zone,
        notes=request.notes,
        source=request.source,
        availability_overridden=request.override_availability,
        actor=request.actor,
        now=now,
        request_id=request.request_id,
        follow_up_of=request.follow_up_of,
        follow_up_action=request.follow_up_action,
        staff_notes=request.staff_notes,
        ticket=request.ticket,
    )


async def _take(uow: SchedulingUnitOfWork, appointment: Appointment, held: HeldTime | None) -> Appointment:
    """Write the new appointment in the unit's open transaction and commit it, giving back the tentative hold it
    replaces in the same transaction."""
    if held is not None:
        await uow.holds.release(appointment.tenant_id, held.hold.id)
    uow.appointments.add(appointment)
    await uow.commit()
    return appointment


async def _own_hold(uow: SchedulingUnitOfWork, request: BookingRequest) -> HeldTime | None:
    """The tentative hold the booking replaces: any the staff name (a merged client's too), a client's own only."""
    if request.hold_id is None:
        return None
    held = await uow.holds.get(request.tenant_id, request.hold_id)
    if held is not None and request.online and held.hold.client_id != request.client_id:
        return None
    return held


async def _check_follow_up(uow: SchedulingUnitOfWork, request: BookingRequest, settings: SchedulingSettings) -> None:
    assert request.follow_up_of is not None
    try:
        original = await uow.appointments.get(request.tenant_id, request.follow_up_of)
    except NotFound:
        raise InvalidArgument.single("follow_up_of", "names no appointment of this business") from None
    if original.client_id != request.client_id:
        raise InvalidArgument.single("follow_up_of", "is an appointment of another client")
    if not settings.allows_follow_up_action(request.follow_up_action):
        raise InvalidArgument.single(
            "follow_up_action", "must be meet, call, email, sms or one of the business's own follow-up actions"
        )


@dataclass(frozen=True)
class Move:
    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    version: int
    override_availability: bool
    actor: str
    online: bool
    start: datetime | None = None  # reschedule
    position: int | None = None  # reassign this segment...
    staff_id: uuid.UUID | None = None  # ...to this staff member


async def move_appointment(uow: SchedulingUnitOfWork, move: Move, now: datetime) -> Appointment:
    """Reschedule (new start) or reassign (one segment to another staff member), atomically."""
    if move.online and move.override_availability:
        raise PermissionDenied("only staff can book outside the configured availability")
    async with uow:
        appointment = await uow.appointments.get(move.tenant_id, move.appointment_id)
        appointment.check_version(move.version)
        segments = appointment.segments
        if move.start is not None:
            segments = shifted(segments, move.start)
        if move.position is not None and move.staff_id is not None:
            segments = with_staff(segments, move.position, move.staff_id)
        await move_segments(
            uow,
            appointment,
            segments,
            override=move.override_availability,
            online=move.online,
            actor=move.actor,
            now=now,
        )
        await uow.commit()
        return appointment


async def move_segments(
    uow: SchedulingUnitOfWork,
    appointment: Appointment,
    segments: tuple[Segment, ...],
    *,
    override: bool,
    online: bool,
    actor: str,
    now: datetime,
) -> None:
    """Move a loaded appointment to ``segments`` (new times and/or staff) when availability allows, within the
    caller's unit of work."""
    settings = await uow.catalogue.settings(appointment.tenant_id)
    start = segments[0].start
    inputs = await uow.catalogue.availability_inputs(
        appointment.tenant_id,
        [s.service_id for s in segments],
        start - timedelta(days=1),
        start + timedelta(days=2),
        settings=settings,
    )
    planned = (
        await _candidates(
            _without_own_time(inputs, appointment),
            start=start,
            wanted_staff=[s.staff_id for s in segments],
            seats=segments[0].seats,
            override=override,
            online=online,
            zone=appointment.timezone,
            now=now,
        )
    )[0]
    # Keep the booking-time terms (price, buffers) of each segment; only time and staff move.
    moved = tuple(
        replace(old, staff_id=new.staff_id, start=new.start, end=new.end)
        for old, new in zip(segments, planned, strict=True)
    )
    appointment.move(moved, overridden=override, actor=actor, now=now)


async def cancel_appointment(
    uow: SchedulingUnitOfWork,
    tenant_id: uuid.UUID,
    appointment_id: uuid.UUID,
    *,
    reason: str,
    version: int,
    by_client: bool,
    actor: str,
    now: datetime,
) -> Appointment:
    async with uow:
        appointment = await uow.appointments.get(tenant_id, appointment_id)
        appointment.check_version(version)
        settings = await uow.catalogue.settings(tenant_id)
        appointment.cancel(
            reason=reason,
            by="client" if by_client else "staff",
            actor=actor,
            now=now,
            notice=settings.cancellation_notice,
        )
        await uow.commit()
        return appointment


async def complete_appointment(
    uow: SchedulingUnitOfWork, tenant_id: uuid.UUID, appointment_id: uuid.UUID, version: int, actor: str, now: datetime
) -> Appointment:
    async with uow:
        appointment = await uow.appointments.get(tenant_id, appointment_id)
        appointment.check_version(version)
        appointment.complete(actor=actor, now=now)
        await uow.commit()
        return appointment


async def mark_no_show(
    uow: SchedulingUnitOfWork, tenant_id: uuid.UUID, appointment_id: uuid.UUID, version: int, actor: str, now: datetime
) -> Appointment:
    async with uow:
        appointment = await uow.appointments.get(tenant_id, appointment_id)
        appointment.check_version(version)
        appointment.mark_no_show(actor=actor, now=now)
        await uow.commit()
        return appointment
