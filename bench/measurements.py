"""The measurements of the issues, each as ours vs. the raw PostgreSQL/NATS counterpart of the same run."""

from __future__ import annotations

import asyncio
import itertools
import random
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import aiohttp
import asyncpg
import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from atrium.client.v1 import events_pb2 as client_events
from atrium.common.v1.events_pb2 import EventEnvelope
from bench.exact_sql import StatementRecorder, describe, replay
from bench.load import NS_PER_MS, Figures, Operation, closed_loop, figures, paced_loop
from bench.report import Result
from bench.settings import BenchSettings
from bench.stack import Stack, StackError, Tenant
from client_svc import views
from client_svc.domain.contact import normalize_email, normalize_phone
from platform_core.ids import new_id
from platform_core.messaging.bus import DUPLICATE_WINDOW_SECONDS
from platform_core.messaging.envelope import build_envelope, subject_for

CLIENT_COLUMNS = "id, first_name, last_name, email, phone, created_at, updated_at"
EXACT_SQL_SAMPLES = 200  # requests whose statements are recorded and replayed
RELAY_POLL_SECONDS = 0.02
RELAY_TIMEOUT_SECONDS = 180.0
RAW_FETCH_BATCH = 100  # what platform_core's EventConsumer fetches
RAW_FETCH_TIMEOUT = 1.0
# Automatic event rate: this share of the POST throughput, within these bounds (events per second).
AUTO_RATE_SHARE = 0.5
AUTO_RATE_BOUNDS = (10.0, 200.0)


@dataclass
class Bench:
    """What every measurement shares: the running stack, one signed-up tenant and the raw connections."""

    settings: BenchSettings
    stack: Stack
    tenant: Tenant
    http: aiohttp.ClientSession  # one session, TCPConnector(limit=concurrency), tenant token preset
    client_db: asyncpg.Pool  # raw pool on the client service's own database, one connection per worker
    scratch: str  # unique suffix for raw streams/tables, so nothing of the platform is touched
    post_rate: float | None = None  # our POST throughput, once measured
    bare_url: str | None = None  # the bare pipeline (bench/bare.py), once started

    def event_rate(self) -> float:
        if self.settings.event_rate:
            return self.settings.event_rate
        low, high = AUTO_RATE_BOUNDS
        return min(max(AUTO_RATE_SHARE * (self.post_rate or 0.0), low), high)

    async def bare_pipeline(self) -> str:
        """The bare pipeline's base URL, started on first use (its POST writes to a scratch table)."""
        if self.bare_url is None:
            table = f"bench_bare_insert_{self.scratch}"
            await self.client_db.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (id uuid PRIMARY KEY, tenant_id uuid NOT NULL,"
                " first_name text NOT NULL, created_at timestamptz NOT NULL)"
            )
            self.bare_url = await self.stack.start_bare(self.tenant.id, table)
        return self.bare_url

    def url(self, path: str) -> str:
        return f"{self.stack.base_url}{path}"

    async def create_client(self, name: str = "Bench") -> str | None:
        async with self.http.post(self.url("/api/v1/clients"), json={"first_name": name}) as response:
            body = await response.json(content_type=None)
            return str(body["id"]) if response.status == 201 else None


def _ratio(ours: float | None, raw: float | None) -> float | None:
    return ours / raw if ours is not None and raw else None


# --- 1. GET /api/v1/clients/{id} ------------------------------------------------------------------------


