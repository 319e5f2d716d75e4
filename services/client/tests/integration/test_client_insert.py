"""A create whose inputs come from the replica's cache is written in one statement (adapters/client_insert.py):
it writes exactly what the unit of work writes for the same client, and the live-client count keeps the plan's
limit exactly when many creates, deletes and repeats of several replicas (each its own pool) run at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import events_pb2 as client_events
from atrium.common.v1.events_pb2 import EventEnvelope
from client_svc.adapters import client_insert
from client_svc.adapters.creation_inputs import CreationInputsCache
from client_svc.adapters.storage import FilesystemBlobStorage
from client_svc.config import ClientSettings
from client_svc.domain import commands
from client_svc.domain import commands_custom_fields as field_commands
from client_svc.domain.contact_details import ContactPersonInput, ContactPointInput
from client_svc.domain.profile import Address, ProfileInput
from client_svc.service_layer import custom_field_handlers, handlers
from client_svc.service_layer.unit_of_work import SqlAlchemyClientUnitOfWork
from platform_core.db import create_engine, session_factory
from platform_core.errors import FailedPrecondition

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


@pytest.fixture
async def engines(
    client_settings: ClientSettings, client_channel: grpc.aio.Channel
) -> AsyncIterator[list[AsyncEngine]]:
    # client_channel: the service is serving, so its database is migrated. Three pools: three replicas.
    engines = [create_engine(client_settings.database_url("client"), pool_size=8) for _ in range(3)]
    yield engines
    for engine in engines:
        await engine.dispose()


@pytest.fixture
def one_statement_creates(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """The clients written by the one statement (the others went through the ORM)."""
    written: list[uuid.UUID] = []
    insert = client_insert.insert_client

    async def spied(driver: Any, client: Any, **options: Any) -> client_insert.Inserted:
        inserted = await insert(driver, client, **options)
        if inserted.created:
            written.append(client.id)
        return inserted

    monkeypatch.setattr("client_svc.service_layer.unit_of_work.insert_client", spied)
    return written


class Replica:
    def __init__(self, engine: AsyncEngine, settings: ClientSettings, tmp: Path) -> None:
        self.cache = CreationInputsCache()
        self.engine = engine
        self._settings = settings
        self._tmp = tmp

    def uow(self) -> SqlAlchemyClientUnitOfWork:
        return SqlAlchemyClientUnitOfWork(
            session_factory(self.engine),
            nats_prefix=self._settings.nats_prefix,
            storage=FilesystemBlobStorage(self._tmp),
            attachment_policy=self._settings.attachment_policy(),
            creation_inputs=self.cache,
        )

    async def create(self, cmd: commands.CreateClient) -> handlers.Created:
        return await handlers.create_client(cmd, self.uow())


def _full(tenant: uuid.UUID, request_id: str) -> commands.CreateClient:
    return commands.CreateClient(
        tenant_id=tenant,
        first_name="Zoë",
        last_name="O'Brien-Smith",
        default_region="FR",
        request_id=request_id,
        profile=ProfileInput(
            kind="business",
            company_name="Atelier Zoë",
            address=Address(line1="3 rue de la Paix", city="Paris", postal_code="75002", country="FR"),
            date_of_birth="1990-05-17",
            preferred_language="fr",
            timezone="Europe/Paris",
            opening_balance_minor=1250,
            opening_balance_currency="EUR",
        ),
        emails=(ContactPointInput("Zoe@Example.com", "work", primary=True), ContactPointInput("z@home.example")),
        phones=(ContactPointInput("06 12 34 56 78", "mobile"),),
        contact_persons=(ContactPersonInput("Jean Dupont", "assistant", "jean@example.com", "+33612345679"),),
        custom_fields={"member_no": "M-7", "vip": True},
        now=NOW,
    )


async def _rows(engine: AsyncEngine, client_id: uuid.UUID) -> dict[str, Any]:
    """Everything written for one client, ids and names of the row itself left out."""
    p = {"c": client_id}
    async with engine.connect() as conn:
        client = dict((await conn.execute(text("SELECT * FROM clients WHERE id = :c"), p)).one()._mapping)
        for key in ("id", "request_id"):
            client.pop(key)

        async def all_of(sql: str) -> list[tuple[Any, ...]]:
            return sorted(tuple(r) for r in await conn.execute(text(sql), p))

        events = []
        for subject, envelope, attempts in await conn.execute(
            text("SELECT subject, envelope, attempts FROM outbox ORDER BY id")
        ):
            parsed = EventEnvelope.FromString(envelope)
            if parsed.aggregate_id == str(client_id):
                payload = client_events.ClientCreated.FromString(parsed.payload.value)
                payload.client_id = ""
                events.append((subject, parsed.event_type, attempts, payload))
        return {
            "client": client,
            "points": await all_of(
                "SELECT kind, value, label, is_primary, position FROM client_contact_points WHERE client_id = :c"
            ),
            "persons": await all_of(
                "SELECT position, name, role, email, phone FROM client_contact_persons WHERE client_id = :c"
            ),
            "custom": await all_of("SELECT field_id, value::text FROM client_custom_values WHERE client_id = :c"),
            "words": await all_of("SELECT word FROM client_name_words WHERE client_id = :c"),
            "events": events,
        }


async def test_the_one_statement_writes_what_the_unit_of_work_writes(
    engines: list[AsyncEngine], client_settings: ClientSettings, tmp_path: Path, one_statement_creates: list[uuid.UUID]
) -> None:
    tenant = uuid.uuid4()
    replica = Replica(engines[0], client_settings, tmp_path)
    for key, kind in (("member_no", "text"), ("vip", "checkbox")):
        define = field_commands.CreateCustomField(tenant, key.title(), kind, key=key, now=NOW)
        await custom_field_handlers.create_custom_field(define, replica.uow())

    # The first create seeds the ready-made statuses (a change: nothing is cached); the second reads the inputs
    # and caches them, in its transaction; the third relies on the cache alone.
    await replica.create(commands.CreateClient(tenant_id=tenant, first_name="Seed", now=NOW))
    by_orm = await replica.create(_full(tenant, "first"))
    assert one_statement_creates == []
    by_statement = await replica.create(_full(tenant, "second"))
    assert one_statement_creates == [by_statement.client.id]

    orm, statement = await _rows(engines[0], by_orm.client.id), await _rows(engines[0], by_statement.client.id)
    assert statement == orm
    assert len(orm["points"]) == 3 and len(orm["persons"]) == 1 and len(orm["custom"]) == 2 and orm["words"]
    assert [event_type for _, event_type, _, _ in orm["events"]] == ["atrium.client.v1.ClientCreated"]
    async with engines[0].connect() as conn:
        counted = await conn.scalar(
            text("SELECT live_clients FROM tenant_client_counts WHERE tenant_id = :t"), {"t": tenant}
        )
        keys = await conn.scalar(
            text("SELECT count(*) FROM tenant_name_keys WHERE tenant_id = :t AND word = 'zoe'"), {"t": tenant}
        )
    assert counted == 3
    assert keys > 1  # the word and its prefixes / typo keys


async def test_concurrent_creates_of_several_replicas_never_pass_the_plan_and_the_count_stays_exact(
    engines: list[AsyncEngine], client_settings: ClientSettings, tmp_path: Path, one_statement_creates: list[uuid.UUID]
) -> None:
    tenant, limit = uuid.uuid4(), 25
    replicas = [Replica(engine, client_settings, tmp_path) for engine in engines]

    def create(n: int, *, request_id: str = "") -> commands.CreateClient:
        return commands.CreateClient(
            tenant_id=tenant, first_name=f"Client{n}", request_id=request_id, max_clients=limit, now=NOW
        )

    # The first create seeds the statuses; the next of each replica caches the inputs.
    warm = [await r.create(create(i)) for i, r in enumerate([replicas[0], *replicas])]
    one_statement_creates.clear()

    async def attempt(n: int) -> str:
        try:
            await replicas[n % len(replicas)].create(create(n))
        except FailedPrecondition as exc:
            assert exc.reason == "PLAN_CLIENT_LIMIT"
            return "refused"
        return "created"

    outcomes = await asyncio.gather(*(attempt(n) for n in range(10, 70)))
    assert outcomes.count("created") == limit - len(warm)
    assert len(one_statement_creates) == limit - len(warm)

    # Deletes (the unit of work's path) free places while creates and repeats of one request race for them.
    async def delete(client_id: uuid.UUID, n: int) -> str:
        cmd = commands.DeleteClient(tenant, client_id, now=NOW)
        await handlers.delete_client(cmd, replicas[n % len(replicas)].uow())
        return "deleted"

    async def repeat(n: int) -> str:
        created = await replicas[n % len(replicas)].create(create(1000, request_id="same-request"))
        return str(created.client.id)

    freed = [c.client.id for c in warm]
    racing = await asyncio.gather(
        *(delete(client_id, n) for n, client_id in enumerate(freed)),
        *(attempt(n) for n in range(100, 130)),
        *(repeat(n) for n in range(8)),
        return_exceptions=True,
    )
    repeats = racing[-8:]
    refused_repeats = [r for r in repeats if isinstance(r, FailedPrecondition)]
    assert all(isinstance(r, str) for r in racing[: len(freed)])
    assert len({r for r in repeats if isinstance(r, str)}) <= 1  # one client for the request, whoever asked
    assert len(refused_repeats) + sum(isinstance(r, str) for r in repeats) == len(repeats)

    async def counts() -> tuple[int, int]:
        async with engines[0].connect() as conn:
            p = {"t": tenant}
            live = await conn.scalar(
                text("SELECT count(*) FROM clients WHERE tenant_id = :t AND deleted_at IS NULL"), p
            )
            counted = await conn.scalar(text("SELECT live_clients FROM tenant_client_counts WHERE tenant_id = :t"), p)
        return live, counted

    live, counted = await counts()
    assert live == counted <= limit
    # The places the deletes freed and the race left are taken one by one; then the plan refuses, full.
    for n in range(limit - live):
        assert await attempt(200 + n) == "created"
    assert await attempt(300) == "refused"
    assert await counts() == (limit, limit)

    async with engines[0].connect() as conn:
        p = {"t": tenant}
        created_events = await conn.scalar(
            text(
                "SELECT count(*) FROM outbox WHERE tenant_id = :t AND envelope IS NOT NULL "
                "AND subject LIKE '%.ClientCreated'"
            ),
            p,
        )
        all_clients = await conn.scalar(text("SELECT count(*) FROM clients WHERE tenant_id = :t"), p)
        same_request = await conn.scalar(
            text("SELECT count(*) FROM clients WHERE tenant_id = :t AND request_id = 'same-request'"), p
        )
    assert created_events == all_clients  # one event per client written, none for a refused create
    assert same_request <= 1


async def test_with_tracing_on_the_one_statement_is_a_span_of_the_create(
    engines: list[AsyncEngine],
    client_settings: ClientSettings,
    tmp_path: Path,
    one_statement_creates: list[uuid.UUID],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The engine's instrumentation does not see a statement sent on the driver: the adapter makes the span.
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(client_insert, "_tracer", provider.get_tracer("test"))
    monkeypatch.setattr(client_insert, "tracing_enabled", lambda: True)
    tenant = uuid.uuid4()
    replica = Replica(engines[0], client_settings, tmp_path)
    for name in ("Seed", "Cached"):
        await replica.create(commands.CreateClient(tenant_id=tenant, first_name=name, now=NOW))

    with provider.get_tracer("test").start_as_current_span("CreateClient") as request:
        created = await replica.create(commands.CreateClient(tenant_id=tenant, first_name="Traced", now=NOW))
    assert one_statement_creates == [created.client.id]
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "INSERT clients"]
    assert span.attributes is not None and span.attributes["db.system"] == "postgresql"
    assert str(span.attributes["db.statement"]).lstrip().startswith("WITH current AS")
    assert span.parent is not None and span.parent.span_id == request.get_span_context().span_id
