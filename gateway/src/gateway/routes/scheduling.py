"""Staff routes over scheduling: settings, the services catalogue, staff schedules and exceptions,
resources, availability, appointments and calendar views; and the client's appointments for the card."""

from __future__ import annotations

import functools
import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp

from atrium.common.v1 import types_pb2
from atrium.scheduling.v1 import appointments_pb2 as pb
from atrium.scheduling.v1 import catalogue_pb2 as cat
from atrium.scheduling.v1 import holds_pb2 as holds_pb
from gateway import idempotency
from gateway.api import path_id
from gateway.dependencies import BACKENDS, BUSINESS, IDENTITY
from gateway.identity.business import ProfileChange
from gateway.identity.model import Account
from gateway.instants import when, whole_seconds_text
from gateway.routes.clients import for_known_client
from gateway.routes.registry import api
from gateway.scheduling_schemas import (
    AppointmentIn,
    AppointmentList,
    AppointmentOut,
    AppointmentWindowQuery,
    AvailabilityOut,
    AvailabilityQuery,
    CalendarOut,
    CalendarQuery,
    CancelIn,
    ClientAppointmentsQuery,
    DayHoursIO,
    HistoryOut,
    ReassignIn,
    RescheduleIn,
    ResourceIn,
    ResourceList,
    ResourceOut,
    ResourceUpdate,
    ScheduleExceptionIn,
    ScheduleExceptionList,
    ScheduleExceptionOut,
    ScheduleExceptionQuery,
    SchedulingSettingsIO,
    ServiceIn,
    ServiceList,
    ServiceListQuery,
    ServiceOut,
    ServiceUpdate,
    SlotRulesIO,
    StaffScheduleIn,
    StaffScheduleList,
    StaffScheduleOut,
    TransitionIn,
    csv_list,
)
from platform_core.errors import InvalidArgument, NotFound, PermissionDenied
from platform_core.grpc.values import timestamp

TAG = "scheduling"


# --- protobuf <-> JSON ---------------------------------------------------------------------------


def hours_json(days: Any) -> list[dict[str, Any]]:
    return [{"weekday": d.weekday, "ranges": [{"start": r.start, "end": r.end} for r in d.ranges]} for d in days]


def hours_message(days: list[DayHoursIO]) -> list[cat.DayHours]:
    return [
        cat.DayHours(weekday=d.weekday, ranges=[cat.TimeRange(start=r.start, end=r.end) for r in d.ranges])
        for d in days
    ]


def rules_json(rules: cat.SlotRules) -> dict[str, int]:
    return {
        "granularity_minutes": rules.granularity_minutes,
        "min_notice_minutes": rules.min_notice_minutes,
        "horizon_days": rules.horizon_days,
    }


def rules_message(rules: SlotRulesIO) -> cat.SlotRules:
    return cat.SlotRules(**rules.model_dump())


def settings_json(settings: cat.SchedulingSettings) -> dict[str, Any]:
    return {
        "timezone": settings.timezone,
        "slot_rules": rules_json(settings.slot_rules),
        "business_hours": hours_json(settings.business_hours),
        "cancellation_notice_minutes": settings.cancellation_notice_minutes,
        "max_active_bookings_per_client": settings.max_active_bookings_per_client,
        "follow_up_actions": list(settings.follow_up_actions),
        "version": settings.version,
    }


def service_json(service: cat.Service) -> dict[str, Any]:
    d = service.definition
    return {
        "id": service.id,
        "name": d.name,
        "description": d.description,
        "duration_minutes": d.duration_minutes,
        "buffer_before_minutes": d.buffer_before_minutes,
        "buffer_after_minutes": d.buffer_after_minutes,
        "price": {"amount_minor": d.price.amount_minor, "currency": d.price.currency},
        "capacity": d.capacity,
        "bookable_online": d.bookable_online,
        "staff_ids": list(d.staff_ids),
        "resource_ids": list(d.resource_ids),
        "category": d.category,
        "colour": d.colour,
        "slot_rules": rules_json(d.slot_rules) if d.HasField("slot_rules") else None,
        "archived": service.archived,
        "version": service.version,
    }


