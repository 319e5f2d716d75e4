"""Memberships in the staff console: the business's memberships (list, define one with its package, price, tax,
invoicing, tolerance and renewal; whether clients may cancel their own in the portal), a client's subscriptions
on the client card's Memberships tab (register one, which issues its invoice; freeze, resume, renew, cancel,
automatic renewal), the printable membership card and an invoice's PDF. Everything through the gateway; a refused
value comes back naming the field."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiohttp import web
from babel.numbers import get_territory_currencies

from atrium_web.downloads import file_from_gateway
from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.settings import FormError, apply, minor_units, whole
from atrium_web.views.staff import console
from platform_core.money import is_currency

MEMBERSHIPS, SETTINGS = "/api/v1/memberships", "/api/v1/membership-settings"
STATUS_LABELS = {
    "active": "Active",
    "frozen": "Frozen",
    "tolerance": "In its grace period",
    "expired": "Expired",
    "cancelled": "Cancelled",
}
# What each status allows, as the billing service's state rules say (it refuses the rest with 409).
ACTIONS = {
    "active": ("freeze", "renew", "cancel"),
    "frozen": ("resume", "cancel"),
    "tolerance": ("renew", "cancel"),
    "expired": ("renew",),
    "cancelled": (),
}


def percent_bp(text: str) -> int:
    """A tax rate typed as a percentage ("19", "7.5") in basis points."""
    try:
        return round(float(text.strip() or "0") * 100)
    except ValueError:
        raise FormError(f"tax rate: {text!r} is not a percentage") from None


def membership_body(form: Any, request: web.Request) -> dict[str, Any]:
    currency = str(form.get("currency", "")).strip().upper()
    if not is_currency(currency):
        raise FormError(f"currency: {currency!r} is not a currency code")
    return {
        "name": str(form.get("name", "")).strip(),
        "package_id": str(form.get("package_id", "")) or None,
        "benefits": str(form.get("benefits", "")).strip(),
        "duration_count": whole(form, "duration_count", 1),
        "duration_unit": "day" if form.get("duration_unit") == "day" else "month",
        "price_minor": minor_units(str(form.get("price", "0")) or "0", currency, request),
        "currency": currency,
        "tax_rate_bp": percent_bp(str(form.get("tax_rate", ""))),
        "invoicing": "draft" if form.get("invoicing") == "draft" else "auto",
        "payment_terms_days": whole(form, "payment_terms_days"),
        "tolerance_days": whole(form, "tolerance_days"),
        "auto_renew": form.get("auto_renew") == "on",
        "expiring_notice_days": whole(form, "expiring_notice_days", 7),
    }


@signed_in("staff")
async def memberships(request: web.Request, api: UserApi) -> web.StreamResponse:
    listed, packages, business, settings = await asyncio.gather(
        api.get(MEMBERSHIPS), api.get("/api/v1/packages"), api.get("/api/v1/business"), api.get(SETTINGS)
    )
    return await console(
        request,
        api,
        "staff/billing/memberships.html",
        items=listed["items"],
        packages={p["id"]: p for p in packages["items"]},
        currency=(get_territory_currencies(business["country"]) or ["EUR"])[0],
        settings=settings,
    )


@signed_in("staff")
async def save_settings(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = (await request.post()).get("clients_may_cancel") == "on"
    done = "Clients may cancel their own memberships in the portal." if allowed else "Only staff cancel memberships."
    return await apply(request, api, "PUT", SETTINGS, {"clients_may_cancel": allowed}, done, "/billing/memberships")


@signed_in("staff")
async def define_membership(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    try:
        body = membership_body(form, request)
    except FormError as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, "/billing/memberships")
    return await apply(request, api, "POST", MEMBERSHIPS, body, f"{body['name']} is defined.", "/billing/memberships")


async def card_memberships(api: UserApi, path: str) -> dict[str, Any]:
    """The Memberships tab's data: the client's subscriptions, what can be registered, credit type names."""
    subscriptions, offered, types = await asyncio.gather(
        api.get(f"{path}/subscriptions"), api.get(MEMBERSHIPS), api.get("/api/v1/credit-types")
    )
    return {
        "subscriptions": subscriptions["items"],
        "memberships": offered["items"],
        "credit_types": {t["id"]: t for t in types["items"]},
        "labels": STATUS_LABELS,
        "actions": ACTIONS,
        "request_key": str(uuid.uuid4()),
    }


@signed_in("staff")
async def register_subscription(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Register the client for a membership; its invoice is issued with it (unless the membership says draft)."""
    client_id = request.match_info["client_id"]
    back = f"/clients/{client_id}?tab=memberships#pane-activity"
    form = await request.post()
    body: dict[str, Any] = {"membership_id": str(form.get("membership_id", ""))}
    if form.get("starts_on"):
        body["starts_on"] = str(form["starts_on"])
    # One key per opened form: a second press of the button registers nothing more.
    key = str(form.get("request_key", "")) or str(uuid.uuid4())
    try:
        registered = await api.send(
            "POST", f"/api/v1/clients/{client_id}/subscriptions", body, headers={"Idempotency-Key": key}
        )
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        named = "; ".join(f"{f.replace('_', ' ')}: {m}" if f else m for f, m in problem.errors.items())
        await flash(request, f"Not registered: {named or problem.detail}.")
        return redirect(request, back)
    invoiced = " Its invoice is issued." if registered["invoice_id"] else ""
    await flash(request, f"Registered for {registered['membership_name']}.{invoiced}")
    return redirect(request, back)


