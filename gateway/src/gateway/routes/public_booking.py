"""A business's public booking page (no login): its facts, bookable services, free times, and a visitor's
request, which counts once the visitor enters the code emailed to them. Owners and admins open or close the
page and choose its address. A closed or unknown page answers 404 to everything.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from aiohttp import web
from google.protobuf import json_format, struct_pb2

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.portal_requests.v1 import public_requests_pb2 as pb
from atrium.scheduling.v1 import appointments_pb2 as appointments_pb
from atrium.scheduling.v1 import catalogue_pb2 as cat
from gateway.api import path_id
from gateway.dependencies import BACKENDS, PUBLIC_BOOKING, SETTINGS
from gateway.identity.model import Account
from gateway.public_booking import PublicPage, client_ip
from gateway.public_booking_schemas import (
    PublicAvailabilityOut,
    PublicAvailabilityQuery,
    PublicBookingSettingsIn,
    PublicBookingSettingsOut,
    PublicBusinessOut,
    PublicConfirmIn,
    PublicFormOut,
    PublicRequestConfirmedOut,
    PublicRequestIn,
    PublicRequestStartedOut,
    PublicServiceList,
)
from gateway.routes.registry import api
from gateway.routes.scheduling import slots_json
from platform_core.errors import InvalidArgument
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.values import timestamp

TAG = "public booking"
PAGE = "/api/v1/public/booking/{slug}"
# Who the services see calling for a visitor: the page itself, never a client or staff member.
PAGE_PRINCIPAL = Principal.service("public-booking-page")
CLOSED = "An unknown slug, or a page its business closed, answers 404."


async def _page(request: web.Request) -> PublicPage:
    return await request.app[PUBLIC_BOOKING].page(request.match_info["slug"])


def _as_page(page: PublicPage) -> AbstractContextManager[CallContext]:
    """Backend calls made for a visitor of this page: the business's tenant, the page as principal."""
    return bind_call_context(CallContext(page.tenant_id, PAGE_PRINCIPAL))


def _visitor_ip(request: web.Request) -> str:
    return client_ip(request, request.app[SETTINGS].trusted_proxies)


def _settings_out(request: web.Request, found: dict[str, Any]) -> PublicBookingSettingsOut:
    slug = found["slug"]
    base = request.app[SETTINGS].base_url()
    return PublicBookingSettingsOut(enabled=found["enabled"], slug=slug, url=f"{base}/book/{slug}" if slug else None)


@api.route(
    "GET",
    "/api/v1/business/public-booking",
    summary="The business's public booking page: its address and whether it is open",
    tag="business",
    permission="settings.manage",
    response=PublicBookingSettingsOut,
)
async def get_public_booking(request: web.Request, account: Account) -> PublicBookingSettingsOut:
    return _settings_out(request, await request.app[PUBLIC_BOOKING].settings(account.tenant_id))


@api.route(
    "PUT",
    "/api/v1/business/public-booking",
    summary="Open or close the public booking page and choose its address",
    tag="business",
    permission="settings.manage",
    body=PublicBookingSettingsIn,
    response=PublicBookingSettingsOut,
    errors=(409,),
    description="A slug another business's page has answers 409 SLUG_TAKEN. Closing the page makes its API answer "
    "404 at once; requests already confirmed stay.",
)
async def put_public_booking(
    request: web.Request, body: PublicBookingSettingsIn, account: Account
) -> PublicBookingSettingsOut:
    changed = await request.app[PUBLIC_BOOKING].change(account.tenant_id, enabled=body.enabled, slug=body.slug)
    return _settings_out(request, changed)


@api.route(
    "GET",
    PAGE,
    summary="The business behind a public booking page: name, zone and languages",
    tag=TAG,
    auth="public",
    response=PublicBusinessOut,
    errors=(404,),
    description=CLOSED,
)
async def public_business(request: web.Request) -> PublicBusinessOut:
    page = await _page(request)
    return PublicBusinessOut(
        name=page.name, slug=page.slug, timezone=page.timezone, language=page.language, languages=page.languages
    )


@api.route(
    "GET",
    PAGE + "/services",
    summary="Services a visitor can ask for online, with who performs them",
    tag=TAG,
    auth="public",
    response=PublicServiceList,
    errors=(404,),
    description=CLOSED,
)
async def public_services(request: web.Request) -> PublicServiceList:
    page = await _page(request)
    backends = request.app[BACKENDS]
    with _as_page(page):
        services = await backends.catalogue.ListServices(cat.ListServicesRequest(bookable_online_only=True))
        staff = await backends.catalogue.ListStaffMembers(cat.ListStaffMembersRequest())
    names = {s.staff_id: s.display_name for s in staff.staff if s.active}
    return PublicServiceList.model_validate(
        {
            "items": [
                {
                    "id": s.id,
                    "name": s.definition.name,
                    "description": s.definition.description,
                    "duration_minutes": s.definition.duration_minutes,
                    "price_minor": s.definition.price.amount_minor,
                    "currency": s.definition.price.currency,
                    "staff": [{"id": i, "name": names[i]} for i in s.definition.staff_ids if i in names],
                }
                for s in services.services
                if not s.archived
            ]
        }
    )


