"""The client tables in adapters/tables.py state exactly the schema the migrations build."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Index, MetaData

from client_svc.adapters.tables import metadata
from client_svc.config import ClientSettings
from platform_dev.testing.infra import TestInfra
from platform_dev.testing.schema import assert_tables_match_migrations

UNIT_DIR = Path(__file__).resolve().parents[2]


async def test_tables_state_the_migrated_schema(infra: TestInfra) -> None:
    await assert_tables_match_migrations(ClientSettings, infra, UNIT_DIR, metadata)


def _live_clients_of_every_state(copy: MetaData) -> None:
    clients = copy.tables["clients"]
    live = next(index for index in clients.indexes if index.name == "clients_live")
    clients.indexes.discard(live)
    Index("clients_live", clients.c.tenant_id, clients.c.id.desc())


def _email_required(copy: MetaData) -> None:
    copy.tables["clients"].c.email.nullable = False


@pytest.mark.parametrize(
    ("change", "reported"),
    [
        # compare_metadata does not look at an index's predicate; PostgreSQL's definitions differ.
        (_live_clients_of_every_state, r"indexes only in the migrations: .*clients_live.*WHERE \(deleted_at IS NULL\)"),
        (_email_required, r"compare_metadata: .*modify_nullable.*'clients', 'email'"),
    ],
)
async def test_a_table_that_says_otherwise_is_reported(
    infra: TestInfra, change: Callable[[MetaData], None], reported: str
) -> None:
    copy = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    change(copy)
    with pytest.raises(AssertionError, match=reported):
        await assert_tables_match_migrations(ClientSettings, infra, UNIT_DIR, copy)
