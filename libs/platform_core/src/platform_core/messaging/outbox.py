"""Transactional outbox: events are rows written with the state change; they leave after the commit.

Two ways out, one message id (``Nats-Msg-Id`` = event id, so JetStream drops whichever copy comes second within
its duplicate window, ``bus.DUPLICATE_WINDOW_SECONDS``):

* ``OutboxPublisher``, the fast path: a session whose maker carries a publisher (``publish_commits_of``) hands
  the rows its transaction wrote to it the moment that transaction commits, and the publisher sends them at
  once from the committing process, in the order this process saw the commits, then marks the acked rows
  published in one statement per batch, off the request path. Such rows are written with ``attempts = 1``
  (their attempt is under way).
* ``OutboxRelay``, the fallback: it publishes what is still unpublished in id order. Rows written without a
  publisher (the gateway, a COPY of an import batch) go at once, woken by the outbox trigger's NOTIFY; rows a
  publisher took are left to it for ``fallback_delay`` seconds (a lost NATS connection, a missing ack, a mark
  that did not land), far inside the duplicate window. While its process's publisher is paused after a
  failure, the relay takes everything at once, in id order, and resumes the publisher once it has drained.

The relay also polls once a second in case a notification was missed while its listening connection was down.
Several replicas may run a relay: a transaction-scoped advisory lock lets one drain at a time, so events
leave in order. Publishing is pipelined: several batches await their acks at once while the next is read
(see ``OutboxRelay.publish_pending``), so a burst drains at close to the speed of publishing alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from nats.js import JetStreamContext
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import Row, event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from atrium.common.v1 import events_pb2
from platform_core.messaging.bus import DUPLICATE_WINDOW_SECONDS
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

# What the relay takes: rows nobody is publishing (attempts = 0), and rows a publisher took (attempts = 1) that
# are still unpublished after the fallback delay (0: everything).
_RELAY_TAKES = (
    "published_at IS NULL AND (attempts = 0 OR created_at < clock_timestamp() - make_interval(secs => :delay))"
)
# One row per event, or one row of NULLs when there is none; each says whether this relay holds the lock.
_LOCK_AND_SCAN = text(
    "WITH relay AS (SELECT pg_try_advisory_xact_lock(:k) AS leader) "
    "SELECT relay.leader, o.id, o.event_id, o.subject, o.envelope FROM relay LEFT JOIN LATERAL ("
    f"SELECT id, event_id, subject, envelope FROM outbox WHERE relay.leader AND {_RELAY_TAKES} ORDER BY id LIMIT :n"
    ") AS o ON true"
)
_SCAN_AFTER = text(
    f"SELECT id, event_id, subject, envelope FROM outbox WHERE {_RELAY_TAKES} AND id > :after ORDER BY id LIMIT :n"
)

# created_at is when the event was written (clock_timestamp(): the transaction writes its events last, just before
# it commits), not when its transaction began: how long an event waits for the relay is counted from there.
# attempts = 1 when the committing process publishes the rows itself (the relay leaves them alone a while).
_INSERT = text(
    "INSERT INTO outbox (event_id, tenant_id, subject, envelope, created_at, attempts)"
    " VALUES (:event_id, :tenant_id, :subject, :envelope, clock_timestamp(), :attempts)"
)
# Rows nobody publishes at commit (written without a publisher) waiting for the relay.
_UNCLAIMED_WAITING = text("SELECT EXISTS (SELECT FROM outbox WHERE published_at IS NULL AND attempts = 0)")
# The acked rows of a publisher's batch, each stamped with when its ack came in.
_MARK_PUBLISHED = text(
    "UPDATE outbox SET published_at = acked.at"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:ats AS timestamptz[])) AS acked(event_id, at)"
    " WHERE outbox.event_id = acked.event_id AND outbox.published_at IS NULL"
)
# Seconds a publisher's rows are left to it before the relay publishes them: long enough for a publish, its ack
# and the batched mark under load, far inside the stream's duplicate window (a re-publish is then dropped).
FALLBACK_DELAY_SECONDS = 3.0
assert FALLBACK_DELAY_SECONDS * 10 <= DUPLICATE_WINDOW_SECONDS
# Session.info keys: the publisher a session hands its committed rows to, and the rows its transaction wrote.
_PUBLISHER = "platform_core.outbox.publisher"
_WRITTEN = "platform_core.outbox.written"


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
    """Write events in the caller's transaction; they leave only if it commits. A session made by
    ``publishing_sessions`` hands them to its publisher when its transaction commits (a savepoint rolled back
    takes its events with it)."""
    if not envelopes:
        return
    rows = outbox_rows(prefix, envelopes)
    publisher = session.info.get(_PUBLISHER) if isinstance(session, AsyncSession) else None
    await session.execute(
        _INSERT,
        [dict(zip(OUTBOX_COLUMNS, row, strict=True)) | {"attempts": 0 if publisher is None else 1} for row in rows],
    )
    if publisher is not None:
        assert isinstance(session, AsyncSession)
        sync = session.sync_session
        writer = sync.get_nested_transaction() or sync.get_transaction()
        sync.info.setdefault(_WRITTEN, []).append((writer, [PendingEvent(r[0], r[2], r[3]) for r in rows]))


async def copy_to_outbox(
    connection: asyncpg.Connection, prefix: str, envelopes: Sequence[events_pb2.EventEnvelope]
) -> None:
    """The same rows in one COPY on a raw asyncpg connection (bulk writers: the client import), in the caller's
    transaction; the outbox's statement trigger wakes the relay at commit."""
    if envelopes:
        await connection.copy_records_to_table(
            "outbox", columns=list(OUTBOX_COLUMNS), records=outbox_rows(prefix, envelopes)
        )


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An outbox row a transaction wrote, to publish once it commits."""

    event_id: uuid.UUID
    subject: str
    envelope: bytes


@event.listens_for(Session, "after_commit")
def _hand_over_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its rows commit with the transaction around it
    written = session.info.pop(_WRITTEN, None)
    if written:
        session.info[_PUBLISHER].hand_over([e for _, events in written for e in events])


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    written = session.info.get(_WRITTEN)
    if written:
        session.info[_WRITTEN] = [(w, events) for w, events in written if not _within(w, rolled_back)]


@event.listens_for(Session, "after_transaction_end")
def _forget_unfinished(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # closed without a commit (a commit handed them over already)
        session.info.pop(_WRITTEN, None)


def publisher_of(session: AsyncSession) -> OutboxPublisher | None:
    """The publisher ``session``'s maker hands committed events to (``publish_commits_of``), if any: for a unit
    that writes its events without the session and hands them over itself."""
    publisher = session.info.get(_PUBLISHER)
    return publisher if isinstance(publisher, OutboxPublisher) else None


async def send_committed(session: AsyncSession) -> None:
    """Right after ``session`` committed: send the events it handed over, from the committing task."""
    publisher = session.info.get(_PUBLISHER)
    if publisher is not None:
        await publisher.send_handed_over()


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


class OutboxPublisher:
    """Publishes the events of this process's committed transactions at once (the fast path; see the module).

    ``hand_over`` is called at each commit and only queues; the committing unit of work (``send_committed``), or
    else ``run``, sends the queue in hand-over order, keeping every publish's ack in flight, and a task of
    ``run`` marks the acked rows published, each batch in one autocommit statement while the next acks come in.
    After a failed publish the publisher pauses: what is
    handed over is held, the relay publishes everything unpublished in id order, then resumes it (``resume``),
    and the held events go first, so a process's events do not overtake its own failed ones (the relay's copies
    and these are the same messages to JetStream).
    """

    def __init__(
        self, engine: AsyncEngine, js: JetStreamContext, *, publish_timeout: float = 5.0, max_held: int = 100_000
    ) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._js = js
        self._publish_timeout = publish_timeout
        self._max_held = max_held
        self._queue: deque[PendingEvent] = deque()
        self._wake = asyncio.Event()
        self._sent: asyncio.Queue[tuple[list[PendingEvent], asyncio.Future[list[BaseException | None]]]]
        self._sent = asyncio.Queue()
        self._paused_at: float | None = None
        self._sending = asyncio.Lock()
        # When each sent batch's acks were all in: its rows' published_at.
        self._acked_at: dict[asyncio.Future[list[BaseException | None]], datetime] = {}

    def publish_commits_of(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Sessions made by ``sessions`` hand the events their transactions write to this publisher."""
        sessions.configure(info={_PUBLISHER: self})

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def hand_over(self, events: Sequence[PendingEvent]) -> None:
        if len(self._queue) + len(events) > self._max_held:
            # NATS away for long: these stay to the relay, and the publisher waits for a relay cycle after now.
            self._pause(f"more events held than {self._max_held}")
            return
        self._queue.extend(events)
        self._wake.set()

    def resume(self, drained_since: float) -> None:
        """The relay published everything it could take in a cycle begun at ``drained_since`` (monotonic)."""
        if self._paused_at is not None and drained_since > self._paused_at:
            self._paused_at = None
            self._wake.set()
            log.info("outbox publisher resumed")

    def _stamp(self, acks: asyncio.Future[list[BaseException | None]]) -> None:
        self._acked_at[acks] = datetime.now(UTC)

    def _pause(self, why: str) -> None:
        if self._paused_at is None:
            log.warning("outbox publisher paused (%s); the relay publishes until it has caught up", why)
        self._paused_at = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        marking = asyncio.create_task(self._mark_published(), name="outbox-mark")
        try:
            while not stop.is_set():
                await _wait_any(stop, self._wake, None)
                self._wake.clear()
                await self.send_handed_over()
        finally:
            marking.cancel()
            await asyncio.gather(marking, return_exceptions=True)

    async def send_handed_over(self) -> None:
        """Send what was handed over, in order. A committing unit of work calls it itself right after its commit
        (a busy event loop would make it wait a turn for ``run``); ``run`` sends what other commits hand over."""
        if self._paused_at is not None or not self._queue:
            return
        async with self._sending:  # one sender at a time, so batches go in hand-over order
            events = list(self._queue)
            self._queue.clear()
            if not events:
                return
            try:
                acks = await send_batch(self._js, events, self._publish_timeout)
            except Exception as exc:
                self._pause(repr(exc))  # these stay to the relay
                return
            acks.add_done_callback(self._stamp)
            self._sent.put_nowait((events, acks))

    async def _mark_published(self) -> None:
        while True:
            batches = [await self._sent.get()]
            while not self._sent.empty():
                batches.append(self._sent.get_nowait())
            ids: list[uuid.UUID] = []
            ats: list[datetime] = []
            for events, acks in batches:
                results = await acks
                at = self._acked_at.pop(acks, None) or datetime.now(UTC)
                failed = next((r for r in results if r is not None), None)
                if failed is not None:
                    self._pause(repr(failed))  # the unacked stay to the relay
                ids += [e.event_id for e, result in zip(events, results, strict=True) if result is None]
                ats += [at] * (len(ids) - len(ats))
            if not ids:
                continue
            try:
                with suppress_instrumentation():
                    async with self._engine.connect() as conn:
                        await conn.execute(_MARK_PUBLISHED, {"ids": ids, "ats": ats})
            except Exception:
                # Published all the same; the relay re-publishes them after the fallback delay (dropped as
                # duplicates) and marks them.
                log.warning("could not mark %d published events", len(ids), exc_info=True)


