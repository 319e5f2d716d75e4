"""Delivery through the fake unit of work: due messages rendered from the newest facts and handed to their
channel, retried after a growing delay, skipped with the reason, in-app notices delivered at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from notification_svc.domain import commands
from notification_svc.domain.audience import BusinessProfile, ClientContact
from notification_svc.domain.delivery import PlannedMessage, Recipient, RetryPolicy, Status
from notification_svc.service_layer import delivery_handlers
from notification_svc.service_layer.unit_of_work import NotificationPorts

from .fakes import FakeClock, FakeEmailSender, FakeSmsSender, FakeUnitOfWork

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TENANT = uuid.uuid4()
DISPATCH = commands.DispatchDueMessages(retry_policy=RetryPolicy(base=timedelta(seconds=30)), batch_size=10)
VARIABLES = {"reference": "REQ-1", "service_name": "Massage", "reason": "Closed", "duration_minutes": 60,
             "client_timezone": "", "business_timezone": "", "preferred_staff_name": "", "description": ""}  # fmt: skip


def declined(client: uuid.UUID, channel: str = "email", due: datetime = NOW) -> PlannedMessage:
    return PlannedMessage(
        TENANT, "request.declined", "transactional", channel, Recipient("client", client), client, "test",
        uuid.uuid4(), VARIABLES, due, 3,
    )  # fmt: skip


async def unit_of_work(email: FakeEmailSender, *messages: PlannedMessage) -> FakeUnitOfWork:
    uow = FakeUnitOfWork(NotificationPorts(clock=FakeClock(NOW), email_sender=email, sms_sender=FakeSmsSender()))
    await uow.directory.keep_business(TENANT, BusinessProfile("Zen Studio", "Europe/Berlin", "en"), NOW)
    await uow.messages.plan(list(messages), NOW)
    return uow


async def test_a_due_email_goes_to_the_newest_address_and_one_not_yet_due_waits() -> None:
    ada = uuid.uuid4()
    email, later = declined(ada), declined(ada, due=NOW + timedelta(hours=1))
    outbox = FakeEmailSender()
    uow = await unit_of_work(outbox, email, later)
    await uow.directory.keep_contact(TENANT, ClientContact(ada, "Ada", "", "ada@example.com", "", "en"), NOW)
    assert await delivery_handlers.dispatch_due_messages(DISPATCH, uow) == 1
    [sent] = outbox.sent
    assert (
        sent.to == "ada@example.com" and "Ada" in sent.text and sent.message_id == f"<{email.id}@atrium.notification>"
    )
    assert (uow.messages.stored[email.id].status, uow.messages.stored[later.id].status) == (
        Status.SENT,
        Status.PLANNED,
    )


async def test_a_refused_email_is_retried_after_the_policys_delay() -> None:
    ada = uuid.uuid4()
    message = declined(ada)
    uow = await unit_of_work(FakeEmailSender(fail=True), message)
    await uow.directory.keep_contact(TENANT, ClientContact(ada, "Ada", "", "ada@example.com"), NOW)
    await delivery_handlers.dispatch_due_messages(DISPATCH, uow)
    stored = uow.messages.stored[message.id]
    assert (stored.status, stored.attempts, stored.due_at) == (Status.PLANNED, 1, NOW + timedelta(seconds=30))
    assert await delivery_handlers.dispatch_due_messages(DISPATCH, uow) == 0  # not due yet
    uow.email_sender = outbox = FakeEmailSender()
    assert isinstance(uow.clock, FakeClock)
    uow.clock.now = NOW + timedelta(seconds=30)
    await delivery_handlers.dispatch_due_messages(DISPATCH, uow)
    assert (stored.status, stored.attempts, len(outbox.sent)) == (Status.SENT, 2, 1)


async def test_a_client_without_an_address_is_skipped_and_its_inbox_notice_still_arrives() -> None:
    bob = uuid.uuid4()
    email, notice = declined(bob), declined(bob, channel="in_app")
    outbox = FakeEmailSender()
    uow = await unit_of_work(outbox, email, notice)
    assert await delivery_handlers.dispatch_due_messages(DISPATCH, uow) == 2
    assert outbox.sent == []
    assert uow.messages.stored[email.id].status == Status.SKIPPED
    assert uow.messages.stored[notice.id].status == Status.DELIVERED
