"""The client's membership in the portal: the check-in card (its QR code carries the card token the desk
scans, also printable as PDF) and, where the business shows billing in the portal, the memberships with their
status and expiry and what is left of the credits each gave, and the credits held with what expires when.
"""

from __future__ import annotations

from typing import Any

import segno
from aiohttp import web

from atrium_web.formatting import Formatter
from atrium_web.gateway_api import GatewayUnavailable
from atrium_web.pages import formatter, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.portal import page, permissions


def amount(fmt: Formatter, value: int, credit_type: dict[str, Any]) -> str:
    """Units of a credit type in words: money on account by its currency, else a count of its unit."""
    if credit_type.get("currency"):
        return fmt.money({"amount_minor": value, "currency": credit_type["currency"]})
    unit = str(credit_type["unit"])
    return f"{fmt.number(value)} {unit if abs(value) == 1 else unit + 's'}"


def holdings(fmt: Formatter, balances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": b["credit_type"]["name"],
            "balance": amount(fmt, b["balance"], b["credit_type"]),
            "lots": [
                {
                    "id": lot["id"],
                    "remaining": amount(fmt, lot["remaining"], b["credit_type"]),
                    "expires_at": lot["expires_at"],
                    "starts_at": lot["starts_at"],
                }
                for lot in b["lots"]
            ],
        }
        for b in balances
    ]


# A lot's credit type when the client holds none of that type any more (its name is then not known here).
SOME_CREDIT = {"name": "", "unit": "credit", "currency": None}
STATUS_LABELS = {
    "active": "Active",
    "frozen": "Frozen",
    "tolerance": "Expired, in its grace period",
    "expired": "Expired",
    "cancelled": "Cancelled",
}


def memberships_shown(
    fmt: Formatter, subscriptions: list[dict[str, Any]], credit_types: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each subscription as the page says it: its status in words, its days and its credits in their units."""
    shown = []
    for s in subscriptions:
        lots = []
        for lot in s["credits"]:
            credit_type = credit_types.get(lot["credit_type_id"], SOME_CREDIT)
            lots.append(
                {
                    "id": lot["id"],
                    "name": credit_type["name"],
                    "remaining": amount(fmt, lot["remaining"], credit_type),
                    "given": amount(fmt, lot["amount"], credit_type),
                    "expires_at": lot["expires_at"],
                    "holds": lot["remaining"] > 0,
                }
            )
        shown.append(
            s
            | {
                "status_label": STATUS_LABELS[s["status"]],
                "grace": s["tolerance_until"] if s["tolerance_until"] != s["expires_on"] else None,
                "lots": lots,
            }
        )
    return shown


def qr_code(token: str) -> str:
    """The card's QR code as an SVG data URI (the page's CSP allows data: images, no inline markup)."""
    return str(segno.make(token, error="m").svg_data_uri(scale=4, border=4, dark="#000", light="#fff"))


@signed_in("portal")
async def membership(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await permissions(api)
    card = await api.get("/api/v1/portal/membership-card")
    credits = memberships = None
    credits_unavailable = False
    if allowed["view_invoices"]:
        # The card needs no backend; while billing does not answer, the card still shows.
        fmt = formatter(request, api.account)
        try:
            balances = (await api.get("/api/v1/portal/credits"))["balances"]
            subscriptions = (await api.get("/api/v1/portal/memberships"))["items"]
            credits = holdings(fmt, balances)
            memberships = memberships_shown(
                fmt, subscriptions, {b["credit_type"]["id"]: b["credit_type"] for b in balances}
            )
        except GatewayUnavailable:
            credits, memberships, credits_unavailable = [], [], True
    return await page(
        request,
        api,
        "portal/membership.html",
        permissions=allowed,
        qr=qr_code(card["token"]),
        credits=credits,
        memberships=memberships,
        credits_unavailable=credits_unavailable,
    )


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/portal/membership", membership)
