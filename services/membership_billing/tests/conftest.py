from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from client_svc.bootstrap import build as build_client
from client_svc.config import ClientSettings
from membership_billing_svc.bootstrap import build
from membership_billing_svc.config import BillingSettings
from platform_core import devstack
from platform_core.grpc.channels import create_channel
from platform_core.testing.infra import TestInfra
from platform_core.testing.plugin import migrate_unit, running_service, serving_channel, unit_settings

UNIT_DIR = Path(__file__).resolve().parents[1]
CLIENT_UNIT_DIR = UNIT_DIR.parent / "client"


@pytest.fixture(scope="session")
async def billing_client_addr(infra: TestInfra) -> AsyncIterator[str]:
    """The client service: billing asks it for bill-to names, and its events open accounts and merge them."""
    addr = f"127.0.0.1:{devstack.free_port()}"
    settings = unit_settings(ClientSettings, infra, grpc_listen=addr)
    await migrate_unit(settings, CLIENT_UNIT_DIR)
    async with running_service(settings, build_client):
        yield addr


@pytest.fixture(scope="session")
def billing_settings(infra: TestInfra, billing_client_addr: str) -> BillingSettings:
    settings = unit_settings(BillingSettings, infra, grpc_listen="127.0.0.1:0", client_grpc_addr=billing_client_addr)
    assert isinstance(settings, BillingSettings)
    return settings


@pytest.fixture(scope="session")
async def billing_channel(billing_settings: BillingSettings) -> AsyncIterator[grpc.aio.Channel]:
    async with serving_channel(billing_settings, build, UNIT_DIR) as channel:
        yield channel


@pytest.fixture(scope="session")
async def billing_client_channel(billing_client_addr: str) -> AsyncIterator[grpc.aio.Channel]:
    channel = create_channel(billing_client_addr, default_deadline=5)
    yield channel
    await channel.close()
