"""Shared by the delivery tests: an SMTP server that refuses on demand, the migrated database, a clock the
test moves, and a dispatcher built on them (as a replica builds its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_svc.adapters.email_sender import SmtpEmailSender
from notification_svc.config import NotificationSettings
from notification_svc.domain.commands import DispatchDueMessages
from notification_svc.domain.delivery import RetryPolicy
from notification_svc.service_layer import delivery_handlers
from notification_svc.service_layer.unit_of_work import NotificationPorts, SqlAlchemyNotificationUnitOfWork
from platform_core.db import create_engine, session_factory
from platform_dev import devstack
from platform_dev.testing.plugin import migrate_unit

from ..conftest import UNIT_DIR


class FlakyMailbox:
    """An SMTP server that refuses the first ``refusals`` messages (451, try later), then accepts."""

    def __init__(self, refusals: int = 0) -> None:
        self.refusals = refusals
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals > 0:
            self.refusals -= 1
            return "451 Requested action aborted: try again later"
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def flaky_smtp() -> Iterator[tuple[FlakyMailbox, int]]:
    mailbox = FlakyMailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=devstack.free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
async def engine(notification_settings: NotificationSettings) -> AsyncIterator[AsyncEngine]:
    url = await migrate_unit(notification_settings, UNIT_DIR)
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Replica:
    """One replica's delivery worker as a test drives it: its unit of work (ports included) and its settings."""

    uow: SqlAlchemyNotificationUnitOfWork
    dispatch: DispatchDueMessages

    async def dispatch_all_due(self) -> int:
        return await delivery_handlers.dispatch_due_messages(self.dispatch, self.uow)


def dispatcher(engine: AsyncEngine, port: int, clock: Clock, settings: NotificationSettings) -> Replica:
    ports = NotificationPorts(
        clock=clock,
        email_sender=SmtpEmailSender(
            host="127.0.0.1", port=port, sender="Atrium Test <no-reply@atrium.test>", timeout=5
        ),
    )
    return Replica(
        SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=settings.nats_prefix, ports=ports),
        DispatchDueMessages(retry_policy=RetryPolicy(base=timedelta(seconds=30)), batch_size=50),
    )
