"""The client's membership in the portal: the check-in card (its QR code carries the card token the desk
scans) and, where the business shows billing in the portal, the credits held with what expires when.
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
                    "remaining": amount(fmt, lot["remaining"], b["credit_type"]),
                    "expires_at": lot["expires_at"],
                    "starts_at": lot["starts_at"],
                }
                for lot in b["lots"]
            ],
        }
        for b in balances
    ]


def qr_code(token: str) -> str:
    """The card's QR code as an SVG data URI (the page's CSP allows data: images, no inline markup)."""
    return str(segno.make(token, error="m").svg_data_uri(scale=4, border=4, dark="#000", light="#fff"))


@signed_in("portal")
async def membership(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await permissions(api)
    card = await api.get("/api/v1/portal/membership-card")
    credits = None
    credits_unavailable = False
    if allowed["view_invoices"]:
        # The card needs no backend; while billing does not answer, the card still shows.
        try:
            balances = (await api.get("/api/v1/portal/credits"))["balances"]
            credits = holdings(formatter(request, api.account), balances)
        except GatewayUnavailable:
            credits, credits_unavailable = [], True
    return await page(
        request,
        api,
        "portal/membership.html",
        permissions=allowed,
        qr=qr_code(card["token"]),
        credits=credits,
        credits_unavailable=credits_unavailable,
    )


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/portal/membership", membership)
