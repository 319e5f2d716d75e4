"""Billing's events as messages, with the clock moved by the test: an invoice issued is told at once and
reminded 3 days before its due date, on the day and 3 days overdue, at 09:00 in the client's zone; paying
it cancels the reminders not yet sent."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from notification_svc.config import NotificationSettings
from notification_svc.domain.audience import BusinessProfile, ClientContact
from notification_svc.domain.payment_notices import BillingStep
from notification_svc.service_layer import delivery
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
    assert await delivery.plan_billing_notices(step, uow(), now=ISSUED) == 5  # email, inbox, 3 reminders
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

    assert await delivery.settle_invoice(uow(), tenant, invoice, now=clock.now) == 2  # on the day, overdue
    clock.now = datetime(2100, 11, 1, tzinfo=UTC)
    await sender.dispatch_all_due()
    assert len(mailbox.messages) == 2