def service_input(body: ServiceIn) -> cat.ServiceInput:
    message = cat.ServiceInput(
        name=body.name,
        description=body.description,
        duration_minutes=body.duration_minutes,
        buffer_before_minutes=body.buffer_before_minutes,
        buffer_after_minutes=body.buffer_after_minutes,
        price=types_pb2.Money(amount_minor=body.price.amount_minor, currency=body.price.currency),
        capacity=body.capacity,
        bookable_online=body.bookable_online,
        staff_ids=body.staff_ids,
        resource_ids=body.resource_ids,
        category=body.category,
        colour=body.colour,
    )
    if body.slot_rules is not None:
        message.slot_rules.CopyFrom(rules_message(body.slot_rules))
    return message


def staff_json(member: cat.StaffMember) -> dict[str, Any]:
    return {
        "staff_id": member.staff_id,
        "display_name": member.display_name,
        "timezone": member.timezone,
        "weekly_hours": hours_json(member.weekly_hours),
        "service_ids": list(member.service_ids),
        "active": member.active,
        "version": member.version,
    }


def exception_json(e: cat.ScheduleException) -> dict[str, Any]:
    return {
        "id": e.id,
        "staff_id": e.staff_id or None,
        "day": e.day,
        "available": e.available,
        "ranges": [{"start": r.start, "end": r.end} for r in e.ranges],
        "label": e.label,
    }


def resource_json(r: cat.Resource) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.definition.name,
        "kind": r.definition.kind,
        "capacity": r.definition.capacity,
        "archived": r.archived,
    }


def appointment_json(a: pb.Appointment, *, staff: bool = True) -> dict[str, Any]:
    """The appointment as the caller may see it: the team's notes and ticket only for staff."""
    body = {
        "id": a.id,
        "client_id": a.client_id,
        "status": a.status,
        "start": when(a.start),
        "end": when(a.end),
        "timezone": a.timezone,
        "segments": [
            {
                "position": s.position,
                "service_id": s.service_id,
                "service_name": s.service_name,
                "staff_id": s.staff_id,
                "start": when(s.start),
                "end": when(s.end),
                "seats": s.seats,
                "price": {"amount_minor": s.price.amount_minor, "currency": s.price.currency},
            }
            for s in a.segments
        ],
        "notes": a.notes,
        "source": a.source,
        "availability_overridden": a.availability_overridden,
        "cancellation_reason": a.cancellation_reason,
        "cancelled_by": a.cancelled_by or None,
        "series_id": a.series_id or None,
        "follow_up_of": a.follow_up_of or None,
        "follow_up_action": a.follow_up_action,
        "version": a.version,
        "created_at": when(a.created_at),
        "updated_at": when(a.updated_at),
    }
    if staff:
        body |= {"staff_notes": a.staff_notes, "ticket": a.ticket}
    return body


def column_slots(columns: pb.SlotColumns) -> list[dict[str, Any]]:
    """The slots of a columns answer (one service: no options). Slots offering the same staff share one list of
    their ids: a month repeats a few sets of staff hundreds of times, and writing a list per slot was most of the
    route's time."""
    staff = list(columns.staff_ids)
    indexes = list(columns.staff_indexes)
    shared: dict[tuple[int, ...], list[str]] = {}
    out = []
    at = 0
    # Lists first: each is copied in C at once, where stepping through a repeated field costs a call per item.
    for start, local_start, count, seats_left in zip(
        list(columns.start_micros),
        list(columns.local_starts),
        list(columns.staff_counts),
        list(columns.seats_left),
        strict=True,
    ):
        taking = tuple(indexes[at : at + count])
        at += count
        staff_ids = shared.get(taking)
        if staff_ids is None:
            staff_ids = shared[taking] = [staff[i] for i in taking]
        out.append(
            {
                "start": micros_text(start),
                "local_start": local_start,
                "staff_ids": staff_ids,
                "options": [],
                "seats_left": seats_left or None,
            }
        )
    return out


@functools.lru_cache(maxsize=8192)  # a month's slot starts come back request after request
def micros_text(micros: int) -> str:
    """An instant given in microseconds since the epoch, written as ``when`` writes its Timestamp."""
    seconds, fraction = divmod(micros, 1_000_000)
    return whole_seconds_text(seconds) if not fraction else when(Timestamp(seconds=seconds, nanos=fraction * 1000))


