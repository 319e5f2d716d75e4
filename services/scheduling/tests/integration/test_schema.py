"""The scheduling tables in adapters/tables.py state exactly the schema the migrations build."""

from __future__ import annotations

from pathlib import Path

from platform_dev.testing.infra import TestInfra
from platform_dev.testing.schema import assert_tables_match_migrations
from scheduling_svc.adapters.tables import metadata
from scheduling_svc.config import SchedulingServiceSettings

UNIT_DIR = Path(__file__).resolve().parents[2]


async def test_tables_state_the_migrated_schema(infra: TestInfra) -> None:
    await assert_tables_match_migrations(SchedulingServiceSettings, infra, UNIT_DIR, metadata)