async def send_batch(
    js: JetStreamContext, rows: Sequence[Any], publish_timeout: float
) -> asyncio.Future[list[BaseException | None]]:
    """Send the publishes of ``rows`` (``event_id``, ``subject``, ``envelope``), in order, before returning (so
    a next batch goes out after them); the future gives each one's error once its ack is in."""
    if tracing_enabled():
        return asyncio.gather(
            *(_publish_one(js, row.event_id, row.subject, row.envelope, publish_timeout) for row in rows)
        )
    # No span to make: the stored bytes go as they are, never parsed, each with a future for its ack and no
    # task of its own; the batch waits for its acks at most the publish timeout.
    acks = [
        await js.publish_async(row.subject, row.envelope, headers={"Nats-Msg-Id": str(row.event_id)}) for row in rows
    ]
    return asyncio.ensure_future(_settled(acks, publish_timeout))


async def _settled(acks: Sequence[asyncio.Future[Any]], publish_timeout: float) -> list[BaseException | None]:
    await asyncio.wait(acks, timeout=publish_timeout)
    results: list[BaseException | None] = []
    for ack in acks:
        if not ack.done():
            ack.cancel()
            results.append(TimeoutError(f"no ack within {publish_timeout}s"))
        elif ack.cancelled():  # the connection closed under it
            results.append(ConnectionError("publish cancelled"))
        else:
            results.append(ack.exception())
    return results


