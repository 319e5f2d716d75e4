"""Use cases of the scheduling service: availability and the appointment lifecycle. Each runs in one unit
of work; the database has the last word on overlaps and seats."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from platform_core.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from platform_core.ids import new_id
from platform_core.validation import Violations
from scheduling_svc.adapters.catalogue_store import AvailabilityInputs
from scheduling_svc.adapters.hold_store import HeldTime, without_hold
from scheduling_svc.adapters.repository import SLOT_TAKEN
from scheduling_svc.domain import availability, commands
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
from scheduling_svc.domain.catalogue import BookableService, SchedulingSettings, local_days
from scheduling_svc.service_layer.unit_of_work import DUPLICATE_REQUEST, SchedulingUnitOfWork

MAX_RANGE_DAYS = 62
# Staff see every free slot from now on, not only what clients may book (notice and horizon are client rules).
STAFF_HORIZON = timedelta(days=730)
SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"
MAX_BOOKING_ATTEMPTS = 5


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


def _query(inputs: AvailabilityInputs, cmd: commands.FindSlots, zone: str) -> availability.SlotQuery:
    return availability.SlotQuery(
        services=_specs(inputs.services, cmd.online),
        start_day=cmd.from_day,
        end_day=cmd.to_day,
        timezone=zone,
        now=cmd.now,
        rules=_rules(inputs.services, inputs.settings, cmd.online),
        staff_ids=cmd.staff_ids,
        seats=cmd.seats,
    )


async def find_slots(cmd: commands.FindSlots, uow: SchedulingUnitOfWork) -> tuple[list[availability.Slot], str]:
    """The free slots for the services over the days asked, and the zone the days are cut in."""
    if cmd.to_day < cmd.from_day:
        raise InvalidArgument.single("to_day", "must not be before from_day")
    if (cmd.to_day - cmd.from_day).days >= MAX_RANGE_DAYS:
        raise InvalidArgument.single("to_day", f"ask for at most {MAX_RANGE_DAYS} days at a time")
    async with uow:
        settings = await uow.catalogue.settings(cmd.tenant_id)
        zone = cmd.timezone or settings.timezone
        inputs = await uow.catalogue.availability_inputs(
            cmd.tenant_id,
            cmd.service_ids,
            *local_days(cmd.from_day, cmd.to_day, zone),
            settings=settings,
        )
    _check_bookable(inputs.services, cmd.online)
    check_segments_request(cmd.service_ids, cmd.seats, [s.definition.capacity for s in inputs.services])
    slots = availability.find_available_slots(
        _query(inputs, cmd, zone), inputs.staff, inputs.resources, inputs.business
    )
    return slots, zone


# --- booking -------------------------------------------------------------------------------------


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
        violations = Violations()
        for i in missing:
            violations.add(f"segments[{i}].staff_id", "is required when overriding availability")
        violations.raise_if_any()
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


async def book_appointment(cmd: commands.BookAppointment, uow: SchedulingUnitOfWork) -> Appointment:
    if cmd.online and cmd.override_availability:
        raise PermissionDenied("only staff can book outside the configured availability")
    if cmd.request_id:
        async with uow:
            existing = await uow.appointments.get_by_request_id(cmd.tenant_id, cmd.request_id)
        if existing is not None:
            return existing
    client = await uow.client_directory.lookup(cmd.client_id)
    if client is None or client.deleted:
        raise InvalidArgument.single("client_id", "names no client of this business")
    service_ids = tuple(s for s, _ in cmd.segments)
    async with uow:
        settings = await uow.catalogue.settings(cmd.tenant_id)
        zone = cmd.timezone or client.timezone or settings.timezone
        held = await _own_hold(uow, cmd)
        if cmd.override_availability:
            # Staff placing a booking by hand: only the services' terms are needed; the database still
            # refuses an overlap.
            inputs = AvailabilityInputs(
                settings, await uow.catalogue.ordered_services(cmd.tenant_id, service_ids), [], [], None
            )
        else:
            inputs = await uow.catalogue.availability_inputs(
                cmd.tenant_id,
                service_ids,
                cmd.start - timedelta(days=1),
                cmd.start + timedelta(days=2),
                settings=settings,
            )
            inputs = without_hold(inputs, held)  # the holder books into (or past) its own hold
        _check_bookable(inputs.services, cmd.online)
        check_segments_request(service_ids, cmd.seats, [s.definition.capacity for s in inputs.services])
        limited = cmd.online and settings.max_active_bookings_per_client > 0
        check_booking_rules(
            online=cmd.online,
            blocked=client.online_booking_blocked,
            active_bookings=(
                await uow.appointments.count_active_for_client(cmd.tenant_id, cmd.client_id, cmd.now) if limited else 0
            ),
            max_active=settings.max_active_bookings_per_client,
        )
        if cmd.follow_up_of is not None:
            await _check_follow_up(uow, cmd, settings)
        candidates = await _candidates(
            inputs,
            start=cmd.start,
            wanted_staff=[s for _, s in cmd.segments],
            seats=cmd.seats,
            override=cmd.override_availability,
            online=cmd.online,
            zone=zone,
            now=cmd.now,
        )
        # The first choice is tried in the transaction that read the inputs (the database still has the last
        # word on overlaps); only a lost race opens another for the next choice.
        try:
            return await _take(uow, _appointment(cmd, candidates[0], zone), held)
        except Conflict as exc:
            refused = exc
    # When someone takes the first choice of staff a moment earlier, another qualified one may still be free:
    # a client who asked for anyone gets them instead of a conflict.
    for segments in candidates[1:MAX_BOOKING_ATTEMPTS]:
        if refused.reason != SLOT_TAKEN:
            break
        try:
            async with uow:
                return await _take(uow, _appointment(cmd, segments, zone), held)
        except Conflict as exc:
            refused = exc
    if cmd.request_id and refused.reason in (SLOT_TAKEN, DUPLICATE_REQUEST):
        # A concurrent send of the same request may have taken the time: its booking is the answer.
        async with uow:
            existing = await uow.appointments.get_by_request_id(cmd.tenant_id, cmd.request_id)
        if existing is not None:
            return existing
    raise refused


def _appointment(cmd: commands.BookAppointment, segments: tuple[Segment, ...], zone: str) -> Appointment:
    return Appointment.book(
        tenant_id=cmd.tenant_id,
        appointment_id=new_id(),
        client_id=cmd.client_id,
        segments=segments,
        timezone=zone,
        notes=cmd.notes,
        source=cmd.source,
        availability_overridden=cmd.override_availability,
        actor=cmd.actor,
        now=cmd.now,
        request_id=cmd.request_id,
        follow_up_of=cmd.follow_up_of,
        follow_up_action=cmd.follow_up_action,
        staff_notes=cmd.staff_notes,
        ticket=cmd.ticket,
    )


async def _take(uow: SchedulingUnitOfWork, appointment: Appointment, held: HeldTime | None) -> Appointment:
    """Write the new appointment in the unit's open transaction and commit it, giving back the tentative hold it
    replaces in the same transaction."""
    if held is not None:
        await uow.holds.release(appointment.tenant_id, held.hold.id)
    uow.appointments.add(appointment)
    await uow.commit()
    return appointment


async def _own_hold(uow: SchedulingUnitOfWork, cmd: commands.BookAppointment) -> HeldTime | None:
    """The tentative hold the booking replaces: any the staff name (a merged client's too), a client's own only."""
    if cmd.hold_id is None:
        return None
    held = await uow.holds.get(cmd.tenant_id, cmd.hold_id)
    if held is not None and cmd.online and held.hold.client_id != cmd.client_id:
        return None
    return held


async def _check_follow_up(
    uow: SchedulingUnitOfWork, cmd: commands.BookAppointment, settings: SchedulingSettings
) -> None:
    assert cmd.follow_up_of is not None
    try:
        original = await uow.appointments.get(cmd.tenant_id, cmd.follow_up_of)
    except NotFound:
        raise InvalidArgument.single("follow_up_of", "names no appointment of this business") from None
    if original.client_id != cmd.client_id:
        raise InvalidArgument.single("follow_up_of", "is an appointment of another client")
    if not settings.allows_follow_up_action(cmd.follow_up_action):
        raise InvalidArgument.single(
            "follow_up_action", "must be meet, call, email, sms or one of the business's own follow-up actions"
        )


async def move_appointment(cmd: commands.MoveAppointment, uow: SchedulingUnitOfWork) -> Appointment:
    """Reschedule (new start) or reassign (one segment to another staff member), atomically."""
    if cmd.online and cmd.override_availability:
        raise PermissionDenied("only staff can book outside the configured availability")
    async with uow:
        appointment = await uow.appointments.get(cmd.tenant_id, cmd.appointment_id)
        appointment.check_version(cmd.version)
        segments = appointment.segments
        if cmd.start is not None:
            segments = shifted(segments, cmd.start)
        if cmd.position is not None and cmd.staff_id is not None:
            segments = with_staff(segments, cmd.position, cmd.staff_id)
        await _move_segments(
            uow,
            appointment,
            segments,
            override=cmd.override_availability,
            online=cmd.online,
            actor=cmd.actor,
            now=cmd.now,
        )
        await uow.commit()
        return appointment


async def _move_segments(
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


async def cancel_appointment(cmd: commands.CancelAppointment, uow: SchedulingUnitOfWork) -> Appointment:
    async with uow:
        appointment = await uow.appointments.get(cmd.tenant_id, cmd.appointment_id)
        appointment.check_version(cmd.version)
        settings = await uow.catalogue.settings(cmd.tenant_id)
        appointment.cancel(
            reason=cmd.reason,
            by="client" if cmd.by_client else "staff",
            actor=cmd.actor,
            now=cmd.now,
            notice=settings.cancellation_notice,
        )
        await uow.commit()
        return appointment


async def complete_appointment(cmd: commands.CompleteAppointment, uow: SchedulingUnitOfWork) -> Appointment:
    async with uow:
        appointment = await uow.appointments.get(cmd.tenant_id, cmd.appointment_id)
        appointment.check_version(cmd.version)
        appointment.complete(actor=cmd.actor, now=cmd.now)
        await uow.commit()
        return appointment


async def mark_no_show(cmd: commands.MarkNoShow, uow: SchedulingUnitOfWork) -> Appointment:
    async with uow:
        appointment = await uow.appointments.get(cmd.tenant_id, cmd.appointment_id)
        appointment.check_version(cmd.version)
        appointment.mark_no_show(actor=cmd.actor, now=cmd.now)
        await uow.commit()
        return appointment