def slots_json(reply: pb.FindAvailableSlotsResponse) -> dict[str, Any]:
    if reply.HasField("columns"):
        return {"timezone": reply.timezone, "slots": column_slots(reply.columns)}
    return {
        "timezone": reply.timezone,
        "slots": [
            {
                "start": when(s.start),
                "local_start": s.local_start,
                "staff_ids": list(s.staff_ids),
                "options": [
                    [
                        {"service_id": g.service_id, "staff_id": g.staff_id, "start": when(g.start), "end": when(g.end)}
                        for g in option.segments
                    ]
                    for option in s.options
                ],
                "seats_left": s.seats_left or None,
            }
            for s in reply.slots
        ],
    }


def availability_request(query: AvailabilityQuery, *, online: bool) -> pb.FindAvailableSlotsRequest:
    return pb.FindAvailableSlotsRequest(
        service_ids=query.service_list(),
        from_day=query.from_day.isoformat(),
        to_day=query.to_day.isoformat(),
        staff_ids=query.staff_list(),
        timezone=query.timezone or "",
        seats=query.seats,
        online=online,
        columns=True,
    )


def appointment_id_of(request: web.Request) -> str:
    return path_id(request, "appointment_id", "appointment")


def _manager(account: Account, doing: str) -> None:
    if "staff.manage" not in account.permissions:
        raise PermissionDenied(f"only an owner or admin can {doing}")


# --- settings ------------------------------------------------------------------------------------


@api.route(
    "GET",
    "/api/v1/scheduling/settings",
    summary="The business's scheduling settings",
    tag=TAG,
    permission="schedule.read",
    response=SchedulingSettingsIO,
)
async def get_scheduling_settings(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].catalogue.GetSchedulingSettings(cat.GetSchedulingSettingsRequest())
    return settings_json(reply)


@api.route(
    "PUT",
    "/api/v1/scheduling/settings",
    summary="Replace the scheduling settings: timezone, slot rules, business hours, cancellation policy",
    tag=TAG,
    body=SchedulingSettingsIO,
    response=SchedulingSettingsIO,
    permission="settings.manage",
    errors=(409,),
)
async def put_scheduling_settings(request: web.Request, body: SchedulingSettingsIO, account: Account) -> dict[str, Any]:
    # A business has one zone: the business profile's, which scheduling follows (BusinessProfileChanged). A zone
    # changed here is the profile's new zone, so billing's midnights and the messages' times move with it.
    # Scheduling first: settings it refuses change nothing, the profile included.
    reply = await request.app[BACKENDS].catalogue.UpdateSchedulingSettings(
        cat.SchedulingSettings(
            timezone=body.timezone,
            slot_rules=rules_message(body.slot_rules),
            business_hours=hours_message(body.business_hours),
            cancellation_notice_minutes=body.cancellation_notice_minutes,
            max_active_bookings_per_client=body.max_active_bookings_per_client,
            follow_up_actions=body.follow_up_actions,
            version=body.version,
        )
    )
    business = request.app[BUSINESS]
    if (await business.get(account.tenant_id))["timezone"] != reply.timezone:
        await business.change(account.tenant_id, ProfileChange(timezone=reply.timezone))
    return settings_json(reply)


# --- services ------------------------------------------------------------------------------------


@api.route(
    "GET",
    "/api/v1/services",
    summary="The services catalogue",
    permission="schedule.read",
    tag=TAG,
    query=ServiceListQuery,
    response=ServiceList,
)
async def list_services(request: web.Request, query: ServiceListQuery, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].catalogue.ListServices(
        cat.ListServicesRequest(include_archived=query.include_archived)
    )
    return {"items": [service_json(s) for s in reply.services]}


async def _check_staff(request: web.Request, account: Account, staff_ids: list[str]) -> None:
    unknown = await request.app[IDENTITY].unknown_staff(account.tenant_id, staff_ids)
    if unknown:
        raise InvalidArgument.single("staff_ids", f"not staff of this business: {', '.join(sorted(unknown))}")


@api.route(
    "POST",
    "/api/v1/services",
    summary="Add a bookable service",
    tag=TAG,
    body=ServiceIn,
    response=ServiceOut,
    status=201,
    permission="settings.manage",
    errors=(409,),
)
async def create_service(request: web.Request, body: ServiceIn, account: Account) -> dict[str, Any]:
    await _check_staff(request, account, body.staff_ids)
    return service_json(await request.app[BACKENDS].catalogue.CreateService(service_input(body)))


