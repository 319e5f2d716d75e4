"""Appointment requests: the client asks in the portal, edits or cancels, staff approve (booking the
appointment with a technician) or decline.

Portal routes need the portal permission to view appointments and act on the client's own requests only
(another client's request answers 404); they never carry the internal notes or the ticket. Staff routes see
every request of the business.
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from atrium.common.v1 import types_pb2
from atrium.portal_requests.v1 import portal_requests_pb2 as pb
from gateway import idempotency
from gateway.api import path_id
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.portal_requests_schemas import (
    AcceptIn,
    ApproveIn,
    DeclineIn,
    PortalRequestList,
    PortalRequestOut,
    PortalRequestQuery,
    PortalWaitlistQuery,
    ProposeIn,
    RequestCountsOut,
    RequestEditIn,
    RequestList,
    RequestOut,
    RequestSettingsIO,
    RequestSubmitIn,
    StaffRequestQuery,
    StaffRequestSubmitIn,
    StaffWaitlistJoinIn,
    StaffWaitlistQuery,
    TimeOptionIn,
    WaitlistEntryOut,
    WaitlistJoinIn,
    WaitlistList,
)
from gateway.routes.clients import custom_values
from gateway.routes.portal_scheduling import may_view_appointments
from gateway.routes.registry import api
from platform_core.errors import InvalidArgument
from platform_core.grpc.values import timestamp

PORTAL = "/api/v1/portal/appointment-requests"
STAFF = "/api/v1/appointment-requests"
PORTAL_WAITLIST = "/api/v1/portal/waitlist"
STAFF_WAITLIST = "/api/v1/waitlist"


def _wall_clock(t: Any, zone: str) -> str:
    return str(t.ToDatetime(tzinfo=ZoneInfo(zone)).isoformat(timespec="minutes"))


def _option_json(o: pb.TimeOption, client_zone: str, business_zone: str) -> dict[str, Any]:
    has_end = o.HasField("end")
    return {
        "start": o.start.ToJsonString(),
        "end": o.end.ToJsonString() if has_end else None,
        "local_start": _wall_clock(o.start, client_zone),
        "local_end": _wall_clock(o.end, client_zone) if has_end else None,
        "business_start": _wall_clock(o.start, business_zone),
        "business_end": _wall_clock(o.end, business_zone) if has_end else None,
    }


def request_json(r: pb.AppointmentRequest, *, staff: bool, with_history: bool = False) -> dict[str, Any]:
    """The request as the caller may see it: the internal notes and the ticket only for staff."""
    business_zone = r.business_timezone or r.timezone
    options = [_option_json(o, r.timezone, business_zone) for o in r.options]
    body: dict[str, Any] = {
        "id": r.id,
        "reference": r.reference,
        "client_id": r.client_id,
        "client_name": r.client_name,
        "client_email": r.client_email,
        "client_phone": r.client_phone,
        "service_id": r.service_id,
        "service_name": r.service_name,
        "duration_minutes": r.duration_minutes,
        "preferred_staff_id": r.preferred_staff_id or None,
        "preferred_staff_name": r.preferred_staff_name,
        "options": options,
        "requested": options[0],
        "message": r.message,
        "timezone": r.timezone,
        "business_timezone": business_zone,
        "status": r.status,
        "appointment_id": r.appointment_id or None,
        "technician_id": r.technician_id or None,
        "technician_name": r.technician_name,
        "final": {
            "start": r.start.ToJsonString(),
            "end": r.end.ToJsonString(),
            "local_start": _wall_clock(r.start, r.timezone),
            "business_start": _wall_clock(r.start, business_zone),
        }
        if r.HasField("start") and r.HasField("end")
        else None,
        "hold": {
            "staff_id": r.hold_staff_id,
            "start": r.hold_start.ToJsonString(),
            "end": r.hold_end.ToJsonString(),
            "local_start": _wall_clock(r.hold_start, r.timezone),
            "business_start": _wall_clock(r.hold_start, business_zone),
        }
        if r.hold_staff_id
        else None,
        "proposal": {
            "alternatives": [
                {
                    "start": a.ToJsonString(),
                    "local_start": _wall_clock(a, r.timezone),
                    "business_start": _wall_clock(a, business_zone),
                }
                for a in r.alternatives
            ],
            "hold_until": r.hold_until.ToJsonString(),
            "note": r.proposal_note,
            "technician_id": r.proposed_technician_id or None,
            "technician_name": r.proposed_technician_name,
        }
        if r.alternatives
        else None,
        "decline_reason": r.decline_reason,
        "cancelled_by": r.cancelled_by or None,
        "decided_by": r.decided_by or None,
        "decided_at": r.decided_at.ToJsonString() if r.HasField("decided_at") else None,
        "channel": r.channel,
        "held_for_approval": r.held_for_approval,
        "version": r.version,
        "created_at": r.created_at.ToJsonString(),
        "updated_at": r.updated_at.ToJsonString(),
    }
    if staff:
        body |= {"internal_notes": r.internal_notes, "ticket": r.ticket, "ticket_url": r.ticket_url or None}
    if with_history:
        body["history"] = [
            {"at": h.at.ToJsonString(), "actor": h.actor, "action": h.action, "details": json.loads(h.details_json)}
            for h in r.history
        ]
    return body


def request_id_of(request: web.Request) -> str:
    return path_id(request, "request_id", "appointment request")


async def _page(
    request: web.Request, query: PortalRequestQuery, *, staff: bool, client_id: str = "", text: str = ""
) -> dict[str, Any]:
    reply = await request.app[BACKENDS].portal_requests.ListRequests(
        pb.ListRequestsRequest(
            status=query.status or "",
            client_id=client_id,
            query=text,
            page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token),
        )
    )
    return {
        "items": [request_json(r, staff=staff) for r in reply.requests],
        "next_page_token": reply.page.next_page_token or None,
    }


async def _get(request: web.Request, *, staff: bool) -> dict[str, Any]:
    found = await request.app[BACKENDS].portal_requests.GetRequest(
        pb.GetRequestRequest(request_id=request_id_of(request))
    )
    return request_json(found, staff=staff, with_history=True)


def _option_messages(options: list[TimeOptionIn]) -> list[pb.TimeOption]:
    return [
        pb.TimeOption(start=timestamp(o.start), end=timestamp(o.end))
        if o.end
        else pb.TimeOption(start=timestamp(o.start))
        for o in options
    ]


def _settings_json(settings: pb.RequestSettings) -> dict[str, Any]:
    return {
        "ticket_url_pattern": settings.ticket_url_pattern,
        "proposal_hold_minutes": settings.proposal_hold_minutes,
        "offer_hold_minutes": settings.offer_hold_minutes,
        "tentative_holds": settings.tentative_holds,
        "version": settings.version,
    }


# --- portal ---------------------------------------------------------------------------------------


@api.route(
    "POST",
    PORTAL,
    summary="Ask the business for an appointment: a service, maybe a staff member, one to five preferred times",
    tag="portal",
    auth="portal",
    body=RequestSubmitIn,
    response=PortalRequestOut,
    status=201,
    errors=(403, 409),
    description="409 BOOKING_BLOCKED when the business blocked the client from booking online, "
    "TOO_MANY_OPEN_REQUESTS beyond the open-request limit, MAX_ACTIVE_BOOKINGS when its upcoming appointments "
    "and pending requests reach the business's limit; with the business's tentative holds, SLOT_TAKEN or "
    "SLOT_UNAVAILABLE when the first time (an exact start) cannot be held, naming it. An Idempotency-Key header "
    "makes retries safe: the same key returns the first request.",
)
async def submit_request(request: web.Request, body: RequestSubmitIn, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    key = idempotency.request_key(request)
    submitted = await request.app[BACKENDS].portal_requests.SubmitRequest(
        pb.SubmitRequestRequest(
            service_id=body.service_id,
            preferred_staff_id=body.preferred_staff_id or "",
            options=_option_messages(body.options),
            message=body.message,
            timezone=body.timezone or "",
            submission_id=key,
            answers=custom_values(body.answers),
            default_region=account.country,
        )
    )
    return request_json(submitted, staff=False)


@api.route(
    "GET",
    PORTAL,
    summary="The client's own appointment requests, filtered by status",
    tag="portal",
    auth="portal",
    query=PortalRequestQuery,
    response=PortalRequestList,
)
async def portal_requests(request: web.Request, query: PortalRequestQuery, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    return await _page(request, query, staff=False)


@api.route(
    "GET",
    PORTAL + "/{request_id}",
    summary="One of the client's own appointment requests, with its history",
    tag="portal",
    auth="portal",
    response=PortalRequestOut,
)
async def portal_request(request: web.Request, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    return await _get(request, staff=False)


@api.route(
    "PATCH",
    PORTAL + "/{request_id}",
    summary="Edit one's own pending request: service, preferred staff member, times, description",
    tag="portal",
    auth="portal",
    body=RequestEditIn,
    response=PortalRequestOut,
    errors=(404, 409),
    description="Give the version you read: when the request changed or was decided since, 409 "
    "CONCURRENT_CHANGE or REQUEST_NOT_PENDING and nothing changes (an edit racing a staff decision: exactly "
    "one of them wins). Omitted fields stay as they are. A held time moves with the first preferred time: "
    "SLOT_TAKEN or SLOT_UNAVAILABLE when that cannot be held, and nothing changes.",
)
async def edit_request(request: web.Request, body: RequestEditIn, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    given = body.model_fields_set
    edit = pb.UpdateRequestRequest(request_id=request_id_of(request), version=body.version)
    if "service_id" in given:
        if body.service_id is None:
            raise InvalidArgument.single("service_id", "cannot be null; omit it to keep the service")
        edit.service_id = body.service_id
    if "preferred_staff_id" in given:
        edit.preferred_staff_id = body.preferred_staff_id or ""
    if body.options is not None:
        edit.options.extend(_option_messages(body.options))
    elif "options" in given:
        raise InvalidArgument.single("options", "cannot be null; omit it to keep the times")
    if "message" in given:
        edit.message = body.message or ""
    updated = await request.app[BACKENDS].portal_requests.UpdateRequest(edit)
    return request_json(updated, staff=False)


@api.route(
    "POST",
    PORTAL + "/{request_id}/cancel",
    summary="Cancel one's own request (final); an approved one cancels its appointment",
    tag="portal",
    auth="portal",
    response=PortalRequestOut,
    errors=(404, 409),
    description="A pending or approved request can be cancelled, once. An approved one cancels its appointment "
    "only within the business's cancellation notice: later, 409 CANCELLATION_WINDOW_PASSED (the message says "
    "until when) and nothing changes. Anything else already decided: 409 REQUEST_NOT_PENDING.",
)
async def cancel_request(request: web.Request, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    cancelled = await request.app[BACKENDS].portal_requests.CancelRequest(
        pb.CancelRequestRequest(request_id=request_id_of(request))
    )
    return request_json(cancelled, staff=False)


@api.route(
    "POST",
    PORTAL + "/{request_id}/accept",
    summary="Take one of the times staff proposed: it is booked and the request approved",
    tag="portal",
    auth="portal",
    body=AcceptIn,
    response=PortalRequestOut,
    errors=(404, 409),
    description="The time is booked at once; the first acceptance wins. 409 REQUEST_NOT_PROPOSED when the request "
    "is not awaiting an answer (accepted already, cancelled…), PROPOSAL_EXPIRED after the hold, SLOT_TAKEN or "
    "SLOT_UNAVAILABLE when the time was taken meanwhile (the proposal stays open), BOOKING_BLOCKED or "
    "MAX_ACTIVE_BOOKINGS by the client's booking rules.",
)
async def accept_alternative(request: web.Request, body: AcceptIn, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    accepted = await request.app[BACKENDS].portal_requests.AcceptAlternative(
        pb.AcceptAlternativeRequest(request_id=request_id_of(request), alternative=body.alternative)
    )
    return request_json(accepted, staff=False)


# --- staff ----------------------------------------------------------------------------------------


@api.route(
    "GET",
    STAFF,
    summary="Appointment requests, filtered by status, client and text (pending: oldest first; otherwise newest first)",
    tag="appointment-requests",
    permission="requests.read",
    query=StaffRequestQuery,
    response=RequestList,
    description="q finds a reference (REQ-1042 or 1042) or clients whose name has words starting with each word given.",
)
async def list_requests(request: web.Request, query: StaffRequestQuery, account: Account) -> dict[str, Any]:
    return await _page(request, query, staff=True, client_id=query.client_id or "", text=query.q)


@api.route(
    "POST",
    STAFF,
    summary="Make an appointment request for a client (a phone call, the front desk): same flow, channel staff",
    tag="appointment-requests",
    permission="requests.approve",
    body=StaffRequestSubmitIn,
    response=RequestOut,
    status=201,
    errors=(404, 409),
    description="The request is pending like one from the portal, with its reference and events, and its history "
    "names the staff member. 404 when the business has no such client; 409 CLIENT_DELETED, BOOKING_BLOCKED "
    "or MAX_ACTIVE_BOOKINGS (upcoming appointments plus open requests at the business's limit) unless "
    "override_booking_rules, which the history keeps. An Idempotency-Key header returns the first request made "
    "with it.",
)
async def create_request(request: web.Request, body: StaffRequestSubmitIn, account: Account) -> dict[str, Any]:
    created = await request.app[BACKENDS].portal_requests.SubmitRequest(
        pb.SubmitRequestRequest(
            client_id=body.client_id,
            service_id=body.service_id,
            preferred_staff_id=body.preferred_staff_id or "",
            options=_option_messages(body.options),
            message=body.message,
            timezone=body.timezone or "",
            submission_id=idempotency.request_key(request),
            override_booking_rules=body.override_booking_rules,
        )
    )
    return request_json(created, staff=True)


# Declared before STAFF/{request_id}, which would otherwise take "counts" and "settings" for an id.
@api.route(
    "GET",
    STAFF + "/counts",
    summary='How many requests are in each status (the "3 pending" badge; cheap enough to poll)',
    tag="appointment-requests",
    response=RequestCountsOut,
    permission="requests.read",
)
async def request_counts(request: web.Request, account: Account) -> dict[str, Any]:
    counts = await request.app[BACKENDS].portal_requests.CountRequestsByStatus(pb.CountRequestsByStatusRequest())
    return {
        "pending": counts.pending,
        "proposed": counts.proposed,
        "approved": counts.approved,
        "declined": counts.declined,
        "cancelled": counts.cancelled,
        "expired": counts.expired,
        "total": counts.total,
    }


@api.route(
    "GET",
    STAFF + "/settings",
    summary="The business's appointment request settings (how a ticket id becomes a link)",
    tag="appointment-requests",
    response=RequestSettingsIO,
    permission="requests.read",
)
async def get_request_settings(request: web.Request, account: Account) -> dict[str, Any]:
    found = await request.app[BACKENDS].portal_requests.GetRequestSettings(pb.GetRequestSettingsRequest())
    return _settings_json(found)


@api.route(
    "PUT",
    STAFF + "/settings",
    summary="Replace the appointment request settings",
    tag="appointment-requests",
    body=RequestSettingsIO,
    response=RequestSettingsIO,
    permission="settings.manage",
    errors=(409,),
    description="ticket_url_pattern: an http(s) URL with {id} where the ticket id goes, or empty (plain ids). "
    "A version other than the stored one answers 409 CONCURRENT_CHANGE.",
)
async def put_request_settings(request: web.Request, body: RequestSettingsIO, account: Account) -> dict[str, Any]:
    saved = await request.app[BACKENDS].portal_requests.UpdateRequestSettings(
        pb.RequestSettings(
            ticket_url_pattern=body.ticket_url_pattern,
            proposal_hold_minutes=body.proposal_hold_minutes,
            offer_hold_minutes=body.offer_hold_minutes,
            tentative_holds=body.tentative_holds,
            version=body.version,
        )
    )
    return _settings_json(saved)


@api.route(
    "GET",
    STAFF + "/{request_id}",
    summary="One appointment request, with its client's contact, its history, internal notes and ticket",
    tag="appointment-requests",
    permission="requests.read",
    response=RequestOut,
)
async def get_request(request: web.Request, account: Account) -> dict[str, Any]:
    return await _get(request, staff=True)


@api.route(
    "POST",
    STAFF + "/{request_id}/approve",
    summary="Approve a pending request: book the appointment with the technician at the final time",
    tag="appointment-requests",
    permission="requests.approve",
    body=ApproveIn,
    response=RequestOut,
    errors=(404, 409),
    description="technician_id is required and must perform the service (422 naming it otherwise). 409 "
    "BOOKING_BLOCKED or MAX_ACTIVE_BOOKINGS when the client's booking rules refuse it now (override_booking_rules "
    "books anyway, kept in the history); 409 "
    "SLOT_TAKEN or SLOT_UNAVAILABLE when the time is no longer free (the request stays pending); "
    "REQUEST_NOT_PENDING when it was decided meanwhile; CONCURRENT_CHANGE when the client edited it after the "
    "version given. Retrying never books twice. Internal notes and the ticket are never shown to the client.",
)
async def approve_request(request: web.Request, body: ApproveIn, account: Account) -> dict[str, Any]:
    approved = await request.app[BACKENDS].portal_requests.ApproveRequest(
        pb.ApproveRequestRequest(
            request_id=request_id_of(request),
            start=timestamp(body.start),
            technician_id=body.technician_id,
            override_availability=body.override_availability,
            internal_notes=body.internal_notes,
            ticket=body.ticket,
            version=body.version,
            override_booking_rules=body.override_booking_rules,
        )
    )
    return request_json(approved, staff=True)


@api.route(
    "POST",
    STAFF + "/{request_id}/propose",
    summary="Instead of declining, propose one to three other times the client may accept",
    tag="appointment-requests",
    body=ProposeIn,
    response=RequestOut,
    errors=(404, 409),
    description="The request becomes proposed; the times hold for the business's proposal_hold_minutes (at most "
    "until the last of them) and then the request expires. technician_id, when given, must perform the service. "
    "409 REQUEST_NOT_PENDING when it was decided or proposed already, CONCURRENT_CHANGE when edited since version.",
    permission="requests.approve",
)
async def propose_alternatives(request: web.Request, body: ProposeIn, account: Account) -> dict[str, Any]:
    proposed = await request.app[BACKENDS].portal_requests.ProposeAlternatives(
        pb.ProposeAlternativesRequest(
            request_id=request_id_of(request),
            alternatives=[timestamp(a) for a in body.alternatives],
            technician_id=body.technician_id or "",
            note=body.note,
            version=body.version,
        )
    )
    return request_json(proposed, staff=True)


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
    return request_json(declined, staff=True)


# --- waitlist -------------------------------------------------------------------------------------


def waitlist_json(entry: pb.WaitlistEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "client_id": entry.client_id,
        "service_id": entry.service_id,
        "service_name": entry.service_name,
        "duration_minutes": entry.duration_minutes,
        "staff_id": entry.staff_id or None,
        "staff_name": entry.staff_name,
        "from_date": entry.from_date,
        "to_date": entry.to_date,
        "window_start": entry.window_start or None,
        "window_end": entry.window_end or None,
        "timezone": entry.timezone,
        "status": entry.status,
        "joined_by": entry.joined_by,
        "booking_rules_overridden": entry.booking_rules_overridden,
        "created_at": entry.created_at.ToJsonString(),
        "version": entry.version,
        "offers": [
            {
                "id": o.id,
                "staff_id": o.staff_id,
                "start": o.start.ToJsonString(),
                "end": o.end.ToJsonString(),
                "local_start": _wall_clock(o.start, entry.timezone),
                "hold_until": o.hold_until.ToJsonString(),
                "status": o.status,
                "appointment_id": o.appointment_id or None,
            }
            for o in entry.offers
        ],
    }


def _join_message(body: WaitlistJoinIn, client_id: str = "") -> pb.JoinWaitlistRequest:
    return pb.JoinWaitlistRequest(
        client_id=client_id,
        service_id=body.service_id,
        staff_id=body.staff_id or "",
        from_date=body.from_date.isoformat(),
        to_date=body.to_date.isoformat(),
        window_start=body.window_start or "",
        window_end=body.window_end or "",
        timezone=body.timezone or "",
    )


async def _waitlist(request: web.Request, status: str, client_id: str = "") -> dict[str, Any]:
    reply = await request.app[BACKENDS].portal_requests.ListWaitlist(
        pb.ListWaitlistRequest(client_id=client_id, status=status)
    )
    return {"items": [waitlist_json(e) for e in reply.entries]}


async def _leave(request: web.Request) -> dict[str, Any]:
    entry_id = path_id(request, "entry_id", "waitlist entry")
    left = await request.app[BACKENDS].portal_requests.LeaveWaitlist(pb.LeaveWaitlistRequest(entry_id=entry_id))
    return waitlist_json(left)


WAITLIST_JOIN = (
    "When a cancellation or a reschedule frees a time of the service (with the staff member, if given) on those "
    "days and hours, the first client waiting whom it suits gets an offer that holds for the business's "
    "offer_hold_minutes; unanswered, it passes to the next. 409 BOOKING_BLOCKED for a client blocked from online "
    "booking (staff may override_booking_rules)."
)


@api.route(
    "POST",
    PORTAL_WAITLIST,
    summary="Join the waitlist for a service, maybe a staff member, some days and hours",
    tag="portal",
    auth="portal",
    body=WaitlistJoinIn,
    response=WaitlistEntryOut,
    status=201,
    errors=(409,),
    description=WAITLIST_JOIN,
)
async def portal_join_waitlist(request: web.Request, body: WaitlistJoinIn, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    joined = await request.app[BACKENDS].portal_requests.JoinWaitlist(_join_message(body))
    return waitlist_json(joined)


@api.route(
    "GET",
    PORTAL_WAITLIST,
    summary="The client's waitlist entries with their offers",
    tag="portal",
    auth="portal",
    query=PortalWaitlistQuery,
    response=WaitlistList,
)
async def portal_waitlist(request: web.Request, query: PortalWaitlistQuery, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    return await _waitlist(request, query.status or "")


@api.route(
    "POST",
    PORTAL_WAITLIST + "/{entry_id}/leave",
    summary="Leave the waitlist (an open offer lapses)",
    tag="portal",
    auth="portal",
    response=WaitlistEntryOut,
    errors=(404, 409),
)
async def portal_leave_waitlist(request: web.Request, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    return await _leave(request)


@api.route(
    "POST",
    "/api/v1/portal/waitlist-offers/{offer_id}/accept",
    summary="Take a waitlist offer: the freed time is booked",
    tag="portal",
    auth="portal",
    response=WaitlistEntryOut,
    errors=(404, 409),
    description="The first acceptance books; another answers 409 OFFER_NOT_OPEN, one after the hold "
    "OFFER_EXPIRED, a time taken meanwhile SLOT_TAKEN or SLOT_UNAVAILABLE, and the client's booking rules "
    "BOOKING_BLOCKED or MAX_ACTIVE_BOOKINGS; while the business confirms the client's requests itself (its "
    "repeated no-show rule) APPROVAL_REQUIRED: the client asks for the time with a request instead.",
)
async def accept_waitlist_offer(request: web.Request, account: Account) -> dict[str, Any]:
    await may_view_appointments(request, account)
    offer_id = path_id(request, "offer_id", "waitlist offer")
    entry = await request.app[BACKENDS].portal_requests.AcceptWaitlistOffer(
        pb.AcceptWaitlistOfferRequest(offer_id=offer_id)
    )
    return waitlist_json(entry)


@api.route(
    "POST",
    STAFF_WAITLIST,
    summary="Put a client on the waitlist",
    tag="appointment-requests",
    body=StaffWaitlistJoinIn,
    response=WaitlistEntryOut,
    status=201,
    errors=(404, 409),
    description=WAITLIST_JOIN,
    permission="schedule.write",
)
async def staff_join_waitlist(request: web.Request, body: StaffWaitlistJoinIn, account: Account) -> dict[str, Any]:
    message = _join_message(body, body.client_id)
    message.override_booking_rules = body.override_booking_rules
    joined = await request.app[BACKENDS].portal_requests.JoinWaitlist(message)
    return waitlist_json(joined)


@api.route(
    "GET",
    STAFF_WAITLIST,
    summary="Waitlist entries (newest first), by client and status, with their offers",
    tag="appointment-requests",
    query=StaffWaitlistQuery,
    response=WaitlistList,
    permission="schedule.read",
)
async def staff_waitlist(request: web.Request, query: StaffWaitlistQuery, account: Account) -> dict[str, Any]:
    return await _waitlist(request, query.status or "", query.client_id or "")


@api.route(
    "POST",
    STAFF_WAITLIST + "/{entry_id}/leave",
    summary="Take a client off the waitlist",
    tag="appointment-requests",
    response=WaitlistEntryOut,
    errors=(404, 409),
    permission="schedule.write",
)
async def staff_leave_waitlist(request: web.Request, account: Account) -> dict[str, Any]:
    return await _leave(request)
