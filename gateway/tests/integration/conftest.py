from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import GatewaySettings
from platform_core.db import create_engine
from platform_core.migrations import upgrade_async
from platform_dev.testing.infra import TestInfra
from platform_dev.testing.plugin import patched_env

UNIT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
async def engine(infra: TestInfra) -> AsyncIterator[AsyncEngine]:
    """The gateway's own database, migrated, with a pool for a test module's concurrent callers."""
    with patched_env(infra.env()):
        url = GatewaySettings(jwt_secret="d" * 40).database_url("gateway")
    await upgrade_async(UNIT_DIR / "alembic.ini", url, create_database=True)
    engine = create_engine(url, pool_size=8, max_overflow=5)
    yield engine
    await engine.dispose()
