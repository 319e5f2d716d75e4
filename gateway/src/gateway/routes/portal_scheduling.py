"""The portal's side of scheduling: what the client can book, when, and its own appointments.

Requests to book go through the portal-requests flow (staff approve them); here the client sees
availability exactly as the slot rules allow and manages its own appointments within the business's
cancellation policy. Every route needs the portal permission to view appointments.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium.scheduling.v1 import appointments_pb2 as pb
from atrium.scheduling.v1 import catalogue_pb2 as cat
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.portal import require_portal_view
from gateway.routes.registry import api
from gateway.routes.scheduling import (
    appointment_id_of,
    appointment_json,
    availability_request,
    client_appointments_page,
    service_json,
    slots_json,
)
from gateway.scheduling_schemas import (
    AppointmentList,
    AppointmentOut,
    AvailabilityOut,
    ClientAppointmentsQuery,
    PortalAvailabilityQuery,
    PortalCancelIn,
    ServiceList,
)

TAG = "portal"


async def may_view_appointments(request: web.Request, account: Account) -> None:
    await require_portal_view(request, account, "view_appointments")


@api.route(
    "GET",
    "/api/v1/portal/services",
    summary="Services the client can book online",
    tag=TAG,
    auth="portal",
    response=ServiceList,
)
async def portal_services(request: web.Request, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    reply = await request.app[BACKENDS].catalogue.ListServices(cat.ListServicesRequest(bookable_online_only=True))
    return {"items": [service_json(s) for s in reply.services]}


@api.route(
    "GET",
    "/api/v1/portal/availability",
    summary="Free start times the client may book (slot rules, notice and horizon apply)",
    tag=TAG,
    auth="portal",
    query=PortalAvailabilityQuery,
    response=AvailabilityOut,
)
async def portal_availability(request: web.Request, query: PortalAvailabilityQuery, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    reply = await request.app[BACKENDS].appointments.FindAvailableSlots(availability_request(query, online=True))
    return slots_json(reply)


@api.route(
    "GET",
    "/api/v1/portal/appointments",
    summary="The client's own appointments",
    tag=TAG,
    auth="portal",
    query=ClientAppointmentsQuery,
    response=AppointmentList,
)
async def portal_appointments(request: web.Request, query: ClientAppointmentsQuery, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    return await client_appointments_page(request, str(account.client_id), query, staff=False)


@api.route(
    "GET",
    "/api/v1/portal/appointments/{appointment_id}",
    summary="One of the client's own appointments",
    tag=TAG,
    auth="portal",
    response=AppointmentOut,
)
async def portal_appointment(request: web.Request, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    reply = await request.app[BACKENDS].appointments.GetAppointment(
        pb.GetAppointmentRequest(appointment_id=appointment_id_of(request))
    )
    return appointment_json(reply, staff=False)


@api.route(
    "POST",
    "/api/v1/portal/appointments/{appointment_id}/cancel",
    summary="Cancel one's own appointment, within the business's cancellation notice",
    tag=TAG,
    auth="portal",
    body=PortalCancelIn,
    response=AppointmentOut,
    errors=(409,),
)
async def portal_cancel(request: web.Request, body: PortalCancelIn, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    reply = await request.app[BACKENDS].appointments.CancelAppointment(
        pb.CancelAppointmentRequest(appointment_id=appointment_id_of(request), reason=body.reason)
    )
    return appointment_json(reply, staff=False)
