"""Delivery against real PostgreSQL and a real SMTP server, with the clock moved by the test: a server that
refuses once gets one email after two attempts; retries wait a growing delay; two dispatchers (replicas)
send each message once; a replica that stops mid-send leaves a failed message with an attempt of unknown
outcome, never sent twice; a recipient without an address is skipped with the reason; an operator resends;
attempts are counted per channel and outcome; the client's timeline shows each message with its state and
attempts.

Messages here are due in 2100 and the test's clock stands there, so the service's own dispatcher (on the
real clock, serving other tests from the same database) never takes them.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.common.v1 import types_pb2
from atrium.notification.v1 import notification_service_pb2 as pb
from notification_svc.adapters.delivery_metrics import ATTEMPTS, DeliveryMetrics
from notification_svc.adapters.email_sender import SmtpEmailSender
from notification_svc.config import NotificationSettings
from notification_svc.domain import commands
from notification_svc.domain.audience import ClientContact
from notification_svc.domain.delivery import PlannedMessage, Recipient
from notification_svc.domain.emails import OutgoingEmail
from notification_svc.entrypoints.grpc_server import NotificationServicer
from notification_svc.service_layer import message_handlers
from notification_svc.service_layer.unit_of_work import SqlAlchemyNotificationUnitOfWork
from platform_core.db import session_factory
from platform_core.grpc.context import CallContext, Principal, bind_call_context

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

    assert await sender.dispatch_all_due() >= 1
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
    assert await message_handlers.resend_message(commands.ResendMessage(message.tenant_id, message.id, clock.now), uow)
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
    one.dispatch = two.dispatch = replace(one.dispatch, batch_size=7)
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


class StopsAfterHandingOver(SmtpEmailSender):
    """The SMTP server takes the email, then the replica stops before it records anything."""

    def __init__(self, port: int) -> None:
        super().__init__(host="127.0.0.1", port=port, sender="Atrium Test <no-reply@atrium.test>", timeout=5)
        self.handed_over = asyncio.Event()

    async def send(self, email: OutgoingEmail) -> None:
        await super().send(email)
        self.handed_over.set()
        await asyncio.Event().wait()  # the process dies here


async def test_a_replica_stopping_mid_send_leaves_the_email_failed_with_an_unknown_attempt_never_sent_twice(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    clock = Clock(FUTURE + timedelta(days=4))
    message = declined(uuid.uuid4(), uuid.uuid4())
    in_app = declined(message.tenant_id, message.recipient.id, channel="in_app")
    await plan(engine, notification_settings, message, in_app, email="ada@example.com")
    dying = dispatcher(engine, port, clock, notification_settings)
    dying.uow.email_sender = stopping = StopsAfterHandingOver(port)
    replica = asyncio.create_task(dying.dispatch_all_due())
    await asyncio.wait_for(stopping.handed_over.wait(), 10)
    replica.cancel()
    assert (await state(engine, message))[1][0].outcome == "sending"

    reader = InMemoryMetricReader()
    survivor = dispatcher(engine, port, clock, notification_settings)
    survivor.uow.delivery_metrics = DeliveryMetrics(MeterProvider(metric_readers=[reader]).get_meter("test"))
    await survivor.dispatch_all_due()
    assert (await state(engine, message))[0].status == "sending"  # its lease still holds

    clock.now += survivor.dispatch.lease + timedelta(seconds=1)
    await survivor.dispatch_all_due()
    row, attempts = await state(engine, message)
    assert (row.status, row.attempts, [(a.number, a.outcome) for a in attempts]) == ("failed", 1, [(1, "unknown")])
    assert "outcome unknown" in row.last_error
    # The in-app notice, whose lease ran out with nothing handed over, is delivered by the survivor.
    assert (await state(engine, in_app))[0].status == "delivered"
    assert len(mailbox.messages) == 1
    assert attempt_counts(reader) == {("email", "unknown"): 1, ("in_app", "sent"): 1}


def attempt_counts(reader: InMemoryMetricReader) -> dict[tuple[str, str], int]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        (str(point.attributes["channel"]), str(point.attributes["outcome"])): int(point.value)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == ATTEMPTS
        for point in metric.data.data_points  # type: ignore[union-attr]
        if point.attributes is not None
    }


async def test_attempts_per_channel_and_outcome_are_counted_for_the_failure_rate(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    mailbox.refusals = 1
    clock = Clock(FUTURE + timedelta(days=5))
    message = declined(uuid.uuid4(), uuid.uuid4())
    await plan(engine, notification_settings, message, email="ada@example.com")
    reader = InMemoryMetricReader()
    sender = dispatcher(engine, port, clock, notification_settings)
    sender.uow.delivery_metrics = DeliveryMetrics(MeterProvider(metric_readers=[reader]).get_meter("test"))
    await sender.dispatch_all_due()
    clock.now += timedelta(seconds=30)
    await sender.dispatch_all_due()
    assert attempt_counts(reader) == {("email", "failed"): 1, ("email", "sent"): 1}


async def timeline(engine: AsyncEngine, tenant: uuid.UUID, client_id: uuid.UUID, **page: Any) -> Any:
    servicer = NotificationServicer(engine=engine, uow_factory=lambda: None, clock=lambda: FUTURE)  # type: ignore[arg-type,return-value]
    with bind_call_context(CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))):
        return await servicer.ListClientActivity(
            pb.ListClientActivityRequest(client_id=str(client_id), page=types_pb2.PageRequest(**page)),
            None,  # type: ignore[arg-type]
        )


async def test_the_clients_timeline_shows_each_message_with_its_state_and_attempts_as_they_change(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    mailbox.refusals = 1
    clock = Clock(FUTURE + timedelta(days=6))
    tenant, client_id = uuid.uuid4(), uuid.uuid4()
    by_email = declined(tenant, client_id)
    in_app = declined(tenant, client_id, channel="in_app")
    await plan(engine, notification_settings, by_email, in_app, email="ada@example.com")

    reply = await timeline(engine, tenant, client_id)
    assert sorted((e.kind, e.message.status) for e in reply.entries) == [
        ("message.email", "planned"),
        ("message.in_app", "planned"),
    ]
    sender = dispatcher(engine, port, clock, notification_settings)
    await sender.dispatch_all_due()
    clock.now += timedelta(seconds=30)
    await sender.dispatch_all_due()

    reply = await timeline(engine, tenant, client_id)
    entries = {e.kind: e for e in reply.entries}
    email = entries["message.email"].message
    assert (email.status, email.to_address) == ("sent", "ada@example.com")
    assert [(a.number, a.outcome) for a in email.attempt_log] == [(1, "failed"), (2, "sent")]
    assert "451" in email.attempt_log[0].error
    assert entries["message.email"].summary == "Email sent: Your appointment request REQ-7 was declined"
    assert entries["message.in_app"].message.status == "delivered"
    assert len(mailbox.messages) == 1

    # One page at a time, newest first, each entry once.
    first = await timeline(engine, tenant, client_id, page_size=1)
    second = await timeline(engine, tenant, client_id, page_size=1, page_token=first.page.next_page_token)
    assert {first.entries[0].id, second.entries[0].id} == {str(by_email.id), str(in_app.id)}
    assert second.page.next_page_token == ""


async def test_a_merged_clients_messages_join_the_survivors_thread_until_the_merge_is_undone(
    engine: AsyncEngine, notification_settings: NotificationSettings
) -> None:
    tenant, survivor, duplicate = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    message = declined(tenant, duplicate)
    await plan(engine, notification_settings, message)
    merge = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO timeline_merges (tenant_id, merge_id, merged_client_id, survivor_id, merged_at) "
                "VALUES (:t, :m, :d, :s, :at)"
            ),
            {"t": tenant, "m": merge, "d": duplicate, "s": survivor, "at": FUTURE},
        )
    assert [e.id for e in (await timeline(engine, tenant, survivor)).entries] == [str(message.id)]
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE timeline_merges SET unmerged_at = :at WHERE tenant_id = :t AND merge_id = :m"),
            {"t": tenant, "m": merge, "at": FUTURE + timedelta(days=1)},
        )
    assert list((await timeline(engine, tenant, survivor)).entries) == []
    assert [e.id for e in (await timeline(engine, tenant, duplicate)).entries] == [str(message.id)]