@api.route(
    "GET",
    "/api/v1/services/{service_id}",
    summary="One service",
    permission="schedule.read",
    tag=TAG,
    response=ServiceOut,
)
async def get_service(request: web.Request, account: Account) -> dict[str, Any]:
    service_id = path_id(request, "service_id", "service")
    return service_json(await request.app[BACKENDS].catalogue.GetService(cat.GetServiceRequest(service_id=service_id)))


@api.route(
    "PUT",
    "/api/v1/services/{service_id}",
    summary="Replace a service's definition (bookings keep the terms they were made on)",
    tag=TAG,
    body=ServiceUpdate,
    response=ServiceOut,
    permission="settings.manage",
    errors=(409,),
)
async def update_service(request: web.Request, body: ServiceUpdate, account: Account) -> dict[str, Any]:
    service_id = path_id(request, "service_id", "service")
    await _check_staff(request, account, body.staff_ids)
    reply = await request.app[BACKENDS].catalogue.UpdateService(
        cat.UpdateServiceRequest(service_id=service_id, definition=service_input(body), version=body.version)
    )
    return service_json(reply)


@api.route(
    "POST",
    "/api/v1/services/{service_id}/archive",
    summary="Stop offering a service (its appointments stay)",
    tag=TAG,
    response=ServiceOut,
    permission="settings.manage",
)
async def archive_service(request: web.Request, account: Account) -> dict[str, Any]:
    service_id = path_id(request, "service_id", "service")
    reply = await request.app[BACKENDS].catalogue.ArchiveService(cat.ArchiveServiceRequest(service_id=service_id))
    return service_json(reply)


# --- staff schedules and exceptions --------------------------------------------------------------


@api.route(
    "GET",
    "/api/v1/staff-schedules",
    summary="Every staff member's schedule",
    permission="schedule.read",
    tag=TAG,
    response=StaffScheduleList,
)
async def list_staff_schedules(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].catalogue.ListStaffMembers(cat.ListStaffMembersRequest(include_inactive=True))
    return {"items": [staff_json(m) for m in reply.staff]}


@api.route(
    "GET",
    "/api/v1/staff-schedules/{staff_id}",
    summary="A staff member's schedule",
    tag=TAG,
    permission="schedule.read",
    response=StaffScheduleOut,
)
async def get_staff_schedule(request: web.Request, account: Account) -> dict[str, Any]:
    staff_id = path_id(request, "staff_id", "staff member")
    reply = await request.app[BACKENDS].catalogue.GetStaffMember(cat.GetStaffMemberRequest(staff_id=staff_id))
    return staff_json(reply)


@api.route(
    "PUT",
    "/api/v1/staff-schedules/{staff_id}",
    summary="Set a staff member's timezone and weekly working hours (your own, or anyone's as owner/admin)",
    tag=TAG,
    permission="schedule.write",
    body=StaffScheduleIn,
    response=StaffScheduleOut,
    errors=(409,),
)
async def put_staff_schedule(request: web.Request, body: StaffScheduleIn, account: Account) -> dict[str, Any]:
    staff_id = path_id(request, "staff_id", "staff member")
    if staff_id != str(account.id):
        _manager(account, "change another staff member's schedule")
    if await request.app[IDENTITY].unknown_staff(account.tenant_id, [staff_id]):
        raise NotFound("staff member not found")
    reply = await request.app[BACKENDS].catalogue.PutStaffMember(
        cat.StaffMember(
            staff_id=staff_id,
            display_name=body.display_name,
            timezone=body.timezone,
            weekly_hours=hours_message(body.weekly_hours),
            active=body.active,
            version=body.version,
        )
    )
    return staff_json(reply)


@api.route(
    "GET",
    "/api/v1/schedule-exceptions",
    summary="Time off, holidays and extra hours",
    tag=TAG,
    permission="schedule.read",
    query=ScheduleExceptionQuery,
    response=ScheduleExceptionList,
)
async def list_schedule_exceptions(
    request: web.Request, query: ScheduleExceptionQuery, account: Account
) -> dict[str, Any]:
    reply = await request.app[BACKENDS].catalogue.ListScheduleExceptions(
        cat.ListScheduleExceptionsRequest(
            staff_id=query.staff_id or "",
            business=query.business,
            from_day=query.from_day.isoformat() if query.from_day else "",
            to_day=query.to_day.isoformat() if query.to_day else "",
        )
    )
    return {"items": [exception_json(e) for e in reply.exceptions]}


