"""Idempotent JetStream consumers.

Each message is handled in one database transaction that first claims ``(consumer, event_id)`` in the
inbox: a redelivered event finds its claim and is acknowledged without running the handler again. The
message is acknowledged only after the commit. A transient failure is retried with a growing delay
(``nak(delay)``); a poison message (undecodable, a handler's DomainError, or out of deliveries) is parked
in ``parked_messages`` where an operator can list and replay it, and terminated on the stream.

Under load a fetched batch shares one transaction: its inbox rows are claimed in one statement, and a
subscription with a batch handler takes each run of consecutive events of its type and tenant at once (its
rows in one statement). A batch that fails is rolled back whole and its messages take the one-at-a-time
path, so a poison event is parked alone and the others are handled once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError, Message
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import propagate, trace
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from atrium.common.v1 import events_pb2
from platform_core.errors import DomainError
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.messaging.bus import ensure_stream
from platform_core.messaging.envelope import producer_of, stream_name, subject_for

log = logging.getLogger(__name__)
tracer = trace.get_tracer("platform_core.consumer")

INBOX_RETENTION = "30 days"


@dataclass(frozen=True)
class ReceivedEvent:
    envelope: events_pb2.EventEnvelope
    payload: Any  # the unpacked protobuf message of the subscription's payload type

    @property
    def event_id(self) -> uuid.UUID:
        return uuid.UUID(self.envelope.event_id)

    @property
    def tenant_id(self) -> uuid.UUID:
        return uuid.UUID(self.envelope.tenant_id)


EventHandler = Callable[[AsyncSession, ReceivedEvent], Awaitable[None]]
# Events of one type and one tenant, in stream order, handled at once (e.g. their rows in one statement).
BatchHandler = Callable[[AsyncSession, Sequence[ReceivedEvent]], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    payload_type: type[Message]
    handler: EventHandler
    # Takes a run of this type's events at once, with the same effect as ``handler`` on each in turn.
    batch_handler: BatchHandler | None = None

    @classmethod
    def batched(cls, payload_type: type[Message], batch_handler: BatchHandler) -> Subscription:
        """A subscription whose one handler takes a run of events (a single event is a run of one)."""

        async def one(session: AsyncSession, event: ReceivedEvent) -> None:
            await batch_handler(session, [event])

        return cls(payload_type, one, batch_handler)

    @property
    def event_type(self) -> str:
        return str(self.payload_type.DESCRIPTOR.full_name)


class PoisonMessage(Exception):
    """The message can never be handled as it is."""


def retry_delay(deliveries: int) -> float:
    """Seconds before the next attempt: 1, 2, 4, ... capped at one minute."""
    return float(min(2 ** max(deliveries - 1, 0), 60))


class EventConsumer:
    """One durable pull consumer per (consuming service, producing service)."""

    def __init__(
        self,
        *,
        name: str,
        js: JetStreamContext,
        prefix: str,
        sessions: async_sessionmaker[AsyncSession],
        subscriptions: Iterable[Subscription],
        max_deliver: int = 8,
        ack_wait: float = 30.0,
        fetch_batch: int = 100,
    ) -> None:
        self.name = name
        self._js = js
        self._prefix = prefix
        self._sessions = sessions
        self._handlers = {s.event_type: s for s in subscriptions}
        self._max_deliver = max_deliver
        self._ack_wait = ack_wait
        self._fetch_batch = fetch_batch
        self._last_purge = 0.0
        producers = {producer_of(t) for t in self._handlers}
        if len(producers) != 1:
            raise ValueError("one EventConsumer reads one producer's stream")
        self.producer = producers.pop()
        self.stream = stream_name(prefix, self.producer)
        self.durable = f"{name}-from-{self.producer}"

    async def setup(self) -> None:
        await ensure_stream(self._js, self._prefix, self.producer)
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._ack_wait,
            max_deliver=self._max_deliver,
            max_ack_pending=1000,
            filter_subjects=sorted(subject_for(self._prefix, t) for t in self._handlers),
        )
        await self._js.add_consumer(self.stream, config)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.setup()
                sub = await self._js.pull_subscribe_bind(self.durable, self.stream)
                fetching = _fetch(sub, self._fetch_batch)
                try:
                    while not stop.is_set():
                        try:
                            messages = await fetching
                        except TimeoutError:
                            fetching = _fetch(sub, self._fetch_batch)
                            await self._purge_inbox()
                            continue
                        # The next pull waits at the server while this batch is handled: an event published
                        # meanwhile is on its way at once instead of after the handling and a pull's round trip.
                        # Batches are still handled one after the other, in stream order.
                        fetching = _fetch(sub, self._fetch_batch)
                        await self.process_batch(messages)
                finally:
                    # What a cancelled pull was delivered is never acked: redelivered after ack_wait.
                    fetching.cancel()
                    await asyncio.gather(fetching, return_exceptions=True)
                    await sub.unsubscribe()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("consumer %s interrupted; resuming", self.durable, exc_info=True)
                try:
                    await asyncio.wait_for(stop.wait(), 1.0)
                except TimeoutError:
                    pass

    async def process(self, msg: Msg) -> None:
        deliveries = msg.metadata.num_delivered if msg.metadata else 1
        try:
            event = self._decode(msg.data)
        except PoisonMessage as exc:
            await self._park(msg.subject, msg.data, None, str(exc), deliveries)
            await msg.term()
            return
        subscription = self._handlers.get(event.envelope.event_type)
        if subscription is None:
            await msg.ack()  # not ours (filters make this rare)
            return
        with self._span(msg, event) as span:
            try:
                await self.handle(event, subscription)
            except DomainError as exc:
                span.record_exception(exc)
                await self._park(msg.subject, msg.data, event, f"{type(exc).__name__}: {exc}", deliveries)
                await msg.term()
                return
            except Exception as exc:
                span.record_exception(exc)
                if deliveries >= self._max_deliver:
                    log.error("event %s failed %d times; parking it", event.envelope.event_id, deliveries)
                    await self._park(msg.subject, msg.data, event, repr(exc), deliveries)
                    await msg.term()
                else:
                    log.warning(
                        "event %s failed (delivery %d); retrying", event.envelope.event_id, deliveries, exc_info=True
                    )
                    await msg.nak(delay=retry_delay(deliveries))
                return
        await msg.ack()

    async def process_batch(self, messages: Sequence[Msg]) -> None:
        """Handle a fetched batch in one transaction, then acknowledge it: under load, one commit serves many
        events. If anything in the batch fails, it is rolled back whole and each message takes the
        one-at-a-time path, where failures are retried or parked individually."""
        if len(messages) == 1:
            await self.process(messages[0])
            return
        batch: list[tuple[Msg, ReceivedEvent, Subscription]] = []
        for msg in messages:
            try:
                event = self._decode(msg.data)
            except PoisonMessage:
                await self.process(msg)  # parks it
                continue
            subscription = self._handlers.get(event.envelope.event_type)
            if subscription is None:
                await msg.ack()
                continue
            batch.append((msg, event, subscription))
        if not batch:
            return
        try:
            async with self._sessions() as session, session.begin():
                # The whole batch is claimed in one statement; an event the inbox already holds (handled
                # before, or twice in this batch) is claimed once or not at all.
                unclaimed = await self._claim_all(session, [event.event_id for _, event, _ in batch])
                claimed = []
                for msg, event, subscription in batch:
                    if event.event_id in unclaimed:
                        unclaimed.discard(event.event_id)
                        claimed.append((msg, event, subscription))
                for run in _runs(claimed):
                    await self._handle_run(session, run)
        except Exception:
            log.info("batch of %d failed; handling its messages one at a time", len(batch), exc_info=True)
            for msg, _, _ in batch:
                await self.process(msg)
            return
        await asyncio.gather(*(msg.ack() for msg, _, _ in batch))

    async def handle(self, event: ReceivedEvent, subscription: Subscription) -> bool:
        """Run the handler once per event id. Returns False when the event was already handled."""
        async with self._sessions() as session, session.begin():
            return await self._claim_and_handle(session, event, subscription)

    async def _claim_and_handle(self, session: AsyncSession, event: ReceivedEvent, subscription: Subscription) -> bool:
        claimed = await session.scalar(
            text("INSERT INTO inbox (consumer, event_id) VALUES (:c, :e) ON CONFLICT DO NOTHING RETURNING event_id"),
            {"c": self.durable, "e": event.event_id},
        )
        if claimed is None:
            return False
        await self._handle_claimed(session, event, subscription)
        return True

    async def _claim_all(self, session: AsyncSession, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Claim every event of a batch in one statement; returns the ids this transaction claimed."""
        claimed = await session.scalars(
            text(
                "INSERT INTO inbox (consumer, event_id) SELECT :c, unnest(CAST(:ids AS uuid[])) "
                "ON CONFLICT DO NOTHING RETURNING event_id"
            ),
            {"c": self.durable, "ids": list(event_ids)},
        )
        return set(claimed)

    async def _handle_claimed(self, session: AsyncSession, event: ReceivedEvent, subscription: Subscription) -> None:
        context = CallContext(tenant_id=event.tenant_id, principal=Principal.service(self.name))
        with bind_call_context(context):
            await subscription.handler(session, event)

    async def _handle_run(self, session: AsyncSession, run: Sequence[tuple[Msg, ReceivedEvent, Subscription]]) -> None:
        """Consecutive claimed events of one subscription and tenant: to its batch handler at once when it has
        one, else to its handler one by one (stream order either way)."""
        subscription = run[0][2]
        if subscription.batch_handler is None or len(run) == 1:
            for msg, event, _ in run:
                with self._span(msg, event):
                    await self._handle_claimed(session, event, subscription)
            return
        spans = [self._start_span(msg, event) for msg, event, _ in run]
        context = CallContext(tenant_id=run[0][1].tenant_id, principal=Principal.service(self.name))
        try:
            with bind_call_context(context):
                await subscription.batch_handler(session, [event for _, event, _ in run])
        except Exception as exc:
            for span in spans:
                span.record_exception(exc)
            raise
        finally:
            for span in spans:
                span.end()

    def _span(self, msg: Msg, event: ReceivedEvent) -> Any:
        return trace.use_span(self._start_span(msg, event), end_on_exit=True)

    def _start_span(self, msg: Msg, event: ReceivedEvent) -> trace.Span:
        # The publish hop's context (message headers) when present, else the originating transaction's.
        carrier = msg.headers if msg.headers and "traceparent" in msg.headers else dict(event.envelope.trace_context)
        return tracer.start_span(
            f"{msg.subject} process",
            context=propagate.extract(carrier),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": msg.subject,
                "messaging.message.id": event.envelope.event_id,
                "messaging.consumer.group.name": self.durable,
            },
        )

    def _decode(self, data: bytes) -> ReceivedEvent:
        try:
            envelope = events_pb2.EventEnvelope.FromString(data)
            uuid.UUID(envelope.event_id)
            uuid.UUID(envelope.tenant_id)
        except (DecodeError, ValueError) as exc:
            raise PoisonMessage(f"undecodable envelope: {exc}") from exc
        subscription = self._handlers.get(envelope.event_type)
        if subscription is None:
            return ReceivedEvent(envelope, None)
        payload = subscription.payload_type()
        if not envelope.payload.Unpack(payload):
            raise PoisonMessage(f"payload is not {envelope.event_type}")
        return ReceivedEvent(envelope, payload)

    async def _park(self, subject: str, data: bytes, event: ReceivedEvent | None, error: str, deliveries: int) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO parked_messages (consumer, subject, event_id, event_type, data, error, deliveries) "
                    "VALUES (:c, :s, :e, :t, :d, :err, :n)"
                ),
                {
                    "c": self.durable,
                    "s": subject,
                    "e": event.event_id if event else None,
                    "t": event.envelope.event_type if event else None,
                    "d": data,
                    "err": error[:2000],
                    "n": deliveries,
                },
            )

    async def replay_parked(self, ids: Sequence[int] | None = None) -> list[tuple[int, str]]:
        """Handle parked messages again (after a fix); returns (id, outcome) per message."""
        async with self._sessions() as session:
            query = "SELECT id, data FROM parked_messages WHERE consumer = :c AND replayed_at IS NULL"
            params: dict[str, Any] = {"c": self.durable}
            if ids is not None:
                query += " AND id = ANY(:ids)"
                params["ids"] = list(ids)
            rows = (await session.execute(text(query + " ORDER BY id"), params)).all()
        outcomes = []
        for row in rows:
            try:
                event = self._decode(row.data)
                subscription = self._handlers.get(event.envelope.event_type)
                if subscription is None:
                    raise PoisonMessage(f"no handler for {event.envelope.event_type}")
                handled = await self.handle(event, subscription)
                outcome = "replayed" if handled else "already handled"
            except Exception as exc:
                outcomes.append((row.id, f"failed: {exc!r}"))
                continue
            async with self._sessions() as session, session.begin():
                await session.execute(
                    text("UPDATE parked_messages SET replayed_at = now() WHERE id = :id"), {"id": row.id}
                )
            outcomes.append((row.id, outcome))
        return outcomes

    async def _purge_inbox(self) -> None:
        now = time.monotonic()
        if now - self._last_purge < 3600:
            return
        self._last_purge = now
        async with self._sessions() as session, session.begin():
            await session.execute(
                text(f"DELETE FROM inbox WHERE consumer = :c AND processed_at < now() - interval '{INBOX_RETENTION}'"),
                {"c": self.durable},
            )


def _fetch(sub: JetStreamContext.PullSubscription, batch: int) -> asyncio.Task[list[Msg]]:
    """A pull of up to ``batch`` messages: it returns as soon as one is there (or raises TimeoutError after a
    second without any)."""
    return asyncio.create_task(sub.fetch(batch, timeout=1.0), name="consumer-fetch")


def _runs(
    claimed: Sequence[tuple[Msg, ReceivedEvent, Subscription]],
) -> Iterator[Sequence[tuple[Msg, ReceivedEvent, Subscription]]]:
    """Split a batch, in order, into runs of consecutive events of one subscription and one tenant."""
    run: list[tuple[Msg, ReceivedEvent, Subscription]] = []
    for item in claimed:
        if run and (item[2] is not run[0][2] or item[1].tenant_id != run[0][1].tenant_id):
            yield run
            run = []
        run.append(item)
    if run:
        yield run
