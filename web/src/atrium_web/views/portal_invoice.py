"""One of the client's invoices in the portal: its lines with quantity, price, tax and totals, what is paid and
what is still open, in the viewer's locale. Only where the business shows invoices in the portal; the gateway
answers drafts, voided and other clients' invoices 404.
"""

from __future__ import annotations

from decimal import Decimal

from aiohttp import web

from atrium_web.pages import signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.portal import hidden, page, permissions


@signed_in("portal")
async def invoice_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await permissions(api)
    if not allowed["view_invoices"]:
        return await hidden(request, api, "invoices", allowed)
    invoice = await api.get(f"/api/v1/portal/invoices/{request.match_info['invoice_id']}")
    return await page(
        request,
        api,
        "portal/invoice.html",
        permissions=allowed,
        invoice=invoice,
        # Quantities are exact decimals ("1.5"); basis points are hundredths of a percent.
        quantities=[Decimal(line["quantity"]) for line in invoice["lines"]],
        tax_rates=[Decimal(line["tax_rate_bp"]).scaleb(-2) for line in invoice["lines"]],
    )


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/portal/invoices/{invoice_id}", invoice_page)
