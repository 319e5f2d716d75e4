"""PaymentDue against real PostgreSQL: each open invoice's stage (due soon, due today, overdue) is told once
however many replicas look, judged on the business's calendar (Auckland's today is not UTC's), and paid,
draft and voided invoices are never told."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.common.v1 import types_pb2
from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.membership_billing.v1 import billing_pb2 as pb
from atrium.membership_billing.v1 import billing_pb2_grpc as pb_grpc
from atrium.membership_billing.v1 import events_pb2
from atrium.scheduling.v1 import catalogue_pb2 as cat
from atrium.scheduling.v1.catalogue_pb2_grpc import CatalogueServiceStub
from membership_billing_svc.adapters.business_calendar import GrpcBusinessCalendar
from membership_billing_svc.adapters.client_directory import GrpcClientDirectory
from membership_billing_svc.config import BillingSettings
from membership_billing_svc.domain import commands
from membership_billing_svc.service_layer.handlers import notify_payments_due
from membership_billing_svc.service_layer.unit_of_work import SqlAlchemyBillingUnitOfWork
from platform_core.db import create_engine, session_factory
from platform_core.grpc.context import CallContext, Principal, bind_call_context

AUCKLAND = ZoneInfo("Pacific/Auckland")


@pytest.fixture
async def engine(billing_settings: BillingSettings) -> AsyncIterator[AsyncEngine]:
    created = create_engine(billing_settings.database_url(billing_settings.unit))
    yield created
    await created.dispose()


async def issued(billing: pb_grpc.BillingServiceStub, client_id: str, issue_date: date, terms: int) -> pb.Invoice:
    draft = await billing.CreateInvoice(
        pb.CreateInvoiceRequest(
            client_id=client_id,
            currency="NZD",
            payment_terms_days=terms,
            lines=[pb.InvoiceLineInput(description="Session", quantity="1", unit_price_minor=5000)],
        )
    )
    return await billing.IssueInvoice(pb.IssueInvoiceRequest(invoice_id=draft.id, issue_date=issue_date.isoformat()))


async def test_each_stage_of_each_open_invoice_is_told_once_on_the_business_calendar(
    billing_channel: grpc.aio.Channel,
    billing_client_channel: grpc.aio.Channel,
    billing_scheduling_channel: grpc.aio.Channel,
    billing_settings: BillingSettings,
    engine: AsyncEngine,
) -> None:
    tenant = uuid.uuid4()
    billing = pb_grpc.BillingServiceStub(billing_channel)
    catalogue = CatalogueServiceStub(billing_scheduling_channel)
    # Noon UTC is already tomorrow in Auckland.
    now = datetime.combine(datetime.now(UTC).date(), time(12), tzinfo=UTC)
    today = now.astimezone(AUCKLAND).date()
    with bind_call_context(CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))):
        await catalogue.UpdateSchedulingSettings(
            cat.SchedulingSettings(
                timezone="Pacific/Auckland", slot_rules=cat.SlotRules(granularity_minutes=30, horizon_days=60)
            )
        )
        client_id = (
            await client_grpc.ClientRecordsStub(billing_client_channel).CreateClient(
                client_pb.CreateClientRequest(first_name="Due", last_name="Soon")
            )
        ).id
        soon = await issued(billing, client_id, today, 2)
        due_today = await issued(billing, client_id, today - timedelta(days=14), 14)
        overdue = await issued(billing, client_id, today - timedelta(days=10), 7)
        later = await issued(billing, client_id, today, 30)
        paid = await issued(billing, client_id, today - timedelta(days=10), 7)
        await billing.RecordPayment(
            pb.RecordPaymentRequest(
                client_id=client_id,
                invoice_id=paid.id,
                amount=types_pb2.Money(amount_minor=5000, currency="NZD"),
                method="cash",
            )
        )
        await billing.RecordPayment(
            pb.RecordPaymentRequest(
                client_id=client_id,
                invoice_id=overdue.id,
                amount=types_pb2.Money(amount_minor=1500, currency="NZD"),
                method="cash",
            )
        )

    sessions = session_factory(engine)
    calendar = GrpcBusinessCalendar(catalogue)
    directory = GrpcClientDirectory(client_grpc.ClientRecordsStub(billing_client_channel))

    async def look(at: datetime) -> int:
        with bind_call_context(CallContext(tenant, Principal.service("membership_billing"))):
            told = await asyncio.gather(
                *(
                    notify_payments_due(
                        commands.NotifyPaymentsDue(tenant, 3, 50, at),
                        SqlAlchemyBillingUnitOfWork(
                            sessions,
                            nats_prefix=billing_settings.nats_prefix,
                            client_directory=directory,
                            business_calendar=calendar,
                        ),
                    )
                    for _ in range(2)
                )
            )
        return sum(told)

    await look(now)
    await look(now)
    # A day later: the one due soon is due today.
    await look(now + timedelta(days=2))

    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT envelope FROM outbox WHERE tenant_id = :t AND subject LIKE '%.PaymentDue' ORDER BY id"),
                {"t": tenant},
            )
        ).all()
    told = []
    for row in rows:
        envelope = EventEnvelope.FromString(row.envelope)
        message = events_pb2.PaymentDue()
        envelope.payload.Unpack(message)
        told.append((message.invoice_id, message.stage, message.days, message.balance_minor))
    first_look = {
        (soon.id, "due_soon", 2, 5000),
        (due_today.id, "due_today", 0, 5000),
        (overdue.id, "overdue", -3, 3500),
    }
    assert set(told[:3]) == first_look and len(told) == 5
    assert set(told[3:]) == {(soon.id, "due_today", 0, 5000), (due_today.id, "overdue", -2, 5000)}
    assert later.id not in {t[0] for t in told} and paid.id not in {t[0] for t in told}