@api.route(
    "GET",
    PAGE + "/form",
    summary="The questions of the business's booking request form a visitor answers with a request",
    tag=TAG,
    auth="public",
    response=PublicFormOut,
    errors=(404,),
    description=CLOSED + " Send the answers as the request's `answers`, by key.",
)
async def public_form(request: web.Request) -> PublicFormOut:
    page = await _page(request)
    with _as_page(page):
        reply = await request.app[BACKENDS].custom_fields.ListCustomFields(
            record_pb.ListCustomFieldsRequest(form="booking_request")
        )
    return PublicFormOut.model_validate(
        {
            "fields": [
                {"key": f.key, "label": f.label, "type": f.type, "options": list(f.options), "required": f.required}
                for f in reply.fields
            ]
        }
    )


@api.route(
    "GET",
    PAGE + "/availability",
    summary="Free times of a service a visitor may ask for (slot rules, notice, horizon and bookings apply)",
    tag=TAG,
    auth="public",
    query=PublicAvailabilityQuery,
    response=PublicAvailabilityOut,
    errors=(404,),
    description=CLOSED + " Days are cut in `timezone`.",
)
async def public_availability(request: web.Request, query: PublicAvailabilityQuery) -> PublicAvailabilityOut:
    page = await _page(request)
    with _as_page(page):
        reply = await request.app[BACKENDS].appointments.FindAvailableSlots(
            appointments_pb.FindAvailableSlotsRequest(
                service_ids=[query.service_id],
                from_day=query.from_day.isoformat(),
                to_day=query.to_day.isoformat(),
                staff_ids=[query.staff_id] if query.staff_id else [],
                timezone=query.timezone or "",
                online=True,
                columns=True,
            )
        )
    return PublicAvailabilityOut.model_validate(
        {
            "timezone": reply.timezone,
            "slots": [
                {"start": s["start"], "local_start": s["local_start"], "staff_ids": s["staff_ids"]}
                for s in slots_json(reply)["slots"]
            ],
        }
    )


def _phone(raw: str, country: str) -> str:
    """E.164 of a number typed in any format (national ones read in the business's country), or empty."""
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidArgument.single("phone", "is not a phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


@api.route(
    "POST",
    PAGE + "/requests",
    summary="Ask for an appointment as a visitor: a one-time code is emailed to confirm it",
    tag=TAG,
    auth="public",
    body=PublicRequestIn,
    response=PublicRequestStartedOut,
    status=202,
    errors=(404, 409, 429),
    description=CLOSED
    + " Nothing is requested yet: the code (six digits, valid ATRIUM_PUBLIC_REQUEST_CODE_TTL_SECONDS) "
    "goes to `email`, and the request counts once it is confirmed. `start` must be a free time the availability "
    "lists (409 SLOT_UNAVAILABLE otherwise). Limited per email address and per client IP (429 RATE_LIMITED with "
    "Retry-After).",
)
async def start_public_request(request: web.Request, body: PublicRequestIn) -> PublicRequestStartedOut:
    page = await _page(request)
    phone = _phone(body.phone, page.country)
    await request.app[PUBLIC_BOOKING].count_request(page, body.email, _visitor_ip(request))
    with _as_page(page):
        reply = await request.app[BACKENDS].public_requests.StartPublicRequest(
            pb.StartPublicRequestRequest(
                service_id=body.service_id,
                preferred_staff_id=body.preferred_staff_id or "",
                start=timestamp(body.start),
                name=body.name,
                email=body.email,
                phone=phone,
                message=body.description,
                timezone=body.timezone or "",
                language=page.email_language(body.language),
                business_name=page.name,
                answers={key: json_format.ParseDict(value, struct_pb2.Value()) for key, value in body.answers.items()},
                default_region=page.country,
            )
        )
    return PublicRequestStartedOut(
        verification_id=reply.verification_id,
        email=reply.email,
        expires_at=reply.expires_at.ToDatetime(tzinfo=UTC),
    )


@api.route(
    "POST",
    PAGE + "/requests/{verification_id}/confirm",
    summary="Confirm a visitor's request with the emailed code: it becomes a pending appointment request",
    tag=TAG,
    auth="public",
    body=PublicConfirmIn,
    response=PublicRequestConfirmedOut,
    status=201,
    errors=(404, 409, 429),
    description=CLOSED + " A wrong code answers 422 naming `code` (with the tries left); the fifth wrong code locks "
    "the request, and every code then answers 409 VERIFICATION_LOCKED; an expired code 409 CODE_EXPIRED. The right "
    "code makes the request for the business's client with that email, or a new client (source booking_widget); "
    "a client blocked from online booking gets 409 BOOKING_BLOCKED, and the business's limits of open requests and "
    "active bookings apply (409). Confirming again answers the same request. Codes entered are limited per client "
    "IP (429 RATE_LIMITED with Retry-After).",
)
async def confirm_public_request(request: web.Request, body: PublicConfirmIn) -> PublicRequestConfirmedOut:
    page = await _page(request)
    verification_id = path_id(request, "verification_id", "public request")
    await request.app[PUBLIC_BOOKING].count_code(_visitor_ip(request))
    with _as_page(page):
        reply = await request.app[BACKENDS].public_requests.ConfirmPublicRequest(
            pb.ConfirmPublicRequestRequest(
                verification_id=verification_id,
                code=body.code,
                default_region=page.country,
                max_clients=page.max_clients,
            )
        )
    start = reply.start.ToDatetime(tzinfo=UTC)
    return PublicRequestConfirmedOut(
        reference=reply.reference,
        status=reply.status,
        service_name=reply.service_name,
        duration_minutes=reply.duration_minutes,
        start=start,
        local_start=start.astimezone(ZoneInfo(reply.timezone)).isoformat(),
        timezone=reply.timezone,
    )