@api.route(
    "POST",
    "/api/v1/schedule-exceptions",
    summary="Add time off, a holiday (no staff_id: the whole business) or extra hours",
    tag=TAG,
    permission="schedule.write",
    body=ScheduleExceptionIn,
    response=ScheduleExceptionOut,
    status=201,
)
async def add_schedule_exception(request: web.Request, body: ScheduleExceptionIn, account: Account) -> dict[str, Any]:
    if body.staff_id != str(account.id):
        _manager(account, "change the business's or another staff member's hours")
    reply = await request.app[BACKENDS].catalogue.AddScheduleException(
        cat.ScheduleException(
            staff_id=body.staff_id or "",
            day=body.day.isoformat(),
            available=body.available,
            ranges=[cat.TimeRange(start=r.start, end=r.end) for r in body.ranges],
            label=body.label,
        )
    )
    return exception_json(reply)


@api.route(
    "DELETE",
    "/api/v1/schedule-exceptions/{exception_id}",
    summary="Remove a schedule exception",
    tag=TAG,
    status=204,
    permission="settings.manage",
)
async def remove_schedule_exception(request: web.Request, account: Account) -> None:
    exception_id = path_id(request, "exception_id", "schedule exception")
    await request.app[BACKENDS].catalogue.RemoveScheduleException(
        cat.RemoveScheduleExceptionRequest(exception_id=exception_id)
    )


# --- resources -----------------------------------------------------------------------------------


@api.route(
    "GET",
    "/api/v1/resources",
    summary="Rooms and equipment",
    permission="schedule.read",
    tag=TAG,
    response=ResourceList,
)
async def list_resources(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].catalogue.ListResources(cat.ListResourcesRequest())
    return {"items": [resource_json(r) for r in reply.resources]}


@api.route(
    "POST",
    "/api/v1/resources",
    summary="Add a room or piece of equipment",
    tag=TAG,
    body=ResourceIn,
    response=ResourceOut,
    status=201,
    permission="settings.manage",
    errors=(409,),
)
async def create_resource(request: web.Request, body: ResourceIn, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].catalogue.CreateResource(cat.ResourceInput(**body.model_dump()))
    return resource_json(reply)


@api.route(
    "PUT",
    "/api/v1/resources/{resource_id}",
    summary="Change or archive a resource",
    tag=TAG,
    body=ResourceUpdate,
    response=ResourceOut,
    permission="settings.manage",
    errors=(409,),
)
async def update_resource(request: web.Request, body: ResourceUpdate, account: Account) -> dict[str, Any]:
    resource_id = path_id(request, "resource_id", "resource")
    reply = await request.app[BACKENDS].catalogue.UpdateResource(
        cat.UpdateResourceRequest(
            resource_id=resource_id,
            definition=cat.ResourceInput(name=body.name, kind=body.kind, capacity=body.capacity),
            archived=body.archived,
        )
    )
    return resource_json(reply)


# --- availability and appointments ---------------------------------------------------------------


@api.route(
    "GET",
    "/api/v1/availability",
    summary="Free start times for one service or several back to back, with who can take each",
    tag=TAG,
    permission="schedule.read",
    query=AvailabilityQuery,
    response=AvailabilityOut,
    description="Staff see every free slot from now on; clients see only what the slot rules let them book.",
)
async def staff_availability(request: web.Request, query: AvailabilityQuery, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].appointments.FindAvailableSlots(availability_request(query, online=False))
    return slots_json(reply)


