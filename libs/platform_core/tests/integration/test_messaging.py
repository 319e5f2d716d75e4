"""Outbox relay and idempotent consumers against real PostgreSQL and NATS JetStream."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from types import SimpleNamespace
from typing import Any, cast

import nats
import pytest
import sqlalchemy as sa
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import orm as sa_orm
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from atrium.client.v1 import events_pb2
from platform_core.config import PlatformSettings
from platform_core.db import create_engine, ensure_database, session_factory
from platform_core.errors import InvalidArgument
from platform_core.messaging import outbox as outbox_module
from platform_core.messaging import schema
from platform_core.messaging.bus import ensure_stream
from platform_core.messaging.consumer import EventConsumer, ReceivedEvent, Subscription
from platform_core.messaging.envelope import build_envelope, stream_name, subject_for
from platform_core.messaging.outbox import OutboxPublisher, OutboxRelay, add_to_outbox
from platform_core.unit_of_work import SqlAlchemyUnitOfWork
from platform_dev.testing.infra import TestInfra
from platform_dev.testing.plugin import wait_until


@pytest.fixture(scope="module")
async def engine(infra: TestInfra) -> AsyncIterator[AsyncEngine]:
    db_url = PlatformSettings(postgres_url=infra.postgres_url, database_prefix=infra.database_prefix).database_url(
        "platform"
    )
    await ensure_database(db_url)
    engine = create_engine(db_url, pool_size=5, max_overflow=5)
    statements: list[str] = []
    schema.create_v1(SimpleNamespace(execute=statements.append))
    async with engine.begin() as conn:
        exists = await conn.scalar(text("SELECT to_regclass('outbox') IS NOT NULL"))
        if not exists:
            for statement in statements:
                await conn.execute(text(statement))
        await conn.execute(text("CREATE TABLE IF NOT EXISTS handled (event_id uuid PRIMARY KEY, name text)"))
        # Every handling of an event, in the order written (no key: an event handled twice shows twice).
        await conn.execute(
            text("CREATE TABLE IF NOT EXISTS handlings (n bigserial PRIMARY KEY, event_id uuid, name text, run int)")
        )
    yield engine
    await engine.dispose()


@pytest.fixture
async def nc(infra: TestInfra) -> AsyncIterator[NATS]:
    connection = await nats.connect(infra.nats_url)
    yield connection
    await connection.close()


def prefix() -> str:
    """Fresh subjects and streams per test."""
    return f"m{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def stream(nc: NATS) -> tuple[str, JetStreamContext]:
    """A fresh subject prefix and the client-events stream under it, as the producing service creates it."""
    p = prefix()
    js = nc.jetstream()
    await ensure_stream(js, p, "client")
    return p, js


def created(tenant: uuid.UUID, name: str = "Ada") -> events_pb2.ClientCreated:
    return events_pb2.ClientCreated(client_id=str(uuid.uuid4()), first_name=name)


def envelope_for(tenant: uuid.UUID, name: str = "Ada"):  # type: ignore[no-untyped-def]
    payload = created(tenant, name)
    return build_envelope(
        payload, tenant_id=tenant, aggregate_type="client", aggregate_id=payload.client_id, producer="client"
    )


async def record(session: AsyncSession, event: ReceivedEvent) -> None:
    await session.execute(
        text("INSERT INTO handled (event_id, name) VALUES (:e, :n)"),
        {"e": event.event_id, "n": event.payload.first_name},
    )


async def handled_names(engine: AsyncEngine, event_ids: list[str]) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT name FROM handled WHERE event_id = ANY(:ids)"), {"ids": [uuid.UUID(e) for e in event_ids]}
        )
        return [r.name for r in rows]


@pytest.fixture
async def stop() -> AsyncIterator[asyncio.Event]:
    event = asyncio.Event()
    yield event
    event.set()


async def test_relay_publishes_committed_events_in_order_with_the_event_id_as_message_id(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream
    relay_task = asyncio.create_task(OutboxRelay(engine, js).run(stop))
    envelopes = [envelope_for(uuid.uuid4(), f"n{i}") for i in range(5)]
    async with session_factory(engine)() as session, session.begin():
        await add_to_outbox(session, p, envelopes)

    sub = await js.pull_subscribe(subject_for(p, "atrium.client.v1.ClientCreated"), stream=stream_name(p, "client"))
    messages = []
    while len(messages) < 5:
        messages += await sub.fetch(5 - len(messages), timeout=5)
    assert [m.headers["Nats-Msg-Id"] for m in messages] == [e.event_id for e in envelopes]
    stop.set()
    await relay_task


async def test_a_rolled_back_transaction_publishes_nothing(engine: AsyncEngine) -> None:
    envelope = envelope_for(uuid.uuid4())
    async with session_factory(engine)() as session:
        async with session.begin():
            await add_to_outbox(session, "x", [envelope])
            await session.rollback()
    async with engine.connect() as conn:
        count = await conn.scalar(
            text("SELECT count(*) FROM outbox WHERE event_id = :e"), {"e": uuid.UUID(envelope.event_id)}
        )
    assert count == 0


async def test_two_relays_publish_each_event_once(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream
    envelopes = [envelope_for(uuid.uuid4(), f"n{i}") for i in range(200)]
    async with session_factory(engine)() as session, session.begin():
        await add_to_outbox(session, p, envelopes)
    relays = [asyncio.create_task(OutboxRelay(engine, js, batch_size=20).run(stop)) for _ in range(2)]

    async def all_published() -> bool:
        info = await js.stream_info(stream_name(p, "client"))
        return info.state.messages >= 200

    await wait_until(all_published, timeout=20)
    info = await js.stream_info(stream_name(p, "client"))
    assert info.state.messages == 200
    stop.set()
    await asyncio.gather(*relays)


async def publish(js, p: str, envelope, msg_id: str | None = None) -> None:  # type: ignore[no-untyped-def]
    await js.publish(
        subject_for(p, envelope.event_type),
        envelope.SerializeToString(),
        headers={"Nats-Msg-Id": msg_id or envelope.event_id},
    )


def consumer_for(engine: AsyncEngine, js, p: str, handler=record, max_deliver: int = 3) -> EventConsumer:  # type: ignore[no-untyped-def]
    return EventConsumer(
        name=f"tests-{p}",
        js=js,
        prefix=p,
        sessions=session_factory(engine),
        subscriptions=[Subscription(events_pb2.ClientCreated, handler)],
        max_deliver=max_deliver,
    )


async def test_jetstream_drops_a_republished_event_and_the_inbox_drops_a_redelivered_one(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream
    envelope = envelope_for(uuid.uuid4(), "once")
    await publish(js, p, envelope)
    await publish(js, p, envelope)  # same Nats-Msg-Id: JetStream's duplicate window drops it
    assert (await js.stream_info(stream_name(p, "client"))).state.messages == 1
    await publish(js, p, envelope, msg_id=str(uuid.uuid4()))  # a redelivery JetStream cannot recognise
    consumer = consumer_for(engine, js, p)
    task = asyncio.create_task(consumer.run(stop))

    async def both_acknowledged() -> bool:
        try:
            info = await js.consumer_info(consumer.stream, consumer.durable)
        except NotFoundError:
            return False  # not created yet
        return info.num_ack_pending == 0 and info.num_pending == 0 and info.delivered.stream_seq == 2

    await wait_until(both_acknowledged, timeout=10)
    assert await handled_names(engine, [envelope.event_id]) == ["once"]
    stop.set()
    await task


async def test_a_transient_failure_is_retried_and_handled_once(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream
    attempts = 0

    async def flaky(session: AsyncSession, event: ReceivedEvent) -> None:
        nonlocal attempts
        attempts += 1
        await record(session, event)  # written, then rolled back by the failure below
        if attempts == 1:
            raise ConnectionError("database hiccup")

    envelope = envelope_for(uuid.uuid4(), "retried")
    await publish(js, p, envelope)
    task = asyncio.create_task(consumer_for(engine, js, p, flaky).run(stop))
    await wait_until(lambda: handled_names(engine, [envelope.event_id]), timeout=10)
    assert await handled_names(engine, [envelope.event_id]) == ["retried"]
    assert attempts == 2
    stop.set()
    await task


async def parked(engine: AsyncEngine, consumer: EventConsumer) -> list[tuple[int, str | None, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id, event_type, error FROM parked_messages WHERE consumer = :c AND replayed_at IS NULL"),
            {"c": consumer.durable},
        )
        return [(r.id, r.event_type, r.error) for r in rows]


async def test_poison_messages_are_parked_and_can_be_replayed(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream
    refuse = True

    async def strict(session: AsyncSession, event: ReceivedEvent) -> None:
        if refuse:
            raise InvalidArgument.single("first_name", "is not acceptable")
        await record(session, event)

    rejected = envelope_for(uuid.uuid4(), "rejected")
    await js.publish(subject_for(p, "atrium.client.v1.ClientCreated"), b"\xffnot a protobuf envelope")
    await publish(js, p, rejected)
    consumer = consumer_for(engine, js, p, strict)
    task = asyncio.create_task(consumer.run(stop))
    await wait_until(lambda: _count(parked(engine, consumer), 2), timeout=10)
    errors = sorted(error for _, _, error in await parked(engine, consumer))
    assert errors[0].startswith("InvalidArgument") and errors[1].startswith("undecodable envelope")
    info = await js.consumer_info(consumer.stream, consumer.durable)
    assert info.num_ack_pending == 0  # terminated, not left to redeliver
    stop.set()
    await task

    refuse = False  # the operator deploys a fix, then replays
    outcomes = sorted(outcome.split(":")[0] for _, outcome in await consumer.replay_parked())
    assert outcomes == ["failed", "replayed"]  # undecodable bytes stay parked; the rejected event is handled
    assert await handled_names(engine, [rejected.event_id]) == ["rejected"]
    assert len(await parked(engine, consumer)) == 1


async def _count(rows, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return len(await rows) >= expected


async def test_deliveries_exhausted_parks_the_event(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream

    async def broken(session: AsyncSession, event: ReceivedEvent) -> None:
        raise ConnectionError("still down")

    envelope = envelope_for(uuid.uuid4(), "exhausted")
    await publish(js, p, envelope)
    consumer = consumer_for(engine, js, p, broken, max_deliver=2)
    task = asyncio.create_task(consumer.run(stop))
    await wait_until(lambda: _count(parked(engine, consumer), 1), timeout=15)
    [(_, event_type, error)] = await parked(engine, consumer)
    assert event_type == "atrium.client.v1.ClientCreated"
    assert "still down" in error
    stop.set()
    await task


async def test_a_batch_with_one_poison_event_handles_the_others_once_and_parks_it(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream

    async def picky(session: AsyncSession, event: ReceivedEvent) -> None:
        await record(session, event)
        if event.payload.first_name == "bad":
            raise InvalidArgument.single("first_name", "is bad")

    envelopes = [envelope_for(uuid.uuid4(), name) for name in ("a", "b", "bad", "c", "d")]
    for envelope in envelopes:
        await publish(js, p, envelope)
    await publish(js, p, envelopes[0], msg_id=str(uuid.uuid4()))  # a redelivery inside the same batch
    consumer = consumer_for(engine, js, p, picky)
    task = asyncio.create_task(consumer.run(stop))  # the first fetch takes all six at once
    await wait_until(lambda: _count(parked(engine, consumer), 1), timeout=10)
    ids = [e.event_id for e in envelopes]
    await wait_until(lambda: _count(handled_names(engine, ids), 4), timeout=10)
    # "bad" was rolled back and parked; "a", delivered twice, was handled once.
    assert sorted(await handled_names(engine, ids)) == ["a", "b", "c", "d"]
    stop.set()
    await task


async def test_a_batch_is_claimed_at_once_and_each_event_handled_once(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream
    envelopes = [envelope_for(uuid.uuid4(), name) for name in ("a", "b", "c", "seen")]
    consumer = consumer_for(engine, js, p)
    # "seen" was handled before (its inbox row is there): the batch must not handle it again.
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO inbox (consumer, event_id) VALUES (:c, :e)"),
            {"c": consumer.durable, "e": uuid.UUID(envelopes[3].event_id)},
        )
    for envelope in envelopes:
        await publish(js, p, envelope)
    await publish(js, p, envelopes[1], msg_id=str(uuid.uuid4()))  # "b" redelivered inside the same batch
    task = asyncio.create_task(consumer.run(stop))  # the first fetch takes all five at once
    ids = [e.event_id for e in envelopes]
    await wait_until(lambda: _count(handled_names(engine, ids), 3), timeout=10)

    async def inbox_rows() -> int:
        async with engine.connect() as conn:
            count = await conn.scalar(
                text("SELECT count(*) FROM inbox WHERE consumer = :c AND event_id = ANY(:ids)"),
                {"c": consumer.durable, "ids": [uuid.UUID(i) for i in ids]},
            )
            return int(count or 0)

    assert sorted(await handled_names(engine, ids)) == ["a", "b", "c"]
    assert await inbox_rows() == 4
    stop.set()
    await task


class SlowJetStream:
    """A JetStream whose acks take a while (as over a network), counting publishes awaiting theirs; it can fail
    the first publish of one event (no ack)."""

    def __init__(self, js: JetStreamContext, fail_once: str | None = None) -> None:
        self.js = js
        self.fail_once = fail_once
        self.awaiting = 0
        self.most_awaiting = 0

    async def publish_async(self, subject: str, payload: bytes, headers: dict[str, str]) -> asyncio.Future[Any]:
        self.awaiting += 1
        self.most_awaiting = max(self.most_awaiting, self.awaiting)
        if headers["Nats-Msg-Id"] == self.fail_once:
            self.fail_once = None
            return asyncio.ensure_future(self._late(None))
        return asyncio.ensure_future(self._late(await self.js.publish_async(subject, payload, headers=headers)))

    async def _late(self, ack: asyncio.Future[Any] | None) -> Any:
        try:
            await asyncio.sleep(0.2)
            if ack is None:
                raise TimeoutError("no ack")
            return await ack
        finally:
            self.awaiting -= 1


async def stream_order(js: JetStreamContext, p: str, count: int) -> list[str]:
    """The message ids of the client stream's first `count` messages, in stream order."""
    sub = await js.pull_subscribe(subject_for(p, "atrium.client.v1.ClientCreated"), stream=stream_name(p, "client"))
    ids: list[str] = []
    while len(ids) < count:
        ids += [(m.headers or {})["Nats-Msg-Id"] for m in await sub.fetch(count - len(ids), timeout=5)]
    return ids


