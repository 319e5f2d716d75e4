"""The staff console: today, appointment requests (list, details, approve, decline), clients and the client card.

Times are shown in the business's zone (the session's), whatever the browser's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from atrium_web import custom_fields
from atrium_web.formatting import today_in
from atrium_web.gateway_api import ApiProblem, GatewayUnavailable
from atrium_web.pages import flash, form_errors, is_htmx, redirect, render, signed_in
from atrium_web.sessions import UserApi

REQUESTS = "/api/v1/appointment-requests"
CLIENT_FILTERS = ("q", "status_id", "tag", "group_id", "assigned_to", "blocked", "include_deleted", "only_deleted")


async def pending_count(api: UserApi) -> str | None:
    """The badge of the Appointment Requests button: "?" while the requests service does not answer, None
    (no button) for staff whose role may not read requests."""
    try:
        counts = await api.get(f"{REQUESTS}/counts")
    except GatewayUnavailable:
        return "?"
    except ApiProblem as problem:
        if problem.status == 403:
            return None
        raise
    return str(counts["pending"])


async def section(call: Awaitable[Any]) -> dict[str, Any]:
    """A part of the page from its own call: unavailable (said on the page) while its service does not answer,
    forbidden when the viewer's role may not read it (the rest of the card still shows)."""
    try:
        return {"status": "ok", "data": await call}
    except GatewayUnavailable:
        return {"status": "unavailable", "data": None}
    except ApiProblem as problem:
        if problem.status == 403:
            return {"status": "forbidden", "data": None}
        raise


async def console(request: web.Request, api: UserApi, template: str, **context: Any) -> web.StreamResponse:
    context.setdefault("pending", await pending_count(api))
    return await render(request, template, **context)


async def client_names(api: UserApi, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each client's record by id (one call per distinct client; a missing one is left out)."""

    async def one(client_id: str) -> dict[str, Any] | None:
        try:
            return dict(await api.get(f"/api/v1/clients/{client_id}"))
        except ApiProblem:
            return None

    distinct = list(dict.fromkeys(ids))
    found = await asyncio.gather(*(one(i) for i in distinct))
    return {i: c for i, c in zip(distinct, found, strict=True) if c is not None}


async def staff_choices(api: UserApi) -> list[dict[str, Any]]:
    """The staff members one may assign or filter by (schedule.read, which every staff role holds; the staff list
    needs staff.manage): each with its staff_id and display_name, active ones first, by name."""
    members = (await api.get("/api/v1/staff-schedules"))["items"]
    return sorted(members, key=lambda m: (not m["active"], m["display_name"].casefold()))


async def services_by_id(api: UserApi) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in (await api.get("/api/v1/services"))["items"]}


def business_today(api: UserApi) -> str:
    return today_in(api.account.timezone).isoformat()


@signed_in("staff")
async def today(request: web.Request, api: UserApi) -> web.StreamResponse:
    day = request.query.get("on") or business_today(api)
    calendar = await api.get("/api/v1/calendar", view="day", on=day, timezone=api.account.timezone)
    clients = await client_names(api, [a["client_id"] for member in calendar["staff"] for a in member["appointments"]])
    return await console(
        request, api, "staff/today.html", calendar=calendar, clients=clients, services=await services_by_id(api)
    )


def client_query(query: Any) -> dict[str, str]:
    """The list's filters as the API names them; the page's one "deleted" choice is two API flags."""
    filters = {k: str(query[k]) for k in CLIENT_FILTERS if query.get(k)}
    deleted = {"with": "include_deleted", "only": "only_deleted"}.get(str(query.get("deleted", "")))
    if deleted:
        filters[deleted] = "true"
    return filters


