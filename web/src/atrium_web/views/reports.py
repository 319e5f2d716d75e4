"""Billing's reports in the staff console (owners and admins: the gateway's reports.read): outstanding balances
aged by days past due, and over a range of the business's days memberships per period (new, renewed, expiring,
expired, frozen, invoiced), credits per type (charged, used, given back, expired) and appointments with their
revenue by service and by staff member; each also as CSV.

A range the API would refuse (the end before the start, more than 366 days) is named beside its field before
any call."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from atrium_web.downloads import file_from_gateway
from atrium_web.formatting import today_in
from atrium_web.pages import signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.staff import console

PAGE = "/billing/reports"
MAX_DAYS = 366
PERIODS = {"day": "Day", "week": "Week", "month": "Month"}
# Each report's API path, the range parameters it takes and fixed ones (a CSV of one table of several).
REPORTS: dict[str, tuple[str, tuple[str, ...], dict[str, str]]] = {
    "outstanding-balances": ("/api/v1/reports/outstanding-balances", (), {}),
    "memberships": ("/api/v1/reports/memberships", ("from", "to", "period"), {}),
    "credits": ("/api/v1/reports/credits", ("from", "to"), {}),
    "appointments": ("/api/v1/reports/appointments", ("from", "to"), {}),
    "appointments-by-service": ("/api/v1/reports/appointments", ("from", "to"), {"breakdown": "service"}),
    "appointments-by-staff": ("/api/v1/reports/appointments", ("from", "to"), {"breakdown": "staff"}),
}
ON_PAGE = ("outstanding-balances", "memberships", "credits", "appointments")


def report_range(query: Any, today: date) -> tuple[dict[str, str], dict[str, str]]:
    """(the range's parameters, errors by field): by default this year up to today, by month."""
    values = {
        "from": str(query.get("from", "")) or today.replace(month=1, day=1).isoformat(),
        "to": str(query.get("to", "")) or today.isoformat(),
        "period": str(query.get("period", "month")),
    }
    errors: dict[str, str] = {}
    days: dict[str, date] = {}
    for name in ("from", "to"):
        try:
            days[name] = date.fromisoformat(values[name])
        except ValueError:
            errors[name] = "Give a day, such as 2026-01-31."
    if not errors and days["to"] < days["from"]:
        errors["to"] = "Give a day on or after the first."
    elif not errors and days["to"] - days["from"] > timedelta(days=MAX_DAYS):
        errors["to"] = f"Give at most {MAX_DAYS} days."
    if values["period"] not in PERIODS:
        values["period"] = "month"
    return values, errors


@signed_in("staff")
async def reports_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    values, errors = report_range(request.query, today_in(api.account.timezone))
    memberships: Any = None
    credits: Any = None
    appointments: Any = None
    if errors:
        outstanding = await api.get(REPORTS["outstanding-balances"][0])
    else:
        outstanding, memberships, credits, appointments = await asyncio.gather(
            *(api.get(REPORTS[name][0], **{k: values[k] for k in REPORTS[name][1]}) for name in ON_PAGE)
        )
    return await console(
        request,
        api,
        "staff/billing/reports.html",
        values=values,
        errors=errors,
        periods=PERIODS,
        outstanding=outstanding,
        memberships=memberships,
        credits=credits,
        appointments=appointments,
    )


@signed_in("staff")
async def report_csv(request: web.Request, api: UserApi) -> web.StreamResponse:
    report = REPORTS.get(request.match_info["report"])
    if report is None:
        raise web.HTTPNotFound()
    path, taken, fixed = report
    params = {k: str(request.query[k]) for k in taken if k in request.query} | fixed
    return await file_from_gateway(api, path, **params, format="csv")


def register(router: web.UrlDispatcher) -> None:
    router.add_get(PAGE, reports_page)
    router.add_get(PAGE + "/{report}.csv", report_csv)