async def unpublished(engine: AsyncEngine, envelopes: list) -> list[tuple[uuid.UUID, int]]:  # type: ignore[type-arg]
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT event_id, attempts FROM outbox WHERE published_at IS NULL AND event_id = ANY(:ids)"),
            {"ids": [uuid.UUID(e.event_id) for e in envelopes]},
        )
        return [(row.event_id, row.attempts) for row in rows]


async def test_the_relay_keeps_several_batches_awaiting_acks_and_publishes_in_order(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext]
) -> None:
    p, js = stream
    envelopes = [envelope_for(uuid.uuid4(), f"n{i}") for i in range(120)]
    async with session_factory(engine)() as session, session.begin():
        await add_to_outbox(session, p, envelopes)
    slow = SlowJetStream(js)
    relay = OutboxRelay(engine, cast(JetStreamContext, slow), batch_size=10)
    while await relay.publish_pending():
        pass
    assert slow.most_awaiting > 10  # the next batches went out while the first one's acks were awaited
    assert await stream_order(js, p, 120) == [e.event_id for e in envelopes]
    assert await unpublished(engine, envelopes) == []


async def test_a_failed_publish_stops_the_pipeline_and_is_retried(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext]
) -> None:
    p, js = stream
    envelopes = [envelope_for(uuid.uuid4(), f"n{i}") for i in range(200)]
    async with session_factory(engine)() as session, session.begin():
        await add_to_outbox(session, p, envelopes)
    failing = envelopes[15]
    slow = SlowJetStream(js, fail_once=failing.event_id)
    relay = OutboxRelay(engine, cast(JetStreamContext, slow), batch_size=10)
    with pytest.raises(RuntimeError, match="1 events not published"):
        await relay.publish_pending()
    left = dict(await unpublished(engine, envelopes))
    # The failed event counts an attempt; batches not yet sent when it failed stay for the next cycle.
    assert left[uuid.UUID(failing.event_id)] == 1
    assert uuid.UUID(envelopes[-1].event_id) in left
    while await relay.publish_pending():
        pass
    assert await unpublished(engine, envelopes) == []
    assert sorted(await stream_order(js, p, 200)) == sorted(e.event_id for e in envelopes)
    info = await js.stream_info(stream_name(p, "client"))
    assert info.state.messages == 200  # each event once


