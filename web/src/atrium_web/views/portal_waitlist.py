"""The portal's waitlist: join for a service between two dates (optionally within hours of the day), my entries
with their offers, leave, and take an offered time (booked at once).

Dates and hours are the client's own wall clock (the session's zone), as the API reads them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp import web

from atrium_web.formatting import today_in
from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, form_errors, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.portal import hidden, page, permissions, services_by_id

WAITLIST = "/api/v1/portal/waitlist"
JOIN_FIELDS = ("service_id", "from_date", "to_date", "window_start", "window_end")
STATUS_LABELS = {"waiting": "Waiting", "offered": "Time offered", "booked": "Booked", "left": "Left"}
# The longest span the API takes between the first and the last day.
MAX_SPAN_DAYS = 180
OFFER_CONFLICTS = {
    "OFFER_NOT_OPEN": "This offer is no longer open.",
    "OFFER_EXPIRED": "This offer's hold has passed; you stay on the waitlist for the next free time.",
    "SLOT_TAKEN": "That time was taken meanwhile; you stay on the waitlist.",
    "SLOT_UNAVAILABLE": "That time is no longer free; you stay on the waitlist.",
}


async def _waitlist_page(
    request: web.Request,
    api: UserApi,
    allowed: dict[str, bool],
    *,
    errors: dict[str, str] | None = None,
    values: Any = None,
    status: int = 200,
) -> web.StreamResponse:
    today = today_in(api.account.timezone)
    entries = (await api.get(WAITLIST))["items"]
    return await page(
        request,
        api,
        "portal/waitlist.html",
        status=status,
        permissions=allowed,
        entries=entries,
        labels=STATUS_LABELS,
        services=[s for s in (await services_by_id(api)).values() if s.get("bookable_online", True)],
        values=values if values is not None else {},
        errors=errors or {},
        today=today,
        last_day=today + timedelta(days=365),
    )


@signed_in("portal")
async def waitlist(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await permissions(api)
    if not allowed["view_appointments"]:
        return await hidden(request, api, "the waitlist", allowed)
    return await _waitlist_page(request, api, allowed)


def join_checks(form: Any, today: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not str(form.get("service_id", "")):
        errors["service_id"] = "Choose a service."
    days: dict[str, date] = {}
    for name in ("from_date", "to_date"):
        try:
            days[name] = date.fromisoformat(str(form.get(name, "")))
        except ValueError:
            errors[name] = "Choose a day."
    if len(days) == 2:
        if days["from_date"] < today:
            errors["from_date"] = "Choose today or a later day."
        elif days["to_date"] < days["from_date"]:
            errors["to_date"] = "Choose a day on or after the first day."
        elif days["to_date"] - days["from_date"] > timedelta(days=MAX_SPAN_DAYS):
            errors["to_date"] = f"Choose a day within {MAX_SPAN_DAYS} days of the first day."
    start, end = str(form.get("window_start", "")), str(form.get("window_end", ""))
    if bool(start) != bool(end):
        errors["window_end" if start else "window_start"] = "Give both hours, or neither for any time of day."
    elif start and end <= start:
        errors["window_end"] = "Choose an hour after the first."
    return errors


@signed_in("portal")
async def join(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    errors = join_checks(form, today_in(api.account.timezone))
    if not errors:
        body: dict[str, Any] = {
            "service_id": str(form["service_id"]),
            "from_date": str(form["from_date"]),
            "to_date": str(form["to_date"]),
            "timezone": api.account.timezone,
        }
        if form.get("window_start"):
            body |= {"window_start": str(form["window_start"]), "window_end": str(form["window_end"])}
        try:
            await api.send("POST", WAITLIST, body)
            await flash(request, "You are on the waitlist. We will tell you when a time frees up.")
            return redirect(request, "/portal/waitlist")
        except ApiProblem as problem:
            if problem.status in (403, 404):
                raise
            errors = form_errors(problem.errors, *JOIN_FIELDS) or {"": problem.detail}
    return await _waitlist_page(request, api, await permissions(api), errors=errors, values=form, status=400)


@signed_in("portal")
async def leave(request: web.Request, api: UserApi) -> web.StreamResponse:
    try:
        await api.send("POST", f"{WAITLIST}/{request.match_info['entry_id']}/leave")
        await flash(request, "You left the waitlist.")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, f"You cannot leave this entry: {problem.detail}")
    return redirect(request, "/portal/waitlist")


@signed_in("portal")
async def accept_offer(request: web.Request, api: UserApi) -> web.StreamResponse:
    try:
        await api.send("POST", f"/api/v1/portal/waitlist-offers/{request.match_info['offer_id']}/accept")
        await flash(request, "The time is yours: your appointment is booked.")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, OFFER_CONFLICTS.get(problem.code) or f"This time cannot be booked: {problem.detail}")
    return redirect(request, "/portal/waitlist")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/portal/waitlist", waitlist)
    router.add_post("/portal/waitlist", join)
    router.add_post("/portal/waitlist/{entry_id}/leave", leave)
    router.add_post("/portal/waitlist/offers/{offer_id}/accept", accept_offer)
