"""Calendar feeds and .ics files: staff and clients subscribe to their appointments from any calendar program.

Managing feeds needs an account (a staff member's own feed, or an owner or admin for anyone's; any staff
member for a client's; a client for its own, from the portal). Reading a feed does not: calendar programs
send no bearer token, so ``GET /ical/{token}.ics`` is public and the secret in the URL is the credential.

That public route has no account to take a tenant from. The token carries it (``<tenant hex>.<feed
hex>.<secret>``), and the call to the scheduling service is made for that tenant with a service principal
of its own. The only call made with that context is RenderFeed, which answers only when the token's secret
matches the live feed of that tenant: naming another tenant in a URL gains nothing but a 404.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from atrium.scheduling.v1 import calendar_pb2 as pb
from gateway.api import path_id
from gateway.dependencies import BACKENDS, IDENTITY, SETTINGS
from gateway.identity.model import Account
from gateway.routes.clients import client_id_of, for_known_client
from gateway.routes.portal import portal_access
from gateway.routes.registry import api
from gateway.routes.scheduling import appointment_id_of
from gateway.schemas import Body, Out
from platform_core.errors import NotFound, PermissionDenied
from platform_core.grpc.context import CallContext, Principal, bind_call_context

TAG = "calendar"
CALENDAR = "text/calendar"
FEED_PRINCIPAL = "gateway-calendar-feed"
# Calendar programs poll; they may keep a copy this long. Revoking takes effect on the next fetch after it.
FEED_CACHE = "private, max-age=300"
_TOKEN = re.compile(r"^([0-9a-f]{32})\.[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$")


class FeedIn(Body):
    include_cancelled: bool = Field(
        default=False, description="Keep cancelled appointments in the feed, marked cancelled, instead of dropping them"
    )


class CalendarFeedOut(Out):
    id: str
    owner_kind: Literal["staff", "client"]
    owner_id: str
    include_cancelled: bool
    live: bool
    created_at: datetime
    revoked_at: datetime | None


class IssuedFeedOut(CalendarFeedOut):
    url: str = Field(description="The feed's secret address: shown only now. Anyone holding it can read the feed.")
    webcal_url: str = Field(description="The same address for calendar programs that subscribe to webcal:// links")


class CalendarFeedList(Out):
    items: list[CalendarFeedOut]


def feed_json(feed: pb.CalendarFeed) -> dict[str, Any]:
    revoked = feed.HasField("revoked_at")
    return {
        "id": feed.id,
        "owner_kind": feed.owner.kind,
        "owner_id": feed.owner.id,
        "include_cancelled": feed.include_cancelled,
        "live": not revoked,
        "created_at": feed.created_at.ToJsonString(),
        "revoked_at": feed.revoked_at.ToJsonString() if revoked else None,
    }


def issued_json(request: web.Request, issued: pb.IssuedFeed) -> dict[str, Any]:
    url = f"{request.app[SETTINGS].base_url()}/ical/{issued.token}.ics"
    return feed_json(issued.feed) | {"url": url, "webcal_url": re.sub(r"^https?://", "webcal://", url)}


async def _issue(request: web.Request, owner: pb.FeedOwner, body: FeedIn) -> dict[str, Any]:
    issued = await request.app[BACKENDS].calendars.IssueFeed(
        pb.IssueFeedRequest(owner=owner, include_cancelled=body.include_cancelled)
    )
    return issued_json(request, issued)


async def _list(request: web.Request, owner: pb.FeedOwner) -> dict[str, Any]:
    reply = await request.app[BACKENDS].calendars.ListFeeds(pb.ListFeedsRequest(owner=owner))
    return {"items": [feed_json(f) for f in reply.feeds]}


async def _revoke(request: web.Request, owner: pb.FeedOwner) -> dict[str, Any]:
    feed_id = path_id(request, "feed_id", "calendar feed")
    reply = await request.app[BACKENDS].calendars.RevokeFeed(pb.RevokeFeedRequest(owner=owner, feed_id=feed_id))
    return feed_json(reply)


def _staff_owner(request: web.Request) -> pb.FeedOwner:
    return pb.FeedOwner(kind="staff", id=path_id(request, "staff_id", "staff member"))


def _client_owner(request: web.Request) -> pb.FeedOwner:
    return pb.FeedOwner(kind="client", id=client_id_of(request))


def _own_owner(account: Account) -> pb.FeedOwner:
    return pb.FeedOwner(kind="client", id=str(account.client_id))


async def _may_see_appointments(request: web.Request, account: Account) -> None:
    access = await portal_access(request, account)
    if not access.effective.view_appointments:
        raise PermissionDenied("this business does not show appointments in the portal", reason="APPOINTMENTS_HIDDEN")


# --- a staff member's feed ------------------------------------------------------------------------

_STAFF_RULE = "A staff member manages their own feed; owners and admins anyone's."


@api.route(
    "POST",
    "/api/v1/staff/{staff_id}/calendar-feeds",
    summary="Issue a staff member's calendar feed URL (their previous one stops working)",
    tag=TAG,
    permission="schedule.read",
    body=FeedIn,
    response=IssuedFeedOut,
    status=201,
    description=_STAFF_RULE,
)
async def issue_staff_feed(request: web.Request, body: FeedIn, account: Account) -> dict[str, Any]:
    return await _issue(request, _staff_owner(request), body)


@api.route(
    "GET",
    "/api/v1/staff/{staff_id}/calendar-feeds",
    summary="A staff member's calendar feeds, live and revoked, newest first",
    tag=TAG,
    permission="schedule.read",
    response=CalendarFeedList,
    description=_STAFF_RULE,
)
async def list_staff_feeds(request: web.Request, account: Account) -> dict[str, Any]:
    owner = _staff_owner(request)
    if not await request.app[IDENTITY].staff_members(account.tenant_id, [owner.id]):
        raise NotFound("staff member not found")
    return await _list(request, owner)


@api.route(
    "DELETE",
    "/api/v1/staff/{staff_id}/calendar-feeds/{feed_id}",
    summary="Revoke a staff member's calendar feed",
    tag=TAG,
    permission="schedule.read",
    response=CalendarFeedOut,
    description=_STAFF_RULE,
)
async def revoke_staff_feed(request: web.Request, account: Account) -> dict[str, Any]:
    return await _revoke(request, _staff_owner(request))


# --- a client's feed ----------------------------------------------------------------------------


@api.route(
    "POST",
    "/api/v1/clients/{client_id}/calendar-feeds",
    summary="Issue a client's calendar feed URL, e.g. to send it to them (their previous one stops working)",
    tag=TAG,
    permission="schedule.write",
    body=FeedIn,
    response=IssuedFeedOut,
    status=201,
)
async def issue_client_feed(request: web.Request, body: FeedIn, account: Account) -> dict[str, Any]:
    return await _issue(request, _client_owner(request), body)


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/calendar-feeds",
    summary="A client's calendar feeds, live and revoked, newest first",
    tag=TAG,
    permission="schedule.read",
    response=CalendarFeedList,
)
async def list_client_feeds(request: web.Request, account: Account) -> dict[str, Any]:
    return await for_known_client(request, lambda client_id: _list(request, pb.FeedOwner(kind="client", id=client_id)))


@api.route(
    "DELETE",
    "/api/v1/clients/{client_id}/calendar-feeds/{feed_id}",
    summary="Revoke a client's calendar feed",
    tag=TAG,
    permission="schedule.write",
    response=CalendarFeedOut,
)
async def revoke_client_feed(request: web.Request, account: Account) -> dict[str, Any]:
    return await _revoke(request, _client_owner(request))


# --- the portal: the client's own feed ------------------------------------------------------------


@api.route(
    "POST",
    "/api/v1/portal/calendar-feeds",
    summary="Issue your calendar feed URL (your previous one stops working)",
    tag="portal",
    auth="portal",
    body=FeedIn,
    response=IssuedFeedOut,
    status=201,
)
async def portal_issue_feed(request: web.Request, body: FeedIn, account: Account) -> dict[str, Any]:
    await _may_see_appointments(request, account)
    return await _issue(request, _own_owner(account), body)


@api.route(
    "GET",
    "/api/v1/portal/calendar-feeds",
    summary="Your calendar feeds, live and revoked, newest first",
    tag="portal",
    auth="portal",
    response=CalendarFeedList,
)
async def portal_list_feeds(request: web.Request, account: Account) -> dict[str, Any]:
    await _may_see_appointments(request, account)
    return await _list(request, _own_owner(account))


@api.route(
    "DELETE",
    "/api/v1/portal/calendar-feeds/{feed_id}",
    summary="Revoke your calendar feed",
    tag="portal",
    auth="portal",
    response=CalendarFeedOut,
)
async def portal_revoke_feed(request: web.Request, account: Account) -> dict[str, Any]:
    await _may_see_appointments(request, account)
    return await _revoke(request, _own_owner(account))


# --- .ics files -----------------------------------------------------------------------------------


def calendar_file(file: pb.CalendarFile, *, disposition: str, headers: dict[str, str]) -> web.Response:
    return web.Response(
        body=file.content,
        content_type=CALENDAR,
        charset="utf-8",
        headers=headers | {"Content-Disposition": f'{disposition}; filename="{file.filename}"'},
    )


async def _appointment_ics(request: web.Request) -> web.Response:
    reply = await request.app[BACKENDS].calendars.AppointmentIcs(
        pb.AppointmentIcsRequest(appointment_id=appointment_id_of(request))
    )
    return calendar_file(reply, disposition="attachment", headers={"Cache-Control": "private, no-cache"})


@api.route(
    "GET",
    "/api/v1/appointments/{appointment_id}/ics",
    summary="Download an appointment as an .ics file",
    tag=TAG,
    permission="schedule.read",
    produces=(CALENDAR,),
)
async def appointment_ics(request: web.Request, account: Account) -> web.Response:
    return await _appointment_ics(request)


@api.route(
    "GET",
    "/api/v1/portal/appointments/{appointment_id}/ics",
    summary="Download one of your appointments as an .ics file",
    tag="portal",
    auth="portal",
    produces=(CALENDAR,),
)
async def portal_appointment_ics(request: web.Request, account: Account) -> web.Response:
    await _may_see_appointments(request, account)
    return await _appointment_ics(request)


def feed_tenant(token: str) -> uuid.UUID:
    """The tenant a feed token names; a token of another shape names no feed."""
    match = _TOKEN.match(token)
    if match is None:
        raise NotFound("calendar feed not found")
    return uuid.UUID(hex=match[1])


@api.route(
    "GET",
    "/ical/{token}.ics",
    summary="A calendar feed (iCalendar), for calendar programs to subscribe to",
    tag=TAG,
    auth="public",
    produces=(CALENDAR,),
    description="No bearer token: the secret address is the credential. Answers 404 for an unknown or revoked "
    "feed. Sends an ETag; a request with If-None-Match naming it gets 304 Not Modified.",
)
async def calendar_feed(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    with bind_call_context(CallContext(feed_tenant(token), Principal.service(FEED_PRINCIPAL))):
        reply = await request.app[BACKENDS].calendars.RenderFeed(pb.RenderFeedRequest(token=token))
    etag = f'"{hashlib.sha256(reply.content).hexdigest()[:32]}"'
    headers = {
        "ETag": etag,
        "Cache-Control": FEED_CACHE,
        # The address is a secret: keep it out of referrers and search engines.
        "Referrer-Policy": "no-referrer",
        "X-Robots-Tag": "noindex, nofollow",
    }
    if etag in {tag.strip().removeprefix("W/") for tag in request.headers.get("If-None-Match", "").split(",")}:
        return web.Response(status=304, headers=headers)
    return calendar_file(reply, disposition="inline", headers=headers)