# --- batch handlers ---------------------------------------------------------------------------------------


class RunRecorder:
    """A batch handler writing a run's events in one statement; ``runs`` lists each call's names, in order."""

    def __init__(self, refuse: str | None = None) -> None:
        self.runs: list[list[str]] = []
        self.refuse = refuse

    async def __call__(self, session: AsyncSession, events: Sequence[ReceivedEvent]) -> None:
        self.runs.append([e.payload.first_name for e in events])
        await session.execute(
            text(
                "INSERT INTO handlings (event_id, name, run) "
                "SELECT e, n, :run FROM unnest(CAST(:ids AS uuid[]), CAST(:names AS text[])) AS x(e, n)"
            ),
            {
                "ids": [e.event_id for e in events],
                "names": [e.payload.first_name for e in events],
                "run": len(self.runs),
            },
        )
        if any(e.payload.first_name == self.refuse for e in events):
            raise InvalidArgument.single("first_name", "is refused")


def batch_consumer_for(engine: AsyncEngine, js: JetStreamContext, p: str, recorder: RunRecorder) -> EventConsumer:
    return EventConsumer(
        name=f"tests-{p}",
        js=js,
        prefix=p,
        sessions=session_factory(engine),
        subscriptions=[
            Subscription.batched(events_pb2.ClientCreated, recorder),
            Subscription(events_pb2.ClientDeleted, record_deleted),
        ],
        max_deliver=3,
    )