@api.route(
    "POST",
    "/api/v1/appointments",
    summary="Book an appointment (one or several services back to back)",
    tag=TAG,
    permission="schedule.write",
    body=AppointmentIn,
    response=AppointmentOut,
    status=201,
    errors=(404, 409),
    description=(
        "404 when the client or a service or staff member named names nothing in the business."
        " 409 SLOT_TAKEN or SLOT_UNAVAILABLE names the slot when it is no longer free. An Idempotency-Key header"
        " makes retries safe: the same key returns the first appointment."
    ),
)
async def book_appointment(request: web.Request, body: AppointmentIn, account: Account) -> dict[str, Any]:
    key = idempotency.request_key(request)
    reply = await request.app[BACKENDS].appointments.BookAppointment(
        pb.BookAppointmentRequest(
            client_id=body.client_id,
            segments=[pb.SegmentRequest(service_id=s.service_id, staff_id=s.staff_id or "") for s in body.segments],
            start=timestamp(body.start),
            override_availability=body.override_availability,
            notes=body.notes,
            request_id=key,
            source="staff",
            seats=body.seats,
            follow_up_of=body.follow_up_of or "",
            follow_up_action=body.follow_up_action,
            timezone=body.timezone or "",
        )
    )
    return appointment_json(reply)


@api.route(
    "GET",
    "/api/v1/appointments",
    summary="Appointments overlapping a time window (at most 42 days)",
    tag=TAG,
    permission="schedule.read",
    query=AppointmentWindowQuery,
    response=AppointmentList,
)
async def list_appointments(request: web.Request, query: AppointmentWindowQuery, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].appointments.ListAppointments(
        pb.ListAppointmentsRequest(
            **{"from": timestamp(query.from_time)},
            to=timestamp(query.to_time),
            staff_ids=csv_list(query.staff_ids),
            statuses=csv_list(query.statuses),
        )
    )
    return {"items": [appointment_json(a) for a in reply.appointments], "next_page_token": None}


@api.route(
    "GET",
    "/api/v1/calendar",
    summary="Calendar by day or week, per staff member",
    tag=TAG,
    permission="schedule.read",
    query=CalendarQuery,
    response=CalendarOut,
    description="Days are cut in the given timezone (default: the business's); a week starts on Monday. Each staff "
    "member's column lists its appointments and, as tentative, the times pending requests hold.",
)
async def calendar(request: web.Request, query: CalendarQuery, account: Account) -> dict[str, Any]:
    backends = request.app[BACKENDS]
    zone = (
        query.timezone or (await backends.catalogue.GetSchedulingSettings(cat.GetSchedulingSettingsRequest())).timezone
    )
    first: date = query.on if query.view == "day" else query.on - timedelta(days=query.on.weekday())
    days = 1 if query.view == "day" else 7
    start = datetime.combine(first, time(0), ZoneInfo(zone))
    end = datetime.combine(first + timedelta(days=days), time(0), ZoneInfo(zone))
    wanted = csv_list(query.staff_ids)
    staff = await backends.catalogue.ListStaffMembers(cat.ListStaffMembersRequest())
    members = [m for m in staff.staff if not wanted or m.staff_id in wanted]
    staff_ids = [m.staff_id for m in members]
    window: dict[str, Any] = {"from": timestamp(start), "to": timestamp(end), "staff_ids": staff_ids}
    reply = await backends.appointments.ListAppointments(pb.ListAppointmentsRequest(**window))
    held = await backends.holds.ListHolds(holds_pb.ListHoldsRequest(**window))
    columns: dict[str, list[dict[str, Any]]] = {m.staff_id: [] for m in members}
    for appointment in reply.appointments:
        for staff_id in dict.fromkeys(s.staff_id for s in appointment.segments):
            if staff_id in columns:
                columns[staff_id].append(appointment_json(appointment))
    tentative: dict[str, list[dict[str, Any]]] = {m.staff_id: [] for m in members}
    for hold in held.holds:
        if hold.staff_id in tentative:
            tentative[hold.staff_id].append(
                {
                    "request_id": hold.hold_id,
                    "label": hold.label,
                    "client_id": hold.client_id,
                    "service_id": hold.service_id,
                    "start": when(hold.start),
                    "end": when(hold.end),
                    "tentative": True,
                }
            )
    return {
        "view": query.view,
        "timezone": zone,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "staff": [
            {
                "staff_id": m.staff_id,
                "display_name": m.display_name,
                "appointments": columns[m.staff_id],
                "tentative": tentative[m.staff_id],
            }
            for m in members
        ],
    }


@api.route(
    "GET",
    "/api/v1/appointments/{appointment_id}",
    summary="One appointment",
    permission="schedule.read",
    tag=TAG,
    response=AppointmentOut,
)
async def get_appointment(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].appointments.GetAppointment(
        pb.GetAppointmentRequest(appointment_id=appointment_id_of(request))
    )
    return appointment_json(reply)


