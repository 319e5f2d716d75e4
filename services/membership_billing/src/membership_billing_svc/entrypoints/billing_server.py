"""gRPC servicer of invoices, payments and balances: proto in, use case or view, proto out. A portal
principal reads only its own client's issued invoices; anything else it asks about looks missing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.common.v1 import types_pb2
from atrium.membership_billing.v1 import billing_pb2 as pb
from atrium.membership_billing.v1 import billing_pb2_grpc as pb_grpc
from membership_billing_svc import views
from membership_billing_svc.adapters.business_calendar import AbstractBusinessCalendar
from membership_billing_svc.domain import commands
from membership_billing_svc.domain.balance import CurrencyBalance
from membership_billing_svc.domain.invoices import (
    CLIENT_VISIBLE_STATUSES,
    Invoice,
    InvoiceStatus,
    LineInput,
)
from membership_billing_svc.domain.payments import Payment, PaymentInput
from membership_billing_svc.service_layer import handlers
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork
from platform_core.errors import InvalidArgument, NotFound
from platform_core.grpc.context import current_context
from platform_core.grpc.values import aware, record_id, reference_id, require_manager, require_staff, timestamp
from platform_core.ids import parse_uuid

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["BillingService"].full_name
STATUSES = {s.value for s in InvoiceStatus}
MAX_REQUEST_ID = 200


def utc_now() -> datetime:
    return datetime.now(UTC)


def invoice_message(invoice: Invoice, today: date) -> pb.Invoice:
    return pb.Invoice(
        id=str(invoice.id),
        client_id=str(invoice.client_id),
        kind=invoice.kind.value,
        status=invoice.status.value,
        number=invoice.number or 0,
        currency=invoice.currency,
        lines=[
            pb.InvoiceLine(
                position=position,
                description=line.description,
                quantity=line.quantity_text,
                unit_price_minor=line.unit_price_minor,
                tax_rate_bp=line.tax_rate_bp,
                appointment_id=str(line.appointment_id or ""),
                net_minor=line.net_minor,
                tax_minor=line.tax_minor,
                total_minor=line.total_minor,
            )
            for position, line in enumerate(invoice.lines)
        ],
        subtotal_minor=invoice.subtotal_minor,
        tax_minor=invoice.tax_minor,
        total_minor=invoice.total_minor,
        paid_minor=invoice.paid_minor,
        outstanding_minor=invoice.outstanding_minor,
        payment_terms_days=invoice.payment_terms_days,
        issue_date=invoice.issue_date.isoformat() if invoice.issue_date else "",
        due_date=invoice.due_date.isoformat() if invoice.due_date else "",
        bill_to_name=invoice.bill_to_name,
        notes=invoice.notes,
        void_reason=invoice.void_reason,
        overdue=invoice.is_overdue(today),
        version=invoice.version,
        created_at=timestamp(invoice.created_at),
        updated_at=timestamp(invoice.updated_at),
    )


def payment_message(payment: Payment) -> pb.Payment:
    message = pb.Payment(
        id=str(payment.id),
        client_id=str(payment.client_id),
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        method=payment.method,
        received_at=timestamp(payment.received_at),
        reference=payment.reference,
        notes=payment.notes,
        status=payment.status.value,
        allocations=[
            pb.Allocation(
                invoice_id=str(a.invoice_id), invoice_number=a.invoice_number or 0, amount_minor=a.amount_minor
            )
            for a in payment.allocations
        ],
        unallocated_minor=payment.unallocated_minor,
        refund_reason=payment.refund_reason,
        created_at=timestamp(payment.created_at),
    )
    if payment.refunded_at is not None:
        message.refunded_at.CopyFrom(timestamp(payment.refunded_at))
    return message


def balance_message(b: CurrencyBalance) -> pb.CurrencyBalance:
    message = pb.CurrencyBalance(
        currency=b.currency,
        outstanding_minor=b.outstanding_minor,
        overdue_minor=b.overdue_minor,
        open_invoice_count=b.open_invoice_count,
        credit_minor=b.credit_minor,
    )
    if b.oldest_due is not None:
        message.oldest_due.CopyFrom(
            pb.InvoiceDue(
                invoice_id=str(b.oldest_due.invoice_id),
                number=b.oldest_due.number or 0,
                due_date=b.oldest_due.due_date.isoformat(),
                outstanding_minor=b.oldest_due.outstanding_minor,
            )
        )
    return message


def line_inputs(lines: list[pb.InvoiceLineInput]) -> tuple[LineInput, ...]:
    return tuple(
        LineInput(li.description, li.quantity, li.unit_price_minor, li.tax_rate_bp, li.appointment_id) for li in lines
    )


def _issue_date(raw: str, today: date) -> date:
    if not raw:
        return today
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidArgument.single("issue_date", "must be a date, YYYY-MM-DD") from None


def visible_to_caller(invoice: Invoice) -> Invoice:
    """Staff see every invoice; a portal client its own issued ones only."""
    principal = current_context().principal
    if principal.is_portal and (
        str(invoice.client_id) != principal.client_id or invoice.status not in CLIENT_VISIBLE_STATUSES
    ):
        raise NotFound("invoice not found")
    if not principal.is_portal:
        require_staff()
    return invoice


class BillingServicer(pb_grpc.BillingServiceServicer):
    def __init__(
        self,
        *,
        uow_factory: Callable[[], BillingUnitOfWork],
        engine: AsyncEngine,
        calendar: AbstractBusinessCalendar,
    ) -> None:
        self._uow_factory = uow_factory
        self._engine = engine
        self._calendar = calendar

    async def _today(self) -> date:
        """Today in the business's zone: an invoice is overdue once its due date has passed there."""
        return utc_now().astimezone(await self._calendar.timezone()).date()

    # --- invoices ---------------------------------------------------------------------------------------

    async def CreateInvoice(self, request: pb.CreateInvoiceRequest, context: grpc.aio.ServicerContext) -> pb.Invoice:
        call = require_staff()
        invoice = await handlers.create_invoice(
            commands.CreateInvoice(
                tenant_id=call.tenant_id,
                client_id=reference_id(request.client_id, "client_id", "client"),
                currency=request.currency,
                lines=line_inputs(list(request.lines)),
                payment_terms_days=request.payment_terms_days,
                notes=request.notes,
                now=utc_now(),
            ),
            self._uow_factory(),
        )
        return invoice_message(invoice, await self._today())

    async def UpdateDraft(self, request: pb.UpdateDraftRequest, context: grpc.aio.ServicerContext) -> pb.Invoice:
        call = require_staff()
        invoice = await handlers.update_draft(
            commands.UpdateDraft(
                tenant_id=call.tenant_id,
                invoice_id=record_id(request.invoice_id, "invoice"),
                currency=request.currency,
                lines=line_inputs(list(request.lines)),
                payment_terms_days=request.payment_terms_days,
                notes=request.notes,
                version=request.version,
                now=utc_now(),
            ),
            self._uow_factory(),
        )
        return invoice_message(invoice, await self._today())

    async def IssueInvoice(self, request: pb.IssueInvoiceRequest, context: grpc.aio.ServicerContext) -> pb.Invoice:
        call = require_staff()
        invoice_id = record_id(request.invoice_id, "invoice")
        issue_date = _issue_date(request.issue_date, await self._today())
        current = await views.get_invoice(self._engine, call.tenant_id, invoice_id)
        invoice = await handlers.issue_invoice(
            commands.IssueInvoice(call.tenant_id, invoice_id, current.client_id, issue_date, utc_now()),
            self._uow_factory(),
        )
        return invoice_message(invoice, await self._today())

    async def VoidInvoice(self, request: pb.VoidInvoiceRequest, context: grpc.aio.ServicerContext) -> pb.Invoice:
        call = require_manager("voiding an invoice")
        invoice_id = record_id(request.invoice_id, "invoice")
        invoice = await handlers.void_invoice(
            commands.VoidInvoice(call.tenant_id, invoice_id, request.reason, utc_now()), self._uow_factory()
        )
        return invoice_message(invoice, await self._today())

    async def GetInvoice(self, request: pb.GetInvoiceRequest, context: grpc.aio.ServicerContext) -> pb.Invoice:
        call = current_context()
        invoice = await views.get_invoice(self._engine, call.tenant_id, record_id(request.invoice_id, "invoice"))
        return invoice_message(visible_to_caller(invoice), await self._today())

    async def ListInvoices(
        self, request: pb.ListInvoicesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListInvoicesResponse:
        call = current_context()
        statuses = set(request.statuses)
        unknown = statuses - STATUSES
        if unknown:
            raise InvalidArgument.single("statuses", f"unknown status {sorted(unknown)[0]!r}")
        if call.principal.is_portal:
            client_id = parse_uuid(call.principal.client_id)
            if client_id is None:
                raise NotFound("client not found")
            visible = {s.value for s in CLIENT_VISIBLE_STATUSES}
            statuses = (statuses & visible) if statuses else visible
            if not statuses:
                return pb.ListInvoicesResponse()
        else:
            require_staff()
            client_id = reference_id(request.client_id, "client_id", "client") if request.client_id else None
        today = await self._today()
        found, token = await views.list_invoices(
            self._engine,
            call.tenant_id,
            client_id=client_id,
            statuses=statuses,
            overdue_on=today if request.overdue_only else None,
            page_size=views.page_size_of(request.page.page_size),
            page_token=request.page.page_token,
        )
        return pb.ListInvoicesResponse(
            invoices=[invoice_message(i, today) for i in found], page=types_pb2.PageInfo(next_page_token=token)
        )

    # --- payments ---------------------------------------------------------------------------------------

    async def RecordPayment(self, request: pb.RecordPaymentRequest, context: grpc.aio.ServicerContext) -> pb.Payment:
        call = require_staff()
        client_id = reference_id(request.client_id, "client_id", "client")
        invoice_id = reference_id(request.invoice_id, "invoice_id", "invoice") if request.invoice_id else None
        if len(request.request_id) > MAX_REQUEST_ID:
            raise InvalidArgument.single("request_id", f"must be at most {MAX_REQUEST_ID} characters")
        now = utc_now()
        given = PaymentInput(
            amount_minor=request.amount.amount_minor,
            currency=request.amount.currency,
            method=request.method,
            received_at=aware(request.received_at) if request.HasField("received_at") else now,
            reference=request.reference,
            notes=request.notes,
        )
        payment = await handlers.record_payment(
            commands.RecordPayment(
                tenant_id=call.tenant_id,
                client_id=client_id,
                payment=given,
                invoice_id=invoice_id,
                request_id=request.request_id or None,
                now=now,
            ),
            self._uow_factory(),
        )
        return payment_message(payment)

    async def RefundPayment(self, request: pb.RefundPaymentRequest, context: grpc.aio.ServicerContext) -> pb.Payment:
        call = require_manager("refunding a payment")
        payment_id = record_id(request.payment_id, "payment")
        payment = await handlers.refund_payment(
            commands.RefundPayment(call.tenant_id, payment_id, request.reason, utc_now()), self._uow_factory()
        )
        return payment_message(payment)

    async def ListPayments(
        self, request: pb.ListPaymentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPaymentsResponse:
        call = require_staff()
        client_id = reference_id(request.client_id, "client_id", "client") if request.client_id else None
        found, token = await views.list_payments(
            self._engine,
            call.tenant_id,
            client_id=client_id,
            page_size=views.page_size_of(request.page.page_size),
            page_token=request.page.page_token,
        )
        return pb.ListPaymentsResponse(
            payments=[payment_message(p) for p in found], page=types_pb2.PageInfo(next_page_token=token)
        )

    async def GetClientBalance(
        self, request: pb.GetClientBalanceRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientBalance:
        call = require_staff()
        client_id: uuid.UUID = record_id(request.client_id, "client")
        balances = await views.client_balance(self._engine, call.tenant_id, client_id, await self._today())
        return pb.ClientBalance(client_id=str(client_id), currencies=[balance_message(b) for b in balances])