async def record_deleted(session: AsyncSession, event: ReceivedEvent) -> None:
    await session.execute(
        text("INSERT INTO handlings (event_id, name, run) VALUES (:e, 'deleted', 0)"), {"e": event.event_id}
    )


def deleted_envelope(tenant: uuid.UUID):  # type: ignore[no-untyped-def]
    payload = events_pb2.ClientDeleted(client_id=str(uuid.uuid4()))
    return build_envelope(
        payload, tenant_id=tenant, aggregate_type="client", aggregate_id=payload.client_id, producer="client"
    )


async def handlings(engine: AsyncEngine, event_ids: Sequence[str]) -> list[tuple[str, int]]:
    """(name, run) of every handling of these events, in the order written."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT name, run FROM handlings WHERE event_id = ANY(:ids) ORDER BY n"),
            {"ids": [uuid.UUID(e) for e in event_ids]},
        )
        return [(r.name, r.run) for r in rows]


async def test_a_batch_hands_each_run_of_one_type_and_tenant_to_the_batch_handler_at_once_in_order(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream
    tenant, other = uuid.uuid4(), uuid.uuid4()
    envelopes = [
        envelope_for(tenant, "a"),
        envelope_for(tenant, "b"),
        envelope_for(tenant, "c"),
        deleted_envelope(tenant),  # another type: ends the run, handled in its place
        envelope_for(tenant, "d"),
        envelope_for(other, "e"),  # another tenant: a run of its own
        envelope_for(other, "f"),
    ]
    for envelope in envelopes:
        await publish(js, p, envelope)
    await publish(js, p, envelopes[1], msg_id=str(uuid.uuid4()))  # "b" redelivered inside the same batch
    recorder = RunRecorder()
    task = asyncio.create_task(batch_consumer_for(engine, js, p, recorder).run(stop))  # one fetch takes all
    ids = [e.event_id for e in envelopes]
    await wait_until(lambda: _count(handlings(engine, ids), 7), timeout=10)
    assert recorder.runs == [["a", "b", "c"], ["d"], ["e", "f"]]
    assert [name for name, _ in await handlings(engine, ids)] == ["a", "b", "c", "deleted", "d", "e", "f"]
    stop.set()
    await task


async def test_a_poison_event_in_a_run_is_parked_alone_and_the_others_are_handled_once(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream
    tenant = uuid.uuid4()
    envelopes = [envelope_for(tenant, name) for name in ("a", "b", "bad", "c")]
    for envelope in envelopes:
        await publish(js, p, envelope)
    recorder = RunRecorder(refuse="bad")
    consumer = batch_consumer_for(engine, js, p, recorder)
    task = asyncio.create_task(consumer.run(stop))
    await wait_until(lambda: _count(parked(engine, consumer), 1), timeout=10)
    ids = [e.event_id for e in envelopes]
    await wait_until(lambda: _count(handlings(engine, ids), 3), timeout=10)
    # The run failed and was rolled back whole; then each event alone: "bad" parked, the others once each.
    assert recorder.runs[0] == ["a", "b", "bad", "c"]
    assert [name for name, _ in await handlings(engine, ids)] == ["a", "b", "c"]
    [(_, event_type, error)] = await parked(engine, consumer)
    assert event_type == "atrium.client.v1.ClientCreated" and error.startswith("InvalidArgument")
    stop.set()
    await task


async def test_two_replicas_on_one_stream_handle_every_event_once(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream
    tenant = uuid.uuid4()
    envelopes = [envelope_for(tenant, f"n{i}") for i in range(300)]
    recorders = [RunRecorder(), RunRecorder()]
    replicas = [batch_consumer_for(engine, js, p, recorder) for recorder in recorders]
    tasks = [asyncio.create_task(replica.run(stop)) for replica in replicas]
    for envelope in envelopes:
        await publish(js, p, envelope)
        # Redelivered under a new message id, so both replicas may hold the same event at once: the inbox decides.
        await publish(js, p, envelope, msg_id=str(uuid.uuid4()))
    ids = [e.event_id for e in envelopes]
    await wait_until(lambda: _count(handlings(engine, ids), 300), timeout=30)

    async def settled() -> bool:
        info = await js.consumer_info(replicas[0].stream, replicas[0].durable)
        return info.num_ack_pending == 0 and info.num_pending == 0

    await wait_until(settled, timeout=30)
    names = [name for name, _ in await handlings(engine, ids)]
    assert sorted(names) == sorted(f"n{i}" for i in range(300))  # each once
    assert all(recorder.runs for recorder in recorders)  # both replicas took part
    stop.set()
    await asyncio.gather(*tasks)


class Note:
    """An aggregate whose events are envelopes already (the unit of work maps them as they are)."""

    def __init__(self) -> None:
        self.events: list[Any] = []


class NotesUnitOfWork(SqlAlchemyUnitOfWork):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], p: str) -> None:
        super().__init__(sessions, nats_prefix=p, to_envelope=lambda envelope: envelope)
        self.notes = SimpleNamespace(seen=set[Note]())

    def _attach(self, session: AsyncSession) -> None:
        self.notes.seen = set()
        self.repositories = (self.notes,)

    async def write(self, *envelopes: Any) -> None:
        """Commit one transaction raising ``envelopes``."""
        async with self:
            note = Note()
            note.events += envelopes
            self.notes.seen.add(note)
            await self.commit()


class DownJetStream:
    """NATS away: every publish fails."""

    async def publish_async(self, subject: str, payload: bytes, headers: dict[str, str]) -> asyncio.Future[Any]:
        raise nats.errors.ConnectionClosedError


class SilentJetStream:
    """Publishes that go nowhere and are never acked."""

    async def publish_async(self, subject: str, payload: bytes, headers: dict[str, str]) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()


def publishing(engine: AsyncEngine, js: Any) -> tuple[async_sessionmaker[AsyncSession], OutboxPublisher]:
    sessions = session_factory(engine)
    publisher = OutboxPublisher(engine, cast(JetStreamContext, js))
    publisher.publish_commits_of(sessions)
    return sessions, publisher


async def all_published(engine: AsyncEngine, envelopes: list[Any]) -> bool:
    return await unpublished(engine, envelopes) == []


async def stream_messages(js: JetStreamContext, p: str) -> int:
    return (await js.stream_info(stream_name(p, "client"))).state.messages


async def test_a_committed_unit_publishes_its_events_at_once_without_the_relay_and_marks_them(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream
    sessions, publisher = publishing(engine, js)
    task = asyncio.create_task(publisher.run(stop))
    envelopes = [envelope_for(uuid.uuid4(), f"n{i}") for i in range(3)]
    await NotesUnitOfWork(sessions, p).write(*envelopes)
    # Neither a rolled-back transaction nor a rolled-back savepoint hands anything over.
    async with sessions() as session:
        async with session.begin():
            await add_to_outbox(session, p, [envelope_for(uuid.uuid4(), "rolled back")])
            await session.rollback()
        async with session.begin():
            with pytest.raises(ZeroDivisionError):
                async with session.begin_nested():
                    await add_to_outbox(session, p, [envelope_for(uuid.uuid4(), "savepoint")])
                    raise ZeroDivisionError
            kept = envelope_for(uuid.uuid4(), "kept")
            async with session.begin_nested():
                await add_to_outbox(session, p, [kept])

    await wait_until(lambda: all_published(engine, [*envelopes, kept]), timeout=10)
    assert await stream_order(js, p, 4) == [e.event_id for e in [*envelopes, kept]]
    assert await stream_messages(js, p) == 4
    assert not publisher.paused
    stop.set()
    await task


async def test_events_the_publisher_cannot_send_are_delivered_once_by_the_relay_which_resumes_it(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream
    sessions, publisher = publishing(engine, DownJetStream())
    tasks = [asyncio.create_task(publisher.run(stop))]
    envelopes = [envelope_for(uuid.uuid4(), f"n{i}") for i in range(5)]
    await NotesUnitOfWork(sessions, p).write(*envelopes)
    await wait_until(lambda: publisher.paused, timeout=10)
    # The relay (its own NATS connection is up) leaves a working publisher's rows alone for the fallback delay;
    # a paused publisher's are taken at once.
    relay = OutboxRelay(engine, js, publisher=publisher, fallback_delay=3600)
    async with engine.connect() as other_replica:
        # While another replica's relay holds the lock, this one finds nothing and knows it did not look.
        await other_replica.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": outbox_module._RELAY_LOCK_KEY})
        assert await relay.publish_pending() == 0
        assert not relay.led_last_cycle
    assert len(await unpublished(engine, envelopes)) == 5
    tasks.append(asyncio.create_task(relay.run(stop)))
    await wait_until(lambda: all_published(engine, envelopes), timeout=10)
    await wait_until(lambda: not publisher.paused, timeout=10)
    assert await stream_order(js, p, 5) == [e.event_id for e in envelopes]
    assert await stream_messages(js, p) == 5
    stop.set()
    await asyncio.gather(*tasks)


async def test_publishers_and_racing_relays_deliver_each_event_once_in_order_per_aggregate(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream
    # Two processes, each with its publisher and its relay; the relays take every row at once (no fallback
    # delay), so each event is sent by a publisher and by a relay, racing.
    replicas = [publishing(engine, js) for _ in range(2)]
    tasks = [asyncio.create_task(publisher.run(stop)) for _, publisher in replicas]
    tasks += [
        asyncio.create_task(OutboxRelay(engine, js, publisher=publisher, fallback_delay=0, batch_size=7).run(stop))
        for _, publisher in replicas
    ]
    received: list[tuple[str, str]] = []

    async def remember(session: AsyncSession, event: ReceivedEvent) -> None:
        received.append((event.envelope.aggregate_id, event.envelope.event_id))

    consumer = consumer_for(engine, js, p, handler=remember)
    tasks.append(asyncio.create_task(consumer.run(stop)))
    aggregates = [uuid.uuid4() for _ in range(6)]
    written: dict[str, list[str]] = {str(a): [] for a in aggregates}
    envelopes: list[Any] = []

    async def history(aggregate: uuid.UUID, n: int) -> None:
        # One aggregate's transactions one after the other, alternating between the replicas.
        for i in range(20):
            envelope = build_envelope(
                created(aggregate, f"{n}-{i}"),
                tenant_id=aggregate,
                aggregate_type="note",
                aggregate_id=aggregate,
                producer="client",
            )
            await NotesUnitOfWork(replicas[(n + i) % 2][0], p).write(envelope)
            written[str(aggregate)].append(envelope.event_id)
            envelopes.append(envelope)

    await asyncio.gather(*(history(a, n) for n, a in enumerate(aggregates)))
    await wait_until(lambda: len(received) >= 120, timeout=30)
    assert await stream_messages(js, p) == 120
    for aggregate, event_ids in written.items():
        assert [e for a, e in received if a == aggregate] == event_ids
    await wait_until(lambda: all_published(engine, envelopes), timeout=10)
    stop.set()
    await asyncio.gather(*tasks)


async def test_beside_a_working_publisher_the_relay_takes_rows_nobody_publishes_at_once_and_leaves_the_others(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream
    sessions, publisher = publishing(engine, SilentJetStream())  # working, but nothing it sends arrives
    # Only the first cycle and NOTIFYs can wake this relay.
    relay = OutboxRelay(engine, js, publisher=publisher, fallback_delay=3600, poll_interval=3600)
    task = asyncio.create_task(relay.run(stop))
    taken = [envelope_for(uuid.uuid4(), "publisher's")]
    await NotesUnitOfWork(sessions, p).write(*taken)
    nobodys = [envelope_for(uuid.uuid4(), "nobody's")]
    async with session_factory(engine)() as session, session.begin():
        await add_to_outbox(session, p, nobodys)
    await wait_until(lambda: all_published(engine, nobodys), timeout=10)
    assert await stream_order(js, p, 1) == [nobodys[0].event_id]
    assert await unpublished(engine, taken) == [(uuid.UUID(taken[0].event_id), 1)]
    stop.set()
    await task


async def test_an_event_published_while_a_batch_is_handled_is_delivered_at_once_and_handled_after_it(
    engine: AsyncEngine, stream: tuple[str, JetStreamContext], stop: asyncio.Event
) -> None:
    p, js = stream
    first_running, release = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def held_first(session: AsyncSession, event: ReceivedEvent) -> None:
        if event.payload.first_name == "first":
            first_running.set()
            await release.wait()
        order.append(event.payload.first_name)
        await record(session, event)

    consumer = consumer_for(engine, js, p, held_first)
    task = asyncio.create_task(consumer.run(stop))
    first, second = envelope_for(uuid.uuid4(), "first"), envelope_for(uuid.uuid4(), "second")
    await publish(js, p, first)
    await wait_until(first_running.is_set, timeout=10)
    await publish(js, p, second)

    async def both_delivered() -> bool:
        info = await js.consumer_info(consumer.stream, consumer.durable)
        return bool(info.num_ack_pending == 2)

    # The next pull was waiting at the server while "first" is handled: "second" is delivered already.
    await wait_until(both_delivered, timeout=10)
    assert order == []
    release.set()
    await wait_until(lambda: _count(handled_names(engine, [first.event_id, second.event_id]), 2), timeout=10)
    assert order == ["first", "second"]
    stop.set()
    await task


class FlushedNote:
    """An aggregate row of the unit (mapped below), flushed at commit like any unit's own rows."""

    event_id: uuid.UUID
    name: str