@api.route(
    "GET",
    "/api/v1/appointments/{appointment_id}/history",
    summary="Who changed the appointment, when, and what changed",
    tag=TAG,
    permission="schedule.read",
    response=HistoryOut,
)
async def appointment_history(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].appointments.GetAppointmentHistory(
        pb.GetAppointmentHistoryRequest(appointment_id=appointment_id_of(request))
    )
    return {
        "entries": [
            {"at": when(e.at), "actor": e.actor, "action": e.action, "changes": json.loads(e.changes_json)}
            for e in reply.entries
        ]
    }


@api.route(
    "POST",
    "/api/v1/appointments/{appointment_id}/reschedule",
    summary="Move an appointment to another start",
    tag=TAG,
    permission="schedule.write",
    body=RescheduleIn,
    response=AppointmentOut,
    errors=(409,),
)
async def reschedule_appointment(request: web.Request, body: RescheduleIn, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].appointments.RescheduleAppointment(
        pb.RescheduleAppointmentRequest(
            appointment_id=appointment_id_of(request),
            start=timestamp(body.start),
            version=body.version,
            override_availability=body.override_availability,
        )
    )
    return appointment_json(reply)


@api.route(
    "POST",
    "/api/v1/appointments/{appointment_id}/reassign",
    summary="Give one service of an appointment to another staff member",
    tag=TAG,
    permission="schedule.write",
    body=ReassignIn,
    response=AppointmentOut,
    errors=(409,),
)
async def reassign_appointment(request: web.Request, body: ReassignIn, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].appointments.ReassignStaff(
        pb.ReassignStaffRequest(
            appointment_id=appointment_id_of(request),
            position=body.position,
            staff_id=body.staff_id,
            version=body.version,
            override_availability=body.override_availability,
        )
    )
    return appointment_json(reply)


@api.route(
    "POST",
    "/api/v1/appointments/{appointment_id}/cancel",
    summary="Cancel an appointment, with a reason",
    tag=TAG,
    permission="schedule.write",
    body=CancelIn,
    response=AppointmentOut,
    errors=(409,),
)
async def cancel_appointment(request: web.Request, body: CancelIn, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].appointments.CancelAppointment(
        pb.CancelAppointmentRequest(appointment_id=appointment_id_of(request), reason=body.reason, version=body.version)
    )
    return appointment_json(reply)


@api.route(
    "POST",
    "/api/v1/appointments/{appointment_id}/complete",
    summary="Mark an appointment completed (from its start)",
    tag=TAG,
    permission="schedule.write",
    body=TransitionIn,
    response=AppointmentOut,
    errors=(409,),
)
async def complete_appointment(request: web.Request, body: TransitionIn, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].appointments.CompleteAppointment(
        pb.AppointmentTransitionRequest(appointment_id=appointment_id_of(request), version=body.version)
    )
    return appointment_json(reply)


@api.route(
    "POST",
    "/api/v1/appointments/{appointment_id}/no-show",
    summary="Mark that the client did not come (from the start)",
    tag=TAG,
    permission="schedule.write",
    body=TransitionIn,
    response=AppointmentOut,
    errors=(409,),
)
async def mark_no_show(request: web.Request, body: TransitionIn, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].appointments.MarkNoShow(
        pb.AppointmentTransitionRequest(appointment_id=appointment_id_of(request), version=body.version)
    )
    return appointment_json(reply)


async def client_appointments_page(
    request: web.Request, client_id: str, query: ClientAppointmentsQuery, *, staff: bool = True
) -> dict[str, Any]:
    reply = await request.app[BACKENDS].appointments.ListClientAppointments(
        pb.ListClientAppointmentsRequest(
            client_id=client_id,
            view=query.view,
            page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token),
        )
    )
    return {
        "items": [appointment_json(a, staff=staff) for a in reply.appointments],
        "next_page_token": reply.page.next_page_token or None,
    }


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/appointments",
    summary="A client's appointments: upcoming, past, cancelled, no-shows",
    tag=TAG,
    permission="schedule.read",
    query=ClientAppointmentsQuery,
    response=AppointmentList,
)
async def client_appointments(request: web.Request, query: ClientAppointmentsQuery, account: Account) -> dict[str, Any]:
    return await for_known_client(request, lambda client_id: client_appointments_page(request, client_id, query))