async def read_client(bench: Bench) -> list[Result]:
    """Ours through the gateway, the bare pipeline, our exact SQL raw and a raw primary-key select, each at
    the same concurrency: what our code costs on top of the architecture, and the query on top of a PK read."""
    s = bench.settings
    seeded = await _seed_clients(bench, s.seed_clients)
    await bench.stack.wait_events_handled()

    async def ours_op() -> bool:
        async with bench.http.get(bench.url(f"/api/v1/clients/{random.choice(seeded)}")) as response:
            await response.read()
            return response.status == 200

    ours = await closed_loop(ours_op, workers=s.concurrency, seconds=s.seconds, warmup=s.warmup_seconds)

    bare_url = await bench.bare_pipeline()

    async def bare_op() -> bool:
        async with bench.http.get(f"{bare_url}/clients/{random.choice(seeded)}") as response:
            await response.read()
            return response.status == 200

    bare = await closed_loop(bare_op, workers=s.concurrency, seconds=s.seconds, warmup=s.warmup_seconds)

    ids = [uuid.UUID(i) for i in seeded]
    tenant_id = bench.tenant.id
    recorder = StatementRecorder(bench.stack.database_url("client"))
    try:
        recorded = [
            await recorder.record(partial(views.resolved_client, tenant_id=tenant_id, client_id=i))
            for i in ids[:EXACT_SQL_SAMPLES]
        ]
    finally:
        await recorder.close()

    async def exact_op() -> bool:
        return await replay(bench.client_db, random.choice(recorded))

    exact = await closed_loop(exact_op, workers=s.concurrency, seconds=s.seconds, warmup=s.warmup_seconds)

    query = f"SELECT {CLIENT_COLUMNS} FROM clients WHERE tenant_id=$1 AND id=$2"

    async def raw_op() -> bool:
        return await bench.client_db.fetchrow(query, tenant_id, random.choice(ids)) is not None

    raw = await closed_loop(raw_op, workers=s.concurrency, seconds=s.seconds, warmup=s.warmup_seconds)

    ratio = _ratio(ours.ops_per_s, raw.ops_per_s)
    tail_ok = ours.p50_ms is not None and ours.p99_ms is not None and ours.p99_ms <= 3 * ours.p50_ms
    notes = [f"p99/p50 = {_ratio(ours.p99_ms, ours.p50_ms) or 0:.2f} (target <= 3){'' if tail_ok else ' MISS'}"]
    notes += _error_notes(ours, raw)
    of_bare = _ratio(ours.ops_per_s, bare.ops_per_s)
    n = s.concurrency
    return [
        Result(
            name=f"GET client @{n}",
            ours=ours,
            raw=raw,
            ratio=ratio,
            target=">=0.20x, p99<=3p50",
            passed=ratio is not None and ratio >= 0.20 and tail_ok and ours.errors == 0,
            notes=notes,
        ),
        Result(
            name=f"GET client vs bare @{n}",
            ours=ours,
            raw=bare,
            ratio=of_bare,
            target=">=0.80x bare",
            passed=of_bare is not None and of_bare >= 0.80 and ours.errors == 0,
            notes=[
                "raw here = the bare pipeline (bench/bare.py): aiohttp -> grpc.aio -> asyncpg PK select, nothing else",
                *_error_notes(ours, bare),
            ],
        ),
        Result(
            name=f"GET bare pipeline @{n}",
            ours=bare,
            raw=raw,
            ratio=_ratio(bare.ops_per_s, raw.ops_per_s),
            target="reference",
            passed=None,
            notes=["what the architecture's hops alone reach, against the raw PK select"],
        ),
        Result(
            name=f"GET client exact SQL @{n}",
            ours=exact,
            raw=raw,
            ratio=_ratio(exact.ops_per_s, raw.ops_per_s),
            target="reference",
            passed=None,
            notes=[
                f"ours here = the statements GetClient runs (views.resolved_client), raw through asyncpg:"
                f" {describe(recorded)}",
                *_error_notes(exact, raw),
            ],
        ),
    ]


async def _seed_clients(bench: Bench, count: int) -> list[str]:
    semaphore = asyncio.Semaphore(16)

    async def one(n: int) -> str | None:
        async with semaphore:
            return await bench.create_client(f"Seed {n}")

    created = [c for c in await asyncio.gather(*(one(n) for n in range(count))) if c]
    if len(created) < count:
        raise StackError(f"seeding created {len(created)} of {count} clients")
    return created


# --- 2. POST /api/v1/clients -----------------------------------------------------------------------------


