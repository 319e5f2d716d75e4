from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client_svc.bootstrap import build
from client_svc.config import ClientSettings
from platform_core.grpc.channels import create_channel
from platform_core.testing.infra import TestInfra
from platform_core.testing.plugin import migrate_unit, running_service, unit_settings

UNIT_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def client_settings(infra: TestInfra) -> ClientSettings:
    settings = unit_settings(ClientSettings, infra, grpc_listen="127.0.0.1:0")
    assert isinstance(settings, ClientSettings)
    return settings


@pytest.fixture(scope="session")
async def client_database(client_settings: ClientSettings) -> str:
    return await migrate_unit(client_settings, UNIT_DIR)


@pytest.fixture(scope="session")
async def client_channel(client_settings: ClientSettings, client_database: str) -> AsyncIterator[object]:
    async with running_service(client_settings, build) as port:
        channel = create_channel(f"127.0.0.1:{port}", default_deadline=5)
        yield channel
        await channel.close()
