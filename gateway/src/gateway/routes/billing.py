"""Staff routes of billing: invoices, payments and a client's balance (the billing service behind them)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium.common.v1 import types_pb2
from atrium.membership_billing.v1 import billing_pb2 as pb
from gateway import idempotency
from gateway.api import path_id
from gateway.billing_schemas import (
    BalanceOut,
    InvoiceIn,
    InvoiceLineIn,
    InvoiceList,
    InvoiceOut,
    InvoicePatch,
    InvoiceQuery,
    IssueIn,
    PaymentIn,
    PaymentList,
    PaymentOut,
    PaymentQuery,
    RefundIn,
    VoidIn,
)
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.instants import when
from gateway.routes.clients import for_known_client
from gateway.routes.registry import api
from platform_core.errors import InvalidArgument
from platform_core.grpc.values import timestamp

TAG = "billing"
INVOICE_STATUSES = ("draft", "issued", "partially_paid", "paid", "void")


def invoice_json(i: pb.Invoice) -> dict[str, Any]:
    return {
        "id": i.id,
        "client_id": i.client_id,
        "kind": i.kind,
        "status": i.status,
        "number": i.number or None,
        "currency": i.currency,
        "lines": [
            {
                "position": x.position,
                "description": x.description,
                "quantity": x.quantity,
                "unit_price_minor": x.unit_price_minor,
                "tax_rate_bp": x.tax_rate_bp,
                "appointment_id": x.appointment_id or None,
                "net_minor": x.net_minor,
                "tax_minor": x.tax_minor,
                "total_minor": x.total_minor,
            }
            for x in i.lines
        ],
        "subtotal_minor": i.subtotal_minor,
        "tax_minor": i.tax_minor,
        "total_minor": i.total_minor,
        "paid_minor": i.paid_minor,
        "outstanding_minor": i.outstanding_minor,
        "payment_terms_days": i.payment_terms_days,
        "issue_date": i.issue_date or None,
        "due_date": i.due_date or None,
        "bill_to_name": i.bill_to_name,
        "notes": i.notes,
        "void_reason": i.void_reason,
        "overdue": i.overdue,
        "version": i.version,
        "created_at": when(i.created_at),
        "updated_at": when(i.updated_at),
    }


def invoice_page(reply: pb.ListInvoicesResponse) -> dict[str, Any]:
    return {"items": [invoice_json(i) for i in reply.invoices], "next_page_token": reply.page.next_page_token or None}


def payment_json(p: pb.Payment) -> dict[str, Any]:
    return {
        "id": p.id,
        "client_id": p.client_id,
        "amount_minor": p.amount_minor,
        "currency": p.currency,
        "method": p.method,
        "received_at": when(p.received_at),
        "reference": p.reference,
        "notes": p.notes,
        "status": p.status,
        "allocations": [
            {"invoice_id": a.invoice_id, "invoice_number": a.invoice_number or None, "amount_minor": a.amount_minor}
            for a in p.allocations
        ],
        "unallocated_minor": p.unallocated_minor,
        "refund_reason": p.refund_reason,
        "refunded_at": when(p.refunded_at) if p.HasField("refunded_at") else None,
        "created_at": when(p.created_at),
    }


def currency_balance_json(b: pb.CurrencyBalance) -> dict[str, Any]:
    due = b.oldest_due
    return {
        "currency": b.currency,
        "outstanding_minor": b.outstanding_minor,
        "overdue_minor": b.overdue_minor,
        "open_invoice_count": b.open_invoice_count,
        "oldest_due": (
            {
                "invoice_id": due.invoice_id,
                "number": due.number or None,
                "due_date": due.due_date,
                "outstanding_minor": due.outstanding_minor,
            }
            if b.HasField("oldest_due")
            else None
        ),
        "credit_minor": b.credit_minor,
    }


def _lines(lines: list[InvoiceLineIn]) -> list[pb.InvoiceLineInput]:
    return [
        pb.InvoiceLineInput(
            description=x.description,
            quantity=str(x.quantity),
            unit_price_minor=x.unit_price_minor,
            tax_rate_bp=x.tax_rate_bp,
            appointment_id=x.appointment_id or "",
        )
        for x in lines
    ]


def invoice_id_of(request: web.Request) -> str:
    return path_id(request, "invoice_id", "invoice")


@api.route(
    "POST",
    "/api/v1/invoices",
    summary="Draft an invoice for a client (editable until issued)",
    tag=TAG,
    permission="billing.write",
    body=InvoiceIn,
    response=InvoiceOut,
    status=201,
    description="Line totals are rounded per line, half up: net = quantity x unit price, tax = net x rate.",
)
async def create_invoice(request: web.Request, body: InvoiceIn, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].billing.CreateInvoice(
        pb.CreateInvoiceRequest(
            client_id=body.client_id,
            currency=body.currency,
            lines=_lines(body.lines),
            payment_terms_days=body.payment_terms_days,
            notes=body.notes,
        )
    )
    return invoice_json(reply)


@api.route(
    "GET",
    "/api/v1/invoices",
    summary="Invoices, newest first: by client, status, overdue",
    tag=TAG,
    permission="billing.read",
    query=InvoiceQuery,
    response=InvoiceList,
)
async def list_invoices(request: web.Request, query: InvoiceQuery, account: Account) -> dict[str, Any]:
    statuses = [s.strip() for s in query.status.split(",") if s.strip()]
    if unknown := [s for s in statuses if s not in INVOICE_STATUSES]:
        raise InvalidArgument.single("status", f"unknown status {unknown[0]!r}; one of {', '.join(INVOICE_STATUSES)}")
    reply = await request.app[BACKENDS].billing.ListInvoices(
        pb.ListInvoicesRequest(
            client_id=query.client_id or "",
            statuses=statuses,
            overdue_only=query.overdue,
            page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token),
        )
    )
    return invoice_page(reply)


@api.route(
    "GET",
    "/api/v1/invoices/{invoice_id}",
    summary="One invoice",
    permission="billing.read",
    tag=TAG,
    response=InvoiceOut,
)
async def get_invoice(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=invoice_id_of(request)))
    return invoice_json(reply)


@api.route(
    "PATCH",
    "/api/v1/invoices/{invoice_id}",
    summary="Change a draft invoice",
    tag=TAG,
    permission="billing.write",
    body=InvoicePatch,
    response=InvoiceOut,
    errors=(409,),
    description="409 INVOICE_NOT_DRAFT once issued; 409 STALE_VERSION when the draft changed since it was read.",
)
async def update_draft(request: web.Request, body: InvoicePatch, account: Account) -> dict[str, Any]:
    billing = request.app[BACKENDS].billing
    invoice_id = invoice_id_of(request)
    current = await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=invoice_id))
    lines = (
        _lines(body.lines)
        if body.lines is not None
        else [
            pb.InvoiceLineInput(
                description=x.description,
                quantity=x.quantity,
                unit_price_minor=x.unit_price_minor,
                tax_rate_bp=x.tax_rate_bp,
                appointment_id=x.appointment_id,
            )
            for x in current.lines
        ]
    )
    reply = await billing.UpdateDraft(
        pb.UpdateDraftRequest(
            invoice_id=invoice_id,
            currency=body.currency if body.currency is not None else current.currency,
            lines=lines,
            payment_terms_days=(
                body.payment_terms_days if body.payment_terms_days is not None else current.payment_terms_days
            ),
            notes=body.notes if body.notes is not None else current.notes,
            version=body.version,
        )
    )
    return invoice_json(reply)


@api.route(
    "POST",
    "/api/v1/invoices/{invoice_id}/issue",
    summary="Issue a draft: it gets the business's next invoice number and can no longer change",
    tag=TAG,
    permission="billing.write",
    body=IssueIn,
    response=InvoiceOut,
    errors=(409,),
)
async def issue_invoice(request: web.Request, body: IssueIn, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].billing.IssueInvoice(
        pb.IssueInvoiceRequest(
            invoice_id=invoice_id_of(request), issue_date=body.issue_date.isoformat() if body.issue_date else ""
        )
    )
    return invoice_json(reply)


@api.route(
    "POST",
    "/api/v1/invoices/{invoice_id}/void",
    summary="Void a draft, or an issued invoice with nothing paid on it (owners and admins)",
    tag=TAG,
    permission="billing.refund",
    body=VoidIn,
    response=InvoiceOut,
    errors=(409,),
)
async def void_invoice(request: web.Request, body: VoidIn, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].billing.VoidInvoice(
        pb.VoidInvoiceRequest(invoice_id=invoice_id_of(request), reason=body.reason)
    )
    return invoice_json(reply)


@api.route(
    "POST",
    "/api/v1/payments",
    summary="Record a payment: to one invoice, or to the client's oldest open invoices; the rest is credit",
    tag=TAG,
    permission="billing.write",
    body=PaymentIn,
    response=PaymentOut,
    status=201,
    errors=(409,),
    description=(
        "The payment's currency must be the invoice's (422 otherwise). An Idempotency-Key header makes retries"
        " safe: the same key returns the first payment."
    ),
)
async def record_payment(request: web.Request, body: PaymentIn, account: Account) -> dict[str, Any]:
    key = idempotency.request_key(request)
    message = pb.RecordPaymentRequest(
        client_id=body.client_id,
        amount=types_pb2.Money(amount_minor=body.amount.amount_minor, currency=body.amount.currency),
        method=body.method,
        reference=body.reference,
        notes=body.notes,
        invoice_id=body.invoice_id or "",
        request_id=key,
    )
    if body.received_at is not None:
        message.received_at.CopyFrom(timestamp(body.received_at))
    return payment_json(await request.app[BACKENDS].billing.RecordPayment(message))


@api.route(
    "GET",
    "/api/v1/payments",
    summary="Payments, newest first, optionally of one client",
    tag=TAG,
    permission="billing.read",
    query=PaymentQuery,
    response=PaymentList,
)
async def list_payments(request: web.Request, query: PaymentQuery, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].billing.ListPayments(
        pb.ListPaymentsRequest(
            client_id=query.client_id or "",
            page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token),
        )
    )
    return {"items": [payment_json(p) for p in reply.payments], "next_page_token": reply.page.next_page_token or None}


@api.route(
    "POST",
    "/api/v1/payments/{payment_id}/refund",
    summary="Refund (or void) a payment: its invoices are open for that amount again (owners and admins)",
    tag=TAG,
    permission="billing.refund",
    body=RefundIn,
    response=PaymentOut,
    errors=(409,),
)
async def refund_payment(request: web.Request, body: RefundIn, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].billing.RefundPayment(
        pb.RefundPaymentRequest(payment_id=path_id(request, "payment_id", "payment"), reason=body.reason)
    )
    return payment_json(reply)


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/balance",
    summary="What a client owes (outstanding, overdue, open invoices) and holds as credit, per currency",
    tag=TAG,
    permission="billing.read",
    response=BalanceOut,
)
async def client_balance(request: web.Request, account: Account) -> dict[str, Any]:
    async def balance(client_id: str) -> dict[str, Any]:
        reply = await request.app[BACKENDS].billing.GetClientBalance(pb.GetClientBalanceRequest(client_id=client_id))
        return {"client_id": client_id, "currencies": [currency_balance_json(b) for b in reply.currencies]}

    return await for_known_client(request, balance)