async def create_client(bench: Bench) -> list[Result]:
    s = bench.settings

    async def ours_op() -> bool:
        return await bench.create_client() is not None

    await bench.stack.wait_events_handled()
    ours = await closed_loop(ours_op, workers=s.concurrency, seconds=s.seconds, warmup=s.warmup_seconds)
    # Our POSTs left events behind; let the relay and consumer finish before the raw phase uses the CPU.
    await bench.stack.wait_events_handled()

    bare_url = await bench.bare_pipeline()

    async def bare_op() -> bool:
        async with bench.http.post(f"{bare_url}/clients", json={"first_name": "Bench"}) as response:
            await response.read()
            return response.status == 201

    bare = await closed_loop(bare_op, workers=s.concurrency, seconds=s.seconds, warmup=s.warmup_seconds)

    table = f"bench_raw_insert_{bench.scratch}"
    await bench.client_db.execute(
        f"CREATE TABLE {table} (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, first_name text NOT NULL,"
        " created_at timestamptz NOT NULL)"
    )
    insert = f"INSERT INTO {table} (id, tenant_id, first_name, created_at) VALUES ($1, $2, $3, now())"

    async def raw_op() -> bool:
        async with bench.client_db.acquire() as conn, conn.transaction():
            await conn.execute(insert, new_id(), bench.tenant.id, "Bench")
        return True

    try:
        raw = await closed_loop(raw_op, workers=s.concurrency, seconds=s.seconds, warmup=s.warmup_seconds)
    finally:
        await bench.client_db.execute(f"DROP TABLE IF EXISTS {table}")

    bench.post_rate = ours.ops_per_s
    ratio = _ratio(ours.ops_per_s, raw.ops_per_s)
    return [
        Result(
            name=f"POST client @{s.concurrency}",
            ours=ours,
            raw=raw,
            ratio=ratio,
            target=">=0.12x",
            passed=ratio is not None and ratio >= 0.12 and ours.errors == 0,
            notes=[
                "ours = client row + outbox row in one transaction, via gateway and gRPC; its events' relay and"
                " consumers on the same cores",
                f"ours / bare pipeline = {_ratio(ours.ops_per_s, bare.ops_per_s) or 0:.2f}x",
                *_error_notes(ours, raw),
            ],
        ),
        Result(
            name=f"POST bare pipeline @{s.concurrency}",
            ours=bare,
            raw=raw,
            ratio=_ratio(bare.ops_per_s, raw.ops_per_s),
            target="reference",
            passed=None,
            notes=[
                "aiohttp -> grpc.aio -> asyncpg single-row INSERT transaction (bench/bare.py), nothing else",
                *_error_notes(bare, raw),
            ],
        ),
    ]


# --- 3. Event latency: committing transaction -> consumer handled it --------------------------------------


async def event_latency(bench: Bench) -> Result:
    rate = bench.event_rate()
    await bench.stack.wait_events_handled()
    ours, stages = await _our_event_latency(bench, rate)
    await bench.stack.wait_events_handled()
    raw = await _raw_event_latency(bench, rate)
    ratio = _ratio(ours.p99_ms, raw.p99_ms)
    return Result(
        name=f"event latency @{rate:.0f}/s",
        ours=ours,
        raw=raw,
        ratio=ratio,
        target="p99 <=5x",
        passed=ratio is not None and ratio <= 5 and ours.errors == 0,
        notes=[
            "ours = notification activity_entries.recorded_at (its transaction's start) - client outbox.created_at"
            " (the event written, just before its transaction commits; one server clock); raw = JetStream publish"
            " -> pull-consumer fetch, same rate; ratio = p99 ours/raw",
            f"rate {rate:.0f}/s: {'BENCH_EVENT_RATE' if bench.settings.event_rate else 'half of POST ops/s'}",
            stages,
            *_error_notes(ours, raw),
        ],
    )


async def _our_event_latency(bench: Bench, rate: float) -> tuple[Figures, str]:
    """Our latencies, and where they go: written -> published (outbox.published_at: when the committing process saw
    its commit's acks, by that process's clock; the relay's rows: when their batch's acks were in) -> the
    consumer's transaction."""
    s = bench.settings
    created: list[str] = []

    async def warm() -> bool:
        return await bench.create_client() is not None

    async def measured() -> bool:
        client_id = await bench.create_client()
        if client_id is not None:
            created.append(client_id)
        return client_id is not None

    await paced_loop(warm, rate=rate, seconds=s.warmup_seconds)
    _, errors, first_error = await paced_loop(measured, rate=rate, seconds=s.seconds)
    await bench.stack.wait_events_handled()

    ids = [uuid.UUID(c) for c in created]
    notification = await asyncpg.connect(bench.stack.database_dsn("notification"))
    try:
        handled = await notification.fetch(
            "SELECT source_event_id, recorded_at FROM activity_entries WHERE tenant_id = $1 AND client_id = ANY($2)",
            bench.tenant.id,
            ids,
        )
    finally:
        await notification.close()
    written = {
        row["event_id"]: (row["created_at"], row["published_at"])
        for row in await bench.client_db.fetch(
            "SELECT event_id, created_at, published_at FROM outbox WHERE event_id = ANY($1)",
            [r["source_event_id"] for r in handled],
        )
    }
    latencies: list[float] = []
    to_relay: list[float] = []
    to_consumer: list[float] = []
    for row in handled:
        if row["source_event_id"] not in written:
            continue
        created, published = written[row["source_event_id"]]
        latencies.append((row["recorded_at"] - created).total_seconds() * 1000)
        to_relay.append((published - created).total_seconds() * 1000)
        to_consumer.append((row["recorded_at"] - published).total_seconds() * 1000)
    missing = len(ids) - len(latencies)
    if missing and first_error is None:
        first_error = f"{missing} created clients have no handled event"
    relay, consumer = figures(to_relay, seconds=s.seconds), figures(to_consumer, seconds=s.seconds)
    stages = (
        f"stages p50/p99 ms: written -> published (acked) {relay.p50_ms or 0:.1f}/{relay.p99_ms or 0:.1f},"
        f" -> consumer's transaction {consumer.p50_ms or 0:.1f}/{consumer.p99_ms or 0:.1f}"
    )
    return figures(latencies, seconds=s.seconds, errors=errors + missing, first_error=first_error), stages


