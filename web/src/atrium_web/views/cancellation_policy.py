"""The cancellation and no-show policy in the staff console's settings: windows before an appointment (a
cancellation later than so many hours, or days on the appointment's wall clock, costs a fee or forfeits its
credits), what a no-show costs, the repeat-offender rule that blocks online booking for a while, and whether
staff cancellations are charged too. Saved whole (the API replaces it) or removed; services' overrides listed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from babel.numbers import get_territory_currencies

from atrium_web.formatting import Formatter
from atrium_web.pages import flash, formatter, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.settings import FormError, amount_text, apply, minor_units, whole
from atrium_web.views.staff import console, services_by_id
from platform_core.money import is_currency

POLICY, PAGE = "/api/v1/cancellation-policy", "/settings/cancellation-policy"
WINDOW_ROWS = 4
OUTCOMES = {"free": "Free", "fee": "A fee", "forfeit": "Credits kept"}
REPEAT_FIELDS = ("no_shows", "period_days", "block_days")


def outcome_from(form: Any, prefix: str, currency: str, request: web.Request) -> dict[str, Any]:
    """An outcome as the API takes it: free; credits kept (a percent of the visit's); a fee, a fixed amount when
    one is given, else a percent of the price."""
    kind = str(form.get(f"{prefix}kind", "free"))
    if kind not in OUTCOMES:
        kind = "free"
    if kind == "forfeit":
        return {"kind": kind, "percent": whole(form, f"{prefix}percent", 100)}
    if kind == "fee":
        fixed = str(form.get(f"{prefix}fee", "")).strip()
        if fixed:
            return {"kind": kind, "fee_minor": minor_units(fixed, currency, request), "currency": currency}
        return {"kind": kind, "percent": whole(form, f"{prefix}percent", 0)}
    return {"kind": kind}


def policy_body(form: Any, request: web.Request) -> dict[str, Any]:
    currency = str(form.get("currency", "")).strip().upper()
    if not is_currency(currency):
        raise FormError(f"currency: {currency!r} is not a currency code")
    windows = []
    for row in range(WINDOW_ROWS):
        if not str(form.get(f"window-{row}-within", "")).strip():
            continue  # an empty row is no window
        unit = "within_days" if form.get(f"window-{row}-unit") == "days" else "within_hours"
        try:
            within = whole(form, f"window-{row}-within")
        except FormError:
            raise FormError(f"window {row + 1}: give a whole number of hours or days") from None
        windows.append({unit: within, "outcome": outcome_from(form, f"window-{row}-", currency, request)})
    body: dict[str, Any] = {
        "windows": windows,
        "no_show": outcome_from(form, "no_show-", currency, request),
        "applies_to_staff_cancellations": form.get("applies_to_staff_cancellations") == "on",
    }
    given = [name for name in REPEAT_FIELDS if str(form.get(name, "")).strip()]
    if given:
        missing = next((name for name in REPEAT_FIELDS if name not in given), None)
        if missing:
            raise FormError(f"{missing.replace('_', ' ')}: give all three numbers of the repeated no-shows rule")
        body["repeat_no_shows"] = {name: whole(form, name) for name in REPEAT_FIELDS} | {
            "outcome": str(form.get("repeat_outcome", "")).strip() or "block_online_booking"
        }
    return body


def outcome_in_words(fmt: Formatter, outcome: dict[str, Any]) -> str:
    if outcome["kind"] == "forfeit":
        return f"{outcome['percent']} % of the visit's credits kept"
    if outcome["kind"] == "fee":
        return (
            f"a fee of {fmt.money(outcome['fee'])}"
            if outcome.get("fee")
            else f"a fee of {outcome['percent']} % of the price"
        )
    return "free"


@signed_in("staff")
async def policy_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    policies, services, business = await asyncio.gather(
        api.get(POLICY), services_by_id(api), api.get("/api/v1/business")
    )
    current = policies["business"]
    currency = next(
        (o["fee"]["currency"] for o in [w["outcome"] for w in (current or {}).get("windows", [])] if o.get("fee")),
        (get_territory_currencies(business["country"]) or ["EUR"])[0],
    )
    windows = (current or {}).get("windows", [])
    return await console(
        request,
        api,
        "staff/settings/cancellation_policy.html",
        current=current,
        rows=[windows[i] if i < len(windows) else None for i in range(WINDOW_ROWS)],
        overrides=policies["services"],
        services=services,
        currency=currency,
        outcomes=OUTCOMES,
        amount_text=lambda money: amount_text(formatter(request, api.account), money),
        in_words=lambda outcome: outcome_in_words(formatter(request, api.account), outcome),
    )


@signed_in("staff")
async def save_policy(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    try:
        body = policy_body(form, request)
    except FormError as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, PAGE)
    return await apply(request, api, "PUT", POLICY, body, "The cancellation policy is saved.", PAGE)


@signed_in("staff")
async def remove_policy(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await apply(
        request, api, "DELETE", POLICY, None, "The cancellation policy is removed: cancelling is free.", PAGE
    )


@signed_in("staff")
async def remove_override(request: web.Request, api: UserApi) -> web.StreamResponse:
    path = f"/api/v1/services/{request.match_info['service_id']}/cancellation-policy"
    return await apply(request, api, "DELETE", path, None, "The service follows the business's policy again.", PAGE)


def register(router: web.UrlDispatcher) -> None:
    router.add_get(PAGE, policy_page)
    router.add_post(PAGE, save_policy)
    router.add_post(f"{PAGE}/remove", remove_policy)
    router.add_post(f"{PAGE}/services/{{service_id}}/remove", remove_override)
