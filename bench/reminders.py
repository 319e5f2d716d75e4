"""Due reminders dispatched: 5,000 reminders planned in the notification database, delivered by a dispatcher
(lease a batch, render each from its templates in the client's language and zone, send over SMTP, record the
attempts) to a local SMTP sink, beside a raw aiosmtplib loop sending the same messages to the same sink with
the same concurrency. Target: ours >= 0.5x raw.

The reminders are due in 2100 and the dispatcher's clock stands there, so the running notification unit
(on the real clock) leaves them to the measured dispatcher.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller

from bench.load import Figures
from bench.measurements import Bench
from bench.report import Result
from notification_svc.adapters.email_sender import SmtpEmailSender, mime
from notification_svc.adapters.message_templates import MessageTemplates
from notification_svc.domain.audience import ClientContact
from notification_svc.domain.commands import DispatchDueMessages
from notification_svc.domain.delivery import PlannedMessage, Recipient, RetryPolicy
from notification_svc.domain.emails import OutgoingEmail
from notification_svc.domain.template_catalogue import RenderedMessage
from notification_svc.service_layer import delivery_handlers
from notification_svc.service_layer.unit_of_work import NotificationPorts, SqlAlchemyNotificationUnitOfWork
from platform_core.config import PlatformSettings
from platform_core.db import create_engine, session_factory
from platform_dev import devstack

REMINDERS = 5_000
CONCURRENCY = 16
DUE = datetime(2100, 3, 1, 8, 0, tzinfo=UTC)
SENDER = "Atrium Bench <no-reply@atrium.bench>"


class Sink:
    """A local SMTP server that accepts and counts."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received += 1
        return "250 OK"


def _reminder(tenant: uuid.UUID, client_id: uuid.UUID) -> PlannedMessage:
    start = DUE + timedelta(days=1)
    return PlannedMessage(
        tenant_id=tenant,
        kind="appointment.reminder",
        category="reminders",
        channel="email",
        recipient=Recipient("client", client_id),
        client_id=client_id,
        rule="appointment.reminder:1d:client",
        source_event_id=uuid.uuid4(),
        variables={"service_name": "Massage", "start": start.isoformat(), "audience": "client"},
        due_at=DUE,
        max_attempts=3,
    )


async def raw_smtp_loop(port: int, rendered: RenderedMessage, count: int) -> float:
    """Seconds to send ``count`` copies of one rendered email (a MIME message built and aiosmtplib.send
    each), CONCURRENCY at a time, to the sink on ``port``."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            email = OutgoingEmail(f"client-{i}@bench.example", rendered.subject, rendered.text, rendered.html,
                                  f"<{uuid.uuid4()}@bench>")  # fmt: skip
            await aiosmtplib.send(mime(email, SENDER), hostname="127.0.0.1", port=port)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started


async def due_reminders(bench: Bench) -> Result:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=devstack.free_port())
    controller.start()
    url = PlatformSettings(
        postgres_url=bench.stack.infra.postgres_url, database_prefix=bench.stack.infra.database_prefix
    ).database_url("notification")
    engine = create_engine(url, pool_size=4, max_overflow=0)
    try:
        sessions = session_factory(engine)
        tenant = uuid.uuid4()
        clients = [uuid.uuid4() for _ in range(REMINDERS)]
        uow = SqlAlchemyNotificationUnitOfWork(sessions, nats_prefix="bench")
        async with uow:
            for i, client_id in enumerate(clients):
                contact = ClientContact(
                    client_id, f"Client {i}", "", f"client-{i}@bench.example", "", "de", "Europe/Berlin"
                )
                await uow.directory.keep_contact(tenant, contact, DUE)
            await uow.messages.plan([_reminder(tenant, c) for c in clients], DUE)
            await uow.commit()

        smtp = SmtpEmailSender(host="127.0.0.1", port=controller.port, sender=SENDER, timeout=30)
        replica = SqlAlchemyNotificationUnitOfWork(
            sessions, nats_prefix="bench", ports=NotificationPorts(clock=lambda: DUE, email_sender=smtp)
        )
        dispatch = DispatchDueMessages(retry_policy=RetryPolicy(), batch_size=500, concurrency=CONCURRENCY)
        started = time.perf_counter()
        sent = await delivery_handlers.dispatch_due_messages(dispatch, replica)
        ours_seconds = time.perf_counter() - started
        ours_received = sink.received

        # Raw: the same email (its text rendered once; the dispatcher renders each), built as a MIME message
        # and handed to aiosmtplib.send, to the same sink, the same number at a time.
        rendered = MessageTemplates().render(
            "de", "appointment_reminder", {**_reminder(tenant, clients[0]).variables, "name": "Client 0",
            "business_name": "", "client_name": "", "unsubscribe_url": ""}, zone="Europe/Berlin",
        )  # fmt: skip
        sink.received = 0
        raw_seconds = await raw_smtp_loop(controller.port, rendered, REMINDERS)
        raw_received = sink.received
    finally:
        controller.stop()
        await engine.dispose()

    ours = Figures(ours_received / ours_seconds, None, None, REMINDERS - ours_received, sent)
    raw = Figures(raw_received / raw_seconds, None, None, REMINDERS - raw_received, raw_received)
    ratio = ours.ops_per_s / raw.ops_per_s if raw.ops_per_s else None
    return Result(
        name="due reminders -> SMTP",
        ours=ours,
        raw=raw,
        ratio=ratio,
        target=">= 0.5x raw",
        passed=ratio is not None and ratio >= 0.5 and ours.errors == 0,
        notes=[
            f"{REMINDERS} reminders leased in batches of 500, rendered (German, Europe/Berlin), each with its "
            f"unsubscribe link, sent {CONCURRENCY} at a time, attempts recorded; raw: an EmailMessage built and "
            "aiosmtplib.send, "
            f"{CONCURRENCY} at a time"
        ],
    )
