"""The membership report for owners and admins: per period of the business's calendar (day, week or month) and
membership, the subscriptions that were new, renewed, expiring, expired and frozen, and what their periods
invoiced, with each membership's totals over the range; as JSON or as one CSV table."""

from __future__ import annotations

import csv
import io
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from atrium.membership_billing.v1 import billing_reports_pb2 as pb
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.registry import api
from gateway.routes.reports import CSV, cell
from gateway.schemas import Body, CalendarDay, Out
from platform_core.errors import InvalidArgument

MAX_REPORT_DAYS = 366
MEASURES = ("new", "renewed", "expiring", "expired", "frozen", "invoiced_minor")
COLUMNS = ("period_start", "membership_id", "membership", "currency", *MEASURES)


class MembershipReportQuery(Body):
    from_: CalendarDay = Field(alias="from", description="First day, YYYY-MM-DD, in the business's timezone")
    to: CalendarDay = Field(description="Last day, inclusive; at most 366 days after from")
    period: Literal["day", "week", "month"] = Field(default="month", description="Weeks start on Monday.")
    format: Literal["json", "csv"] = "json"


class MembershipCountsOut(Out):
    membership_id: str
    membership_name: str
    currency: str
    new: int = Field(description="Subscriptions whose first period starts then.")
    renewed: int = Field(description="Renewal periods starting then.")
    expiring: int = Field(
        description="Subscriptions not yet expired (active, frozen, in tolerance) whose last paid day falls then."
    )
    expired: int = Field(description="Expired subscriptions whose last paid day fell then.")
    frozen: int = Field(description="Freezes started then (resumed ones too).")
    invoiced_minor: int = Field(description="Issued invoices (not drafts, not voided) of the periods starting then.")


class MembershipReportRowOut(MembershipCountsOut):
    period_start: CalendarDay = Field(description="The period's first day (a Monday, a month's 1st); may precede from.")


class MembershipReportOut(Out):
    from_: CalendarDay = Field(alias="from")
    to: CalendarDay
    period: Literal["day", "week", "month"]
    timezone: str
    rows: list[MembershipReportRowOut] = Field(description="The earliest period first, then by membership name.")
    totals: list[MembershipCountsOut] = Field(description="Per membership over the whole range.")


def _counts(r: pb.MembershipReportRow) -> dict[str, Any]:
    return {
        "membership_id": r.membership_id,
        "membership_name": r.membership_name,
        "currency": r.currency,
        "new": r.new_subscriptions,
        "renewed": r.renewed,
        "expiring": r.expiring,
        "expired": r.expired,
        "frozen": r.frozen,
        "invoiced_minor": r.invoiced_minor,
    }


@api.route(
    "GET",
    "/api/v1/reports/memberships",
    summary="New, renewed, expiring, expired and frozen memberships per period and membership, with what they invoiced",
    tag="reports",
    query=MembershipReportQuery,
    response=MembershipReportOut,
    permission="reports.read",
    produces=(CSV,),
    description="Days and periods are the business's calendar; format=csv answers the rows as one CSV table.",
)
async def membership_report(request: web.Request, query: MembershipReportQuery, account: Account) -> Any:
    if not 0 <= (query.to - query.from_).days <= MAX_REPORT_DAYS:
        raise InvalidArgument.single("to", f"must be on or after from, at most {MAX_REPORT_DAYS} days after it")
    reply = await request.app[BACKENDS].billing_reports.MembershipReport(
        pb.MembershipReportRequest(from_day=query.from_.isoformat(), to_day=query.to.isoformat(), period=query.period)
    )
    report = MembershipReportOut.model_validate(
        {
            "from": query.from_,
            "to": query.to,
            "period": query.period,
            "timezone": reply.timezone,
            "rows": [{"period_start": r.period_start, **_counts(r)} for r in reply.rows],
            "totals": [_counts(t) for t in reply.totals],
        }
    )
    if query.format == "json":
        return report.model_dump(mode="json", by_alias=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in report.rows:
        writer.writerow(
            [r.period_start.isoformat(), r.membership_id, cell(r.membership_name), r.currency]
            + [getattr(r, name) for name in MEASURES]
        )
    filename = f"memberships-{query.from_.isoformat()}-to-{query.to.isoformat()}-by-{query.period}.csv"
    return web.Response(
        text=buffer.getvalue(),
        content_type=CSV,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-cache"},
    )
