"""The client portal: my appointments and invoices (requests are in portal_requests).

What the business's permissions hide is absent (no link, no page), not merely disabled; the gateway
refuses it too.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium_web.gateway_api import ApiProblem, GatewayUnavailable
from atrium_web.pages import flash, redirect, render, signed_in
from atrium_web.sessions import UserApi


async def permissions(api: UserApi) -> dict[str, bool]:
    return dict(await api.get("/api/v1/portal/permissions"))


async def unread_notifications(api: UserApi) -> int | None:
    """The nav's unread count; None while the inbox cannot be read (the page renders without it)."""
    try:
        found = await api.get("/api/v1/portal/notifications", unread_only="true", page_size=1)
    except GatewayUnavailable:
        return None
    return int(found["unread_count"])


async def page(request: web.Request, api: UserApi, template: str, **context: Any) -> web.StreamResponse:
    """A portal page: its navigation shows only what the client may see, and the unread notifications."""
    context.setdefault("permissions", await permissions(api))
    context.setdefault("unread", await unread_notifications(api))
    return await render(request, template, **context)


async def services_by_id(api: UserApi) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in (await api.get("/api/v1/portal/services"))["items"]}


async def hidden(request: web.Request, api: UserApi, what: str, allowed: dict[str, bool]) -> web.StreamResponse:
    return await page(request, api, "portal/hidden.html", status=403, what=what, permissions=allowed)


@signed_in("portal")
async def home(request: web.Request, api: UserApi) -> web.StreamResponse:
    """My appointments, unless the business hides them: then the inbox, which every client has."""
    allowed = await permissions(api)
    return redirect(request, "/portal/appointments" if allowed["view_appointments"] else "/portal/notifications")


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
    router.add_get("/portal/invoices", invoices)
