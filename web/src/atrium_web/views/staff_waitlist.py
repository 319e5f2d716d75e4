"""The staff console's waitlist: who waits for which service (maybe a staff member), on which days and hours,
with the offers made when a time was freed; putting a client on it (a client blocked from online booking only
with the staff override, which the entry keeps), and taking one off.

Days and hours staff type are on the business's clock (the entry is made in the business's zone)."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, form_errors, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.booking import client_picker_page
from atrium_web.views.staff import client_names, console

WAITLIST = "/api/v1/waitlist"
STATUS_LABELS = {"waiting": "Waiting", "offered": "Offered a time", "booked": "Booked", "left": "Off the list"}
FIELDS = ("service_id", "staff_id", "from_date", "to_date", "window_start", "window_end")
BOOKING_RULES = {
    "BOOKING_BLOCKED": "This client is blocked from booking online.",
    "MAX_ACTIVE_BOOKINGS": "This client already has as many bookings and open requests as the business allows.",
}


@signed_in("staff")
async def waitlist(request: web.Request, api: UserApi) -> web.StreamResponse:
    status = request.query.get("status", "waiting")
    if status not in STATUS_LABELS:
        status = ""
    client_id = request.query.get("client_id", "")
    entries = (await api.get(WAITLIST, status=status, client_id=client_id))["items"]
    named = [e["client_id"] for e in entries] + ([client_id] if client_id else [])
    clients = await client_names(api, named)
    return await console(
        request,
        api,
        "staff/waitlist.html",
        entries=entries,
        clients=clients,
        selected=status,
        labels=STATUS_LABELS,
        client_id=client_id,
    )


def join_body(form: Any, zone: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's body from the form (days and hours on ``zone``'s clock), and what the form itself refuses."""
    values = {name: str(form.get(name, "")).strip() for name in FIELDS}
    errors: dict[str, str] = {}
    if not values["service_id"]:
        errors["service_id"] = "Choose a service."
    if not values["from_date"]:
        errors["from_date"] = "Give the first day that suits."
    if not values["to_date"]:
        errors["to_date"] = "Give the last day that suits."
    if bool(values["window_start"]) != bool(values["window_end"]):
        errors["window_start"] = "Give both ends of the hours that suit, or neither."
    body: dict[str, Any] = {
        "client_id": str(form.get("client_id", "")),
        "service_id": values["service_id"],
        "staff_id": values["staff_id"] or None,
        "from_date": values["from_date"],
        "to_date": values["to_date"],
        "window_start": values["window_start"][:5] or None,
        "window_end": values["window_end"][:5] or None,
        "timezone": zone,
        "override_booking_rules": form.get("override_booking_rules") == "on",
    }
    return body, errors


async def _join_page(
    request: web.Request, api: UserApi, values: Any, errors: dict[str, str], **shown: Any
) -> web.StreamResponse:
    return await client_picker_page(
        request, api, "staff/waitlist_new.html", values, errors, refusals=BOOKING_RULES, **shown
    )


@signed_in("staff")
async def new_entry(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await _join_page(request, api, request.query, {})


@signed_in("staff")
async def join(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    body, errors = join_body(form, api.account.timezone)
    key = str(form.get("request_key", ""))
    if errors:  # nothing was sent: the form keeps its key
        return await _join_page(request, api, form, errors, status=400, request_key=key)
    try:
        # The form's key: pressed twice, one entry. A refused one is answered again for the same key, so what
        # is sent next (changed, or with the override) gets a new key.
        await api.send("POST", WAITLIST, body, headers={"Idempotency-Key": key or str(uuid.uuid4())})
    except ApiProblem as problem:
        if problem.status == 409 and problem.code in BOOKING_RULES:
            return await _join_page(request, api, form, {}, status=409, refusal=problem.code)
        if problem.status not in (400, 409, 422):
            raise
        shown = form_errors(problem.errors, *FIELDS) or {"": problem.detail or "The client was not put on it."}
        return await _join_page(request, api, form, shown, status=400)
    await flash(request, "The client is on the waitlist; they get an offer when a time that suits is freed.")
    return redirect(request, "/waitlist")


@signed_in("staff")
async def leave(request: web.Request, api: UserApi) -> web.StreamResponse:
    try:
        await api.send("POST", f"{WAITLIST}/{request.match_info['entry_id']}/leave")
        await flash(request, "The client is off the waitlist.")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, f"Nothing changed: {problem.detail or 'the entry is no longer on the list'}.")
    return redirect(request, "/waitlist")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/waitlist", waitlist)
    router.add_get("/waitlist/new", new_entry)
    router.add_post("/waitlist/new", join)
    router.add_post("/waitlist/{entry_id}/leave", leave)
