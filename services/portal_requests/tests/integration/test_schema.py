"""The portal-requests tables in adapters/tables.py state exactly the schema the migrations build."""

from __future__ import annotations

from pathlib import Path

from platform_dev.testing.infra import TestInfra
from platform_dev.testing.schema import assert_tables_match_migrations
from portal_requests_svc.adapters.tables import metadata
from portal_requests_svc.config import PortalRequestsSettings

UNIT_DIR = Path(__file__).resolve().parents[2]


async def test_tables_state_the_migrated_schema(infra: TestInfra) -> None:
    await assert_tables_match_migrations(PortalRequestsSettings, infra, UNIT_DIR, metadata)
