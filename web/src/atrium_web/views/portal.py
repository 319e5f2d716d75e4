"""The client portal: my appointments, requesting an appointment, my requests, invoices.

What the business's permissions hide is absent (no link, no page), not merely disabled; the gateway
refuses it too.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, form_errors, redirect, render, signed_in
from atrium_web.sessions import UserApi

REQUEST_STATUSES = ("pending", "approved", "declined", "withdrawn", "expired")
STATUS_LABELS = {
    "pending": "Pending",
    "approved": "Approved",
    "declined": "Declined",
    "withdrawn": "Cancelled",
    "expired": "Expired",
}


async def permissions(api: UserApi) -> dict[str, bool]:
    return dict(await api.get("/api/v1/portal/permissions"))


async def page(request: web.Request, api: UserApi, template: str, **context: Any) -> web.StreamResponse:
    """A portal page: its navigation shows only what the client may see."""
    context.setdefault("permissions", await permissions(api))
    return await render(request, template, status_labels=STATUS_LABELS, **context)


async def services_by_id(api: UserApi) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in (await api.get("/api/v1/portal/services"))["items"]}


async def hidden(request: web.Request, api: UserApi, what: str, allowed: dict[str, bool]) -> web.StreamResponse:
    return await page(request, api, "portal/hidden.html", status=403, what=what, permissions=allowed)


@signed_in("portal")
async def home(request: web.Request, api: UserApi) -> web.StreamResponse:
    return redirect(request, "/portal/appointments")


@signed_in("portal")
async def appointments(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await permissions(api)
    if not allowed["view_appointments"]:
        return await hidden(request, api, "appointments", allowed)
    upcoming = (await api.get("/api/v1/portal/appointments", view="upcoming"))["items"]
    past = (await api.get("/api/v1/portal/appointments", view="past", page_size=20))["items"]
    return await page(
        request,
        api,
        "portal/appointments.html",
        permissions=allowed,
        upcoming=upcoming,
        past=past,
        services=await services_by_id(api),
    )


@signed_in("portal")
async def cancel_appointment(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    appointment_id = request.match_info["appointment_id"]
    try:
        await api.send(
            "POST",
            f"/api/v1/portal/appointments/{appointment_id}/cancel",
            {"reason": str(form.get("reason", ""))[:500]},
        )
        await flash(request, "Your appointment is cancelled.")
    except ApiProblem as problem:
        if problem.status in (404, 403):
            raise
        await flash(request, f"This appointment cannot be cancelled online: {problem.detail}")
    return redirect(request, "/portal/appointments")


@signed_in("portal")
async def appointment_ics(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Add to calendar: the appointment as an iCalendar file, as the gateway writes it."""
    appointment_id = request.match_info["appointment_id"]
    reply = await api.call("GET", f"/api/v1/portal/appointments/{appointment_id}/ics")
    if reply.status >= 400:
        raise ApiProblem.from_body(reply.status, reply.body)
    return web.Response(
        body=reply.raw,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="appointment-{appointment_id[:8]}.ics"'},
    )


