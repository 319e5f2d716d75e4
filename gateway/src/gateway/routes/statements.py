"""A client's statement of account over a range of the business's days: staff for any client, the portal for
one's own; JSON, CSV (one table: the entries, or the summary per currency) or PDF, summary or detailed."""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web

from atrium.membership_billing.v1 import documents_pb2 as pb
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.clients import client_id_of
from gateway.routes.documents import PDF, business_name, pdf_file
from gateway.routes.portal import require_portal_view
from gateway.routes.registry import api
from gateway.routes.reports import CSV, cell
from gateway.statement_schemas import CurrencyStatementOut, StatementEntryOut, StatementOut, StatementQuery
from platform_core.errors import InvalidArgument

# As the billing service allows (about ten years).
MAX_STATEMENT_DAYS = 3660
SUMMARY_COLUMNS = (
    "currency",
    "opening_balance_minor",
    "invoiced_minor",
    "paid_minor",
    "refunded_minor",
    "closing_balance_minor",
    "paid_to_date_minor",
    "balance_due_minor",
    "credit_minor",
)
ENTRY_COLUMNS = ("currency", "day", "kind", "description", "amount_minor", "balance_minor")
DESCRIPTION = (
    "Per currency: the opening balance (what was owed at the start of the first day; negative is credit), every"
    " invoice, payment and refund in the range with the running balance, and the closing balance, paid to date,"
    " balance due and credit. Voided invoices and drafts are left out. format=csv answers one table (the"
    " entries, with opening and closing rows, or with detail=summary the summary per currency); format=pdf the"
    " printable statement."
)


async def _statement(request: web.Request, query: StatementQuery, account: Account, client_id: str) -> Any:
    if not 0 <= (query.to - query.from_).days <= MAX_STATEMENT_DAYS:
        raise InvalidArgument.single("to", f"must be from `from` to {MAX_STATEMENT_DAYS} days after it")
    statement_request = pb.GetStatementRequest(
        client_id=client_id,
        from_day=query.from_.isoformat(),
        to_day=query.to.isoformat(),
        detailed=query.detail == "detailed",
        business_name=await business_name(request, account),
    )
    documents = request.app[BACKENDS].documents
    if query.format == "pdf":
        return pdf_file(await documents.GetStatementPdf(statement_request))
    reply = await documents.GetStatement(statement_request)
    detailed = query.detail == "detailed"
    statement = StatementOut.model_validate(
        {
            "client_id": reply.client_id,
            "client_name": reply.client_name,
            "from": query.from_,
            "to": query.to,
            "timezone": reply.timezone,
            "currencies": [
                CurrencyStatementOut(
                    currency=c.currency,
                    opening_balance_minor=c.opening_minor,
                    invoiced_minor=c.invoiced_minor,
                    paid_minor=c.paid_minor,
                    refunded_minor=c.refunded_minor,
                    closing_balance_minor=c.closing_minor,
                    paid_to_date_minor=c.paid_to_date_minor,
                    balance_due_minor=c.balance_due_minor,
                    credit_minor=c.credit_minor,
                    entries=[
                        StatementEntryOut(
                            day=e.day,
                            kind=e.kind,
                            record_id=e.record_id,
                            description=e.description,
                            amount_minor=e.amount_minor,
                            balance_minor=e.balance_minor,
                        )
                        for e in c.entries
                    ]
                    if detailed
                    else None,
                )
                for c in reply.currencies
            ],
        }
    )
    if query.format == "json":
        return statement.model_dump(mode="json", by_alias=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if detailed:
        writer.writerow(ENTRY_COLUMNS)
        for c in statement.currencies:
            writer.writerow(
                [c.currency, query.from_.isoformat(), "opening", "Opening balance", "", c.opening_balance_minor]
            )
            for e in c.entries or ():
                writer.writerow(
                    [c.currency, e.day.isoformat(), e.kind, cell(e.description), e.amount_minor, e.balance_minor]
                )
            writer.writerow(
                [c.currency, query.to.isoformat(), "closing", "Closing balance", "", c.closing_balance_minor]
            )
    else:
        writer.writerow(SUMMARY_COLUMNS)
        for c in statement.currencies:
            writer.writerow([getattr(c, column) for column in SUMMARY_COLUMNS])
    filename = f"statement-{query.from_.isoformat()}-to-{query.to.isoformat()}.csv"
    return web.Response(
        text=buffer.getvalue(),
        content_type=CSV,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-cache"},
    )


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/statement",
    summary="A client's statement of account over a range of days (JSON, CSV or PDF)",
    tag="billing",
    query=StatementQuery,
    response=StatementOut,
    permission="billing.read",
    produces=(CSV, PDF),
    description=DESCRIPTION,
)
async def client_statement(request: web.Request, query: StatementQuery, account: Account) -> Any:
    return await _statement(request, query, account, client_id_of(request))


@api.route(
    "GET",
    "/api/v1/portal/statement",
    summary="One's own statement of account over a range of days (JSON, CSV or PDF)",
    tag="portal",
    auth="portal",
    query=StatementQuery,
    response=StatementOut,
    produces=(CSV, PDF),
    description=DESCRIPTION + " Shown when the business lets clients view their invoices in the portal.",
)
async def portal_statement(request: web.Request, query: StatementQuery, account: Account) -> Any:
    await require_portal_view(request, account, "view_invoices")
    return await _statement(request, query, account, "")
