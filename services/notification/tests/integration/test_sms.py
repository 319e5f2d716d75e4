"""SMS through Twilio's Messages API, against a local HTTP server that answers like Twilio (including its
failures): a failing provider is retried, then the message goes by email instead, never both delivered;
an accepted SMS is delivered or failed by the signed delivery report; a client who prefers SMS gets its
request messages by SMS (by email when it has no number), and so its appointment, reminder, billing and
membership messages, all but a category it switched off by SMS."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_svc.adapters.sms_sender import TwilioSmsSender, twilio_signature, valid_twilio_signature
from notification_svc.config import NotificationSettings
from notification_svc.domain import commands
from notification_svc.domain.appointment_notices import AppointmentStep
from notification_svc.domain.audience import ClientContact
from notification_svc.domain.delivery import PlannedMessage, Recipient, Status
from notification_svc.domain.payment_notices import BillingStep
from notification_svc.domain.preferences import Preference
from notification_svc.domain.request_notices import RequestStep
from notification_svc.service_layer import message_handlers, notice_handlers, preference_handlers
from notification_svc.service_layer.unit_of_work import SqlAlchemyNotificationUnitOfWork
from platform_core.db import session_factory

from .conftest import Clock, FlakyMailbox, dispatcher

NOW = datetime(2100, 9, 1, 9, 0, tzinfo=UTC)
SID, TOKEN = "AC0123456789abcdef0123456789abcdef", "twilio-auth-token"


class FakeTwilio:
    """Answers POST /2010-04-01/Accounts/{sid}/Messages.json as Twilio does: 201 with a sid, or a failure."""

    def __init__(self) -> None:
        self.failures = 0
        self.received: list[dict[str, str]] = []

    async def messages(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected or request.match_info["sid"] != SID:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.received.append(form)
        if self.failures > 0:
            self.failures -= 1
            return web.json_response({"code": 20500, "message": "Internal Server Error", "status": 500}, status=500)
        sid = f"SM{uuid.uuid4().hex}"
        return web.json_response({"sid": sid, "status": "queued", "to": form["To"], "body": form["Body"]}, status=201)


@pytest.fixture
async def twilio() -> AsyncIterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio()
    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", fake.messages)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def sms_reminder(tenant: uuid.UUID, client_id: uuid.UUID) -> PlannedMessage:
    return PlannedMessage(
        tenant_id=tenant,
        kind="appointment.reminder",
        category="reminders",
        channel="sms",
        recipient=Recipient("client", client_id),
        client_id=client_id,
        rule="appointment.reminder:2h:client",
        source_event_id=uuid.uuid4(),
        variables={
            "service_name": "Massage", "start": (NOW + timedelta(hours=2)).isoformat(), "audience": "client",
            "timezone": "Europe/Berlin",
        },
        due_at=NOW,
        max_attempts=5,
        fallback_channel="email",
        fallback_after=2,
    )  # fmt: skip


async def setup(engine: AsyncEngine, settings: NotificationSettings, message: PlannedMessage) -> None:
    uow = SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=settings.nats_prefix)
    async with uow:
        contact = ClientContact(message.recipient.id, "Ada", "", "ada@example.com", "+4915112345678")
        await uow.directory.keep_contact(message.tenant_id, contact, NOW)
        assert await uow.messages.plan([message], NOW) == 1
        await uow.commit()


async def rows(engine: AsyncEngine, tenant: uuid.UUID) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT channel, status, attempts, provider_id FROM messages WHERE tenant_id = :t ORDER BY channel"),
            {"t": tenant},
        )
        return list(result)


async def test_a_failing_provider_is_retried_then_the_email_goes_instead_never_both(
    engine: AsyncEngine,
    notification_settings: NotificationSettings,
    flaky_smtp: tuple[FlakyMailbox, int],
    twilio: tuple[FakeTwilio, str],
) -> None:
    (mailbox, port), (fake, base) = flaky_smtp, twilio
    fake.failures = 5
    tenant = uuid.uuid4()
    message = sms_reminder(tenant, uuid.uuid4())
    await setup(engine, notification_settings, message)
    clock = Clock(NOW)
    sender = dispatcher(engine, port, clock, notification_settings)
    sender.uow.sms_sender = TwilioSmsSender(account_sid=SID, auth_token=TOKEN, sender="+15005550006", api_base=base)

    await sender.dispatch_all_due()
    assert [(r.channel, r.status, r.attempts) for r in await rows(engine, tenant)] == [("sms", "planned", 1)]
    clock.now = NOW + timedelta(seconds=30)
    await sender.dispatch_all_due()  # the second failure: SMS failed, the email planned and sent
    assert [(r.channel, r.status, r.attempts) for r in await rows(engine, tenant)] == [
        ("email", "sent", 1),
        ("sms", "failed", 2),
    ]
    assert [f["To"] for f in fake.received] == ["+4915112345678"] * 2
    assert fake.received[0]["From"] == "+15005550006" and "Massage" in fake.received[0]["Body"]
    assert fake.received[0]["StatusCallback"] == f"http://127.0.0.1:8080/webhooks/twilio/{tenant}/status"
    [email] = mailbox.messages
    assert "Reminder: Massage" in email["Subject"]


async def test_delivery_reports_settle_an_accepted_sms_and_a_failed_one_falls_back_to_email(
    engine: AsyncEngine,
    notification_settings: NotificationSettings,
    flaky_smtp: tuple[FlakyMailbox, int],
    twilio: tuple[FakeTwilio, str],
) -> None:
    (mailbox, port), (fake, base) = flaky_smtp, twilio
    clock = Clock(NOW + timedelta(days=1))
    sender = dispatcher(engine, port, clock, notification_settings)
    sender.uow.sms_sender = TwilioSmsSender(account_sid=SID, auth_token=TOKEN, sender="MG0123456789", api_base=base)
    delivered_tenant, undelivered_tenant = uuid.uuid4(), uuid.uuid4()
    for tenant in (delivered_tenant, undelivered_tenant):
        await setup(engine, notification_settings, sms_reminder(tenant, uuid.uuid4()))
    await sender.dispatch_all_due()
    assert "MessagingServiceSid" in fake.received[0] and "From" not in fake.received[0]
    [sent] = await rows(engine, delivered_tenant)
    [unsent] = await rows(engine, undelivered_tenant)
    assert sent.status == unsent.status == "sent" and sent.provider_id.startswith("SM")

    def uow() -> SqlAlchemyNotificationUnitOfWork:
        return SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=notification_settings.nats_prefix)

    def report(tenant: uuid.UUID, provider_id: str, status: Status, error: str = "") -> commands.RecordProviderReport:
        return commands.RecordProviderReport(tenant, provider_id, status, error, clock.now)

    assert await message_handlers.record_provider_report(
        report(delivered_tenant, sent.provider_id, Status.DELIVERED), uow()
    )
    # Another tenant's report cannot touch it, and a second report finds it final.
    assert not await message_handlers.record_provider_report(
        report(undelivered_tenant, sent.provider_id, Status.FAILED), uow()
    )
    assert not await message_handlers.record_provider_report(
        report(delivered_tenant, sent.provider_id, Status.FAILED), uow()
    )
    assert await message_handlers.record_provider_report(
        report(undelivered_tenant, unsent.provider_id, Status.FAILED, "30003 Unreachable"), uow()
    )
    await sender.dispatch_all_due()
    assert [(r.channel, r.status) for r in await rows(engine, delivered_tenant)] == [("sms", "delivered")]
    assert [(r.channel, r.status) for r in await rows(engine, undelivered_tenant)] == [
        ("email", "sent"),
        ("sms", "failed"),
    ]
    assert len(mailbox.messages) == 1


def test_the_signature_of_a_delivery_report_is_twilios() -> None:
    # The example of Twilio's own request validator tests.
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234", "From": "+14158675309",
        "To": "+18005551212",
    }  # fmt: skip
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert valid_twilio_signature("12345", url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not valid_twilio_signature("12345", url, params | {"Digits": "1235"}, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not valid_twilio_signature("", url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


async def test_a_client_who_prefers_sms_gets_its_request_decision_by_sms_and_one_without_a_number_by_email(
    engine: AsyncEngine,
    notification_settings: NotificationSettings,
    flaky_smtp: tuple[FlakyMailbox, int],
    twilio: tuple[FakeTwilio, str],
) -> None:
    (mailbox, port), (fake, base) = flaky_smtp, twilio
    tenant, texting, no_number = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    uow = SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=notification_settings.nats_prefix)
    async with uow:
        await uow.directory.keep_contact(
            tenant, ClientContact(texting, "Ada", "", "ada@example.com", "+4915112345678"), NOW
        )
        await uow.directory.keep_contact(tenant, ClientContact(no_number, "Bob", "", "bob@example.com"), NOW)
        await uow.commit()
    for client in (texting, no_number):
        await preference_handlers.choose_preferences(
            commands.ChoosePreferences(tenant, client, (), NOW, preferred_channel="sms"),
            SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=notification_settings.nats_prefix),
        )
        step = RequestStep(
            tenant_id=tenant,
            event="RequestDeclined",
            subject_id=uuid.uuid4(),
            client_id=client,
            source_event_id=uuid.uuid4(),
            occurred_at=NOW + timedelta(days=2),
            variables={"reference": "REQ-9", "service_name": "Massage", "reason": "Closed", "duration_minutes": 60,
                       "client_timezone": "", "business_timezone": "", "preferred_staff_name": "", "description": ""},
        )  # fmt: skip
        await notice_handlers.plan_request_notices(
            commands.PlanRequestNotices(step, step.occurred_at, 3),
            SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=notification_settings.nats_prefix),
        )
    sender = dispatcher(engine, port, Clock(NOW + timedelta(days=2)), notification_settings)
    sender.uow.sms_sender = TwilioSmsSender(account_sid=SID, auth_token=TOKEN, sender="+15005550006", api_base=base)
    await sender.dispatch_all_due()
    [texted] = fake.received
    assert texted["To"] == "+4915112345678" and "REQ-9" in texted["Body"] and "declined" in texted["Body"]
    assert [m["To"] for m in mailbox.messages] == ["bob@example.com"]
    assert sorted((r.channel, r.status) for r in await rows(engine, tenant)) == [
        ("email", "sent"),
        ("in_app", "delivered"),
        ("in_app", "delivered"),
        ("sms", "sent"),
    ]


async def test_a_client_who_prefers_sms_gets_its_appointment_reminder_invoice_and_membership_messages_by_sms(
    engine: AsyncEngine,
    notification_settings: NotificationSettings,
    flaky_smtp: tuple[FlakyMailbox, int],
    twilio: tuple[FakeTwilio, str],
) -> None:
    (mailbox, port), (fake, base) = flaky_smtp, twilio
    tenant, texting, no_reminder_texts = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    phones = {texting: "+4915112345678", no_reminder_texts: "+4915187654321"}

    def uow() -> SqlAlchemyNotificationUnitOfWork:
        return SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=notification_settings.nats_prefix)

    async with uow() as work:
        for client, phone in phones.items():
            contact = ClientContact(client, "Ada", "", f"{client.hex[:8]}@example.com", phone, "en", "Europe/Berlin")
            await work.directory.keep_contact(tenant, contact, NOW)
        await work.commit()
    await preference_handlers.choose_preferences(
        commands.ChoosePreferences(tenant, texting, (), NOW, preferred_channel="sms"), uow()
    )
    no_texts = (Preference("reminders", "sms", False),)
    await preference_handlers.choose_preferences(
        commands.ChoosePreferences(tenant, no_reminder_texts, no_texts, NOW, preferred_channel="sms"), uow()
    )
    start = datetime(2100, 9, 3, 8, 0, tzinfo=UTC)  # 10:00 in Berlin: reminded by default a day ahead
    for client in phones:
        appointment = uuid.uuid4()
        booked = AppointmentStep(
            tenant_id=tenant,
            kind="appointment.booked",
            appointment_id=appointment,
            client_id=client,
            staff_ids=(),
            service_ids=(),
            start=start,
            timezone="Europe/Berlin",
            source_event_id=uuid.uuid4(),
            occurred_at=NOW,
            variables={"appointment_id": str(appointment), "service_name": "Massage", "start": start.isoformat(),
                       "timezone": "Europe/Berlin"},
        )  # fmt: skip
        await notice_handlers.plan_appointment_notices(commands.PlanAppointmentNotices(booked, NOW, 3), uow())
    invoice = uuid.uuid4()
    issued = BillingStep(
        tenant_id=tenant,
        kind="invoice.issued",
        client_id=texting,
        subject_id=invoice,
        source_event_id=uuid.uuid4(),
        occurred_at=NOW,
        variables={"invoice_id": str(invoice), "number": 12, "amount": "80.00 EUR", "due_date": "2100-09-30"},
        due_date=date(2100, 9, 30),
    )
    await notice_handlers.plan_billing_notices(commands.PlanBillingNotices(issued, NOW), uow())
    frozen = BillingStep(
        tenant_id=tenant,
        kind="membership.frozen",
        client_id=texting,
        subject_id=uuid.uuid4(),
        source_event_id=uuid.uuid4(),
        occurred_at=NOW,
        variables={"membership_name": "Yoga 10", "starts_on": "2100-08-01", "expires_on": "2100-12-31",
                   "tolerance_until": "", "price": "99.00 EUR", "auto_renew": False, "frozen_from": "2100-09-01",
                   "frozen_until": "2100-09-14", "reason": "Travel"},
    )  # fmt: skip
    await notice_handlers.plan_billing_notices(commands.PlanBillingNotices(frozen, NOW), uow())

    clock = Clock(NOW)
    sender = dispatcher(engine, port, clock, notification_settings)
    sender.uow.sms_sender = TwilioSmsSender(account_sid=SID, auth_token=TOKEN, sender="+15005550006", api_base=base)
    await sender.dispatch_all_due()
    clock.now = start - timedelta(days=1)
    await sender.dispatch_all_due()

    bodies = [m["Body"] for m in fake.received if m["To"] == phones[texting]]
    assert len(bodies) == 4, bodies  # booked, invoice, frozen, reminder
    for said in ("booked for", "invoice 12", "Yoga 10", "Reminder: Massage"):
        assert any(said in body for body in bodies), (said, bodies)
    assert mailbox.messages and all(m["To"] == f"{no_reminder_texts.hex[:8]}@example.com" for m in mailbox.messages)
    # The client who switched reminders off by SMS still gets its reminder, by email (the booking by SMS).
    [reminder_email] = mailbox.messages
    assert "Reminder" in str(reminder_email["Subject"])
    [booking_text] = [m["Body"] for m in fake.received if m["To"] == phones[no_reminder_texts]]
    assert "booked for" in booking_text
    async with engine.connect() as conn:
        pending = await conn.execute(
            text(
                "SELECT channel, fallback_channel FROM messages WHERE tenant_id = :t AND client_id = :c "
                "AND kind = 'payment.due'"
            ),
            {"t": tenant, "c": texting},
        )
        assert {(r.channel, r.fallback_channel) for r in pending} == {("sms", "email")}
    # Paid: its payment reminders are not left for other tests' dispatchers.
    assert await notice_handlers.settle_invoice(commands.SettleInvoice(tenant, invoice, "paid", clock.now), uow()) == 3
