from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from client_svc.bootstrap import build as build_client
from client_svc.config import ClientSettings
from membership_billing_svc.bootstrap import build
from membership_billing_svc.config import BillingSettings
from platform_dev.testing.infra import TestInfra
from platform_dev.testing.plugin import channel_to, serving_channel, unit_at_free_port, unit_settings
from scheduling_svc.bootstrap import build as build_scheduling
from scheduling_svc.config import SchedulingServiceSettings

UNIT_DIR = Path(__file__).resolve().parents[1]
CLIENT_UNIT_DIR = UNIT_DIR.parent / "client"
SCHEDULING_UNIT_DIR = UNIT_DIR.parent / "scheduling"


@pytest.fixture(scope="session")
async def billing_client_addr(infra: TestInfra) -> AsyncIterator[str]:
    """The client service: billing asks it for bill-to names, and its events open accounts and merge them."""
    async with unit_at_free_port(ClientSettings, infra, build_client, CLIENT_UNIT_DIR) as addr:
        yield addr


@pytest.fixture(scope="session")
async def billing_scheduling_addr(infra: TestInfra, billing_client_addr: str) -> AsyncIterator[str]:
    """Scheduling: its settings hold the business's timezone, where credits expire at midnight."""
    async with unit_at_free_port(
        SchedulingServiceSettings,
        infra,
        build_scheduling,
        SCHEDULING_UNIT_DIR,
        client_grpc_addr=billing_client_addr,
    ) as addr:
        yield addr


@pytest.fixture(scope="session")
async def billing_scheduling_channel(billing_scheduling_addr: str) -> AsyncIterator[grpc.aio.Channel]:
    async with channel_to(billing_scheduling_addr) as channel:
        yield channel


@pytest.fixture(scope="session")
def billing_settings(infra: TestInfra, billing_client_addr: str, billing_scheduling_addr: str) -> BillingSettings:
    settings = unit_settings(
        BillingSettings,
        infra,
        grpc_listen="127.0.0.1:0",
        client_grpc_addr=billing_client_addr,
        scheduling_grpc_addr=billing_scheduling_addr,
    )
    assert isinstance(settings, BillingSettings)
    return settings


@pytest.fixture(scope="session")
async def billing_channel(billing_settings: BillingSettings) -> AsyncIterator[grpc.aio.Channel]:
    async with serving_channel(billing_settings, build, UNIT_DIR) as channel:
        yield channel


@pytest.fixture(scope="session")
async def billing_client_channel(billing_client_addr: str) -> AsyncIterator[grpc.aio.Channel]:
    async with channel_to(billing_client_addr) as channel:
        yield channel