@signed_in("staff")
async def clients(request: web.Request, api: UserApi) -> web.StreamResponse:
    filters = client_query(request.query)
    page = await api.get("/api/v1/clients", **filters, page_token=request.query.get("page_token", ""))
    if is_htmx(request):
        return await render(request, "staff/_client_rows.html", page=page, filters=filters)
    groups, statuses, staff = await asyncio.gather(
        api.get("/api/v1/client-groups"), api.get("/api/v1/client-statuses"), staff_choices(api)
    )
    return await console(
        request,
        api,
        "staff/clients.html",
        page=page,
        filters=filters,
        groups=groups["items"],
        statuses=statuses["items"],
        staff=staff,
    )


@signed_in("staff")
async def client_action(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The row menu's actions that change a client: block/unblock online booking, delete, restore."""
    client_id, action = request.match_info["client_id"], request.match_info["action"]
    path = f"/api/v1/clients/{client_id}"
    form = await request.post()
    reason = str(form.get("reason", "")).strip()[:500]  # the card's block form asks for one
    calls: dict[str, tuple[str, str, dict[str, Any] | None, str]] = {
        "block": (
            "PUT",
            f"{path}/online-booking-block",
            {"blocked": True, "reason": reason},
            "Online booking is blocked.",
        ),
        "unblock": ("PUT", f"{path}/online-booking-block", {"blocked": False}, "Online booking is unblocked."),
        "delete": ("DELETE", path, None, "The client is deleted (restorable)."),
        "restore": ("POST", f"{path}/restore", None, "The client is restored."),
    }
    if action not in calls:
        raise web.HTTPNotFound()
    method, target, body, done = calls[action]
    try:
        await api.send(method, target, body)
        await flash(request, done)
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, problem.detail or "That could not be done.")
    back = str(form.get("back", "/clients"))
    return redirect(request, back if back.startswith("/clients") else "/clients")


PORTAL_PERMISSIONS = {
    "view_appointments": "Appointments and requests",
    "view_invoices": "Invoices",
    "view_documents": "Shared documents",
    "edit_profile": "Changing their own details",
}


@signed_in("staff")
async def invite_to_portal(request: web.Request, api: UserApi) -> web.StreamResponse:
    client_id = request.match_info["client_id"]
    try:
        invitation = await api.send("POST", f"/api/v1/clients/{client_id}/portal-invitation", {})
        await flash(request, f"Invitation sent to {invitation['email']}.")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, "; ".join(problem.errors.values()) or problem.detail or "No invitation was sent.")
    return redirect(request, f"/clients/{client_id}")


