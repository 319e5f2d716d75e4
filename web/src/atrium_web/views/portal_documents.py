"""The client's printable documents in the portal: an invoice as PDF, the membership card, a voucher of what a
credit lot holds, and the statement of account over chosen days (on the page, or as PDF or CSV). Billing's
documents only where the business shows invoices in the portal; the card always."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from atrium_web.downloads import file_from_gateway
from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import form_errors, formatter, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.portal import hidden, page, permissions

STATEMENT_FORMATS = ("pdf", "csv")
# As the gateway allows (about ten years); checked here too so the form names the field before any call.
MAX_STATEMENT_DAYS = 3660


def statement_range(query: Mapping[str, str], today: dt.date) -> tuple[dict[str, str], dict[str, str]]:
    """The statement's days as asked (default: this year so far) and what is wrong with them, by field."""
    values = {
        "from": query.get("from") or today.replace(month=1, day=1).isoformat(),
        "to": query.get("to") or today.isoformat(),
    }
    errors: dict[str, str] = {}
    days: dict[str, dt.date] = {}
    for name in ("from", "to"):
        try:
            days[name] = dt.date.fromisoformat(values[name])
        except ValueError:
            errors[name] = "Enter a date."
    if not errors and days["to"] < days["from"]:
        errors["to"] = "The last day cannot be before the first."
    elif not errors and (days["to"] - days["from"]).days > MAX_STATEMENT_DAYS:
        errors["to"] = "A statement covers at most ten years."
    return values, errors


async def _statement_page(
    request: web.Request, api: UserApi, allowed: dict[str, bool], values: dict[str, str], errors: dict[str, str]
) -> web.StreamResponse:
    statement: dict[str, Any] | None = None
    if not errors:
        try:
            statement = await api.get("/api/v1/portal/statement", detail="detailed", **values)
        except ApiProblem as problem:
            if problem.status != 422:
                raise
            errors = form_errors(problem.errors, "from", "to") or {"": problem.detail}
    return await page(
        request,
        api,
        "portal/statement.html",
        status=400 if errors else 200,
        permissions=allowed,
        values=values,
        errors=errors,
        statement=statement,
    )


def _today(request: web.Request, api: UserApi) -> dt.date:
    return dt.datetime.now(formatter(request, api.account).zone).date()


@signed_in("portal")
async def statement(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await permissions(api)
    if not allowed["view_invoices"]:
        return await hidden(request, api, "invoices", allowed)
    values, errors = statement_range(request.query, _today(request, api))
    return await _statement_page(request, api, allowed, values, errors)


@signed_in("portal")
async def statement_file(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The statement as PDF or CSV; days the form would refuse are shown on the statement page instead."""
    allowed = await permissions(api)
    if not allowed["view_invoices"]:
        return await hidden(request, api, "invoices", allowed)
    values, errors = statement_range(request.query, _today(request, api))
    file_format = request.query.get("format", "")
    if file_format not in STATEMENT_FORMATS:
        errors[""] = "Choose PDF or CSV."
    if errors:
        return await _statement_page(request, api, allowed, values, errors)
    return await file_from_gateway(api, "/api/v1/portal/statement", detail="detailed", format=file_format, **values)


@signed_in("portal")
async def invoice_pdf(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await permissions(api)
    if not allowed["view_invoices"]:
        return await hidden(request, api, "invoices", allowed)
    return await file_from_gateway(api, f"/api/v1/portal/invoices/{request.match_info['invoice_id']}/pdf")


@signed_in("portal")
async def membership_card_pdf(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await file_from_gateway(api, "/api/v1/portal/membership-card/pdf")


@signed_in("portal")
async def voucher_pdf(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await permissions(api)
    if not allowed["view_invoices"]:
        return await hidden(request, api, "credits", allowed)
    return await file_from_gateway(api, f"/api/v1/portal/credit-lots/{request.match_info['lot_id']}/voucher")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/portal/statement", statement)
    router.add_get("/portal/statement/file", statement_file)
    router.add_get("/portal/invoices/{invoice_id}/pdf", invoice_pdf)
    router.add_get("/portal/membership/card.pdf", membership_card_pdf)
    router.add_get("/portal/membership/vouchers/{lot_id}", voucher_pdf)
