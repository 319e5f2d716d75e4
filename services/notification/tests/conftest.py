from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiosmtpd.controller import Controller

from notification_svc.bootstrap import build
from notification_svc.config import NotificationSettings
from platform_dev import devstack
from platform_dev.testing.infra import TestInfra
from platform_dev.testing.plugin import serving_channel, unit_settings

UNIT_DIR = Path(__file__).resolve().parents[1]


class Mailbox:
    """What a real SMTP server (aiosmtpd) received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=devstack.free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def mailbox(smtp_server: tuple[Mailbox, int]) -> Mailbox:
    return smtp_server[0]


@pytest.fixture(scope="session")
def notification_settings(infra: TestInfra, smtp_server: tuple[Mailbox, int]) -> NotificationSettings:
    settings = unit_settings(
        NotificationSettings,
        infra,
        grpc_listen="127.0.0.1:0",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server[1],
        smtp_from="Atrium Test <no-reply@atrium.test>",
        message_dispatch_interval_seconds=0.1,
    )
    assert isinstance(settings, NotificationSettings)
    return settings


@pytest.fixture(scope="session")
async def notification_channel(notification_settings: NotificationSettings) -> AsyncIterator[grpc.aio.Channel]:
    async with serving_channel(notification_settings, build, UNIT_DIR) as channel:
        yield channel
