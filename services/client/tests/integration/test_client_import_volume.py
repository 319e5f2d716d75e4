"""A 100,000-row CSV: the dry run and the import both finish, and the service's memory stays bounded.

The service runs in this process (serving_channel), so the process's resident memory, sampled from /proc
while the file is uploaded, dry-run and imported, is the service's. The file is generated and uploaded
chunk by chunk: the test never holds it whole either. Bounded, not timed: the assertion is on memory.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from sqlalchemy import text

from atrium.client.v1 import client_service_pb2 as pb
from client_svc.bootstrap import build
from client_svc.config import ClientSettings
from platform_core.db import create_engine
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_dev.testing.infra import TestInfra
from platform_dev.testing.plugin import serving_channel, unit_settings

from ..conftest import UNIT_DIR
from .stubs import ClientStubs
from .test_client_imports import settled

# A volume test (100,000 rows, about a minute and a half): `make bench` runs it, `make test` leaves it out.
pytestmark = pytest.mark.skipif(
    not os.environ.get("ATRIUM_VOLUME_TESTS"), reason="a volume test: make bench runs it (ATRIUM_VOLUME_TESTS=1)"
)

ROWS = 100_000
CHUNK = 1024 * 1024
MAX_GROWTH_BYTES = 300 * 1024 * 1024


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


class PeakMemory:
    def __init__(self) -> None:
        self.baseline = rss_bytes()
        self.peak = self.baseline
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, rss_bytes())
            await asyncio.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def lines(bad_row: int | None = None) -> Iterator[bytes]:
    yield b"external_id,first_name,last_name,email,phone,city\r\n"
    for i in range(ROWS):
        email = b"not-an-email" if i == bad_row else b"person%d@example.com" % i
        yield b"ext-%d,Person,Number %d,%s,+1212%07d,Springfield\r\n" % (i, i, email, 2_000_000 + i)


def chunks(bad_row: int | None = None) -> Iterator[bytes]:
    buffer = bytearray()
    for line in lines(bad_row):
        buffer += line
        if len(buffer) >= CHUNK:
            yield bytes(buffer[:CHUNK])
            del buffer[:CHUNK]
    if buffer:
        yield bytes(buffer)


async def upload(stub: ClientStubs, bad_row: int | None = None) -> str:
    job = await stub.CreateClientImport(pb.CreateClientImportRequest(filename="big.csv"))
    for seq, data in enumerate(chunks(bad_row)):
        await stub.AppendClientImportChunk(pb.AppendClientImportChunkRequest(id=job.id, seq=seq, data=data))
    uploaded = await stub.CompleteClientImportUpload(pb.ClientImportRequest(id=job.id))
    assert uploaded.status == "uploaded"
    return str(job.id)


@pytest.fixture(scope="module")
async def isolated(infra: TestInfra) -> AsyncIterator[tuple[grpc.aio.Channel, ClientSettings]]:
    """A client service of its own (database and event stream): the session's notification consumer must not
    have 100,000 events to work through before the other tests' events."""
    settings = unit_settings(
        ClientSettings,
        infra,
        grpc_listen="127.0.0.1:0",
        database_prefix=f"{infra.database_prefix}big",
        nats_prefix=f"{infra.nats_prefix}big",
    )
    assert isinstance(settings, ClientSettings)
    async with serving_channel(settings, build, UNIT_DIR) as channel:
        yield channel, settings


async def test_a_100k_row_csv_dry_runs_and_imports_in_bounded_memory(
    isolated: tuple[grpc.aio.Channel, ClientSettings],
) -> None:
    client_channel, client_settings = isolated
    stub = ClientStubs(client_channel)
    tenant = uuid.uuid4()
    with bind_call_context(CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))):
        with PeakMemory() as memory:
            job_id = await upload(stub)
            await stub.DryRunClientImport(pb.DryRunClientImportRequest(id=job_id, default_region="US"))
            checked = await settled(stub, job_id, timeout=600)
            assert (checked.status, checked.total_rows, checked.created_rows) == ("validated", ROWS, ROWS), checked
            await stub.StartClientImport(pb.StartClientImportRequest(id=job_id))
            done = await settled(stub, job_id, timeout=600)
        assert (done.status, done.created_rows, done.rejected_rows) == ("completed", ROWS, 0), done
        print(f"service process memory grew by {memory.growth / 2**20:.0f} MiB at most")
        assert memory.growth < MAX_GROWTH_BYTES, f"grew by {memory.growth / 2**20:.0f} MiB"

        # All-or-nothing: one bad row among 100,000 and nothing is written (the same rows again, as new ones).
        bad = await upload(stub, bad_row=ROWS - 1)
        await stub.DryRunClientImport(
            pb.DryRunClientImportRequest(id=bad, default_region="US", all_or_nothing=True, duplicates="create")
        )
        checked = await settled(stub, bad, timeout=600)
        assert (checked.status, checked.rejected_rows) == ("validated", 1)

    engine = create_engine(client_settings.database_url("client"), pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            clients = await conn.scalar(text("SELECT count(*) FROM clients WHERE tenant_id = :t"), {"t": tenant})
            events = await conn.scalar(text("SELECT count(*) FROM outbox WHERE tenant_id = :t"), {"t": tenant})
    finally:
        await engine.dispose()
    assert (clients, events) == (ROWS, ROWS)
