"""Billing's events as messages, with the clock moved by the test: an invoice issued is told at once and
reminded 3 days before its due date, on the day and 3 days overdue, at 09:00 in the client's zone; paying
it cancels the reminders not yet sent; a business's own rule decides the days, channels and time, and a
refund that reopens a paid invoice plans its reminders still ahead again, for what is owed again."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from notification_svc.config import NotificationSettings
from notification_svc.domain import commands
from notification_svc.domain.audience import BusinessProfile, ClientContact
from notification_svc.domain.payment_notices import BillingStep, InvoiceFacts, PaymentRule, checked_payment_rule
from notification_svc.service_layer import notice_handlers, rule_handlers
from notification_svc.service_layer.unit_of_work import SqlAlchemyNotificationUnitOfWork
from platform_core.db import session_factory

from .conftest import Clock, FlakyMailbox, dispatcher

BERLIN = ZoneInfo("Europe/Berlin")
ISSUED = datetime(2100, 10, 1, 10, 0, tzinfo=UTC)
DUE = date(2100, 10, 15)


async def test_an_invoice_is_told_and_reminded_at_nine_local_until_it_is_paid(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    tenant, client, invoice = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def uow() -> SqlAlchemyNotificationUnitOfWork:
        return SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=notification_settings.nats_prefix)

    async with uow() as work:
        contact = ClientContact(client, "Ada", "", "ada@example.com", "", "de", "Europe/Berlin")
        await work.directory.keep_contact(tenant, contact, ISSUED)
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
    assert (
        await notice_handlers.plan_billing_notices(commands.PlanBillingNotices(step, ISSUED), uow()) == 5
    )  # email, inbox, 3 reminders
    clock = Clock(ISSUED)
    sender = dispatcher(engine, port, clock, notification_settings)

    def subjects() -> list[str]:
        return [" ".join(str(make_header(decode_header(m["Subject"]))).split()) for m in mailbox.messages]

    await sender.dispatch_all_due()
    assert subjects() == ["Rechnung 7 von Zen Studio: 120.00 EUR"]
    three_before = datetime(2100, 10, 12, 9, 0, tzinfo=BERLIN).astimezone(UTC)
    clock.now = three_before - timedelta(seconds=1)
    await sender.dispatch_all_due()
    assert len(mailbox.messages) == 1
    clock.now = three_before
    await sender.dispatch_all_due()
    assert subjects()[1] == "Rechnung 7 ist in 3 Tagen fällig: 120.00 EUR"
    assert "am 15. Oktober 2100 fällig" in mailbox.messages[1].get_payload(0).get_payload(decode=True).decode()

    assert (
        await notice_handlers.settle_invoice(commands.SettleInvoice(tenant, invoice, "paid", clock.now), uow()) == 2
    )  # on the day, overdue
    clock.now = datetime(2100, 11, 1, tzinfo=UTC)
    await sender.dispatch_all_due()
    assert len(mailbox.messages) == 2


async def test_the_business_rule_decides_the_reminders_and_a_refund_that_reopens_a_paid_invoice_plans_them_again(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    tenant, client, invoice = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    address = f"bo-{client.hex[:6]}@example.com"

    def uow() -> SqlAlchemyNotificationUnitOfWork:
        return SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=notification_settings.nats_prefix)

    async with uow() as work:
        await work.directory.keep_contact(
            tenant, ClientContact(client, "Bo", "", address, "", "en", "Europe/Berlin"), ISSUED
        )
        await work.commit()
    rule = checked_payment_rule([2, -1], ["email"], "10:30")
    await rule_handlers.set_payment_rule(commands.SetPaymentRule(tenant, rule, ISSUED), uow())
    assert (await rule_handlers.get_payment_rule(commands.GetPaymentRule(tenant), uow())) == (
        PaymentRule((-1, 2), ("email",), time(10, 30)),
        False,
    )
    step = BillingStep(
        tenant_id=tenant,
        kind="invoice.issued",
        client_id=client,
        subject_id=invoice,
        source_event_id=uuid.uuid4(),
        occurred_at=ISSUED,
        variables={"invoice_id": str(invoice), "number": 9, "amount": "80.00 EUR", "due_date": DUE.isoformat()},
        due_date=DUE,
    )
    facts = InvoiceFacts(invoice, client, 9, "EUR", 8000, DUE)
    # Told by email and in the inbox, reminded the day before and 2 days overdue.
    assert await notice_handlers.plan_billing_notices(commands.PlanBillingNotices(step, ISSUED, facts), uow()) == 4
    assert (
        await notice_handlers.settle_invoice(
            commands.SettleInvoice(tenant, invoice, "paid", ISSUED + timedelta(days=1)), uow()
        )
        == 2
    )
    refund = uuid.uuid4()
    refunded_at = datetime(2100, 10, 14, 12, 0, tzinfo=UTC)  # after the day-before reminder's time
    reopened = await notice_handlers.reopen_invoices(
        commands.ReopenInvoices(tenant, refund, {invoice: 3000}, refunded_at, refunded_at), uow()
    )
    assert reopened == 1  # only the overdue one is still ahead
    # A second delivery of the refund reopens nothing (the invoice is open already).
    assert (
        await notice_handlers.reopen_invoices(
            commands.ReopenInvoices(tenant, refund, {invoice: 3000}, refunded_at, refunded_at), uow()
        )
        == 0
    )

    clock = Clock(datetime(2100, 10, 17, 10, 30, tzinfo=BERLIN).astimezone(UTC) - timedelta(seconds=1))
    sender = dispatcher(engine, port, clock, notification_settings)
    await sender.dispatch_all_due()
    overdue = [m for m in mailbox.messages if m["To"] == address and "overdue" in str(m["Subject"])]
    assert overdue == []
    clock.now += timedelta(seconds=1)
    await sender.dispatch_all_due()
    [email] = [m for m in mailbox.messages if m["To"] == address and "overdue" in str(m["Subject"])]
    assert "30.00 EUR" in str(make_header(decode_header(email["Subject"])))