async def _raw_event_latency(bench: Bench, rate: float) -> Figures:
    s = bench.settings
    stream = f"BENCH_{bench.scratch}_LAT".upper()
    subject = f"bench{bench.scratch}.lat.event"
    publisher = await nats.connect(bench.stack.infra.nats_url, name="bench-raw-publisher")
    subscriber = await nats.connect(bench.stack.infra.nats_url, name="bench-raw-consumer")
    pub_js = publisher.jetstream()
    padding = b"x" * len(_envelope(bench).SerializeToString())  # same payload size as our events
    try:
        await pub_js.add_stream(StreamConfig(name=stream, subjects=[subject], storage=StorageType.FILE))
        consumer = _LatencyConsumer(subscriber.jetstream(), stream, subject)
        await consumer.start()

        def publish(phase: bytes) -> Operation:
            async def op() -> bool:
                # Stamped right at publish; the consumer subtracts it on receipt (same process, same clock).
                await pub_js.publish(subject, phase + b"%019d" % time.perf_counter_ns() + padding)
                return True

            return op

        try:
            await paced_loop(publish(_WARMUP), rate=rate, seconds=s.warmup_seconds)
            sent, errors, first_error = await paced_loop(publish(_MEASURED), rate=rate, seconds=s.seconds)
            await consumer.wait_for(sent, timeout=30.0)
        finally:
            await consumer.stop()
        missing = sent - len(consumer.latencies)
        return figures(consumer.latencies, seconds=s.seconds, errors=errors + missing, first_error=first_error)
    finally:
        await _delete_stream(pub_js, stream)
        await publisher.close()
        await subscriber.close()


_WARMUP, _MEASURED = b"w", b"m"


class _LatencyConsumer:
    """A durable pull consumer shaped like platform_core's EventConsumer: fetch a batch, handle each, ack."""

    def __init__(self, js: JetStreamContext, stream: str, subject: str) -> None:
        self._js = js
        self._stream = stream
        self._subject = subject
        self._stop = asyncio.Event()
        self._enough = asyncio.Event()
        self._expected: int | None = None
        self._task: asyncio.Task[None] | None = None
        self.latencies: list[float] = []

    async def start(self) -> None:
        subscription = await self._js.pull_subscribe(self._subject, durable="bench-latency", stream=self._stream)
        self._task = asyncio.create_task(self._run(subscription), name="bench-raw-consumer")

    async def _run(self, subscription: JetStreamContext.PullSubscription) -> None:
        while not self._stop.is_set():
            try:
                messages = await subscription.fetch(RAW_FETCH_BATCH, timeout=RAW_FETCH_TIMEOUT)
            except TimeoutError:
                continue
            for message in messages:
                received = time.perf_counter_ns()
                if message.data[:1] == _MEASURED:
                    self.latencies.append((received - int(message.data[1:20])) / NS_PER_MS)
                await message.ack()
            if self._expected is not None and len(self.latencies) >= self._expected:
                self._enough.set()

    async def wait_for(self, count: int, *, timeout: float) -> None:
        """Until ``count`` measured messages arrived (or the timeout: the rest then count as errors)."""
        self._expected = count
        if len(self.latencies) >= count:
            return
        try:
            await asyncio.wait_for(self._enough.wait(), timeout)
        except TimeoutError:
            pass

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


