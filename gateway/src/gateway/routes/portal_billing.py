"""The portal's side of billing: the client's own issued invoices. Every route needs the portal permission
to view invoices; the billing service shows a portal client nothing else (other invoices look missing)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium.common.v1 import types_pb2
from atrium.membership_billing.v1 import billing_pb2 as pb
from gateway.billing_schemas import InvoiceList, InvoiceOut, PortalInvoiceQuery
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.billing import invoice_id_of, invoice_json, invoice_page
from gateway.routes.portal import require_portal_view
from gateway.routes.registry import api

TAG = "portal"


async def _may_view_invoices(request: web.Request, account: Account) -> None:
    await require_portal_view(request, account, "view_invoices")


@api.route(
    "GET",
    "/api/v1/portal/invoices",
    summary="The client's own issued invoices, newest first",
    tag=TAG,
    auth="portal",
    query=PortalInvoiceQuery,
    response=InvoiceList,
)
async def portal_invoices(request: web.Request, query: PortalInvoiceQuery, account: Account) -> dict[str, Any]:
    await _may_view_invoices(request, account)
    reply = await request.app[BACKENDS].billing.ListInvoices(
        pb.ListInvoicesRequest(page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token))
    )
    return invoice_page(reply)


@api.route(
    "GET",
    "/api/v1/portal/invoices/{invoice_id}",
    summary="One of the client's own issued invoices",
    tag=TAG,
    auth="portal",
    response=InvoiceOut,
)
async def portal_invoice(request: web.Request, account: Account) -> dict[str, Any]:
    await _may_view_invoices(request, account)
    reply = await request.app[BACKENDS].billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=invoice_id_of(request)))
    return invoice_json(reply)
