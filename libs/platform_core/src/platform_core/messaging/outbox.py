"""Transactional outbox: events are rows written with the state change; a relay publishes them.

The relay is woken by the outbox trigger's NOTIFY at commit (no slow polling), and also polls once a
second in case a notification was missed while its listening connection was down. Several replicas may
run a relay: a transaction-scoped advisory lock lets one drain at a time, so events leave in order.
Each message carries ``Nats-Msg-Id`` = event id, so JetStream drops a re-publish after a crash.
Publishing is pipelined: several batches await their acks at once while the next is read (see
``OutboxRelay.publish_pending``), so a burst drains at close to the speed of publishing alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any

import asyncpg
from nats.js import JetStreamContext
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from atrium.common.v1 import events_pb2
from platform_core.messaging.envelope import subject_for
from platform_core.messaging.schema import OUTBOX_CHANNEL
from platform_core.observability import tracing_enabled

log = logging.getLogger(__name__)
tracer = trace.get_tracer("platform_core.outbox")

# Any constant distinct from other advisory locks in the same database.
_RELAY_LOCK_KEY = 0x4F55_5442  # "OUTB"
PUBLISHED_RETENTION = "7 days"
# Batches whose publishes may await their acks at once, and batches one relay transaction sends before it commits
# (its marks) and lets another replica take over.
PUBLISH_DEPTH = 4
BATCHES_PER_TRANSACTION = 8

_LOCK_AND_SCAN = text(
    "WITH relay AS (SELECT pg_try_advisory_xact_lock(:k) AS leader) "
    "SELECT id, event_id, subject, envelope FROM outbox, relay "
    "WHERE relay.leader AND published_at IS NULL ORDER BY id LIMIT :n"
)
_SCAN_AFTER = text(
    "SELECT id, event_id, subject, envelope FROM outbox WHERE published_at IS NULL AND id > :after ORDER BY id LIMIT :n"
)

# created_at is when the event was written (clock_timestamp(): the transaction writes its events last, just before
# it commits), not when its transaction began: how long an event waits for the relay is counted from there.
_INSERT = text(
    "INSERT INTO outbox (event_id, tenant_id, subject, envelope, created_at)"
    " VALUES (:event_id, :tenant_id, :subject, :envelope, clock_timestamp())"
)


def outbox_rows(prefix: str, envelopes: Sequence[events_pb2.EventEnvelope]) -> list[tuple[Any, ...]]:
    """The outbox rows of these events: (event_id, tenant_id, subject, envelope), in OUTBOX_COLUMNS order."""
    return [
        (uuid.UUID(e.event_id), uuid.UUID(e.tenant_id), subject_for(prefix, e.event_type), e.SerializeToString())
        for e in envelopes
    ]


OUTBOX_COLUMNS = ("event_id", "tenant_id", "subject", "envelope")


async def add_to_outbox(
    session: AsyncSession | AsyncConnection, prefix: str, envelopes: Sequence[events_pb2.EventEnvelope]
) -> None:
    """Write events in the caller's transaction; they leave only if it commits."""
    if not envelopes:
        return
    await session.execute(
        _INSERT, [dict(zip(OUTBOX_COLUMNS, row, strict=True)) for row in outbox_rows(prefix, envelopes)]
    )


