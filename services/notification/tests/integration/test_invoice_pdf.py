"""An issued invoice's email carries the invoice's PDF, asked of billing's DocumentService over gRPC at send
time as the notification service in the invoice's tenant: a local gRPC server answers as billing does
(with a real PDF, or a failure); the email read back from a real SMTP server (aiosmtpd) has the PDF, which
pypdf reads. Billing failing once fails that attempt, retried like an SMTP failure: one email, two
attempts."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import grpc
import pytest
from pypdf import PdfReader, PdfWriter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.membership_billing.v1 import documents_pb2 as pb
from atrium.membership_billing.v1 import documents_pb2_grpc as pb_grpc
from notification_svc.adapters.invoice_documents import GrpcInvoiceDocuments
from notification_svc.config import NotificationSettings
from notification_svc.domain import commands
from notification_svc.domain.audience import BusinessProfile, ClientContact
from notification_svc.domain.payment_notices import BillingStep
from notification_svc.service_layer import notice_handlers
from notification_svc.service_layer.unit_of_work import SqlAlchemyNotificationUnitOfWork
from platform_core.db import session_factory
from platform_core.grpc.channels import create_channel
from platform_core.grpc.context import PRINCIPAL_METADATA_KEY, TENANT_METADATA_KEY

from .conftest import Clock, FlakyMailbox, dispatcher

ISSUED = datetime(2100, 10, 1, 10, 0, tzinfo=UTC)
DUE = date(2100, 10, 15)


def invoice_pdf(number: int) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": f"Invoice {number}"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class FakeBilling(pb_grpc.DocumentServiceServicer):
    """Answers GetInvoicePdf as billing does, after ``failures`` internal errors."""

    def __init__(self) -> None:
        self.failures = 0
        self.calls: list[tuple[str, str, str, str]] = []  # (tenant, principal, invoice, business name)

    async def GetInvoicePdf(self, request: pb.GetInvoicePdfRequest, context: grpc.aio.ServicerContext) -> pb.Document:
        metadata = {k: str(v) for k, v in context.invocation_metadata() or ()}
        self.calls.append(
            (
                metadata.get(TENANT_METADATA_KEY, ""),
                metadata.get(PRINCIPAL_METADATA_KEY, ""),
                request.invoice_id,
                request.business_name,
            )
        )
        if self.failures > 0:
            self.failures -= 1
            await context.abort(grpc.StatusCode.INTERNAL, "the renderer failed")
        return pb.Document(content=invoice_pdf(7), filename="invoice-7.pdf", content_type="application/pdf")


@pytest.fixture
async def billing() -> AsyncIterator[tuple[FakeBilling, str]]:
    fake = FakeBilling()
    server = grpc.aio.server()
    pb_grpc.add_DocumentServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield fake, f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


async def test_the_invoice_email_carries_billings_pdf_and_a_billing_failure_is_retried(
    engine: AsyncEngine,
    notification_settings: NotificationSettings,
    flaky_smtp: tuple[FlakyMailbox, int],
    billing: tuple[FakeBilling, str],
) -> None:
    (mailbox, port), (fake, addr) = flaky_smtp, billing
    fake.failures = 1
    tenant, client, invoice = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    address = f"pdf-{client.hex[:8]}@example.com"

    def uow() -> SqlAlchemyNotificationUnitOfWork:
        return SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=notification_settings.nats_prefix)

    async with uow() as work:
        await work.directory.keep_contact(tenant, ClientContact(client, "Ada", "", address, "", "en"), ISSUED)
        await work.directory.keep_business(tenant, BusinessProfile("Zen Studio", "Europe/Berlin", "en"), ISSUED)
        await work.commit()
    step = BillingStep(
        tenant_id=tenant,
        kind="invoice.issued",
        client_id=client,
        subject_id=invoice,
        source_event_id=uuid.uuid4(),
        occurred_at=ISSUED,
        variables={"invoice_id": str(invoice), "number": 7, "amount": "120.00 EUR", "due_date": DUE.isoformat()},
        due_date=DUE,
    )
    await notice_handlers.plan_billing_notices(commands.PlanBillingNotices(step, ISSUED), uow())
    clock = Clock(ISSUED)
    sender = dispatcher(engine, port, clock, notification_settings)
    channel = create_channel(addr, default_deadline=5)
    sender.uow.invoice_documents = GrpcInvoiceDocuments(pb_grpc.DocumentServiceStub(channel))
    try:
        await sender.dispatch_all_due()
        assert [m for m in mailbox.messages if m["To"] == address] == []  # never sent without it while it may come
        clock.now += timedelta(seconds=30)
        await sender.dispatch_all_due()
    finally:
        await channel.close()

    assert fake.calls == [(str(tenant), "service;notification;;", str(invoice), "Zen Studio")] * 2
    [email] = [m for m in mailbox.messages if m["To"] == address]
    [pdf] = [p for p in email.walk() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "invoice-7.pdf"
    content = pdf.get_payload(decode=True)
    assert isinstance(content, bytes) and content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1 and reader.metadata is not None and reader.metadata.title == "Invoice 7"
    body = next(p for p in email.walk() if p.get_content_type() == "text/plain").get_payload(decode=True)
    assert isinstance(body, bytes) and b"attached as a PDF" in body
    async with engine.connect() as conn:
        attempts = list(
            await conn.execute(
                text(
                    "SELECT a.outcome, a.error FROM message_attempts a JOIN messages m ON m.id = a.message_id "
                    "WHERE m.tenant_id = :t AND m.kind = 'invoice.issued' AND m.channel = 'email' ORDER BY a.number"
                ),
                {"t": tenant},
            )
        )
    assert [a.outcome for a in attempts] == ["failed", "sent"]
    assert "invoice PDF" in attempts[0].error and "the renderer failed" in attempts[0].error
    # Paid: its payment reminders, no part of this test, are not left for other tests' dispatchers.
    assert await notice_handlers.settle_invoice(commands.SettleInvoice(tenant, invoice, "paid", clock.now), uow()) == 3
