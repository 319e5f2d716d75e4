"""The check-in desk in the staff console: a client's membership card is scanned (a scanner types the QR code's
token into the field and presses Enter) or the client is chosen, optionally with the visit's service, whose
credits the visit then takes. The page says who was checked in and what was used, or why not (an unknown card,
nothing left that pays for the service)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from atrium_web.formatting import Formatter
from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, formatter, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.credits import client_change_by_type
from atrium_web.views.staff import client_names, console

PAGE = "/billing/check-in"


def used_in_words(fmt: Formatter, check_in: dict[str, Any], types: dict[str, dict[str, Any]]) -> str:
    """What the visit took from the client by credit type ("used 1 session of Massage 60"), or that it took
    nothing (no service given, or nothing pays for it)."""
    transaction = check_in.get("transaction")
    parts = []
    for type_id, change in (client_change_by_type(transaction) if transaction else {}).items():
        amount = -change
        kind = types.get(type_id, {"name": "credits", "unit": "", "currency": None})
        if kind["currency"]:
            parts.append(f"{fmt.money({'amount_minor': amount, 'currency': kind['currency']})} of {kind['name']}")
        else:
            parts.append(f"{fmt.number(amount)} {kind['unit'] or 'unit'} of {kind['name']}")
    return "used " + ", ".join(parts) if parts else "nothing was used"


@signed_in("staff")
async def desk(request: web.Request, api: UserApi) -> web.StreamResponse:
    services = await api.get("/api/v1/services")
    return await console(
        request,
        api,
        "staff/billing/check_in.html",
        services=[s for s in services["items"] if not s["archived"]],
        chosen_service=request.query.get("service_id", ""),
    )


async def _checked_in(request: web.Request, api: UserApi, path: str, body: dict[str, Any]) -> str:
    """Check in; the sentence that says what happened."""
    try:
        done, types = await asyncio.gather(api.send("POST", path, body), api.get("/api/v1/credit-types"))
    except ApiProblem as problem:
        if problem.status == 403:
            raise
        named = "; ".join(f"{f.replace('_', ' ')}: {m}" if f else m for f, m in problem.errors.items())
        return f"Not checked in: {named or problem.detail or 'the card is not known'}."
    name = (await client_names(api, [done["client_id"]])).get(done["client_id"])
    who = f"{name['first_name']} {name['last_name']}".strip() if name else "The client"
    used = used_in_words(formatter(request, api.account), done, {t["id"]: t for t in types["items"]})
    return f"{who} is checked in; {used}."


@signed_in("staff")
async def check_in_card(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    service_id = str(form.get("service_id", ""))
    body: dict[str, Any] = {"token": str(form.get("token", "")).strip()}
    if service_id:
        body["service_id"] = service_id
    await flash(request, await _checked_in(request, api, "/api/v1/check-ins/card", body))
    # The desk stays on the same service for the next card.
    return redirect(request, f"{PAGE}?service_id={service_id}" if service_id else PAGE)


@signed_in("staff")
async def check_in_client(request: web.Request, api: UserApi) -> web.StreamResponse:
    client_id = request.match_info["client_id"]
    form = await request.post()
    body: dict[str, Any] = {"note": str(form.get("note", "")).strip()}
    if form.get("service_id"):
        body["service_id"] = str(form.get("service_id"))
    await flash(request, await _checked_in(request, api, f"/api/v1/clients/{client_id}/check-ins", body))
    return redirect(request, f"/billing/credits/client?client_id={client_id}")


def register(router: web.UrlDispatcher) -> None:
    router.add_get(PAGE, desk)
    router.add_post(PAGE, check_in_card)
    router.add_post("/billing/credits/clients/{client_id}/check-ins", check_in_client)
