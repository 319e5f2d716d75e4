"""The client card (three panes, as the seed draws it) and what is done from it: edit fields, add a note, the
activity pane's tabs (Conversation, Bookings, Payments, Memberships, Documents), upload and download documents.

The page asks the gateway for the card, the requests badge, the portal access and the open tab's data at once;
a tab's data is asked only when that tab is open, so the default page costs four calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from atrium_web import custom_fields
from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, redirect, render, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.memberships import card_memberships
from atrium_web.views.staff import (
    PORTAL_PERMISSIONS,
    client_form_errors,
    console,
    pending_count,
    section,
    services_by_id,
    staff_choices,
)

TABS = {
    "conversation": "Conversation",
    "bookings": "Bookings",
    "payments": "Payments",
    "memberships": "Memberships",
    "documents": "Documents",
}
EDIT_FIELDS = ("first_name", "last_name", "email", "phone")
ADDRESS_PARTS = ("line1", "postal_code", "city")


def client_path(request: web.Request) -> str:
    return f"/api/v1/clients/{request.match_info['client_id']}"


async def _bookings(api: UserApi, path: str) -> dict[str, Any]:
    page, services = await asyncio.gather(api.get(f"{path}/appointments", page_size=50), services_by_id(api))
    return {"items": page["items"], "services": services}


async def _credits(api: UserApi, path: str) -> list[dict[str, Any]] | None:
    """What the client holds of each credit type; None when the role may not read memberships (then the tab
    shows the money alone)."""
    try:
        return list((await api.get(f"{path}/credits"))["balances"])
    except ApiProblem as problem:
        if problem.status == 403:
            return None
        raise


async def _payments(api: UserApi, path: str, client_id: str) -> dict[str, Any]:
    balance, invoices, payments, credits = await asyncio.gather(
        api.get(f"{path}/balance"),
        api.get("/api/v1/invoices", client_id=client_id, page_size=50),
        api.get("/api/v1/payments", client_id=client_id, page_size=50),
        _credits(api, path),
    )
    return {
        "balance": balance["currencies"],
        "invoices": invoices["items"],
        "payments": payments["items"],
        "credits": credits,
    }


async def _documents(api: UserApi, path: str) -> list[dict[str, Any]]:
    return list((await api.get(f"{path}/attachments"))["items"])


async def _no_data() -> None:
    return None


async def _older_activity(api: UserApi, path: str, page_token: str) -> dict[str, Any]:
    return dict(await api.get(f"{path}/activity", page_token=page_token))


def tab_data(api: UserApi, tab: str, path: str, client_id: str, page_token: str = "") -> Awaitable[Any]:
    if tab == "bookings":
        return _bookings(api, path)
    if tab == "payments":
        return _payments(api, path, client_id)
    if tab == "documents":
        return _documents(api, path)
    if tab == "memberships":
        return card_memberships(api, path)
    if page_token:
        return _older_activity(api, path, page_token)
    return _no_data()  # the conversation's newest page is part of the card itself


@signed_in("staff")
async def client_card(request: web.Request, api: UserApi) -> web.StreamResponse:
    client_id, path = request.match_info["client_id"], client_path(request)
    tab = request.query.get("tab", "conversation")
    if tab not in TABS:
        tab = "conversation"
    # The card degrades section by section (the gateway marks them); so do the parts of the page beside it.
    card, pending, portal, opened, fields = await asyncio.gather(
        api.get(f"{path}/card"),
        pending_count(api),
        section(api.get(f"{path}/portal-access")),
        section(tab_data(api, tab, path, client_id, request.query.get("page_token", "")[:500])),
        section(api.get("/api/v1/custom-fields", include_retired="true")),
    )
    return await render(
        request,
        "staff/card.html",
        card=card,
        client=card["information"],
        pending=pending,
        portal=portal,
        portal_permissions=PORTAL_PERMISSIONS,
        tabs=TABS,
        tab=tab,
        opened=opened,
        fields=fields["data"]["items"] if fields["status"] == "ok" else [],
    )


async def _edit_context(api: UserApi, path: str, form: Any = None) -> dict[str, Any]:
    """The edit form's client, statuses, custom fields (those still collecting) and staff to assign; the custom
    values as stored, or as typed when ``form`` is sent back with its errors."""
    client, statuses, fields, staff = await asyncio.gather(
        api.get(path), api.get("/api/v1/client-statuses"), api.get("/api/v1/custom-fields"), staff_choices(api)
    )
    custom = custom_fields.displayed(fields["items"], client["custom_fields"], form)
    assigned = [str(v) for v in form.getall("staff_id", [])] if form is not None else client["assigned_staff_ids"]
    return {
        "client": client,
        "statuses": statuses["items"],
        "fields": fields["items"],
        "custom": custom,
        "staff": staff,
        "assigned": assigned,
        "input_name": custom_fields.input_name,
        "input_types": custom_fields.INPUT_TYPES,
    }


def _form_values(client: dict[str, Any]) -> dict[str, str]:
    profile = client["profile"]
    return (
        {name: client.get(name) or "" for name in EDIT_FIELDS}
        | {"company_name": profile["company_name"]}
        | {f"address_{part}": profile["address"][part] for part in ADDRESS_PARTS}
        | {"status_id": client.get("status_id") or "", "tags": ", ".join(client["tags"])}
    )


@signed_in("staff")
async def edit_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    context = await _edit_context(api, client_path(request))
    values = _form_values(context["client"])
    return await console(request, api, "staff/client_edit.html", values=values, errors={}, **context)


def _tags(text: str) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))


def _changes(current: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The PATCH body: only what the form changed (the gateway replaces the profile whole, so it is sent whole)."""
    was = _form_values(current)
    changes: dict[str, Any] = {name: values[name] for name in EDIT_FIELDS if values[name] != was[name]}
    profile_fields = ("company_name", *(f"address_{part}" for part in ADDRESS_PARTS))
    if any(values[name] != was[name] for name in profile_fields):
        profile = {k: v for k, v in current["profile"].items() if k != "opening_balance"}
        address = profile["address"] | {part: values[f"address_{part}"] for part in ADDRESS_PARTS}
        changes["profile"] = profile | {"company_name": values["company_name"], "address": address}
    return changes


