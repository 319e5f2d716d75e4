"""Billing's reports for owners and admins: outstanding balances per client and currency, aged by days past
the due date on the business's calendar, as JSON or as one CSV table."""

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

AGING = ("not_due_minor", "overdue_1_30_minor", "overdue_31_60_minor", "overdue_61_90_minor", "overdue_over_90_minor")
COLUMNS = (
    "client_id",
    "client_name",
    "currency",
    "open_invoices",
    "outstanding_minor",
    "overdue_minor",
    *AGING,
    "oldest_due_date",
)


class OutstandingQuery(Body):
    format: Literal["json", "csv"] = "json"


class AgingOut(Out):
    not_due_minor: int
    overdue_1_30_minor: int
    overdue_31_60_minor: int
    overdue_61_90_minor: int
    overdue_over_90_minor: int


class ClientReceivableOut(Out):
    client_id: str
    client_name: str = Field(description="The bill-to name of its invoices.")
    currency: str
    open_invoices: int
    outstanding_minor: int
    overdue_minor: int
    aging: AgingOut
    oldest_due_date: CalendarDay


class CurrencyReceivablesOut(Out):
    currency: str
    clients: int
    outstanding_minor: int
    overdue_minor: int
    aging: AgingOut


class OutstandingBalancesOut(Out):
    as_of: CalendarDay = Field(description="The business's today.")
    timezone: str
    clients: list[ClientReceivableOut] = Field(description="The largest overdue first.")
    totals: list[CurrencyReceivablesOut]


def _aging(a: pb.Aging) -> AgingOut:
    return AgingOut(**{name: getattr(a, name) for name in AGING})


@api.route(
    "GET",
    "/api/v1/reports/outstanding-balances",
    summary="What each client owes on its open invoices, per currency, aged by days past the due date",
    tag="reports",
    query=OutstandingQuery,
    response=OutstandingBalancesOut,
    permission="reports.read",
    produces=(CSV,),
    description="Days past due are counted on the business's calendar; format=csv answers the clients' rows as"
    " one CSV table.",
)
async def outstanding_balances(request: web.Request, query: OutstandingQuery, account: Account) -> Any:
    reply = await request.app[BACKENDS].billing_reports.OutstandingBalances(pb.OutstandingBalancesRequest())
    report = OutstandingBalancesOut.model_validate(
        {
            "as_of": reply.as_of,
            "timezone": reply.timezone,
            "clients": [
                {
                    "client_id": c.client_id,
                    "client_name": c.client_name,
                    "currency": c.currency,
                    "open_invoices": c.open_invoices,
                    "outstanding_minor": c.outstanding_minor,
                    "overdue_minor": c.overdue_minor,
                    "aging": _aging(c.aging),
                    "oldest_due_date": c.oldest_due_date,
                }
                for c in reply.clients
            ],
            "totals": [
                {
                    "currency": t.currency,
                    "clients": t.clients,
                    "outstanding_minor": t.outstanding_minor,
                    "overdue_minor": t.overdue_minor,
                    "aging": _aging(t.aging),
                }
                for t in reply.totals
            ],
        }
    )
    if query.format == "json":
        return report.model_dump(mode="json")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for c in report.clients:
        writer.writerow(
            [
                c.client_id,
                cell(c.client_name),
                c.currency,
                c.open_invoices,
                c.outstanding_minor,
                c.overdue_minor,
                *(getattr(c.aging, name) for name in AGING),
                c.oldest_due_date.isoformat(),
            ]
        )
    return web.Response(
        text=buffer.getvalue(),
        content_type=CSV,
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="outstanding-balances-{report.as_of.isoformat()}.csv"',
            "Cache-Control": "private, no-cache",
        },
    )
