"""An import survives its replica: another replica resumes it after the last committed batch, and a job is
never worked on by two replicas at once (the in-process service plays "the other replica")."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2_grpc as pb_grpc
from client_svc.adapters import orm
from client_svc.adapters.import_store import ImportStore
from client_svc.config import ClientSettings
from client_svc.service_layer.imports import ImportService, ImportSettings
from client_svc.service_layer.unit_of_work import SqlAlchemyClientUnitOfWork
from platform_core.db import create_engine, session_factory
from platform_core.grpc.context import bind_call_context

from .test_client_imports import csv_bytes, dry_run, owner, settled, upload

ROWS = 25
DEAD_REPLICA = "dead-replica"


@pytest.fixture
async def engine(client_settings: ClientSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(client_settings.database_url("client"), pool_size=3, max_overflow=0)
    yield engine
    await engine.dispose()


def service(engine: AsyncEngine, settings: ClientSettings, batch_rows: int) -> ImportService:
    """This test's own "replica" of the import runner, on the service's database."""
    orm.start_mappers()
    sessions = session_factory(engine)
    return ImportService(
        ImportStore(engine, nats_prefix=settings.nats_prefix),
        lambda: SqlAlchemyClientUnitOfWork(sessions, nats_prefix=settings.nats_prefix),
        ImportSettings(batch_rows=batch_rows),
    )


async def validated_job(stub: pb_grpc.ClientServiceStub, tenant: uuid.UUID) -> str:
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
    stub = pb_grpc.ClientServiceStub(client_channel)
    tenant = uuid.uuid4()
    job_id = await validated_job(stub, tenant)
    job = await lease_to(engine, tenant, job_id, DEAD_REPLICA, 60)

    dying = service(engine, client_settings, batch_rows=10)
    record = dying.store.record_batch
    batches = 0

    async def crash_on_the_third_batch(*args: Any, **kwargs: Any) -> bool:
        nonlocal batches
        batches += 1
        if batches == 3:
            raise Crash()
        return await record(*args, **kwargs)

    dying.store.record_batch = crash_on_the_third_batch  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await dying.run(dict(job._mapping), DEAD_REPLICA)  # type: ignore[arg-type]
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
    stub = pb_grpc.ClientServiceStub(client_channel)
    tenant = uuid.uuid4()
    job_id = await validated_job(stub, tenant)
    # The job is leased to a replica that is alive; a stalled one still holds the job as it read it earlier.
    job = await lease_to(engine, tenant, job_id, "live-replica", 300)
    stalled = service(engine, client_settings, batch_rows=10)
    await stalled.run(dict(job._mapping), "stalled-replica")  # type: ignore[arg-type]
    assert await scalar(engine, "SELECT count(*) FROM clients WHERE tenant_id = :t", tenant) == 0
    assert await scalar(engine, "SELECT count(*) FROM outbox WHERE tenant_id = :t", tenant) == 0
    leased = await scalar(
        engine,
        "SELECT lease_owner || ' ' || status || ' ' || processed_rows FROM import_jobs WHERE tenant_id = :t",
        tenant,
    )
    assert leased == "live-replica running 0"
