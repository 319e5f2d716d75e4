"""The client's calendar subscription in the portal: a secret address calendar programs read the client's
appointments from (shown once, when it is made: only its hash is stored), a new one replacing the old, and
stopping it. Part of the appointments the business may hide.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium_web.pages import flash, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.portal import hidden, page, permissions

FEEDS = "/api/v1/portal/calendar-feeds"


async def _calendar_page(
    request: web.Request, api: UserApi, allowed: dict[str, bool], *, issued: dict[str, Any] | None = None
) -> web.StreamResponse:
    live = [feed for feed in (await api.get(FEEDS))["items"] if feed["live"]]
    return await page(
        request, api, "portal/calendar.html", permissions=allowed, live=live[0] if live else None, issued=issued
    )


@signed_in("portal")
async def calendar(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await permissions(api)
    if not allowed["view_appointments"]:
        return await hidden(request, api, "appointments", allowed)
    return await _calendar_page(request, api, allowed)


@signed_in("portal")
async def issue(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The new address is shown on this answer only (it is not kept anywhere it could be read again)."""
    form = await request.post()
    issued = await api.send("POST", FEEDS, {"include_cancelled": form.get("include_cancelled") == "on"})
    return await _calendar_page(request, api, await permissions(api), issued=issued)


@signed_in("portal")
async def stop(request: web.Request, api: UserApi) -> web.StreamResponse:
    await api.send("DELETE", f"{FEEDS}/{request.match_info['feed_id']}")
    await flash(request, "Your calendar link is stopped: calendar programs can no longer read it.")
    return redirect(request, "/portal/calendar")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/portal/calendar", calendar)
    router.add_post("/portal/calendar", issue)
    router.add_post("/portal/calendar/{feed_id}/stop", stop)
