"""The client's own account in the portal: the notifications inbox, the profile (editable where the business
allows it), communication preferences per category and channel, shared documents, and download my data.

What the business's permissions hide (documents, invoices) is absent from the page and the download too.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from atrium_web import custom_fields
from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, form_errors, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.portal import hidden, page, permissions

INBOX = "/api/v1/portal/notifications"
PREFERENCES = "/api/v1/portal/notification-preferences"
# The optional categories a client may switch off, per channel (transactional messages always go out).
CATEGORIES = {"reminders": "Appointment reminders", "marketing": "News and offers"}
CHANNELS = {"email": "Email", "sms": "Text message (SMS)", "in_app": "In the portal"}
PROFILE_FIELDS = ("first_name", "last_name", "email", "phone")
# Where a notice's subject is seen in the portal, by the start of its kind, and the permission that shows it.
NOTICE_PAGES = (
    ("request.", "/portal/requests", "view_appointments"),
    ("waitlist.", "/portal/waitlist", "view_appointments"),
    ("appointment.", "/portal/appointments", "view_appointments"),
    ("invoice.", "/portal/invoices", "view_invoices"),
    ("payment.", "/portal/invoices", "view_invoices"),
    ("billing.invoice", "/portal/invoices", "view_invoices"),
    ("billing.payment", "/portal/invoices", "view_invoices"),
    ("billing.", "/portal/membership", ""),
)
# What a document download keeps of the gateway's answer (this site's own security headers are added).
DOWNLOAD_HEADERS = ("Content-Type", "Content-Disposition", "ETag")


def notice_page(kind: str, allowed: dict[str, bool]) -> str | None:
    """The portal page a notice is about, if the client may open it."""
    for prefix, path, permission in NOTICE_PAGES:
        if kind.startswith(prefix):
            return path if not permission or allowed.get(permission) else None
    return None


@signed_in("portal")
async def notifications(request: web.Request, api: UserApi) -> web.StreamResponse:
    unread_only = request.query.get("show") == "unread"
    found = await api.get(
        INBOX, unread_only="true" if unread_only else "", page_token=request.query.get("page_token", "")
    )
    allowed = await permissions(api)
    return await page(
        request,
        api,
        "portal/notifications.html",
        permissions=allowed,
        page=found,
        links={item["id"]: notice_page(item["kind"], allowed) for item in found["items"]},
        unread_only=unread_only,
        unread=found["unread_count"],
    )


@signed_in("portal")
async def mark_read(request: web.Request, api: UserApi) -> web.StreamResponse:
    await api.send("POST", f"{INBOX}/{request.match_info['notification_id']}/read")
    return redirect(request, "/portal/notifications")


@signed_in("portal")
async def mark_all_read(request: web.Request, api: UserApi) -> web.StreamResponse:
    marked = (await api.send("POST", f"{INBOX}/read-all"))["marked"]
    await flash(request, f"{marked} notification{'s' if marked != 1 else ''} marked as read.")
    return redirect(request, "/portal/notifications")


async def _profile_fields(api: UserApi) -> list[dict[str, Any]]:
    """The business's custom fields on the portal profile form (retired ones collect nothing)."""
    found = await api.get("/api/v1/portal/custom-fields", form="portal_profile")
    return [f for f in found["items"] if not f["retired"]]


async def _profile_page(
    request: web.Request,
    api: UserApi,
    *,
    errors: dict[str, str] | None = None,
    values: Any = None,
    status: int = 200,
) -> web.StreamResponse:
    me = await api.get("/api/v1/portal/me")
    allowed = await permissions(api)
    fields = await _profile_fields(api)
    shown = {name: str(values.get(name, "")) if values is not None else (me[name] or "") for name in PROFILE_FIELDS}
    custom = custom_fields.displayed(fields, me["custom_fields"], values)
    return await page(
        request,
        api,
        "portal/profile.html",
        status=status,
        permissions=allowed,
        me=me,
        values=shown,
        fields=fields,
        custom=custom,
        input_name=custom_fields.input_name,
        input_types=custom_fields.INPUT_TYPES,
        errors=errors or {},
    )


