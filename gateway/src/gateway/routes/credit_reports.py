"""The credits report for owners and admins: per credit type, what was charged, used, given back and expired
over a range of the business's days, as JSON or as one CSV table."""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web

from atrium.membership_billing.v1 import ledger_pb2 as pb
from gateway.credits_schemas import CreditReportOut, CreditReportQuery, CreditReportRowOut
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.credits import credit_type_out
from gateway.routes.registry import api
from gateway.routes.reports import CSV, cell

COLUMNS = ("credit_type", "unit", "charged", "used", "restored", "expired", "clients")


@api.route(
    "GET",
    "/api/v1/reports/credits",
    summary="Credits charged, used, given back and expired per credit type over a range of days",
    tag="reports",
    query=CreditReportQuery,
    response=CreditReportOut,
    permission="reports.read",
    produces=(CSV,),
    description="Days are cut in the business's timezone; format=csv answers the rows as one CSV table.",
)
async def credit_report(request: web.Request, query: CreditReportQuery, account: Account) -> Any:
    reply = await request.app[BACKENDS].ledger.CreditReport(
        pb.CreditReportRequest(from_day=query.from_.isoformat(), to_day=query.to.isoformat())
    )
    report = CreditReportOut.model_validate(
        {
            "from": query.from_,
            "to": query.to,
            "timezone": reply.timezone,
            "rows": [
                CreditReportRowOut(
                    credit_type=credit_type_out(r.credit_type),
                    charged=r.charged,
                    used=r.used,
                    restored=r.restored,
                    expired=r.expired,
                    clients=r.clients,
                )
                for r in reply.rows
            ],
        }
    )
    if query.format == "json":
        return report.model_dump(mode="json", by_alias=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in report.rows:
        writer.writerow(
            [cell(r.credit_type.name), cell(r.credit_type.unit), r.charged, r.used, r.restored, r.expired, r.clients]
        )
    filename = f"credits-{query.from_.isoformat()}-to-{query.to.isoformat()}.csv"
    return web.Response(
        text=buffer.getvalue(),
        content_type=CSV,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-cache"},
    )
