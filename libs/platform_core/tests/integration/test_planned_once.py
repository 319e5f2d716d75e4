"""platform_core.db.planned_once: statements inside run read-only with plans made once; afterwards the pooled
connection is back to its own settings, outside any transaction, and a failure inside discards it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from platform_core.config import PlatformSettings
from platform_core.db import create_engine, ensure_database, planned_once
from platform_dev.testing.infra import TestInfra


@pytest.fixture
async def engine(infra: TestInfra) -> AsyncIterator[AsyncEngine]:
    db_url = PlatformSettings(postgres_url=infra.postgres_url, database_prefix=infra.database_prefix).database_url(
        "platform"
    )
    await ensure_database(db_url)
    engine = create_engine(db_url, pool_size=1, max_overflow=0)
    yield engine.execution_options(isolation_level="AUTOCOMMIT")
    await engine.dispose()


async def setting_and_state(engine: AsyncEngine) -> tuple[str, bool]:
    async with engine.connect() as conn:
        driver: asyncpg.Connection = (await conn.get_raw_connection()).driver_connection
        return await driver.fetchval("SHOW plan_cache_mode"), driver.is_in_transaction()


async def test_statements_run_read_only_with_generic_plans_and_the_connection_comes_back_as_it_was(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn, planned_once(conn) as driver:
        assert await driver.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
        assert await driver.fetchval("SHOW transaction_read_only") == "on"
        # The very first run of a prepared statement already takes the generic plan.
        statement = await driver.prepare("SELECT $1::int + 1")
        assert await statement.fetchval(1) == 2
        plans = await driver.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1", "SELECT $1::int + 1"
        )
        assert (plans["generic_plans"], plans["custom_plans"]) == (1, 0)
    assert await setting_and_state(engine) == ("auto", False)


async def test_a_failure_inside_discards_the_connection_instead_of_pooling_it_mid_transaction(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        driver: asyncpg.Connection = (await conn.get_raw_connection()).driver_connection
        backend = await driver.fetchval("SELECT pg_backend_pid()")
    with pytest.raises(asyncpg.DivisionByZeroError):
        async with engine.connect() as conn, planned_once(conn) as driver:
            assert await driver.fetchval("SELECT pg_backend_pid()") == backend
            await driver.fetchval("SELECT 1 / 0")
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert await driver.fetchval("SELECT pg_backend_pid()") != backend
        assert not driver.is_in_transaction()
    assert await setting_and_state(engine) == ("auto", False)