_handled_table = sa.Table(
    "handled", sa.MetaData(), sa.Column("event_id", sa.Uuid, primary_key=True), sa.Column("name", sa.Text)
)
sa_orm.registry().map_imperatively(FlushedNote, _handled_table)


class CountingNotesUnitOfWork(NotesUnitOfWork):
    """Its last write stands for a shared counter's statement."""

    async def _last_writes(self) -> None:
        await self.session.execute(text("SELECT 'last write'"))


async def test_a_unit_writes_its_events_after_its_own_rows_just_before_its_last_writes_and_commit(
    engine: AsyncEngine,
) -> None:
    p = prefix()
    statements: list[str] = []

    def remember(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0] + (" outbox" if "INTO outbox" in statement else ""))

    unit = CountingNotesUnitOfWork(session_factory(engine), p)
    envelope = envelope_for(uuid.uuid4(), "ordered")
    sa.event.listen(engine.sync_engine, "before_cursor_execute", remember)
    try:
        async with unit:
            row = FlushedNote()
            row.event_id, row.name = uuid.uuid4(), "row"
            unit.session.add(row)
            note = Note()
            note.events.append(envelope)
            unit.notes.seen.add(note)
            await unit.commit()
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", remember)
    assert statements == ["INSERT", "INSERT outbox", "SELECT"]
    assert await handled_names(engine, [str(row.event_id)]) == ["row"]
