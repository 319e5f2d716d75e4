"""A unit's Table metadata checked against its migrated database, so its schema is stated once in effect.

The migrations are the schema; the Table objects the code queries restate it. Two checks keep them equal:

1. Alembic's ``compare_metadata`` between the metadata and a fresh database upgraded to head must find
   nothing: tables, columns (type, nullability, server default), primary keys, unique constraints, foreign
   keys (with their ON DELETE and deferral) and indexes (their columns and expressions).
2. What ``compare_metadata`` does not look at in an index (a partial index's predicate, INCLUDE columns,
   operator classes, the access method, sort order) nor in a column (identity, collation) is compared by
   PostgreSQL itself: the metadata is created (``create_all``) in a second fresh database, and the two
   catalogs must describe every column, key, foreign key and index the same way, as ``pg_get_indexdef``
   and ``pg_get_constraintdef`` print them. ``create_all`` only renders the metadata here; tests never
   build a schema they use that way.

Neither checks what the metadata does not declare: CHECK and exclusion constraints and triggers stay in the
migrations alone (SQLAlchemy has no reflection to compare a CHECK or an exclusion constraint by), and each
unit's table module says so where such a table is declared.

A unit's integration tests call ``assert_tables_match_migrations`` once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from platform_core.config import ServiceSettings
from platform_core.db import drop_database, ensure_database
from platform_dev.testing.infra import TestInfra
from platform_dev.testing.plugin import migrate_unit, unit_settings

# Every column as PostgreSQL describes it (ordinal position left out: ADD COLUMN appends, a Table lists
# columns where they read best).
_COLUMNS = text(
    """
    SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default, is_identity,
           identity_generation, collation_name
    FROM information_schema.columns
    WHERE table_schema = 'public'
    """
)
# Primary keys, unique constraints and foreign keys; CHECK and exclusion constraints are the migrations' alone.
_CONSTRAINTS = text(
    """
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
    FROM pg_constraint
    WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'u', 'f')
    """
)
# Every index but those an exclusion constraint builds for itself.
_INDEXES = text(
    """
    SELECT i.indrelid::regclass::text, c.relname, pg_get_indexdef(i.indexrelid)
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    WHERE c.relnamespace = 'public'::regnamespace
      AND NOT EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conindid = i.indexrelid AND x.contype = 'x')
    """
)


def _metadata_differences(connection: Connection, metadata: MetaData) -> list[Any]:
    # Nothing is left out (no include_object): Alembic itself skips its version table, the one table the
    # migrations create that no code queries.
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            # Off by default in Alembic; on here, so a default the code relies on (e.g. outbox.created_at's
            # now()) is stated where the code can see it.
            "compare_server_default": True,
        },
    )
    differences: list[Any] = compare_metadata(context, metadata)
    return differences


def _catalog(connection: Connection) -> dict[str, set[tuple[Any, ...]]]:
    return {
        "columns": {tuple(row) for row in connection.execute(_COLUMNS)},
        "constraints": {tuple(row) for row in connection.execute(_CONSTRAINTS)},
        "indexes": {tuple(row) for row in connection.execute(_INDEXES)},
    }


def _catalog_without_alembic(connection: Connection) -> dict[str, set[tuple[Any, ...]]]:
    # Alembic's version table is the migrations' bookkeeping, not part of the schema the metadata states.
    return {kind: {row for row in rows if row[0] != "alembic_version"} for kind, rows in _catalog(connection).items()}


def _scratch_settings(settings_type: type[ServiceSettings], infra: TestInfra, purpose: str) -> ServiceSettings:
    # A database of this session's own, named for its purpose; never one a unit's explicit URL names, since
    # these are dropped afterwards.
    explicit_url = {f"{settings_type.unit}_database_url": None}
    return unit_settings(settings_type, infra, database_prefix=f"{infra.database_prefix}_{purpose}", **explicit_url)


async def assert_tables_match_migrations(
    settings_type: type[ServiceSettings], infra: TestInfra, unit_dir: Path, metadata: MetaData
) -> None:
    """Fail, listing every difference, unless ``metadata`` states exactly what the unit's migrations build."""
    migrated = _scratch_settings(settings_type, infra, "migrated")
    declared = _scratch_settings(settings_type, infra, "declared")
    migrated_url = migrated.database_url(migrated.unit)
    declared_url = declared.database_url(declared.unit)
    # Fresh databases: nothing another test did to the unit's own database can hide or cause a difference.
    await drop_database(migrated_url)
    await drop_database(declared_url)
    await migrate_unit(migrated, unit_dir)
    await ensure_database(declared_url)
    migrated_engine = create_async_engine(migrated_url)
    declared_engine = create_async_engine(declared_url)
    try:
        async with migrated_engine.connect() as connection:
            differences = await connection.run_sync(_metadata_differences, metadata)
            migrated_catalog = await connection.run_sync(_catalog_without_alembic)
        async with declared_engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        async with declared_engine.connect() as connection:
            declared_catalog = await connection.run_sync(_catalog)
    finally:
        await migrated_engine.dispose()
        await declared_engine.dispose()
        await drop_database(migrated_url)
        await drop_database(declared_url)

    report = [f"compare_metadata: {difference}" for difference in differences]
    for kind, rows in migrated_catalog.items():
        report += [f"{kind} only in the migrations: {row}" for row in sorted(rows - declared_catalog[kind], key=str)]
        report += [f"{kind} only in the metadata: {row}" for row in sorted(declared_catalog[kind] - rows, key=str)]
    assert not report, f"{len(report)} differences between the metadata and the migrations:\n" + "\n".join(report)
