from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from notification_svc.bootstrap import build
from notification_svc.config import NotificationSettings
from platform_core.testing.infra import TestInfra
from platform_core.testing.plugin import serving_channel, unit_settings

UNIT_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def notification_settings(infra: TestInfra) -> NotificationSettings:
    settings = unit_settings(NotificationSettings, infra, grpc_listen="127.0.0.1:0")
    assert isinstance(settings, NotificationSettings)
    return settings


@pytest.fixture(scope="session")
async def notification_channel(notification_settings: NotificationSettings) -> AsyncIterator[grpc.aio.Channel]:
    async with serving_channel(notification_settings, build, UNIT_DIR) as channel:
        yield channel