@signed_in("portal")
async def profile(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await _profile_page(request, api)


@signed_in("portal")
async def update_profile(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Only what changed is sent; the gateway refuses it unless the business lets clients edit (403)."""
    form = await request.post()
    me = await api.get("/api/v1/portal/me")
    changed: dict[str, Any] = {
        name: str(form.get(name, "")).strip()
        for name in PROFILE_FIELDS
        if str(form.get(name, "")).strip() != (me[name] or "")
    }
    custom, errors = custom_fields.changes(await _profile_fields(api), me["custom_fields"], form)
    if custom:
        changed["custom_fields"] = custom
    errors |= {name: "Enter your name." for name in ("first_name", "last_name") if changed.get(name) == ""}
    if not errors and not changed:
        await flash(request, "Nothing changed.")
        return redirect(request, "/portal/profile")
    if not errors:
        try:
            await api.send("PATCH", "/api/v1/portal/me", changed)
            await flash(request, "Your details are saved.")
            return redirect(request, "/portal/profile")
        except ApiProblem as problem:
            if problem.status in (403, 404):
                raise
            custom_problems, others = custom_fields.split_problems(problem.errors)
            errors = form_errors(others, *PROFILE_FIELDS) | custom_problems
            errors = errors or {"": problem.detail}
    return await _profile_page(request, api, errors=errors, values=form, status=400)


def preference_rows(current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    allowed = {(p["category"], p["channel"]): bool(p["allowed"]) for p in current}
    return [
        {
            "category": category,
            "label": label,
            "channels": [
                {"channel": channel, "label": channel_label, "allowed": allowed.get((category, channel), True)}
                for channel, channel_label in CHANNELS.items()
            ],
        }
        for category, label in CATEGORIES.items()
    ]


@signed_in("portal")
async def preferences(request: web.Request, api: UserApi) -> web.StreamResponse:
    current = (await api.get(PREFERENCES))["preferences"]
    return await page(request, api, "portal/preferences.html", rows=preference_rows(current))


@signed_in("portal")
async def save_preferences(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Every switch is sent (an unticked checkbox is absent from the form, so absence means off)."""
    form = await request.post()
    chosen = [
        {"category": category, "channel": channel, "allowed": form.get(f"{category}.{channel}") == "on"}
        for category in CATEGORIES
        for channel in CHANNELS
    ]
    await api.send("PUT", PREFERENCES, {"preferences": chosen})
    await flash(request, "Your communication preferences are saved.")
    return redirect(request, "/portal/preferences")


@signed_in("portal")
async def documents(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await permissions(api)
    if not allowed["view_documents"]:
        return await hidden(request, api, "documents", allowed)
    items = (await api.get("/api/v1/portal/attachments"))["items"]
    return await page(request, api, "portal/documents.html", permissions=allowed, items=items)


@signed_in("portal")
async def download_document(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The file as the gateway serves it: its type, name and sandboxing headers."""
    reply = await api.call("GET", f"/api/v1/portal/attachments/{request.match_info['attachment_id']}/content")
    if reply.status >= 400:
        raise ApiProblem.from_body(reply.status, reply.body)
    kept = {name: reply.headers[name] for name in DOWNLOAD_HEADERS if name in reply.headers}
    return web.Response(body=reply.raw, headers=kept)


async def _all_pages(api: UserApi, path: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
    token = ""
    while True:
        found = await api.get(path, page_token=token, page_size=200, **params)
        for item in found["items"]:
            yield item
        token = found.get("next_page_token") or ""
        if not token:
            return


@signed_in("portal")
async def download_my_data(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Everything the portal shows about the client, as one JSON document (what the business hides from the
    portal is not in it)."""
    allowed = await permissions(api)
    data: dict[str, Any] = {
        "format": "atrium.portal-export.v1",
        "exported_at": datetime.now(UTC).isoformat(),
        "business": api.account.tenant_name,
        "profile": await api.get("/api/v1/portal/me"),
        "permissions": allowed,
        "communication_preferences": (await api.get(PREFERENCES))["preferences"],
        "notifications": [n async for n in _all_pages(api, INBOX)],
    }
    if allowed["view_appointments"]:
        data["appointments"] = [a async for a in _all_pages(api, "/api/v1/portal/appointments")]
        data["appointment_requests"] = [r async for r in _all_pages(api, "/api/v1/portal/appointment-requests")]
        data["waitlist"] = (await api.get("/api/v1/portal/waitlist"))["items"]
    if allowed["view_invoices"]:
        data["invoices"] = [i async for i in _all_pages(api, "/api/v1/portal/invoices")]
        data["credits"] = (await api.get("/api/v1/portal/credits"))["balances"]
    if allowed["view_documents"]:
        data["documents"] = (await api.get("/api/v1/portal/attachments"))["items"]
    day = datetime.now(UTC).date().isoformat()
    return web.Response(
        text=json.dumps(data, indent=2, ensure_ascii=False),
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="my-data-{day}.json"'},
    )


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/portal/notifications", notifications)
    router.add_post("/portal/notifications/read-all", mark_all_read)
    router.add_post("/portal/notifications/{notification_id}/read", mark_read)
    router.add_get("/portal/profile", profile)
    router.add_post("/portal/profile", update_profile)
    router.add_get("/portal/preferences", preferences)
    router.add_post("/portal/preferences", save_preferences)
    router.add_get("/portal/documents", documents)
    router.add_get("/portal/documents/{attachment_id}", download_document)
    router.add_get("/portal/my-data.json", download_my_data)