async def copy_to_outbox(
    connection: asyncpg.Connection, prefix: str, envelopes: Sequence[events_pb2.EventEnvelope]
) -> None:
    """The same rows in one COPY on a raw asyncpg connection (bulk writers: the client import), in the caller's
    transaction; the outbox's statement trigger wakes the relay at commit."""
    if envelopes:
        await connection.copy_records_to_table(
            "outbox", columns=list(OUTBOX_COLUMNS), records=outbox_rows(prefix, envelopes)
        )


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        js: JetStreamContext,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        publish_timeout: float = 5.0,
    ) -> None:
        self._engine = engine
        self._js = js
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._publish_timeout = publish_timeout
        self._wake = asyncio.Event()
        self._last_purge = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen(stop), name="outbox-listen")
        failures = 0
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    # The relay's own SQL (lock, scan, mark) would be a root trace every second; the
                    # publish spans, children of each event's transaction, are what tells the story.
                    with suppress_instrumentation():
                        while await self.publish_pending() >= self._batch_size:
                            pass
                    failures = 0
                    await self._purge_published()
                except Exception:
                    failures += 1
                    log.warning("outbox relay cycle failed (%d in a row)", failures, exc_info=True)
                    await _wait(stop, min(0.2 * 2**failures, 5.0))
                    continue
                await _wait_any(stop, self._wake, self._poll_interval)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def publish_pending(self) -> int:
        """Publish unpublished events in id order, a few batches in one transaction; returns how many.

        Publishing is pipelined: a batch is sent without waiting for the previous one's acks (up to
        PUBLISH_DEPTH batches in flight), and the next batch is read while acks come back, so JetStream's
        round trips and the database's overlap instead of taking turns. Batches are sent in order and one
        relay holds the transaction's lock, so events leave in order. A batch is marked published once all its
        acks are in; if any publish failed, nothing more is sent, what is in flight is settled and the cycle
        fails (the failed events stay unpublished and are retried, deduplicated by their message id)."""
        async with self._engine.begin() as conn:
            # Lock and scan in one round trip: no rows when another replica holds the lock and is draining.
            rows = (await conn.execute(_LOCK_AND_SCAN, {"k": _RELAY_LOCK_KEY, "n": self._batch_size})).all()
            in_flight: deque[tuple[Sequence[Row[Any]], asyncio.Future[list[BaseException | None]]]] = deque()
            published = 0
            failures: list[BaseException] = []
            batches = 0
            while rows or in_flight:
                if rows and not failures:
                    in_flight.append((rows, await self._send(rows)))
                    batches += 1
                    more = len(rows) == self._batch_size and batches < BATCHES_PER_TRANSACTION
                    rows = (
                        (await conn.execute(_SCAN_AFTER, {"after": rows[-1].id, "n": self._batch_size})).all()
                        if more
                        else []
                    )
                    if rows and len(in_flight) < PUBLISH_DEPTH:
                        continue
                else:
                    rows = []
                sent, acks = in_flight.popleft()
                results = await acks
                published += await self._settle(conn, sent, results)
                failures += [result for result in results if result is not None]
        if failures:
            raise RuntimeError(f"{len(failures)} events not published: {failures[0]!r}")
        return published

    async def _send(self, rows: Sequence[Row[Any]]) -> asyncio.Future[list[BaseException | None]]:
        """Send a batch's publishes, in row order, before returning (so the next batch goes out after it); the
        future gives each one's error once its ack is in."""
        if tracing_enabled():
            return asyncio.gather(*(self._publish_one(row.event_id, row.subject, row.envelope) for row in rows))
        # No span to make: the stored bytes go as they are, never parsed, each with a future for its ack and no
        # task of its own; the batch waits for its acks at most the publish timeout.
        acks = [
            await self._js.publish_async(row.subject, row.envelope, headers={"Nats-Msg-Id": str(row.event_id)})
            for row in rows
        ]
        return asyncio.ensure_future(self._acks(acks))

    async def _acks(self, acks: Sequence[asyncio.Future[Any]]) -> list[BaseException | None]:
        await asyncio.wait(acks, timeout=self._publish_timeout)
        results: list[BaseException | None] = []
        for ack in acks:
            if not ack.done():
                ack.cancel()
                results.append(TimeoutError(f"no ack within {self._publish_timeout}s"))
            elif ack.cancelled():  # the connection closed under it
                results.append(ConnectionError("publish cancelled"))
            else:
                results.append(ack.exception())
        return results

    async def _publish_one(self, event_id: uuid.UUID, subject: str, data: bytes) -> BaseException | None:
        try:
            await self._publish(event_id, subject, data)
        except Exception as exc:
            return exc
        return None

    async def _settle(
        self, conn: AsyncConnection, rows: Sequence[Row[Any]], results: Sequence[BaseException | None]
    ) -> int:
        """Mark a batch's published events, and count an attempt on each failed one; returns how many published."""
        published = [row.id for row, result in zip(rows, results, strict=True) if result is None]
        failed = [(row.id, result) for row, result in zip(rows, results, strict=True) if result is not None]
        if published:
            # statement_timestamp(): when this batch's acks were in, one value for the batch (now() would be
            # the transaction's start, shared by every batch it sends).
            await conn.execute(
                text("UPDATE outbox SET published_at = statement_timestamp() WHERE id = ANY(:ids)"), {"ids": published}
            )
        if failed:
            await conn.execute(
                text("UPDATE outbox SET attempts = attempts + 1, last_error = :err WHERE id = ANY(:ids)"),
                {"ids": [i for i, _ in failed], "err": repr(failed[0][1])[:500]},
            )
        return len(published)

    async def _publish(self, event_id: uuid.UUID, subject: str, data: bytes) -> None:
        """Publish one event in its own span (tracing on)."""
        envelope = events_pb2.EventEnvelope.FromString(data)
        parent = propagate.extract(dict(envelope.trace_context))
        with tracer.start_as_current_span(
            f"{subject} publish",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": subject,
                "messaging.message.id": str(event_id),
            },
        ):
            headers = {"Nats-Msg-Id": str(event_id)}
            # W3C trace context of this publish span in the message headers: the consumer's span becomes its
            # child, so one trace runs request -> transaction -> publish -> process.
            propagate.inject(headers)
            await self._js.publish(subject, data, timeout=self._publish_timeout, headers=headers)

    async def _purge_published(self) -> None:
        now = time.monotonic()
        if now - self._last_purge < 3600:
            return
        self._last_purge = now
        async with self._engine.begin() as conn:
            await conn.execute(
                text(f"DELETE FROM outbox WHERE published_at < now() - interval '{PUBLISHED_RETENTION}'")
            )

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _listen(self, stop: asyncio.Event) -> None:
        """Hold a LISTEN connection; reconnect after any failure (the poll covers the gap)."""
        while not stop.is_set():
            try:
                async with self._engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver = raw.driver_connection
                    assert driver is not None
                    closed = asyncio.Event()
                    driver.add_termination_listener(lambda *_, ended=closed: ended.set())
                    await driver.add_listener(OUTBOX_CHANNEL, self._on_notify)
                    self._wake.set()  # catch up on anything committed before we listened
                    try:
                        await _wait_any(stop, closed, None)
                    finally:
                        # Never hand a listening connection back to the pool.
                        await conn.invalidate()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox LISTEN connection lost; reconnecting", exc_info=True)
                await _wait(stop, 1.0)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


async def _wait_any(stop: asyncio.Event, other: asyncio.Event, timeout: float | None) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(other.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
