from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from client_svc.bootstrap import build as build_client
from client_svc.config import ClientSettings
from platform_dev.testing.infra import TestInfra
from platform_dev.testing.plugin import channel_to, serving_channel, unit_at_free_port, unit_settings
from portal_requests_svc.bootstrap import build
from portal_requests_svc.config import PortalRequestsSettings
from scheduling_svc.bootstrap import build as build_scheduling
from scheduling_svc.config import SchedulingServiceSettings

UNIT_DIR = Path(__file__).resolve().parents[1]
SERVICES_DIR = UNIT_DIR.parent


@pytest.fixture(scope="session")
async def client_addr(infra: TestInfra) -> AsyncIterator[str]:
    """The client service, asked at submit time whether the client may request appointments."""
    async with unit_at_free_port(ClientSettings, infra, build_client, SERVICES_DIR / "client") as addr:
        yield addr


@pytest.fixture(scope="session")
async def scheduling_addr(infra: TestInfra, client_addr: str) -> AsyncIterator[str]:
    """Scheduling: its catalogue says what can be requested, its appointments are what approval books."""
    async with unit_at_free_port(
        SchedulingServiceSettings, infra, build_scheduling, SERVICES_DIR / "scheduling", client_grpc_addr=client_addr
    ) as addr:
        yield addr


@pytest.fixture(scope="session")
def portal_requests_settings(infra: TestInfra, client_addr: str, scheduling_addr: str) -> PortalRequestsSettings:
    settings = unit_settings(
        PortalRequestsSettings,
        infra,
        grpc_listen="127.0.0.1:0",
        client_grpc_addr=client_addr,
        scheduling_grpc_addr=scheduling_addr,
        max_open_requests_per_client=3,
    )
    assert isinstance(settings, PortalRequestsSettings)
    return settings


@pytest.fixture(scope="session")
async def portal_requests_channel(portal_requests_settings: PortalRequestsSettings) -> AsyncIterator[grpc.aio.Channel]:
    async with serving_channel(portal_requests_settings, build, UNIT_DIR) as channel:
        yield channel


@pytest.fixture(scope="session")
async def client_channel(client_addr: str) -> AsyncIterator[grpc.aio.Channel]:
    async with channel_to(client_addr) as channel:
        yield channel


@pytest.fixture(scope="session")
async def scheduling_channel(scheduling_addr: str) -> AsyncIterator[grpc.aio.Channel]:
    async with channel_to(scheduling_addr) as channel:
        yield channel