@signed_in("staff")
async def set_portal_access(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Portal on or off, and each permission: the business's default, shown, or hidden."""
    client_id = request.match_info["client_id"]
    form = await request.post()
    choice = {"default": None, "show": True, "hide": False}
    permissions = {name: choice.get(str(form.get(name, "default"))) for name in PORTAL_PERMISSIONS}
    body = {"enabled": form.get("enabled") == "on", "permissions": permissions}
    await api.send("PUT", f"/api/v1/clients/{client_id}/portal-access", body)
    await flash(request, "Portal access is saved.")
    return redirect(request, f"/clients/{client_id}")


def _day(value: str, default: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return date.fromisoformat(default)


@signed_in("staff")
async def schedule(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Day or week per staff member, in the business's zone, with each appointment's next steps."""
    view = "day" if request.query.get("view") == "day" else "week"
    on = _day(request.query.get("on", ""), business_today(api))
    member = request.query.get("staff", "")
    calendar, schedules = await asyncio.gather(
        api.get("/api/v1/calendar", view=view, on=on.isoformat(), timezone=api.account.timezone, staff_ids=member),
        api.get("/api/v1/staff-schedules"),
    )
    clients = await client_names(api, [a["client_id"] for m in calendar["staff"] for a in m["appointments"]])
    first = date.fromisoformat(calendar["start"][:10])
    days = [first + timedelta(days=n) for n in range(1 if view == "day" else 7)]
    step = timedelta(days=1 if view == "day" else 7)
    return await console(
        request,
        api,
        "staff/schedule.html",
        calendar=calendar,
        clients=clients,
        services=await services_by_id(api),
        view=view,
        days=days,
        previous=(first - step).isoformat(),
        following=(first + step).isoformat(),
        member=member,
        members=[m for m in schedules["items"] if m["active"]],
    )


@signed_in("staff")
async def appointment_action(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Complete, no-show or cancel from the schedule (the version guards against a change made meanwhile)."""
    appointment_id, action = request.match_info["appointment_id"], request.match_info["action"]
    form = await request.post()
    paths = {"complete": "complete", "no-show": "no-show", "cancel": "cancel"}
    if action not in paths:
        raise web.HTTPNotFound()
    body: dict[str, Any] = {"version": int(str(form.get("version", "0")) or 0)}
    if action == "cancel":
        body["reason"] = str(form.get("reason", ""))[:500]
    done = {"complete": "Marked completed.", "no-show": "Marked as a no-show.", "cancel": "Cancelled."}
    try:
        await api.send("POST", f"/api/v1/appointments/{appointment_id}/{paths[action]}", body)
        await flash(request, done[action])
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, problem.detail or "That could not be done.")
    back = str(form.get("back", "/schedule"))
    return redirect(request, back if back.startswith(("/schedule", "/clients/")) else "/schedule")


NEW_CLIENT_FIELDS = ("first_name", "last_name", "email", "phone")


async def _new_client_form(api: UserApi) -> dict[str, Any]:
    """The custom fields collected on the staff form, with what the form needs to show them."""
    fields = (await api.get("/api/v1/custom-fields", form="staff"))["items"]
    return {"fields": fields, "input_name": custom_fields.input_name, "input_types": custom_fields.INPUT_TYPES}


@signed_in("staff")
async def new_client_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    context = await _new_client_form(api)
    custom = custom_fields.displayed(context["fields"], {})
    return await console(request, api, "staff/client_new.html", values={}, errors={}, custom=custom, **context)


@signed_in("staff")
async def create_client(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    values = {name: str(form.get(name, "")).strip() for name in NEW_CLIENT_FIELDS}
    context = await _new_client_form(api)
    custom, errors = custom_fields.changes(context["fields"], {}, form)
    if not errors:  # else a number that is not one: nothing is sent
        body: dict[str, Any] = {k: v for k, v in values.items() if v}
        if custom:
            body["custom_fields"] = custom
        try:
            created = await api.send("POST", "/api/v1/clients", body)
        except ApiProblem as problem:
            if problem.status in (403, 404):
                raise
            errors = client_form_errors(problem, NEW_CLIENT_FIELDS)
        else:
            await flash(request, "The client is added.")
            return redirect(request, f"/clients/{created['id']}")
    shown = custom_fields.displayed(context["fields"], {}, form)
    return await console(
        request, api, "staff/client_new.html", status=400, values=values, errors=errors, custom=shown, **context
    )


def client_form_errors(problem: ApiProblem, names: tuple[str, ...]) -> dict[str, str]:
    """A refused client's field errors by the form's input names (custom fields by theirs)."""
    custom, others = custom_fields.split_problems(problem.errors)
    errors = form_errors(others, *names) | custom
    return errors or {"": problem.detail}


@signed_in("staff")
async def export_clients(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The list's clients, filtered as on the page, as the gateway's CSV export."""
    reply = await api.call("GET", "/api/v1/clients/export", params=client_query(request.query) | {"format": "csv"})
    if reply.status >= 400:
        raise ApiProblem.from_body(reply.status, reply.body)
    return web.Response(
        body=reply.raw,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="clients.csv"'},
    )


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/clients/new", new_client_page)
    router.add_post("/clients/new", create_client)
    router.add_get("/clients/export.csv", export_clients)
    router.add_get("/schedule", schedule)
    router.add_post("/appointments/{appointment_id}/{action}", appointment_action)
    router.add_get("/today", today)
    router.add_get("/clients", clients)
    router.add_post("/clients/{client_id}/portal-invitation", invite_to_portal)
    router.add_post("/clients/{client_id}/portal-access", set_portal_access)
    router.add_post("/clients/{client_id}/{action}", client_action)
