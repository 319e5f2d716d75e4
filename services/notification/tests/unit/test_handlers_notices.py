"""Messages planned from other services' events, and the local copies of recipients, through the fake unit of
work: once per event, on the client's preferred channel, reminders moved with what is now true."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from notification_svc.domain import commands
from notification_svc.domain.account_notices import AddressedNotice
from notification_svc.domain.appointment_notices import REMINDER_KIND, AppointmentStep
from notification_svc.domain.audience import BusinessProfile, ClientContact, StaffMember
from notification_svc.domain.delivery import Status
from notification_svc.domain.membership_expiry import EXPIRY_KIND, SubscriptionFacts
from notification_svc.domain.payment_notices import PAYMENT_REMINDER_KINDS, BillingStep, InvoiceFacts
from notification_svc.domain.request_notices import RequestStep
from notification_svc.service_layer import directory_handlers, notice_handlers

from .fakes import FakeUnitOfWork

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TENANT = uuid.uuid4()


async def test_a_request_step_plans_its_messages_once_and_by_sms_where_the_client_prefers_it() -> None:
    uow, client = FakeUnitOfWork(), uuid.uuid4()
    await uow.directory.keep_contact(TENANT, ClientContact(client, "Ada", "", "ada@example.com", "+4915111"), NOW)
    await uow.preferences.prefer_channel(TENANT, client, "sms", NOW)
    step = RequestStep(
        TENANT, "RequestDeclined", uuid.uuid4(), client, uuid.uuid4(), NOW, {"reference": "REQ-1", "reason": "Closed"}
    )
    plan = commands.PlanRequestNotices(step, NOW, 3)
    planned = await notice_handlers.plan_request_notices(plan, uow)
    assert planned > 0 and uow.committed
    assert await notice_handlers.plan_request_notices(plan, uow) == 0  # a redelivered event plans nothing
    assert "sms" in {m.planned.channel for m in uow.messages.of(TENANT)}


async def test_account_emails_go_to_the_address_the_event_names(uow: FakeUnitOfWork) -> None:
    notice = AddressedNotice(
        TENANT, "account.password_reset", uuid.uuid4(), "ada@example.com", uuid.uuid4(), NOW, {"secret": {"url": "x"}}
    )
    plan = commands.PlanAddressedNotices(TENANT, (notice,), NOW, 3)
    assert await notice_handlers.plan_addressed_notices(plan, uow) == 1
    [message] = uow.messages.of(TENANT)
    assert (message.planned.recipient.address, message.planned.channel) == ("ada@example.com", "email")


def appointment(
    kind: str, appointment_id: uuid.UUID, client: uuid.UUID, start: datetime, at: datetime
) -> AppointmentStep:
    return AppointmentStep(
        TENANT,
        kind,
        appointment_id,
        client,
        (),
        (),
        start,
        "Europe/Berlin",
        uuid.uuid4(),
        at,
        {"start": start.isoformat()},
    )


async def test_a_moved_appointments_reminder_moves_and_a_late_event_changes_nothing(uow: FakeUnitOfWork) -> None:
    appointment_id, client = uuid.uuid4(), uuid.uuid4()
    first, second = NOW + timedelta(days=5), NOW + timedelta(days=9)
    booked = appointment("appointment.booked", appointment_id, client, first, NOW)
    assert await notice_handlers.plan_appointment_notices(commands.PlanAppointmentNotices(booked, NOW, 3), uow) > 0
    moved = appointment("appointment.rescheduled", appointment_id, client, second, NOW + timedelta(minutes=1))
    await notice_handlers.plan_appointment_notices(commands.PlanAppointmentNotices(moved, NOW, 3), uow)
    reminders = [m for m in uow.messages.of(TENANT) if m.planned.kind == REMINDER_KIND]
    assert sorted((m.status, m.due_at) for m in reminders) == [
        (Status.CANCELLED, first - timedelta(days=1)),
        (Status.PLANNED, second - timedelta(days=1)),
    ]
    late = appointment("appointment.rescheduled", appointment_id, client, first, NOW + timedelta(seconds=30))
    assert await notice_handlers.plan_appointment_notices(commands.PlanAppointmentNotices(late, NOW, 3), uow) == 0


def issued(invoice_id: uuid.UUID, client: uuid.UUID, due: date) -> BillingStep:
    variables = {"invoice_id": str(invoice_id), "number": 7, "amount": "120.00 EUR", "due_date": due.isoformat()}
    return BillingStep(TENANT, "invoice.issued", client, invoice_id, uuid.uuid4(), NOW, variables, due_date=due)


async def test_an_invoices_reminders_are_cancelled_when_paid_and_planned_again_when_a_refund_reopens_it(
    uow: FakeUnitOfWork,
) -> None:
    invoice_id, client, due = uuid.uuid4(), uuid.uuid4(), date(2026, 3, 15)
    facts = InvoiceFacts(invoice_id, client, 7, "EUR", 12000, due)
    await notice_handlers.plan_billing_notices(
        commands.PlanBillingNotices(issued(invoice_id, client, due), NOW, facts), uow
    )
    pending = [m for m in uow.messages.of(TENANT) if m.planned.kind in PAYMENT_REMINDER_KINDS]
    assert pending
    settle = commands.SettleInvoice(TENANT, invoice_id, "paid", NOW + timedelta(days=1))
    assert await notice_handlers.settle_invoice(settle, uow) == len(pending)
    reopen = commands.ReopenInvoices(TENANT, uuid.uuid4(), {invoice_id: 3000}, NOW + timedelta(days=2), NOW)
    assert await notice_handlers.reopen_invoices(reopen, uow) > 0
    assert await notice_handlers.reopen_invoices(reopen, uow) == 0  # open already


async def test_a_membership_event_moves_its_expiry_reminders_to_the_newest_facts(uow: FakeUnitOfWork) -> None:
    subscription, client = uuid.uuid4(), uuid.uuid4()

    def facts(expires_on: date) -> SubscriptionFacts:
        return SubscriptionFacts(subscription, client, "Yoga 10", expires_on, expires_on, "active", {})

    def plan(expires_on: date, at: datetime) -> commands.PlanMembershipNotices:
        return commands.PlanMembershipNotices(TENANT, client, uuid.uuid4(), at, facts(expires_on), None, NOW)

    assert await notice_handlers.plan_membership_notices(plan(date(2026, 6, 30), NOW), uow) > 0
    renewed = NOW + timedelta(hours=1)
    assert await notice_handlers.plan_membership_notices(plan(date(2026, 12, 31), renewed), uow) > 0
    expiry = [m for m in uow.messages.of(TENANT) if m.planned.kind == EXPIRY_KIND]
    assert {m.status for m in expiry if m.due_at and m.due_at.year == 2026 and m.due_at.month == 6} == {
        Status.CANCELLED
    }
    assert any(m.status == Status.PLANNED and m.due_at and m.due_at.month == 12 for m in expiry)
    # An event older than the facts kept moves nothing.
    assert await notice_handlers.plan_membership_notices(plan(date(2026, 6, 30), NOW), uow) == 0


async def test_recipients_are_kept_from_events_and_an_erased_client_is_forgotten(uow: FakeUnitOfWork) -> None:
    client, staff = uuid.uuid4(), uuid.uuid4()
    contact = ClientContact(client, "Ada", "Lovelace", "ada@example.com")
    await directory_handlers.keep_client_contacts(commands.KeepClientContacts(TENANT, ((contact, NOW),)), uow)
    member = StaffMember(staff, "bo@example.com", "Bo", frozenset(), True, "en", "Europe/Berlin")
    await directory_handlers.keep_staff_member(commands.KeepStaffMember(TENANT, member, NOW), uow)
    profile = BusinessProfile("Zen Studio", "Europe/Berlin", "de")
    await directory_handlers.keep_business_profile(commands.KeepBusinessProfile(TENANT, profile, NOW), uow)
    assert await uow.directory.contacts(TENANT, [client]) == {client: contact}
    assert await uow.directory.staff(TENANT) == [member]
    assert await uow.directory.business(TENANT) == profile

    await directory_handlers.forget_client_contact(commands.ForgetClientContact(TENANT, client, NOW), uow)
    assert await uow.directory.contacts(TENANT, [client]) == {client: ClientContact(client)}
    assert uow.committed
