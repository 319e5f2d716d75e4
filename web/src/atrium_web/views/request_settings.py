"""The appointment request settings in the staff console: tentative holds (a pending request holds its first
preferred time until it is decided), how long proposed times and waitlist offers hold, and how a ticket id
becomes a link. Saved with the version read, so a change made meanwhile is not overwritten."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium_web.pages import flash, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.settings import FormError, apply, whole
from atrium_web.views.staff import REQUESTS, console

SETTINGS, PAGE = f"{REQUESTS}/settings", "/settings/requests"


def settings_body(form: Any) -> dict[str, Any]:
    """Hold times are typed in hours (a proposal) and minutes (a waitlist offer), as the API keeps minutes."""
    return {
        "tentative_holds": form.get("tentative_holds") == "on",
        "proposal_hold_minutes": whole(form, "proposal_hold_hours", 48) * 60,
        "offer_hold_minutes": whole(form, "offer_hold_minutes", 120),
        "ticket_url_pattern": str(form.get("ticket_url_pattern", "")).strip(),
        "version": whole(form, "version"),
    }


@signed_in("staff")
async def settings_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await console(request, api, "staff/settings/requests.html", current=await api.get(SETTINGS))


@signed_in("staff")
async def save_settings(request: web.Request, api: UserApi) -> web.StreamResponse:
    try:
        body = settings_body(await request.post())
    except FormError as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, PAGE)
    return await apply(request, api, "PUT", SETTINGS, body, "The request settings are saved.", PAGE)


def register(router: web.UrlDispatcher) -> None:
    router.add_get(PAGE, settings_page)
    router.add_post(PAGE, save_settings)
