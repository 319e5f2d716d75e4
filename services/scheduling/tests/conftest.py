from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from client_svc.bootstrap import build as build_client
from client_svc.config import ClientSettings
from platform_dev.testing.infra import TestInfra
from platform_dev.testing.plugin import channel_to, serving_channel, unit_at_free_port, unit_settings
from scheduling_svc.bootstrap import build
from scheduling_svc.config import SchedulingServiceSettings

UNIT_DIR = Path(__file__).resolve().parents[1]
CLIENT_UNIT_DIR = UNIT_DIR.parent / "client"


@pytest.fixture(scope="session")
async def client_addr(infra: TestInfra) -> AsyncIterator[str]:
    """The client service, which scheduling asks about clients before booking them."""
    async with unit_at_free_port(ClientSettings, infra, build_client, CLIENT_UNIT_DIR) as addr:
        yield addr


@pytest.fixture(scope="session")
def scheduling_settings(infra: TestInfra, client_addr: str) -> SchedulingServiceSettings:
    settings = unit_settings(
        SchedulingServiceSettings,
        infra,
        grpc_listen="127.0.0.1:0",
        client_grpc_addr=client_addr,
        # The background extender of recurring series runs often, so a test can watch it work.
        series_extend_interval_seconds=0.5,
    )
    assert isinstance(settings, SchedulingServiceSettings)
    return settings


@pytest.fixture(scope="session")
async def scheduling_channel(scheduling_settings: SchedulingServiceSettings) -> AsyncIterator[grpc.aio.Channel]:
    async with serving_channel(scheduling_settings, build, UNIT_DIR) as channel:
        yield channel


@pytest.fixture(scope="session")
async def client_channel(client_addr: str) -> AsyncIterator[grpc.aio.Channel]:
    async with channel_to(client_addr) as channel:
        yield channel