def _edit_errors(problem: ApiProblem) -> dict[str, str]:
    """A refusal's field errors by the form's input names (the profile's at Company)."""
    errors = client_form_errors(problem, (*EDIT_FIELDS, "profile", "status_id", "tags", "staff_ids"))
    if "profile" in errors:
        errors["company_name"] = errors.pop("profile")
    return errors


@signed_in("staff")
async def save_edit(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Details with custom fields, status, tags and assigned staff: one call each, only when that part changed;
    a refused field keeps the form as typed and is named beside its input."""
    path = client_path(request)
    form = await request.post()
    current, fields = await asyncio.gather(api.get(path), api.get("/api/v1/custom-fields"))
    values = {name: str(form.get(name, "")).strip() for name in _form_values(current)}
    changes = _changes(current, values)
    custom, errors = custom_fields.changes(fields["items"], current["custom_fields"], form)
    if custom:
        changes["custom_fields"] = custom
    staff_ids = [str(v) for v in form.getall("staff_id", [])]
    if not errors:  # else a number that is not one: nothing is sent
        try:
            if changes:
                await api.send("PATCH", path, changes)
            if values["status_id"] and values["status_id"] != (current.get("status_id") or ""):
                await api.send("PUT", f"{path}/status", {"status_id": values["status_id"]})
            if _tags(values["tags"]) != current["tags"]:
                await api.send("PUT", f"{path}/tags", {"tags": _tags(values["tags"])})
            if sorted(staff_ids) != sorted(current["assigned_staff_ids"]):
                await api.send("PUT", f"{path}/staff", {"staff_ids": staff_ids})
        except ApiProblem as problem:
            if problem.status in (403, 404):
                raise
            errors = _edit_errors(problem)
        else:
            await flash(request, "The client's details are saved.")
            return redirect(request, f"/clients/{request.match_info['client_id']}")
    context = await _edit_context(api, path, form)
    return await console(request, api, "staff/client_edit.html", status=400, values=values, errors=errors, **context)


@signed_in("staff")
async def add_note(request: web.Request, api: UserApi) -> web.StreamResponse:
    body = str((await request.post()).get("body", "")).strip()
    client_id = request.match_info["client_id"]
    if not body:
        await flash(request, "Write the note first.")
        return redirect(request, f"/clients/{client_id}")
    try:
        await api.send("POST", f"{client_path(request)}/notes", {"body": body})
        await flash(request, "The note is added.")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, "; ".join(problem.errors.values()) or problem.detail or "The note was not added.")
    return redirect(request, f"/clients/{client_id}")


@signed_in("staff")
async def upload_document(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The file goes to the gateway as it was chosen; the client service checks its size and type."""
    client_id = request.match_info["client_id"]
    form = await request.post()
    file = form.get("file")
    back = f"/clients/{client_id}?tab=documents"
    if not isinstance(file, web.FileField) or not file.filename:
        await flash(request, "Choose a file to upload.")
        return redirect(request, back)
    try:
        await api.send(
            "POST",
            f"{client_path(request)}/attachments",
            None,
            data=file.file.read(),
            params={"filename": file.filename, "shared_with_client": str(form.get("shared") == "on").lower()},
            headers={"Content-Type": file.content_type or "application/octet-stream"},
        )
        await flash(request, f"{file.filename} is uploaded.")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        reason = {413: "it is larger than the business allows", 415: "files of this type are not accepted"}
        detail = reason.get(problem.status) or problem.detail or "it could not be stored"
        await flash(request, f"{file.filename} was not uploaded: {detail}.")
    return redirect(request, back)


@signed_in("staff")
async def share_document(request: web.Request, api: UserApi) -> web.StreamResponse:
    client_id, attachment_id = request.match_info["client_id"], request.match_info["attachment_id"]
    shared = (await request.post()).get("shared") == "true"
    await api.send("PATCH", f"{client_path(request)}/attachments/{attachment_id}", {"shared_with_client": shared})
    await flash(request, "The document is shared with the client." if shared else "The document is no longer shared.")
    return redirect(request, f"/clients/{client_id}?tab=documents")


@signed_in("staff")
async def download_document(request: web.Request, api: UserApi) -> web.StreamResponse:
    attachment_id = request.match_info["attachment_id"]
    reply = await api.call("GET", f"{client_path(request)}/attachments/{attachment_id}/content")
    if reply.status >= 400:
        raise ApiProblem.from_body(reply.status, reply.body)
    headers = {"Content-Disposition": reply.headers.get("Content-Disposition", "attachment")}
    return web.Response(body=reply.raw, content_type=reply.content_type or "application/octet-stream", headers=headers)


@signed_in("staff")
async def check_in(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The client attended an appointment: its service's credits are taken (once), as the credit rules say."""
    client_id = request.match_info["client_id"]
    form = await request.post()
    body = {"appointment_id": str(form.get("appointment_id", "")), "service_id": str(form.get("service_id", ""))}
    try:
        await api.send("POST", f"{client_path(request)}/check-ins", body)
        await flash(request, "Checked in.")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, f"Not checked in: {problem.detail or 'the visit could not be recorded'}.")
    return redirect(request, f"/clients/{client_id}?tab=bookings")


def register_card(router: web.UrlDispatcher) -> None:
    """After every fixed ``/clients/...`` page (new, import, duplicates, merge), which the card's path would match."""
    router.add_get("/clients/{client_id}", client_card)


def register(router: web.UrlDispatcher) -> None:
    """Before staff's ``/clients/{client_id}/{action}``, which would take these posts."""
    router.add_get("/clients/{client_id}/edit", edit_page)
    router.add_post("/clients/{client_id}/edit", save_edit)
    router.add_post("/clients/{client_id}/notes", add_note)
    router.add_post("/clients/{client_id}/check-ins", check_in)
    router.add_post("/clients/{client_id}/documents", upload_document)
    router.add_post("/clients/{client_id}/documents/{attachment_id}/share", share_document)
    router.add_get("/clients/{client_id}/documents/{attachment_id}", download_document)