# --- Client import: rows per second of an import job vs. a raw COPY of the same rows ------------------------

IMPORT_POLL_SECONDS = 0.05
IMPORT_TIMEOUT_SECONDS = 600.0
IMPORT_COLUMNS = ("external_id", "first_name", "last_name", "email", "phone")


def _import_rows(bench: Bench) -> list[tuple[str, str, str, str, str]]:
    tag = bench.scratch
    return [
        (f"bench-{tag}-{i}", "Imported", f"Client {i}", f"import-{tag}-{i}@example.com", f"+1212{2_000_000 + i:07d}")
        for i in range(bench.settings.import_rows)
    ]


def _csv(rows: Sequence[Sequence[str]]) -> bytes:
    lines = [",".join(IMPORT_COLUMNS)] + [",".join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


async def _import_call(bench: Bench, method: str, path: str, **kwargs: object) -> dict[str, object]:
    async with bench.http.request(method, bench.url(path), **kwargs) as response:  # type: ignore[arg-type]
        body = await response.json(content_type=None)
        if response.status >= 300:
            raise StackError(f"{method} {path} answered {response.status}: {body}")
        return dict(body)


async def _until_settled(bench: Bench, import_id: str) -> dict[str, object]:
    deadline = time.perf_counter() + IMPORT_TIMEOUT_SECONDS
    while True:
        job = await _import_call(bench, "GET", f"/api/v1/client-imports/{import_id}")
        if job["status"] in ("validated", "completed", "failed"):
            return job
        if time.perf_counter() > deadline:
            raise StackError(f"import {import_id} still {job['status']} after {IMPORT_TIMEOUT_SECONDS}s")
        bench.stack.check_alive("client")
        await asyncio.sleep(IMPORT_POLL_SECONDS)


async def import_clients(bench: Bench) -> Result:
    """Ours: the import job (POST start -> completed: parse, validate by the client rules, COPY clients and
    their ClientCreated events in batches); the upload and the dry run are timed apart, in the notes.
    Raw: asyncpg copy_records_to_table of the same rows into a scratch table of the client database."""
    rows = _import_rows(bench)
    n = len(rows)
    await bench.stack.wait_events_handled()

    began = time.perf_counter()
    job = await _import_call(
        bench,
        "POST",
        "/api/v1/client-imports",
        params={"filename": "bench.csv"},
        data=_csv(rows),
        headers={"Content-Type": "text/csv"},
    )
    uploaded = time.perf_counter() - began
    import_id = str(job["id"])
    began = time.perf_counter()
    await _import_call(bench, "POST", f"/api/v1/client-imports/{import_id}/dry-run", json={})
    checked = await _until_settled(bench, import_id)
    dry_seconds = time.perf_counter() - began
    if checked["status"] != "validated":
        raise StackError(f"the bench import's dry run ended {checked['status']}: {checked.get('error')}")
    began = time.perf_counter()
    await _import_call(bench, "POST", f"/api/v1/client-imports/{import_id}/start")
    done = await _until_settled(bench, import_id)
    seconds = time.perf_counter() - began
    counts = done["counts"]
    assert isinstance(counts, dict)
    errors = n - int(counts["created"]) if done["status"] == "completed" else n
    first_error = None if not errors else f"import ended {done['status']}: {done.get('error')} {counts}"
    ours = Figures(n / seconds, None, None, errors=errors, count=n, first_error=first_error)
    await bench.stack.wait_events_handled(timeout=IMPORT_TIMEOUT_SECONDS)

    table = f"bench_raw_import_{bench.scratch}"
    await bench.client_db.execute(
        f"CREATE TABLE {table} (tenant_id uuid NOT NULL, id uuid PRIMARY KEY, external_id text, first_name text"
        " NOT NULL, last_name text NOT NULL, email text, phone text)"
    )
    try:
        records = [(bench.tenant.id, new_id(), *r) for r in rows]
        async with bench.client_db.acquire() as conn:
            began = time.perf_counter()
            await conn.copy_records_to_table(table, columns=["tenant_id", "id", *IMPORT_COLUMNS], records=records)
            raw_seconds = time.perf_counter() - began
    finally:
        await bench.client_db.execute(f"DROP TABLE IF EXISTS {table}")
    raw = Figures(n / raw_seconds, None, None, errors=0, count=n)

    ratio = _ratio(ours.ops_per_s, raw.ops_per_s)
    return Result(
        name=f"import {n} rows (CSV)",
        ours=ours,
        raw=raw,
        ratio=ratio,
        target=">=0.03x",
        passed=ratio is not None and ratio >= 0.03 and ours.errors == 0,
        notes=[
            f"ours = rows / (start -> completed) = {n} / {seconds:.2f}s, {n} ClientCreated events in the outbox;"
            f" raw = COPY of the same rows, {raw_seconds:.2f}s",
            f"not in the figure: upload {uploaded:.2f}s ({n / uploaded:,.0f} rows/s), dry run {dry_seconds:.2f}s"
            f" ({n / dry_seconds:,.0f} rows/s: every row validated by the client rules, nothing written)",
            "while it runs, the relay (same process) publishes its events and the notification service records"
            " them, on the same cores",
            _validation_floor(rows, raw.ops_per_s),
            *_error_notes(ours, raw),
        ],
    )


def _validation_floor(rows: Sequence[tuple[str, str, str, str, str]], raw_rows_per_s: float | None) -> str:
    """The client rules' email and phone checks alone (email-validator, phonenumbers), one core, no I/O."""
    began = time.perf_counter()
    for _external, _first, _last, email, phone in rows:
        normalize_email(email)
        normalize_phone(phone, "US")
    rate = len(rows) / (time.perf_counter() - began)
    return (
        f"floor: the email and phone checks alone validate {rate:,.0f} rows/s on one core"
        f" = {_ratio(rate, raw_rows_per_s) or 0:.3f}x raw"
    )


# --- 4. Outbox relay throughput -------------------------------------------------------------------------


async def relay_throughput(bench: Bench) -> Result:
    s = bench.settings
    await bench.stack.wait_events_handled()
    ours, drain = await _our_relay(bench)
    raw = await _raw_publish(bench)
    ratio = _ratio(ours.ops_per_s, raw.ops_per_s)
    notes = [f"ours = N / (burst committed -> outbox empty) = {drain.events} / {drain.elapsed:.2f}s"]
    if drain.startup is not None and drain.rate is not None:
        notes.append(
            f"commit to first published batch {drain.startup:.2f}s; drain rate after it {drain.rate:,.0f} ev/s"
            f" = {_ratio(drain.rate, raw.ops_per_s) or 0:.2f}x raw"
        )
    notes.append("p50/p99 here = time per relay batch (ours) / per pipelined window (raw) of the same size")
    return Result(
        name=f"outbox relay {s.relay_events} ev",
        ours=ours,
        raw=raw,
        ratio=ratio,
        target=">=0.50x",
        passed=ratio is not None and ratio >= 0.50 and ours.errors == 0,
        notes=[*notes, *_error_notes(ours, raw)],
    )


@dataclass(frozen=True)
class Drain:
    events: int
    elapsed: float  # burst committed -> outbox empty
    startup: float | None  # burst committed -> first batch seen published (at poll resolution)
    rate: float | None  # events per second after the first batch was seen


def _envelope(bench: Bench) -> EventEnvelope:
    client_id = new_id()
    payload = client_events.ClientCreated(client_id=str(client_id), first_name="Relay", last_name="Bench")
    return build_envelope(
        payload, tenant_id=bench.tenant.id, aggregate_type="client", aggregate_id=client_id, producer="client"
    )


async def _our_relay(bench: Bench) -> tuple[Figures, Drain]:
    """Commit a burst of N events to the running client unit's outbox in one transaction and time its relay
    (woken by the commit's NOTIFY) until the outbox is empty.

    Notification is stopped first: on two cores its consumer would otherwise compete with the relay for CPU,
    and it is not part of what is measured (it is not restarted; this is the last measurement).
    """
    s = bench.settings
    stack = bench.stack
    await asyncio.to_thread(stack.stop_unit, "notification")
    envelopes = [_envelope(bench) for _ in range(s.relay_events)]
    subject = subject_for(stack.infra.nats_prefix, envelopes[0].event_type)
    ids = [uuid.UUID(e.event_id) for e in envelopes]
    records = [(i, bench.tenant.id, subject, e.SerializeToString()) for i, e in zip(ids, envelopes, strict=True)]

    async with bench.client_db.acquire() as conn:
        pending_query = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        # COPY fires the outbox's insert trigger, so the commit wakes the relay as any state change would.
        await conn.copy_records_to_table(
            "outbox", columns=["event_id", "tenant_id", "subject", "envelope"], records=records
        )
        started = time.perf_counter()
        first_seen: float | None = None
        pending_then = s.relay_events
        while (pending := await conn.fetchval(pending_query)) > 0:
            now = time.perf_counter()
            if first_seen is None and pending < s.relay_events:
                first_seen, pending_then = now, pending
            if now - started > RELAY_TIMEOUT_SECONDS:
                raise StackError(f"relay left {pending} of {s.relay_events} events after {RELAY_TIMEOUT_SECONDS}s")
            stack.check_alive("client")
            await asyncio.sleep(RELAY_POLL_SECONDS)
        elapsed = time.perf_counter() - started
        batches = await conn.fetch(
            "SELECT published_at FROM outbox WHERE event_id = ANY($1) GROUP BY published_at ORDER BY published_at", ids
        )
    # Each relay batch stamps one published_at (when its acks were in): the gaps are the time per batch.
    stamps = [row["published_at"] for row in batches]
    shape = figures([(b - a).total_seconds() * 1000 for a, b in itertools.pairwise(stamps)], seconds=1.0)
    ours = Figures(s.relay_events / elapsed, shape.p50_ms, shape.p99_ms, errors=0, count=s.relay_events)
    startup = first_seen - started if first_seen is not None else None
    # Events still pending when publishing was first seen, over the time they took to drain.
    rate = pending_then / (elapsed - startup) if startup is not None and elapsed > startup else None
    return ours, Drain(s.relay_events, elapsed, startup, rate)


async def _raw_publish(bench: Bench) -> Figures:
    """Publish the same kind of envelopes, pipelined in windows the size of a relay batch."""
    s = bench.settings
    stream = f"BENCH_{bench.scratch}_PUB".upper()
    subject = f"bench{bench.scratch}.pub.client.v1.ClientCreated"
    connection: NATS = await nats.connect(bench.stack.infra.nats_url, name="bench-raw-relay")
    js = connection.jetstream()
    window = _relay_batch_size(bench)
    try:
        # The platform's stream settings that matter for publishing: file storage, a duplicate window.
        await js.add_stream(
            StreamConfig(
                name=stream, subjects=[subject], storage=StorageType.FILE, duplicate_window=DUPLICATE_WINDOW_SECONDS
            )
        )
        # Serialized up front: the relay reads bytes from the outbox, it does not serialize either.
        warmup = [_serialized(bench) for _ in range(min(2 * window, s.relay_events))]
        measured = [_serialized(bench) for _ in range(s.relay_events)]
        await _publish_windows(js, subject, warmup, window)
        started = time.perf_counter()
        window_ms = await _publish_windows(js, subject, measured, window)
        elapsed = time.perf_counter() - started
    finally:
        await _delete_stream(js, stream)
        await connection.close()
    shape = figures(window_ms, seconds=1.0)
    return Figures(s.relay_events / elapsed, shape.p50_ms, shape.p99_ms, errors=0, count=s.relay_events)


def _serialized(bench: Bench) -> tuple[str, bytes]:
    envelope = _envelope(bench)
    return envelope.event_id, envelope.SerializeToString()


async def _publish_windows(
    js: JetStreamContext, subject: str, messages: Sequence[tuple[str, bytes]], window: int
) -> list[float]:
    """Publish in windows of concurrent publishes (as the relay does per batch); returns each window's ms."""
    durations = []
    for i in range(0, len(messages), window):
        began = time.perf_counter_ns()
        await asyncio.gather(
            *(
                js.publish(subject, data, headers={"Nats-Msg-Id": event_id})
                for event_id, data in messages[i : i + window]
            )
        )
        durations.append((time.perf_counter_ns() - began) / NS_PER_MS)
    return durations


def _relay_batch_size(bench: Bench) -> int:
    return int(bench.stack.plan.env.get("ATRIUM_OUTBOX_BATCH_SIZE", "500"))


async def _delete_stream(js: JetStreamContext, stream: str) -> None:
    try:
        await js.delete_stream(stream)
    except Exception:
        pass  # never created, or NATS already gone; the data directory is temporary anyway


def _error_notes(ours: Figures, raw: Figures) -> list[str]:
    notes = []
    if ours.first_error:
        notes.append(f"ours first error: {ours.first_error[:200]}")
    if raw.first_error:
        notes.append(f"raw first error: {raw.first_error[:200]}")
    return notes


def scratch_suffix() -> str:
    return secrets.token_hex(3)
