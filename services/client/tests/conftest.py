from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from client_svc.bootstrap import build
from client_svc.config import ClientSettings
from platform_dev.testing.infra import TestInfra
from platform_dev.testing.plugin import serving_channel, unit_settings

UNIT_DIR = Path(__file__).resolve().parents[1]
# Small, so the limit is cheap to exceed; above the bytes sniffed, so large uploads stream past the sniffing.
ATTACHMENT_MAX_BYTES = 64 * 1024


@pytest.fixture(scope="session")
def client_settings(infra: TestInfra) -> ClientSettings:
    settings = unit_settings(
        ClientSettings,
        infra,
        grpc_listen="127.0.0.1:0",
        blob_dir=str(infra.tmp_dir / "client-blobs"),
        attachment_max_bytes=ATTACHMENT_MAX_BYTES,
    )
    assert isinstance(settings, ClientSettings)
    return settings


@pytest.fixture(scope="session")
async def client_channel(client_settings: ClientSettings) -> AsyncIterator[grpc.aio.Channel]:
    async with serving_channel(client_settings, build, UNIT_DIR) as channel:
        yield channel
