"""A request staff make for a client (a phone call, the front desk): find the client, the service (any, also one
clients cannot book online), one to three preferred times on the business's clock, an optional preferred staff
member and the description. It is pending like one from the portal. A client blocked from online booking or at
its limit is refused with the reason, and staff may then make it anyway (the history keeps that)."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from atrium_web.appointment_requests import wall_clock
from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, form_errors, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.booking import client_picker_page
from atrium_web.views.staff import REQUESTS

MAX_TIMES = 3
FIELDS = ("service_id", "preferred_staff_id", "options", "message")
BOOKING_RULES = {
    "BOOKING_BLOCKED": "This client is blocked from booking online.",
    "MAX_ACTIVE_BOOKINGS": "This client already has as many bookings and open requests as the business allows.",
    "CLIENT_DELETED": "This client is deleted.",
}


def request_body(form: Any, zone: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's body from the form (times on ``zone``'s clock), and what the form itself refuses, by field."""
    errors: dict[str, str] = {}
    given = [str(form.get(f"time_{n}", "")).strip() for n in range(MAX_TIMES)]
    starts = [wall_clock(value, zone) for value in given if value]
    if not starts:
        errors["options"] = "Give at least one preferred time."
    elif None in starts:
        errors["options"] = "Give each time as a date and a time."
    if not str(form.get("service_id", "")):
        errors["service_id"] = "Choose a service."
    body: dict[str, Any] = {
        "client_id": str(form.get("client_id", "")),
        "service_id": str(form.get("service_id", "")),
        "options": [{"start": start} for start in starts if start],
        "message": str(form.get("message", "")).strip()[:1000],
        "override_booking_rules": form.get("override_booking_rules") == "on",
    }
    if form.get("preferred_staff_id"):
        body["preferred_staff_id"] = str(form["preferred_staff_id"])
    return body, errors


async def _page(
    request: web.Request, api: UserApi, values: Any, errors: dict[str, str], **shown: Any
) -> web.StreamResponse:
    return await client_picker_page(
        request, api, "staff/request_new.html", values, errors, refusals=BOOKING_RULES, max_times=MAX_TIMES, **shown
    )


@signed_in("staff")
async def new_request(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await _page(request, api, request.query, {})


@signed_in("staff")
async def make_request(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    body, errors = request_body(form, api.account.timezone)
    if errors:  # nothing was sent: the form keeps its key
        return await _page(request, api, form, errors, status=400, request_key=str(form.get("request_key", "")))
    # The form's key: pressed twice, one request.
    headers = {"Idempotency-Key": str(form.get("request_key", "")) or str(uuid.uuid4())}
    try:
        made = await api.send("POST", REQUESTS, body, headers=headers)
    except ApiProblem as problem:
        # The key answered this refusal; what is sent next (changed, or with the override) gets a new one.
        if problem.status == 409 and problem.code in BOOKING_RULES:
            return await _page(request, api, form, {}, status=409, refusal=problem.code)
        if problem.status not in (400, 422):
            raise
        shown = form_errors(problem.errors, *FIELDS) or {"": problem.detail}
        return await _page(request, api, form, shown, status=400)
    await flash(request, f"Request {made['reference']} is made for the client; it is pending.")
    return redirect(request, f"/requests/{made['id']}")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/requests/new", new_request)
    router.add_post("/requests/new", make_request)
