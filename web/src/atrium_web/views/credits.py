"""Credits and packages in the staff console: the business's credit types (sessions, minutes, points, money on
account), packages (credit allocations with a validity, a price and how they are invoiced) and loyalty program
(points per amount paid and per visit, their validity, what they buy), and for one
client what they hold of each type, checking them in, selling them a package, charging credits by hand and
redeeming their points, and their history (every charge, use, expiry and give-back; a use given back).
Everything through the gateway's ledger API; a refused value comes back naming the field, and nothing changes."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiohttp import web
from babel.numbers import get_territory_currencies

from atrium_web.pages import flash, formatter, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.memberships import percent_bp
from atrium_web.views.settings import FormError, amount_text, apply, minor_units, whole
from atrium_web.views.staff import console
from platform_core.money import is_currency

TYPES, PACKAGES, LOYALTY = "/api/v1/credit-types", "/api/v1/packages", "/api/v1/loyalty-program"
PAGE, CLIENT_PAGE = "/billing/credits", "/billing/credits/client"
ALLOCATION_ROWS = 3


def _currency(form: Any, name: str = "currency") -> str:
    currency = str(form.get(name, "")).strip().upper()
    if not is_currency(currency):
        raise FormError(f"{name}: give an ISO 4217 code such as EUR")
    return currency


def credit_type_body(form: Any) -> dict[str, Any]:
    """A unit ("session", "minute", "point"), or money on account in a currency (its amounts in minor units)."""
    body = {"name": str(form.get("name", "")).strip()}
    if form.get("money") == "on":
        return body | {"currency": _currency(form)}
    return body | {"unit": str(form.get("unit", "")).strip()}


def package_body(form: Any, request: web.Request, types: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the package gives (a row per credit type with an amount; a money type's amount typed as money)."""
    allocations = []
    for row in range(ALLOCATION_ROWS):
        type_id, amount = str(form.get(f"type-{row}", "")), str(form.get(f"amount-{row}", "")).strip()
        if not type_id and not amount:
            continue
        kind = types.get(type_id)
        if kind is None:
            raise FormError(f"credits {row + 1}: choose a credit type")
        if kind["currency"]:
            value = minor_units(amount, kind["currency"], request)
        else:
            value = whole(form, f"amount-{row}")
        allocations.append({"credit_type_id": type_id, "amount": value})
    if not allocations:
        raise FormError("credits: give at least one credit type and amount")
    currency = _currency(form)
    validity = whole(form, "validity_days")
    return {
        "name": str(form.get("name", "")).strip(),
        "allocations": allocations,
        "validity_days": validity or None,
        "price_minor": minor_units(str(form.get("price", "0")), currency, request),
        "currency": currency,
        "tax_rate_bp": percent_bp(str(form.get("tax_rate", ""))),
        "invoicing": "draft" if form.get("invoicing") == "draft" else "auto",
        "payment_terms_days": whole(form, "payment_terms_days"),
    }


KINDS = {"charge": "Charged", "use": "Used", "expire": "Expired", "reverse": "Given back"}


def client_change_by_type(transaction: dict[str, Any]) -> dict[str, int]:
    """What a ledger transaction did to the client's holding, per credit type (+ reached it, - left it)."""
    change: dict[str, int] = {}
    for entry in transaction["entries"]:
        if entry["account"] == "client":
            change[entry["credit_type_id"]] = change.get(entry["credit_type_id"], 0) + entry["amount"]
    return change


async def _types(api: UserApi) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in (await api.get(TYPES))["items"]}


@signed_in("staff")
async def credits_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    types, packages, business, loyalty = await asyncio.gather(
        _types(api), api.get(PACKAGES), api.get("/api/v1/business"), api.get(LOYALTY)
    )
    return await console(
        request,
        api,
        "staff/billing/credits.html",
        types=types,
        packages=packages["items"],
        currency=(get_territory_currencies(business["country"]) or ["EUR"])[0],
        rows=range(ALLOCATION_ROWS),
        loyalty=loyalty,
        step_text=amount_text(
            formatter(request, api.account), {"amount_minor": loyalty["step_minor"], "currency": loyalty["currency"]}
        )
        if loyalty["currency"]
        else "",
    )


def loyalty_body(form: Any, request: web.Request) -> dict[str, Any]:
    """Points per whole step paid (in a currency) and per visit, how long they last, and what they buy."""
    step = str(form.get("step", "")).strip()
    body: dict[str, Any] = {
        "points_credit_type_id": str(form.get("points_credit_type_id", "")),
        "points_per_step": whole(form, "points_per_step"),
        "points_per_visit": whole(form, "points_per_visit"),
        "validity_days": whole(form, "validity_days") or None,
        "reward_credit_type_id": str(form.get("reward_credit_type_id", "")) or None,
        "points_per_reward_unit": whole(form, "points_per_reward_unit"),
    }
    if step:
        currency = _currency(form)
        body |= {"currency": currency, "step_minor": minor_units(step, currency, request)}
    return body


@signed_in("staff")
async def save_loyalty(request: web.Request, api: UserApi) -> web.StreamResponse:
    try:
        body = loyalty_body(await request.post(), request)
    except FormError as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, PAGE)
    return await apply(request, api, "PUT", LOYALTY, body, "The loyalty program is saved.", PAGE)


@signed_in("staff")
async def define_type(request: web.Request, api: UserApi) -> web.StreamResponse:
    try:
        body = credit_type_body(await request.post())
    except FormError as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, PAGE)
    return await apply(request, api, "POST", TYPES, body, f"{body['name']} is defined.", PAGE)