async def _publish_one(
    js: JetStreamContext, event_id: uuid.UUID, subject: str, data: bytes, publish_timeout: float
) -> BaseException | None:
    """Publish one event in its own span (tracing on)."""
    try:
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
            await js.publish(subject, data, timeout=publish_timeout, headers=headers)
    except Exception as exc:
        return exc
    return None


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        js: JetStreamContext,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        publish_timeout: float = 5.0,
        publisher: OutboxPublisher | None = None,
        fallback_delay: float = FALLBACK_DELAY_SECONDS,
    ) -> None:
        self._engine = engine
        self._js = js
        self._publisher = publisher
        self._fallback_delay = fallback_delay
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._publish_timeout = publish_timeout
        self._wake = asyncio.Event()
        self._last_purge = 0.0
        # Whether the last publish_pending held the relays' lock (else another replica was draining and what
        # this one found says nothing of the outbox).
        self.led_last_cycle = False

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen(stop), name="outbox-listen")
        failures = 0
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    cycle_began = time.monotonic()
                    # The relay's own SQL (lock, scan, mark) would be a root trace every second; the
                    # publish spans, children of each event's transaction, are what tells the story.
                    with suppress_instrumentation():
                        while await self.publish_pending() >= self._batch_size:
                            pass
                    failures = 0
                    if self._publisher is not None and self.led_last_cycle:
                        self._publisher.resume(cycle_began)
                    await self._purge_published()
                except Exception:
                    failures += 1
                    log.warning("outbox relay cycle failed (%d in a row)", failures, exc_info=True)
                    await _wait(stop, min(0.2 * 2**failures, 5.0))
                    continue
                await self._wait_for_work(stop)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _wait_for_work(self, stop: asyncio.Event) -> None:
        """Until the next poll, or a NOTIFY of rows for the relay. Every commit notifies, but while this process's
        publisher works, a commit's rows are its own: one cheap look (are any rows nobody publishes?) instead of a
        locked scan per commit, and what the publisher missed waits for the poll."""
        due = time.monotonic() + self._poll_interval
        while not stop.is_set():
            await _wait_any(stop, self._wake, max(due - time.monotonic(), 0.0))
            if not self._wake.is_set() or self._publisher is None or self._publisher.paused:
                return
            self._wake.clear()
            try:
                with suppress_instrumentation():
                    async with self._engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
                        if await conn.scalar(_UNCLAIMED_WAITING):
                            return
            except Exception:
                return  # the cycle reports it

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
            # What a working publisher took waits for it; without one (or while it is paused) everything goes now.
            working = self._publisher is not None and not self._publisher.paused
            delay = self._fallback_delay if working else 0.0
            scanned = (
                await conn.execute(_LOCK_AND_SCAN, {"k": _RELAY_LOCK_KEY, "n": self._batch_size, "delay": delay})
            ).all()
            self.led_last_cycle = scanned[0].leader
            rows: Sequence[Row[Any]] = [row for row in scanned if row.id is not None]
            in_flight: deque[tuple[Sequence[Row[Any]], asyncio.Future[list[BaseException | None]]]] = deque()
            published = 0
            failures: list[BaseException] = []
            batches = 0
            while rows or in_flight:
                if rows and not failures:
                    in_flight.append((rows, await send_batch(self._js, rows, self._publish_timeout)))
                    batches += 1
                    more = len(rows) == self._batch_size and batches < BATCHES_PER_TRANSACTION
                    rows = (
                        (
                            await conn.execute(
                                _SCAN_AFTER, {"after": rows[-1].id, "n": self._batch_size, "delay": delay}
                            )
                        ).all()
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
