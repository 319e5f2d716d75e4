"""Delivery against real PostgreSQL and a real SMTP server, with the clock moved by the test: a server that
refuses once gets one email after two attempts; retries wait a growing delay; two dispatchers (replicas)
send each message once; a recipient without an address is skipped with the reason; an operator resends.

Messages here are due in 2100 and the test's clock stands there, so the service's own dispatcher (on the
real clock, serving other tests from the same database) never takes them.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_svc.config import NotificationSettings
from notification_svc.domain.audience import ClientContact
from notification_svc.domain.delivery import PlannedMessage, Recipient
from notification_svc.service_layer import delivery
from notification_svc.service_layer.unit_of_work import SqlAlchemyNotificationUnitOfWork
from platform_core.db import session_factory

from .conftest import Clock, FlakyMailbox, dispatcher

FUTURE = datetime(2100, 1, 4, 9, 0, tzinfo=UTC)


def declined(tenant: uuid.UUID, client_id: uuid.UUID, *, channel: str = "email", attempts: int = 3) -> PlannedMessage:
    return PlannedMessage(
        tenant_id=tenant,
        kind="request.declined",
        category="transactional",
        channel=channel,
        recipient=Recipient("client", client_id),
        client_id=client_id,
        rule="request.declined:client",
        source_event_id=uuid.uuid4(),
        variables={"reference": "REQ-7", "service_name": "Massage", "reason": "Closed"},
        due_at=FUTURE,
        max_attempts=attempts,
    )


async def plan(engine: AsyncEngine, settings: NotificationSettings, *messages: PlannedMessage, email: str = "") -> None:
    uow = SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=settings.nats_prefix)
    async with uow:
        for m in messages:
            if email:
                await uow.directory.keep_contact(m.tenant_id, ClientContact(m.recipient.id, "Ada", "", email), FUTURE)
        assert await uow.messages.plan(list(messages), FUTURE) == len(messages)
        await uow.commit()


async def state(engine: AsyncEngine, message: PlannedMessage) -> tuple[Any, list[Any]]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT status, attempts, due_at, last_error, skip_reason FROM messages WHERE id = :id"),
                {"id": message.id},
            )
        ).one()
        attempts = list(
            await conn.execute(
                text("SELECT number, outcome, error FROM message_attempts WHERE message_id = :id ORDER BY number"),
                {"id": message.id},
            )
        )
    return row, attempts


async def test_a_server_that_refuses_once_gets_one_email_after_two_attempts(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    mailbox.refusals = 1
    clock = Clock(FUTURE)
    message = declined(uuid.uuid4(), uuid.uuid4())
    await plan(engine, notification_settings, message, email="ada@example.com")
    sender = dispatcher(engine, port, clock, notification_settings)

    assert await sender.dispatch_due() >= 1
    row, attempts = await state(engine, message)
    assert (row.status, row.attempts, row.due_at) == ("planned", 1, FUTURE + timedelta(seconds=30))
    assert [(a.number, a.outcome) for a in attempts] == [(1, "failed")] and "451" in attempts[0].error
    assert mailbox.messages == []

    clock.now = FUTURE + timedelta(seconds=29)  # not yet due again
    await sender.dispatch_all_due()
    assert (await state(engine, message))[0].status == "planned"

    clock.now = FUTURE + timedelta(seconds=30)
    await sender.dispatch_all_due()
    row, attempts = await state(engine, message)
    assert (row.status, row.attempts) == ("sent", 2)
    assert [(a.number, a.outcome) for a in attempts] == [(1, "failed"), (2, "sent")]
    [email] = mailbox.messages
    assert email["Message-ID"] == f"<{message.id}@atrium.notification>"


async def test_retries_grow_then_the_message_fails_and_an_operator_resends_it(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    mailbox.refusals = 3
    clock = Clock(FUTURE)
    message = declined(uuid.uuid4(), uuid.uuid4(), attempts=3)
    await plan(engine, notification_settings, message, email="ada@example.com")
    sender = dispatcher(engine, port, clock, notification_settings)
    waits = []
    for _ in range(3):
        await sender.dispatch_all_due()
        row, _ = await state(engine, message)
        waits.append(row.due_at - clock.now)
        clock.now = row.due_at
    assert row.status == "failed" and row.attempts == 3
    assert waits[:2] == [timedelta(seconds=30), timedelta(seconds=60)]

    uow = SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=notification_settings.nats_prefix)
    assert await delivery.resend(uow, message.tenant_id, message.id, now=clock.now)
    await sender.dispatch_all_due()
    row, attempts = await state(engine, message)
    assert (row.status, row.attempts, len(attempts)) == ("sent", 4, 4)
    assert len(mailbox.messages) == 1


async def test_two_replicas_send_each_message_once(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    clock = Clock(FUTURE + timedelta(days=1))
    tenant = uuid.uuid4()
    messages = [declined(tenant, uuid.uuid4()) for _ in range(40)]
    for m in messages:
        await plan(engine, notification_settings, m, email=f"c-{m.recipient.id}@example.com")
    one, two = (dispatcher(engine, port, clock, notification_settings) for _ in range(2))
    one.batch_size = two.batch_size = 7
    await asyncio.gather(one.dispatch_all_due(), two.dispatch_all_due())
    sent_to = sorted(str(m["To"]) for m in mailbox.messages)
    assert sent_to == sorted(f"c-{m.recipient.id}@example.com" for m in messages)


async def test_a_client_without_an_address_is_skipped_with_the_reason_and_its_inbox_notice_still_arrives(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    clock = Clock(FUTURE + timedelta(days=2))
    tenant, client_id = uuid.uuid4(), uuid.uuid4()
    by_email = declined(tenant, client_id)
    in_app = declined(tenant, client_id, channel="in_app")
    await plan(engine, notification_settings, by_email, in_app)
    await dispatcher(engine, port, clock, notification_settings).dispatch_all_due()
    row, attempts = await state(engine, by_email)
    assert (row.status, row.skip_reason, attempts) == ("skipped", "the client has no email address on record", [])
    assert (await state(engine, in_app))[0].status == "delivered"
    assert mailbox.messages == []


async def test_a_business_template_is_used_in_the_recipients_language(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    clock = Clock(FUTURE + timedelta(days=3))
    message = declined(uuid.uuid4(), uuid.uuid4())
    await plan(engine, notification_settings, message, email="ada@example.com")
    uow = SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=notification_settings.nats_prefix)
    async with uow:
        source = "{% block subject %}Sorry {{ name }}, {{ reference }} cannot be: {{ reason }}{% endblock %}"
        await uow.templates.save(message.tenant_id, "request.declined", "en", source, FUTURE)
        await uow.commit()
    await dispatcher(engine, port, clock, notification_settings).dispatch_all_due()
    [email] = mailbox.messages
    assert email["Subject"] == "Sorry Ada, REQ-7 cannot be: Closed"
    assert "Reason: Closed" in email.get_payload(0).get_payload(decode=True).decode()  # the default text
