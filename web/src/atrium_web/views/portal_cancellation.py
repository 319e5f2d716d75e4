"""Cancelling an appointment in the portal: before the client confirms, the page says what cancelling now would
cost under the business's policy (free until when, a fee, or credits kept) and what not coming would, service by
service, in the client's zone and money by locale. The gateway applies the same terms when it cancels."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from atrium_web.formatting import Formatter
from atrium_web.gateway_api import GatewayUnavailable
from atrium_web.pages import formatter, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.portal import hidden, page, permissions, services_by_id
from atrium_web.views.portal_membership import SOME_CREDIT, amount


def cost_in_words(fmt: Formatter, cost: dict[str, Any], credit_types: dict[str, dict[str, Any]]) -> str:
    """What an outcome costs the client: "free of charge", a fee, credits the business keeps, or both."""
    parts = []
    if cost.get("fee") and cost["fee"]["amount_minor"]:
        parts.append(f"a fee of {fmt.money(cost['fee'])}")
    forfeit = cost.get("forfeit")
    if forfeit and forfeit["units"]:
        credit_type = credit_types.get(forfeit["credit_type_id"], SOME_CREDIT)
        kept = amount(fmt, forfeit["units"], credit_type)
        parts.append(f"{kept} of {credit_type['name']} kept" if credit_type["name"] else f"{kept} kept")
    return " and ".join(parts) if parts else "free of charge"


def sentence(words: str) -> str:
    return words[:1].upper() + words[1:]


def terms_shown(
    fmt: Formatter,
    terms: dict[str, Any],
    services: dict[str, dict[str, Any]],
    credit_types: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The terms as the page says them: until when cancelling is free, and each service's costs in words."""
    at = dt.datetime.fromisoformat(terms["at"])
    free_until = terms["free_until"]
    return {
        # Null: cancelling is always free; in the past: the free period is over.
        "free_until": free_until,
        "free_now": free_until is None or dt.datetime.fromisoformat(free_until) > at,
        "services": [
            {
                "name": services.get(s["service_id"], {}).get("name", "Service"),
                "cancel_now": sentence(cost_in_words(fmt, s["cancel_now"], credit_types)),
                "no_show": sentence(cost_in_words(fmt, s["no_show"], credit_types)),
                "free_until": s["free_until"],
            }
            for s in terms["services"]
        ],
    }


@signed_in("portal")
async def confirm_cancel(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await permissions(api)
    if not allowed["view_appointments"]:
        return await hidden(request, api, "appointments", allowed)
    appointment_id = request.match_info["appointment_id"]
    appointment = await api.get(f"/api/v1/portal/appointments/{appointment_id}")
    services = await services_by_id(api)
    terms = None
    if appointment["status"] == "booked":
        # Without the terms the client may still cancel (the gateway applies them); the page says they are
        # not known rather than calling it free.
        try:
            credit_types = {}
            if allowed["view_invoices"]:
                balances = (await api.get("/api/v1/portal/credits"))["balances"]
                credit_types = {b["credit_type"]["id"]: b["credit_type"] for b in balances}
            quoted = await api.get(f"/api/v1/portal/appointments/{appointment_id}/cancellation-terms")
            terms = terms_shown(formatter(request, api.account), quoted, services, credit_types)
        except GatewayUnavailable:
            terms = None
    return await page(
        request,
        api,
        "portal/cancel.html",
        permissions=allowed,
        appointment=appointment,
        services=services,
        terms=terms,
    )


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/portal/appointments/{appointment_id}/cancel", confirm_cancel)
