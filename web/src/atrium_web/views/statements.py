"""A client's statement of account in the staff console: the client found, days chosen (default this year so
far; a wrong range named beside its field before any call), summary or detailed; shown per currency with every
invoice, payment and refund and the running balance, or downloaded as PDF or CSV, as billing renders them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from atrium_web.downloads import file_from_gateway
from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import form_errors, formatter, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.portal_documents import STATEMENT_FORMATS, statement_range
from atrium_web.views.staff import console

PAGE = "/billing/statements"
DETAILS = {"detailed": "Every entry", "summary": "Totals only"}


def _asked(request: web.Request, api: UserApi) -> tuple[dict[str, str], dict[str, str]]:
    """The days and the detail asked, and what is wrong with them (the business's today as the default end)."""
    today = dt.datetime.now(formatter(request, api.account).zone).date()
    values, errors = statement_range(request.query, today)
    detail = request.query.get("detail", "detailed")
    return values | {"detail": detail if detail in DETAILS else "detailed"}, errors


@signed_in("staff")
async def statement_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    client_id, q = request.query.get("client_id", ""), request.query.get("q", "").strip()
    client = dict(await api.get(f"/api/v1/clients/{client_id}")) if client_id else None
    candidates = (await api.get("/api/v1/clients", q=q, page_size=10))["items"] if q and not client else []
    values, errors = _asked(request, api)
    statement: dict[str, Any] | None = None
    if client and not errors:
        try:
            statement = await api.get(f"/api/v1/clients/{client_id}/statement", **values)
        except ApiProblem as problem:
            if problem.status != 422:
                raise
            errors = form_errors(problem.errors, "from", "to") or {"": problem.detail}
    return await console(
        request,
        api,
        "staff/billing/statement.html",
        status=400 if errors else 200,
        client=client,
        candidates=candidates,
        q=q,
        values=values,
        errors=errors,
        details=DETAILS,
        statement=statement,
    )


@signed_in("staff")
async def statement_file(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The statement as PDF or CSV; days the form would refuse are shown on the page instead."""
    values, errors = _asked(request, api)
    file_format = request.query.get("format", "")
    if errors or file_format not in STATEMENT_FORMATS or not request.query.get("client_id"):
        return await statement_page(request)
    path = f"/api/v1/clients/{request.query['client_id']}/statement"
    return await file_from_gateway(api, path, format=file_format, **values)


def register(router: web.UrlDispatcher) -> None:
    router.add_get(PAGE, statement_page)
    router.add_get(PAGE + "/file", statement_file)