@signed_in("portal")
async def requests(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await permissions(api)
    if not allowed["view_appointments"]:
        return await hidden(request, api, "appointment requests", allowed)
    status = request.query.get("status", "")
    if status not in REQUEST_STATUSES:
        status = ""
    items = (await api.get("/api/v1/portal/appointment-requests", status=status))["items"]
    return await page(
        request,
        api,
        "portal/requests.html",
        permissions=allowed,
        items=items,
        selected=status,
        statuses=REQUEST_STATUSES,
        services=await services_by_id(api),
        final_times=await final_times(api, items),
    )


async def final_times(api: UserApi, items: list[dict[str, Any]]) -> dict[str, str]:
    """The booked start of each approved request (staff may have changed the requested time)."""
    approved = [i for i in items if i["status"] == "approved" and i.get("appointment_id")]
    booked = await asyncio.gather(*(api.get(f"/api/v1/portal/appointments/{i['appointment_id']}") for i in approved))
    return {item["id"]: appointment["start"] for item, appointment in zip(approved, booked, strict=True)}


@signed_in("portal")
async def withdraw_request(request: web.Request, api: UserApi) -> web.StreamResponse:
    request_id = request.match_info["request_id"]
    try:
        await api.send("POST", f"/api/v1/portal/appointment-requests/{request_id}/withdraw")
        await flash(request, "Your request is cancelled.")
    except ApiProblem as problem:
        if problem.status in (404, 403):
            raise
        await flash(request, "This request was already decided, so it can no longer be cancelled.")
    return redirect(request, "/portal/requests")


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@signed_in("portal")
async def new_request(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Service → date → slot → description, one step per page (each step a plain GET form)."""
    allowed = await permissions(api)
    if not allowed["view_appointments"]:
        return await hidden(request, api, "appointment requests", allowed)
    return await _request_form(request, api, allowed, errors={}, description="")


async def _request_form(
    request: web.Request,
    api: UserApi,
    allowed: dict[str, bool],
    *,
    errors: dict[str, str],
    description: str,
    status: int = 200,
    values: Any = None,
) -> web.StreamResponse:
    values = values if values is not None else request.query
    services = await services_by_id(api)
    service = services.get(str(values.get("service_id", "")))
    today = date.today()
    day = _day(str(values.get("date", ""))) if service else None
    slots: list[dict[str, Any]] = []
    if service and day:
        if day < today:
            errors.setdefault("date", "Choose today or a later day.")
        else:
            found = await api.get(
                "/api/v1/portal/availability",
                service_ids=service["id"],
                **{"from": day.isoformat(), "to": day.isoformat()},
                timezone=api.account.timezone,
            )
            slots = found["slots"]
    return await page(
        request,
        api,
        "portal/request_new.html",
        status=status,
        permissions=allowed,
        services=list(services.values()),
        service=service,
        day=day,
        today=today,
        last_day=today + timedelta(days=365),
        slots=slots,
        chosen=str(values.get("start", "")),
        submission=str(values.get("submission", "")) or str(uuid.uuid4()),
        description=description,
        errors=errors,
    )


@signed_in("portal")
async def submit_request(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    start, description = str(form.get("start", "")), str(form.get("description", ""))
    errors: dict[str, str] = {}
    if not start:
        errors["start"] = "Choose a time."
    if len(description) > 1000:
        errors["description"] = "Keep the description within 1,000 characters."
    if not errors:
        try:
            await api.send(
                "POST",
                "/api/v1/portal/appointment-requests",
                {
                    "service_id": str(form.get("service_id", "")),
                    "options": [{"start": start}],
                    "message": description,
                    "timezone": api.account.timezone,
                },
                # One request however often the form is sent (double click, retried post).
                headers={"Idempotency-Key": str(form.get("submission", "")) or str(uuid.uuid4())},
            )
            await flash(request, "Your request is sent. You will be notified when the business answers.")
            return redirect(request, "/portal/requests")
        except ApiProblem as problem:
            if problem.status in (403, 404):
                raise
            errors = form_errors(problem.errors, "service_id", "options", "message", "answers")
            errors = {{"options": "start", "message": "description"}.get(k, k): v for k, v in errors.items()}
            if not errors:
                errors[""] = problem.detail or "The request could not be sent."
    return await _request_form(
        request, api, await permissions(api), errors=errors, description=description, status=400, values=form
    )


@signed_in("portal")
async def invoices(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await permissions(api)
    if not allowed["view_invoices"]:
        return await hidden(request, api, "invoices", allowed)
    items = (await api.get("/api/v1/portal/invoices"))["items"]
    return await page(request, api, "portal/invoices.html", permissions=allowed, items=items)


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/portal", home)
    router.add_get("/portal/appointments", appointments)
    router.add_post("/portal/appointments/{appointment_id}/cancel", cancel_appointment)
    router.add_get("/portal/appointments/{appointment_id}.ics", appointment_ics)
    router.add_get("/portal/requests", requests)
    router.add_get("/portal/requests/new", new_request)
    router.add_post("/portal/requests", submit_request)
    router.add_post("/portal/requests/{request_id}/cancel", withdraw_request)
    router.add_get("/portal/invoices", invoices)
