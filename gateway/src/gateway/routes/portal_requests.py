"""Appointment requests: the client asks in the portal, staff approve (booking the appointment) or decline.

Portal routes need the portal permission to view appointments and act on the client's own requests only
(another client's request answers 404). Staff routes see every request of the business.
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from atrium.common.v1 import types_pb2
from atrium.portal_requests.v1 import portal_requests_pb2 as pb
from gateway.api import path_id
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.portal_requests_schemas import (
    ApproveIn,
    DeclineIn,
    PortalRequestQuery,
    RequestList,
    RequestOut,
    RequestSubmitIn,
    StaffRequestQuery,
)
from gateway.routes.clients import custom_values
from gateway.routes.portal_scheduling import may_view_appointments
from gateway.routes.registry import api
from platform_core.errors import InvalidArgument
from platform_core.grpc.values import timestamp

MAX_IDEMPOTENCY_KEY = 200
PORTAL = "/api/v1/portal/appointment-requests"
STAFF = "/api/v1/appointment-requests"


def request_json(r: pb.AppointmentRequest, *, with_history: bool = False) -> dict[str, Any]:
    zone = ZoneInfo(r.timezone)

    def local(t: Any) -> str:
        return str(t.ToDatetime(tzinfo=zone).isoformat(timespec="minutes"))

    body: dict[str, Any] = {
        "id": r.id,
        "client_id": r.client_id,
        "service_id": r.service_id,
        "preferred_staff_id": r.preferred_staff_id or None,
        "options": [
            {
                "start": o.start.ToJsonString(),
                "end": o.end.ToJsonString() if o.HasField("end") else None,
                "local_start": local(o.start),
                "local_end": local(o.end) if o.HasField("end") else None,
            }
            for o in r.options
        ],
        "message": r.message,
        "timezone": r.timezone,
        "status": r.status,
        "appointment_id": r.appointment_id or None,
        "decline_reason": r.decline_reason,
        "decided_by": r.decided_by or None,
        "decided_at": r.decided_at.ToJsonString() if r.HasField("decided_at") else None,
        "version": r.version,
        "created_at": r.created_at.ToJsonString(),
        "updated_at": r.updated_at.ToJsonString(),
    }
    if with_history:
        body["history"] = [
            {"at": h.at.ToJsonString(), "actor": h.actor, "action": h.action, "details": json.loads(h.details_json)}
            for h in r.history
        ]
    return body


def request_id_of(request: web.Request) -> str:
    return path_id(request, "request_id", "appointment request")


async def _page(request: web.Request, query: PortalRequestQuery, client_id: str = "") -> dict[str, Any]:
    reply = await request.app[BACKENDS].portal_requests.ListRequests(
        pb.ListRequestsRequest(
            status=query.status or "",
            client_id=client_id,
            page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token),
        )
    )
    return {"items": [request_json(r) for r in reply.requests], "next_page_token": reply.page.next_page_token or None}


async def _get(request: web.Request) -> dict[str, Any]:
    found = await request.app[BACKENDS].portal_requests.GetRequest(
        pb.GetRequestRequest(request_id=request_id_of(request))
    )
    return request_json(found, with_history=True)


# --- portal ---------------------------------------------------------------------------------------


@api.route(
    "POST",
    PORTAL,
    summary="Ask the business for an appointment: a service, maybe a staff member, one to five preferred times",
    tag="portal",
    auth="portal",
    body=RequestSubmitIn,
    response=RequestOut,
    status=201,
    errors=(403, 409),
    description="409 BOOKING_BLOCKED when the business blocked the client from booking online, "
    "TOO_MANY_OPEN_REQUESTS beyond the open-request limit. An Idempotency-Key header makes retries safe: "
    "the same key returns the first request.",
)
async def submit_request(request: web.Request, body: RequestSubmitIn, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    key = request.headers.get("Idempotency-Key", "")
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidArgument.single("Idempotency-Key", f"must be at most {MAX_IDEMPOTENCY_KEY} characters")
    submitted = await request.app[BACKENDS].portal_requests.SubmitRequest(
        pb.SubmitRequestRequest(
            service_id=body.service_id,
            preferred_staff_id=body.preferred_staff_id or "",
            options=[
                pb.TimeOption(start=timestamp(o.start), end=timestamp(o.end))
                if o.end
                else pb.TimeOption(start=timestamp(o.start))
                for o in body.options
            ],
            message=body.message,
            timezone=body.timezone or "",
            submission_id=key,
            answers=custom_values(body.answers),
        )
    )
    return request_json(submitted)


@api.route(
    "GET",
    PORTAL,
    summary="The client's own appointment requests",
    tag="portal",
    auth="portal",
    query=PortalRequestQuery,
    response=RequestList,
)
async def portal_requests(request: web.Request, query: PortalRequestQuery, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    return await _page(request, query)


@api.route(
    "GET",
    PORTAL + "/{request_id}",
    summary="One of the client's own appointment requests",
    tag="portal",
    auth="portal",
    response=RequestOut,
)
async def portal_request(request: web.Request, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    return await _get(request)


@api.route(
    "POST",
    PORTAL + "/{request_id}/withdraw",
    summary="Withdraw one's own request while it is pending",
    tag="portal",
    auth="portal",
    response=RequestOut,
    errors=(409,),
)
async def withdraw_request(request: web.Request, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    withdrawn = await request.app[BACKENDS].portal_requests.WithdrawRequest(
        pb.WithdrawRequestRequest(request_id=request_id_of(request))
    )
    return request_json(withdrawn)


# --- staff ----------------------------------------------------------------------------------------


@api.route(
    "GET",
    STAFF,
    summary="Appointment requests, filtered by status and client (pending: oldest first; otherwise newest first)",
    tag="appointment-requests",
    permission="requests.read",
    query=StaffRequestQuery,
    response=RequestList,
)
async def list_requests(request: web.Request, query: StaffRequestQuery, account: Account) -> dict[str, Any]:
    return await _page(request, query, query.client_id or "")


@api.route(
    "GET",
    STAFF + "/{request_id}",
    summary="One appointment request, with its history",
    tag="appointment-requests",
    permission="requests.read",
    response=RequestOut,
)
async def get_request(request: web.Request, account: Account) -> dict[str, Any]:
    return await _get(request)


@api.route(
    "POST",
    STAFF + "/{request_id}/approve",
    summary="Approve a pending request by booking the appointment at the chosen time",
    tag="appointment-requests",
    permission="requests.approve",
    body=ApproveIn,
    response=RequestOut,
    errors=(404, 409),
    description="409 SLOT_TAKEN or SLOT_UNAVAILABLE when the time is no longer free (the request stays "
    "pending); REQUEST_NOT_PENDING when it was decided meanwhile. Retrying never books twice.",
)
async def approve_request(request: web.Request, body: ApproveIn, account: Account) -> dict[str, Any]:
    approved = await request.app[BACKENDS].portal_requests.ApproveRequest(
        pb.ApproveRequestRequest(
            request_id=request_id_of(request),
            start=timestamp(body.start),
            staff_id=body.staff_id or "",
            override_availability=body.override_availability,
        )
    )
    return request_json(approved)


@api.route(
    "POST",
    STAFF + "/{request_id}/decline",
    summary="Decline a pending request, with a reason the client sees",
    tag="appointment-requests",
    permission="requests.approve",
    body=DeclineIn,
    response=RequestOut,
    errors=(404, 409),
)
async def decline_request(request: web.Request, body: DeclineIn, account: Account) -> dict[str, Any]:
    declined = await request.app[BACKENDS].portal_requests.DeclineRequest(
        pb.DeclineRequestRequest(request_id=request_id_of(request), reason=body.reason)
    )
    return request_json(declined)
