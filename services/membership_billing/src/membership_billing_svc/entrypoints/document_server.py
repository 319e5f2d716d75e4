"""gRPC servicer of printable documents: an invoice, a membership card, a voucher of a credit lot, as PDF. Staff
(and other services) for any client; a portal client for its own issued invoices, card and lots."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.membership_billing.v1 import documents_pb2 as pb
from atrium.membership_billing.v1 import documents_pb2_grpc as pb_grpc
from membership_billing_svc import ledger_views, statement_views, views
from membership_billing_svc.adapters import pdf_documents
from membership_billing_svc.adapters.business_calendar import AbstractBusinessCalendar
from membership_billing_svc.adapters.client_directory import AbstractClientDirectory
from membership_billing_svc.domain.statement import MAX_STATEMENT_DAYS, CurrencyStatement
from membership_billing_svc.entrypoints.billing_server import visible_to_caller
from membership_billing_svc.entrypoints.ledger_server import client_asked_about
from platform_core.errors import InvalidArgument, NotFound
from platform_core.grpc.context import current_context
from platform_core.grpc.values import record_id

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DocumentService"].full_name
MAX_TOKEN = 2000
MAX_BUSINESS_NAME = 200


def _day(raw: str, field: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidArgument.single(field, "must be a day, YYYY-MM-DD") from None


def _checked(card_token: str, business_name: str) -> tuple[str, str]:
    if not card_token or len(card_token) > MAX_TOKEN:
        raise InvalidArgument.single("card_token", f"is required, at most {MAX_TOKEN} characters")
    if len(business_name) > MAX_BUSINESS_NAME:
        raise InvalidArgument.single("business_name", f"must be at most {MAX_BUSINESS_NAME} characters")
    return card_token, business_name.strip()


class DocumentServicer(pb_grpc.DocumentServiceServicer):
    def __init__(
        self, *, engine: AsyncEngine, directory: AbstractClientDirectory, calendar: AbstractBusinessCalendar
    ) -> None:
        self._engine = engine
        self._directory = directory
        self._calendar = calendar

    async def GetInvoicePdf(self, request: pb.GetInvoicePdfRequest, context: grpc.aio.ServicerContext) -> pb.Document:
        call = current_context()
        if len(request.business_name) > MAX_BUSINESS_NAME:
            raise InvalidArgument.single("business_name", f"must be at most {MAX_BUSINESS_NAME} characters")
        invoice = visible_to_caller(
            await views.get_invoice(self._engine, call.tenant_id, record_id(request.invoice_id, "invoice"))
        )
        today = datetime.now(await self._calendar.timezone()).date()
        # Rendering is CPU work: off the event loop, so the servicer keeps answering meanwhile.
        content = await asyncio.to_thread(
            pdf_documents.invoice_pdf, invoice, business_name=request.business_name.strip(), today=today
        )
        name = f"invoice-{invoice.number}.pdf" if invoice.number else f"invoice-{invoice.id}.pdf"
        return pb.Document(content=content, filename=name, content_type=pdf_documents.PDF)

    async def GetMembershipCardPdf(
        self, request: pb.GetMembershipCardPdfRequest, context: grpc.aio.ServicerContext
    ) -> pb.Document:
        client_id = client_asked_about(request.client_id)
        token, business_name = _checked(request.card_token, request.business_name)
        holder = await self._holder(client_id)
        content = await asyncio.to_thread(
            pdf_documents.membership_card_pdf, holder, token=token, business_name=business_name
        )
        return pb.Document(content=content, filename="membership-card.pdf", content_type=pdf_documents.PDF)

    async def GetVoucherPdf(self, request: pb.GetVoucherPdfRequest, context: grpc.aio.ServicerContext) -> pb.Document:
        call = current_context()
        client_id = client_asked_about(request.client_id)
        lot_id = record_id(request.lot_id, "credit lot")
        token, business_name = _checked(request.card_token, request.business_name)
        holder = await self._holder(client_id)
        balances = await ledger_views.credit_balances(
            self._engine, call.tenant_id, uuid.UUID(holder.client_id), datetime.now(UTC)
        )
        for balance in balances:
            for lot in balance.lots:
                if lot.id == lot_id:
                    zone = await self._calendar.timezone()
                    content = await asyncio.to_thread(
                        pdf_documents.voucher_pdf,
                        holder,
                        lot,
                        balance.credit_type,
                        token=token,
                        business_name=business_name,
                        zone=zone,
                    )
                    return pb.Document(
                        content=content, filename=f"voucher-{lot.id}.pdf", content_type=pdf_documents.PDF
                    )
        # Another client's lot, or one that holds nothing now, has no voucher.
        raise NotFound("credit lot not found")

    async def GetStatement(self, request: pb.GetStatementRequest, context: grpc.aio.ServicerContext) -> pb.Statement:
        heading, statements = await self._statement(request)
        return pb.Statement(
            client_id=heading.client_id,
            client_name=heading.client_name,
            from_day=heading.first.isoformat(),
            to_day=heading.last.isoformat(),
            timezone=heading.timezone,
            currencies=[
                pb.CurrencyStatement(
                    currency=s.currency,
                    opening_minor=s.opening_minor,
                    invoiced_minor=s.invoiced_minor,
                    paid_minor=s.paid_minor,
                    refunded_minor=s.refunded_minor,
                    closing_minor=s.closing_minor,
                    paid_to_date_minor=s.paid_to_date_minor,
                    balance_due_minor=s.balance_due_minor,
                    credit_minor=s.credit_minor,
                    entries=[
                        pb.StatementEntry(
                            day=e.day.isoformat(),
                            kind=e.kind.value,
                            record_id=str(e.record_id),
                            description=e.description,
                            amount_minor=e.amount_minor,
                            balance_minor=e.balance_minor,
                        )
                        for e in s.entries
                    ],
                )
                for s in statements
            ],
        )

    async def GetStatementPdf(self, request: pb.GetStatementRequest, context: grpc.aio.ServicerContext) -> pb.Document:
        heading, statements = await self._statement(request)
        content = await asyncio.to_thread(pdf_documents.statement_pdf, heading, statements, detailed=request.detailed)
        name = f"statement-{heading.first.isoformat()}-to-{heading.last.isoformat()}.pdf"
        return pb.Document(content=content, filename=name, content_type=pdf_documents.PDF)

    async def _statement(
        self, request: pb.GetStatementRequest
    ) -> tuple[pdf_documents.StatementHeading, list[CurrencyStatement]]:
        call = current_context()
        client_id = client_asked_about(request.client_id)
        if len(request.business_name) > MAX_BUSINESS_NAME:
            raise InvalidArgument.single("business_name", f"must be at most {MAX_BUSINESS_NAME} characters")
        first, last = _day(request.from_day, "from_day"), _day(request.to_day, "to_day")
        if last < first or (last - first).days > MAX_STATEMENT_DAYS:
            raise InvalidArgument.single("to_day", f"must be from from_day to {MAX_STATEMENT_DAYS} days after it")
        holder = await self._holder(client_id)
        zone = await self._calendar.timezone()
        statements = await statement_views.client_statement(
            self._engine, call.tenant_id, uuid.UUID(holder.client_id), first, last, zone
        )
        heading = pdf_documents.StatementHeading(
            business_name=request.business_name.strip(),
            client_id=holder.client_id,
            client_name=holder.name,
            first=first,
            last=last,
            timezone=zone.key,
        )
        return heading, statements

    async def _holder(self, client_id: uuid.UUID) -> pdf_documents.CardHolder:
        client = await self._directory.bill_to(client_id)
        if client is None:
            raise NotFound("client not found")
        return pdf_documents.CardHolder(name=client.name, client_id=str(client.client_id))
