"""Printable documents as PDF downloads: invoices, the membership card and vouchers of what a client holds,
the last two with the card's QR code (scanning it at the desk checks the client in). Staff for any client; a
portal client for its own (shown when the business lets clients view their invoices)."""

from __future__ import annotations

import uuid

from aiohttp import web

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.membership_billing.v1 import documents_pb2 as pb
from gateway.api import path_id
from gateway.dependencies import BACKENDS, BUSINESS
from gateway.identity.model import Account
from gateway.routes.billing import invoice_id_of
from gateway.routes.clients import client_id_of
from gateway.routes.consumption import card_tokens
from gateway.routes.portal import require_portal_view
from gateway.routes.registry import api

TAG = "documents"
PDF = "application/pdf"


def pdf_file(document: pb.Document) -> web.Response:
    return web.Response(
        body=document.content,
        content_type=PDF,
        headers={
            "Content-Disposition": f'attachment; filename="{document.filename}"',
            "Cache-Control": "private, no-cache",
        },
    )


async def business_name(request: web.Request, account: Account) -> str:
    profile = await request.app[BUSINESS].get(account.tenant_id)
    return str(profile["name"])


def _lot_id_of(request: web.Request) -> str:
    return path_id(request, "lot_id", "credit lot")


async def _staff_card_token(request: web.Request, account: Account) -> tuple[str, str]:
    """(client id, card token) of the client in the path: a merged-away id prints its survivor's card."""
    client = await request.app[BACKENDS].clients.GetClient(client_pb.GetClientRequest(id=client_id_of(request)))
    return client.id, card_tokens(request).issue(account.tenant_id, uuid.UUID(client.id))


def _portal_card_token(request: web.Request, account: Account) -> str:
    assert account.client_id is not None
    return card_tokens(request).issue(account.tenant_id, account.client_id)


@api.route(
    "GET",
    "/api/v1/invoices/{invoice_id}/pdf",
    summary="Download an invoice as PDF",
    tag=TAG,
    permission="billing.read",
    produces=(PDF,),
)
async def invoice_pdf(request: web.Request, account: Account) -> web.Response:
    reply = await request.app[BACKENDS].documents.GetInvoicePdf(
        pb.GetInvoicePdfRequest(invoice_id=invoice_id_of(request), business_name=await business_name(request, account))
    )
    return pdf_file(reply)


@api.route(
    "GET",
    "/api/v1/portal/invoices/{invoice_id}/pdf",
    summary="Download one of one's own issued invoices as PDF",
    tag="portal",
    auth="portal",
    produces=(PDF,),
)
async def portal_invoice_pdf(request: web.Request, account: Account) -> web.Response:
    await require_portal_view(request, account, "view_invoices")
    reply = await request.app[BACKENDS].documents.GetInvoicePdf(
        pb.GetInvoicePdfRequest(invoice_id=invoice_id_of(request), business_name=await business_name(request, account))
    )
    return pdf_file(reply)


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/membership-card/pdf",
    summary="A client's printable membership card (ID-1 size) with the QR code that checks it in",
    tag=TAG,
    permission="memberships.read",
    produces=(PDF,),
)
async def membership_card_pdf(request: web.Request, account: Account) -> web.Response:
    client_id, token = await _staff_card_token(request, account)
    reply = await request.app[BACKENDS].documents.GetMembershipCardPdf(
        pb.GetMembershipCardPdfRequest(
            client_id=client_id, card_token=token, business_name=await business_name(request, account)
        )
    )
    return pdf_file(reply)


@api.route(
    "GET",
    "/api/v1/portal/membership-card/pdf",
    summary="One's own printable membership card with the QR code that checks one in",
    tag="portal",
    auth="portal",
    produces=(PDF,),
)
async def portal_membership_card_pdf(request: web.Request, account: Account) -> web.Response:
    reply = await request.app[BACKENDS].documents.GetMembershipCardPdf(
        pb.GetMembershipCardPdfRequest(
            card_token=_portal_card_token(request, account), business_name=await business_name(request, account)
        )
    )
    return pdf_file(reply)


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/credit-lots/{lot_id}/voucher",
    summary="A printable voucher of what one of the client's credit lots holds, with the check-in QR code",
    tag=TAG,
    permission="memberships.read",
    produces=(PDF,),
    description="404 for a lot of another client or one that holds nothing now.",
)
async def voucher_pdf(request: web.Request, account: Account) -> web.Response:
    client_id, token = await _staff_card_token(request, account)
    reply = await request.app[BACKENDS].documents.GetVoucherPdf(
        pb.GetVoucherPdfRequest(
            client_id=client_id,
            lot_id=_lot_id_of(request),
            card_token=token,
            business_name=await business_name(request, account),
        )
    )
    return pdf_file(reply)


@api.route(
    "GET",
    "/api/v1/portal/credit-lots/{lot_id}/voucher",
    summary="A printable voucher of what one of one's own credit lots holds, with the check-in QR code",
    tag="portal",
    auth="portal",
    produces=(PDF,),
)
async def portal_voucher_pdf(request: web.Request, account: Account) -> web.Response:
    await require_portal_view(request, account, "view_invoices")
    reply = await request.app[BACKENDS].documents.GetVoucherPdf(
        pb.GetVoucherPdfRequest(
            lot_id=_lot_id_of(request),
            card_token=_portal_card_token(request, account),
            business_name=await business_name(request, account),
        )
    )
    return pdf_file(reply)
