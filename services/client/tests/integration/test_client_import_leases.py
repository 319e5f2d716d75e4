"""An import survives its replica: another replica resumes it after the last committed batch, and a job is
never worked on by two replicas at once (the in-process service plays "the other replica"). And the hook
through which custom fields will add import and export columns."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from client_svc.adapters import tables
from client_svc.adapters.import_store import AbstractColumnExtension
from client_svc.bootstrap import unit_of_work_factory
from client_svc.config import ClientSettings
from client_svc.domain import commands_imports as cmds
from client_svc.domain.imports import ExtraColumn
from client_svc.service_layer import import_handlers as handlers
from client_svc.service_layer.import_unit_of_work import AsyncpgImportUnitOfWork, ExtensionKind, ImportSettings
from platform_core.db import create_engine, session_factory
from platform_core.grpc.context import bind_call_context

from .stubs import ClientStubs
from .test_client_imports import csv_bytes, dry_run, owner, settled, upload

ROWS = 25
DEAD_REPLICA = "dead-replica"


@pytest.fixture
async def engine(client_settings: ClientSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(client_settings.database_url("client"), pool_size=3, max_overflow=0)
    yield engine
    await engine.dispose()


def replica(
    engine: AsyncEngine,
    settings: ClientSettings,
    batch_rows: int,
    extensions: Sequence[ExtensionKind] = (),
    kind: type[AsyncpgImportUnitOfWork] = AsyncpgImportUnitOfWork,
) -> AsyncpgImportUnitOfWork:
    """This test's own "replica" of the import runner (its unit of work), on the service's database."""
    tables.start_mappers()
    sessions = session_factory(engine)
    return kind(
        engine,
        nats_prefix=settings.nats_prefix,
        settings=ImportSettings(batch_rows=batch_rows),
        client_uow=unit_of_work_factory(sessions, settings),
        extensions=extensions,
    )


async def validated_job(stub: ClientStubs, tenant: uuid.UUID) -> str:
    rows = [["external_id", "first_name", "email"]] + [[f"e{i}", f"P{i}", f"p{i}@example.com"] for i in range(ROWS)]
    with bind_call_context(owner(tenant)):
        job = await upload(stub, csv_bytes(rows))
        checked = await dry_run(stub, job.id)
    assert (checked.status, checked.total_rows) == ("validated", ROWS)
    return str(job.id)


async def lease_to(engine: AsyncEngine, tenant: uuid.UUID, job_id: str, lease_owner: str, seconds: int) -> Any:
    """Start the import as if ``lease_owner`` had claimed it (in one statement: no other replica sees it free)."""
    async with engine.begin() as conn:
        return (
            await conn.execute(
                text(
                    "UPDATE import_jobs SET status = 'running', dry_run = false, processed_rows = 0,"
                    " created_rows = 0, updated_rows = 0, unchanged_rows = 0, skipped_rows = 0, rejected_rows = 0,"
                    " lease_owner = :o, lease_expires_at = now() + make_interval(secs => :s), attempts = 1"
                    " WHERE tenant_id = :t AND id = :j RETURNING *"
                ),
                {"o": lease_owner, "s": seconds, "t": tenant, "j": uuid.UUID(job_id)},
            )
        ).one()


async def scalar(engine: AsyncEngine, sql: str, tenant: uuid.UUID) -> Any:
    async with engine.connect() as conn:
        return await conn.scalar(text(sql), {"t": tenant})


class Crash(Exception):
    pass


async def test_another_replica_resumes_after_the_last_committed_batch(
    client_channel: grpc.aio.Channel, client_settings: ClientSettings, engine: AsyncEngine
) -> None:
    stub = ClientStubs(client_channel)
    tenant = uuid.uuid4()
    job_id = await validated_job(stub, tenant)
    job = await lease_to(engine, tenant, job_id, DEAD_REPLICA, 60)

    batches = 0

    class CrashingOnTheThirdBatch(AsyncpgImportUnitOfWork):
        async def _start(self) -> None:
            await super()._start()
            record = self.imports.record_batch

            async def record_or_crash(*args: Any, **kwargs: Any) -> bool:
                nonlocal batches
                batches += 1
                if batches == 3:
                    raise Crash()
                return bool(await record(*args, **kwargs))

            self.imports.record_batch = record_or_crash

    dying = replica(engine, client_settings, batch_rows=10, kind=CrashingOnTheThirdBatch)
    with pytest.raises(Crash):
        await handlers.run_import(cmds.RunImport(dict(job._mapping), DEAD_REPLICA), dying)
    assert await scalar(engine, "SELECT count(*) FROM clients WHERE tenant_id = :t", tenant) == 20
    progress = await scalar(engine, "SELECT processed_rows FROM import_jobs WHERE tenant_id = :t", tenant)
    assert progress == 20

    # Its lease still holds: the running service (polling every second) leaves the job alone...
    loop = asyncio.get_running_loop()
    watched_until = loop.time() + 2.5
    while loop.time() < watched_until:
        held = await scalar(
            engine, "SELECT lease_owner || ' ' || processed_rows FROM import_jobs WHERE tenant_id = :t", tenant
        )
        assert held == f"{DEAD_REPLICA} 20"
        await asyncio.sleep(0.1)
    # ...until it expires; then the service claims it and resumes after the 20 committed rows.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE import_jobs SET lease_expires_at = now() - interval '1 second' WHERE tenant_id = :t"),
            {"t": tenant},
        )
    with bind_call_context(owner(tenant)):
        done = await settled(stub, job_id)
    assert (done.status, done.processed_rows, done.created_rows) == ("completed", ROWS, ROWS)
    assert await scalar(engine, "SELECT count(*) FROM clients WHERE tenant_id = :t", tenant) == ROWS
    assert await scalar(engine, "SELECT count(DISTINCT external_id) FROM clients WHERE tenant_id = :t", tenant) == ROWS
    assert await scalar(engine, "SELECT count(*) FROM outbox WHERE tenant_id = :t", tenant) == ROWS


async def test_a_replica_that_lost_its_lease_writes_nothing_more(
    client_channel: grpc.aio.Channel, client_settings: ClientSettings, engine: AsyncEngine
) -> None:
    stub = ClientStubs(client_channel)
    tenant = uuid.uuid4()
    job_id = await validated_job(stub, tenant)
    # The job is leased to a replica that is alive; a stalled one still holds the job as it read it earlier.
    job = await lease_to(engine, tenant, job_id, "live-replica", 300)
    stalled = replica(engine, client_settings, batch_rows=10)
    await handlers.run_import(cmds.RunImport(dict(job._mapping), "stalled-replica"), stalled)
    assert await scalar(engine, "SELECT count(*) FROM clients WHERE tenant_id = :t", tenant) == 0
    assert await scalar(engine, "SELECT count(*) FROM outbox WHERE tenant_id = :t", tenant) == 0
    leased = await scalar(
        engine,
        "SELECT lease_owner || ' ' || status || ' ' || processed_rows FROM import_jobs WHERE tenant_id = :t",
        tenant,
    )
    assert leased == "live-replica running 0"


class ShoeSizes(AbstractColumnExtension):
    """A column extension as custom fields plug in (``custom:<key>``), storing values in memory."""

    column = ExtraColumn("custom:shoe_size", "Shoe size", parse=lambda raw: _size(raw), format=str)

    def __init__(self) -> None:
        self.values: dict[uuid.UUID, dict[str, Any]] = {}

    async def columns(self, tenant_id: uuid.UUID) -> list[ExtraColumn]:
        return [self.column]

    async def load(self, tenant_id: uuid.UUID, client_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        return {i: self.values[i] for i in client_ids if i in self.values}

    async def save(self, tenant_id: uuid.UUID, values: dict[uuid.UUID, dict[str, Any]]) -> None:
        for client_id, found in values.items():
            self.values.setdefault(client_id, {}).update(found)


def _size(raw: str) -> int:
    if not raw.isdigit() or not 15 <= int(raw) <= 60:
        raise ValueError("must be a size from 15 to 60")
    return int(raw)


async def test_extra_columns_plug_in_through_a_column_extension(
    client_settings: ClientSettings, engine: AsyncEngine
) -> None:
    tenant = uuid.uuid4()
    sizes = ShoeSizes()
    runner = replica(engine, client_settings, batch_rows=10, extensions=(lambda conn: sizes,))
    data = csv_bytes([["first_name", "Shoe size"], ["Ada", "38"], ["Grace", "99"]])

    async def run(status: str, dry_run: bool) -> Any:
        async with engine.begin() as conn:
            job = (
                await conn.execute(
                    text(
                        "UPDATE import_jobs SET status = :s, dry_run = :d, mapping = :m, lease_owner = 'ext',"
                        " lease_expires_at = now() + interval '1 minute', processed_rows = 0, created_rows = 0,"
                        " rejected_rows = 0 WHERE tenant_id = :t RETURNING *"
                    ),
                    {"s": status, "d": dry_run, "m": view.suggested, "t": tenant},
                )
            ).one()
        await handlers.run_import(cmds.RunImport(dict(job._mapping), "ext"), runner)
        return await handlers.get_import(cmds.GetImport(tenant, job.id), runner)

    created = await handlers.create_import(
        cmds.CreateImport(tenant, "test", "sizes.csv", now=datetime.now(UTC)), runner
    )
    import_id = created.job["id"]
    await handlers.append_import_chunk(cmds.AppendImportChunk(tenant, import_id, 0, data), runner)
    view = await handlers.finish_import_upload(cmds.FinishImportUpload(tenant, import_id), runner)
    assert view.suggested == ["first_name", "custom:shoe_size"]
    checked = await run("validating", True)
    assert (checked.job["status"], checked.job["created_rows"], checked.job["rejected_rows"]) == ("validated", 1, 1)
    _, [problem] = await handlers.list_import_problems(cmds.ListImportProblems(tenant, import_id, 0, 10), runner)
    assert problem["problems"] == [{"column": "Shoe size", "message": "must be a size from 15 to 60"}]
    done = await run("running", False)
    assert (done.job["status"], done.job["created_rows"]) == ("completed", 1)
    assert list(sizes.values.values()) == [{"custom:shoe_size": 38}]
    assert await handlers.load_extra_values(cmds.LoadExtraValues(tenant, list(sizes.values)), runner) == sizes.values
