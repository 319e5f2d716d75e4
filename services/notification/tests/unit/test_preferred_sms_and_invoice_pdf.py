"""Without a database: a client who prefers SMS gets each of its emails by SMS (falling back to email), on
every path that plans client messages; an issued invoice's email carries billing's PDF, is retried while
billing cannot give it, and on its last attempt goes without it saying so."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from notification_svc.adapters.email_sender import AbstractEmailSender
from notification_svc.adapters.invoice_documents import AbstractInvoiceDocuments
from notification_svc.domain import commands
from notification_svc.domain.appointment_notices import AppointmentStep, change_notices, reminders
from notification_svc.domain.audience import BusinessProfile, ClientContact
from notification_svc.domain.delivery import PlannedMessage, Recipient, RetryPolicy, Status
from notification_svc.domain.emails import Attachment, OutgoingEmail
from notification_svc.domain.payment_notices import BillingStep, PaymentRule, billing_notices
from notification_svc.domain.preferences import PREFERRED_SMS_FALLBACK_AFTER, by_preferred_sms
from notification_svc.domain.reminders import Offset, ReminderRule
from notification_svc.service_layer import delivery_handlers
from notification_svc.service_layer.unit_of_work import NotificationPorts

from .fakes import FakeClock, FakeUnitOfWork

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
TENANT, CLIENT, STAFF = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def appointment_step() -> AppointmentStep:
    return AppointmentStep(
        tenant_id=TENANT,
        kind="appointment.booked",
        appointment_id=uuid.uuid4(),
        client_id=CLIENT,
        staff_ids=(STAFF,),
        service_ids=(),
        start=datetime(2026, 3, 30, 7, 0, tzinfo=UTC),
        timezone="Europe/Berlin",
        source_event_id=uuid.uuid4(),
        occurred_at=NOW,
        variables={"start": "2026-03-30T07:00:00+00:00"},
    )


def by_channel(planned: list[PlannedMessage]) -> set[tuple[str, str, str, str, int]]:
    return {(m.recipient.kind, m.kind, m.channel, m.fallback_channel, m.fallback_after) for m in planned}


def test_the_clients_appointment_emails_and_reminders_go_by_sms_with_the_email_fallback_staffs_stay() -> None:
    step = appointment_step()
    rule = ReminderRule(
        offsets=(Offset(1, "d"),), audiences=("client", "staff"), channels=("email",), sms_fallback_after=3
    )
    planned = change_notices(step, max_attempts=5) + reminders(step, rule, {}, now=NOW, max_attempts=5)
    assert by_channel(by_preferred_sms(planned, CLIENT)) == {
        ("client", "appointment.booked", "sms", "email", PREFERRED_SMS_FALLBACK_AFTER),
        ("client", "appointment.booked", "in_app", "", 0),
        ("client", "appointment.reminder", "sms", "email", 3),  # the rule's own number of SMS failures
        ("staff", "appointment.booked", "email", "", 0),
        ("staff", "appointment.booked", "in_app", "", 0),
        ("staff", "appointment.reminder", "email", "", 3),
    }
    # Not a category the client switched off by SMS: the email it allows goes instead.
    kept = by_preferred_sms(planned, CLIENT, switched_off={"reminders"})
    assert ("client", "appointment.reminder", "email", "", 3) in by_channel(kept)


def test_billing_messages_go_by_sms_and_a_rule_that_sends_both_keeps_both() -> None:
    step = BillingStep(
        tenant_id=TENANT,
        kind="invoice.issued",
        client_id=CLIENT,
        subject_id=uuid.uuid4(),
        source_event_id=uuid.uuid4(),
        occurred_at=NOW,
        variables={"number": 7, "amount": "120.00 EUR", "due_date": "2026-03-15"},
        due_date=date(2026, 3, 15),
    )
    both = PaymentRule(days=(0,), channels=("email", "sms"))
    assert by_channel(by_preferred_sms(billing_notices(step, BERLIN, now=NOW, rule=both), CLIENT)) == {
        ("client", "invoice.issued", "sms", "email", PREFERRED_SMS_FALLBACK_AFTER),
        ("client", "invoice.issued", "in_app", "", 0),
        ("client", "payment.due", "email", "", 0),  # the business chose email and SMS: both go, as chosen
        ("client", "payment.due", "sms", "", 0),
    }
    planned = by_preferred_sms(billing_notices(step, BERLIN, now=NOW, rule=PaymentRule(days=(0,))), CLIENT)
    assert ("client", "payment.due", "sms", "email", PREFERRED_SMS_FALLBACK_AFTER) in by_channel(planned)
    # Another client's messages are no business of this client's preference.
    assert by_preferred_sms(planned, uuid.uuid4()) == planned


class Outbox(AbstractEmailSender):
    transport = "memory"

    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []

    async def send(self, email: OutgoingEmail) -> None:
        self.sent.append(email)


class Billing(AbstractInvoiceDocuments):
    def __init__(self, *, available: bool) -> None:
        self.available = available
        self.asked: list[tuple[uuid.UUID, uuid.UUID, str]] = []

    async def invoice_pdf(self, tenant_id: uuid.UUID, invoice_id: uuid.UUID, business_name: str) -> Attachment:
        self.asked.append((tenant_id, invoice_id, business_name))
        if not self.available:
            raise ConnectionError("billing unavailable")
        return Attachment("invoice-7.pdf", "application/pdf", b"%PDF-1.4 ...")


def invoice_message(max_attempts: int = 3) -> PlannedMessage:
    variables = {"invoice_id": str(uuid.uuid4()), "number": 7, "amount": "120.00 EUR", "due_date": "2026-03-15"}
    return PlannedMessage(
        TENANT, "invoice.issued", "transactional", "email", Recipient("client", CLIENT), CLIENT, "test",
        uuid.uuid4(), variables, NOW, max_attempts,
    )  # fmt: skip


DISPATCH = commands.DispatchDueMessages(retry_policy=RetryPolicy(base=timedelta(seconds=30)))


async def unit_of_work(outbox: Outbox, billing: Billing, message: PlannedMessage) -> FakeUnitOfWork:
    """Ada of Zen Studio, with the invoice's email due now."""
    uow = FakeUnitOfWork(NotificationPorts(clock=FakeClock(NOW), email_sender=outbox, invoice_documents=billing))
    await uow.directory.keep_contact(TENANT, ClientContact(CLIENT, "Ada", "", "ada@example.com", "", "en"), NOW)
    await uow.directory.keep_business(TENANT, BusinessProfile("Zen Studio", "Europe/Berlin", "en"), NOW)
    await uow.messages.plan([message], NOW)
    return uow