@signed_in("staff")
async def define_package(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    try:
        body = package_body(form, request, await _types(api))
    except FormError as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, PAGE)
    return await apply(request, api, "POST", PACKAGES, body, f"{body['name']} is defined.", PAGE)


@signed_in("staff")
async def client_credits(request: web.Request, api: UserApi) -> web.StreamResponse:
    """One client's credits (what they hold, lot by lot, with expiries), a package to sell, credits to charge."""
    client_id, q = request.query.get("client_id", ""), request.query.get("q", "").strip()
    client = dict(await api.get(f"/api/v1/clients/{client_id}")) if client_id else None
    candidates = (await api.get("/api/v1/clients", q=q, page_size=10))["items"] if q and not client else []
    types, packages, services, loyalty = await asyncio.gather(
        _types(api), api.get(PACKAGES), api.get("/api/v1/services"), api.get(LOYALTY)
    )
    held, history = (
        await asyncio.gather(
            api.get(f"/api/v1/clients/{client_id}/credits"),
            api.get(f"/api/v1/clients/{client_id}/credits/transactions", page_size=50),
        )
        if client
        else (None, None)
    )
    reversed_ids = {t["reverses_id"] for t in history["items"] if t["reverses_id"]} if history else set()
    return await console(
        request,
        api,
        "staff/billing/client_credits.html",
        client=client,
        candidates=candidates,
        q=q,
        types=types,
        packages=packages["items"],
        services=[s for s in services["items"] if not s["archived"]],
        loyalty=loyalty,
        held=held,
        history=[
            t | {"change": client_change_by_type(t), "reversible": t["kind"] == "use" and t["id"] not in reversed_ids}
            for t in (history["items"] if history else [])
        ],
        kinds=KINDS,
        # Made when the form is shown and sent as the Idempotency-Key: a double submit sells or charges once.
        submission=str(uuid.uuid4()),
    )


def charge_body(form: Any, request: web.Request, types: dict[str, dict[str, Any]]) -> dict[str, Any]:
    kind = types.get(str(form.get("credit_type_id", "")))
    if kind is None:
        raise FormError("credit type: choose one")
    amount = str(form.get("amount", "")).strip()
    body: dict[str, Any] = {
        "credit_type_id": kind["id"],
        "amount": minor_units(amount, kind["currency"], request) if kind["currency"] else whole(form, "amount"),
        "note": str(form.get("note", "")).strip(),
    }
    for name in ("starts_on", "expires_on"):
        if form.get(name):
            body[name] = str(form.get(name))
    return body


async def _client_change(
    request: web.Request, api: UserApi, path: str, body: dict[str, Any], done: str, key: str
) -> web.StreamResponse:
    client_id = request.match_info["client_id"]
    back = f"{CLIENT_PAGE}?client_id={client_id}"
    return await apply(request, api, "POST", f"/api/v1/clients/{client_id}/{path}", body, done, back, key=key)


@signed_in("staff")
async def charge(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    try:
        body = charge_body(form, request, await _types(api))
    except FormError as error:
        await flash(request, f"Not charged: {error}.")
        return redirect(request, f"{CLIENT_PAGE}?client_id={request.match_info['client_id']}")
    key = str(form.get("submission", ""))
    return await _client_change(request, api, "credits/charges", body, "The credits are charged.", key)


@signed_in("staff")
async def sell_package(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    body: dict[str, Any] = {"package_id": str(form.get("package_id", ""))}
    if form.get("first_day"):
        body["first_day"] = str(form.get("first_day"))
    key = str(form.get("submission", ""))
    return await _client_change(request, api, "package-sales", body, "The package is sold.", key)


@signed_in("staff")
async def redeem_points(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Points spent on the loyalty program's reward (a multiple of its points per unit; the API checks)."""
    form = await request.post()
    try:
        body = {"points": whole(form, "points")}
    except FormError as error:
        await flash(request, f"Not redeemed: {error}.")
        return redirect(request, f"{CLIENT_PAGE}?client_id={request.match_info['client_id']}")
    key = str(form.get("submission", ""))
    return await _client_change(request, api, "points/redemptions", body, "The points are redeemed.", key)


@signed_in("staff")
async def reverse(request: web.Request, api: UserApi) -> web.StreamResponse:
    """A use given back to the credits it took from (once; the API refuses a second time with 409)."""
    client_id, transaction_id = request.match_info["client_id"], request.match_info["transaction_id"]
    note = str((await request.post()).get("note", "")).strip()
    path = f"/api/v1/credit-transactions/{transaction_id}/reverse"
    done, back = "The use is given back.", f"{CLIENT_PAGE}?client_id={client_id}"
    return await apply(request, api, "POST", path, {"note": note}, done, back)


def register(router: web.UrlDispatcher) -> None:
    router.add_get(PAGE, credits_page)
    router.add_post(f"{PAGE}/types", define_type)
    router.add_post(f"{PAGE}/packages", define_package)
    router.add_post(f"{PAGE}/loyalty", save_loyalty)
    router.add_get(CLIENT_PAGE, client_credits)
    router.add_post("/billing/credits/clients/{client_id}/charges", charge)
    router.add_post("/billing/credits/clients/{client_id}/sales", sell_package)
    router.add_post("/billing/credits/clients/{client_id}/redemptions", redeem_points)
    router.add_post("/billing/credits/clients/{client_id}/transactions/{transaction_id}/reverse", reverse)