def action_body(action: str, form: Any) -> dict[str, Any]:
    reason = str(form.get("reason", "")).strip()[:500]
    if action == "freeze":
        body: dict[str, Any] = {"reason": reason}
        if form.get("until"):
            body["until"] = str(form["until"])
        else:
            body["days"] = whole(form, "days", 0) or None
        return body
    if action == "cancel":
        return {"reason": reason}
    return {}


DONE = {
    "freeze": "The membership is frozen.",
    "resume": "The membership is resumed.",
    "renew": "The membership is renewed.",
    "cancel": "The membership is cancelled.",
}


@signed_in("staff")
async def subscription_action(request: web.Request, api: UserApi) -> web.StreamResponse:
    client_id, subscription_id = request.match_info["client_id"], request.match_info["subscription_id"]
    action = request.match_info["action"]
    back = f"/clients/{client_id}?tab=memberships#pane-activity"
    path = f"/api/v1/subscriptions/{subscription_id}"
    form = await request.post()
    if action == "auto-renew":
        on = form.get("auto_renew") == "true"
        done = "It renews automatically now." if on else "It no longer renews by itself."
        return await apply(request, api, "PUT", f"{path}/auto-renew", {"auto_renew": on}, done, back)
    if action not in DONE:
        raise web.HTTPNotFound()
    try:
        body = action_body(action, form)
    except FormError as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, back)
    return await apply(request, api, "POST", f"{path}/{action}", body, DONE[action], back)


@signed_in("staff")
async def membership_card_pdf(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await file_from_gateway(api, f"/api/v1/clients/{request.match_info['client_id']}/membership-card/pdf")


@signed_in("staff")
async def invoice_pdf(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await file_from_gateway(api, f"/api/v1/invoices/{request.match_info['invoice_id']}/pdf")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/billing/memberships", memberships)
    router.add_post("/billing/memberships", define_membership)
    router.add_post("/billing/memberships/settings", save_settings)
    router.add_get("/billing/invoices/{invoice_id}/pdf", invoice_pdf)
    router.add_post("/clients/{client_id}/subscriptions", register_subscription)
    router.add_post("/clients/{client_id}/subscriptions/{subscription_id}/{action}", subscription_action)
    router.add_get("/clients/{client_id}/membership-card.pdf", membership_card_pdf)
