from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from client_svc.bootstrap import build
from client_svc.config import ClientSettings
from platform_core.testing.infra import TestInfra
from platform_core.testing.plugin import serving_channel, unit_settings

UNIT_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def client_settings(infra: TestInfra) -> ClientSettings:
    settings = unit_settings(ClientSettings, infra, grpc_listen="127.0.0.1:0")
    assert isinstance(settings, ClientSettings)
    return settings


@pytest.fixture(scope="session")
async def client_channel(client_settings: ClientSettings) -> AsyncIterator[grpc.aio.Channel]:
    async with serving_channel(client_settings, build, UNIT_DIR) as channel:
        yield channel