async def test_an_issued_invoices_email_carries_its_pdf_asked_of_billing_in_its_tenant() -> None:
    outbox, billing, message = Outbox(), Billing(available=True), invoice_message()
    uow = await unit_of_work(outbox, billing, message)
    assert await delivery_handlers.dispatch_due_messages(DISPATCH, uow) == 1
    assert uow.messages.stored[message.id].status == Status.SENT
    assert billing.asked == [(TENANT, uuid.UUID(message.variables["invoice_id"]), "Zen Studio")]
    [email] = outbox.sent
    assert [(a.filename, a.content_type) for a in email.attachments] == [("invoice-7.pdf", "application/pdf")]
    assert "attached as a PDF" in email.text and "could not be attached" not in email.text


async def test_billing_unavailable_fails_the_attempt_for_a_retry_and_the_last_goes_without_saying_so() -> None:
    outbox, billing, message = Outbox(), Billing(available=False), invoice_message(max_attempts=2)
    uow = await unit_of_work(outbox, billing, message)
    await delivery_handlers.dispatch_due_messages(DISPATCH, uow)
    retried = uow.messages.stored[message.id]
    assert (retried.status, retried.due_at) == (Status.PLANNED, NOW + timedelta(seconds=30))
    assert outbox.sent == []  # never sent without it while a retry may still bring it
    assert isinstance(uow.clock, FakeClock)
    uow.clock.now = NOW + timedelta(seconds=30)
    await delivery_handlers.dispatch_due_messages(DISPATCH, uow)  # the last attempt
    assert uow.messages.stored[message.id].status == Status.SENT
    [email] = outbox.sent
    assert email.attachments == ()
    assert "could not be attached" in email.text and "could not be attached" in email.html
