"""A new client written in ONE statement, committed on its own: the client row, its contact points, contact
persons and custom values, its search words and their keys, its events' outbox rows and the tenant's live-client
count, as data-modifying CTEs of one INSERT run outside any explicit transaction (so it commits as it ends).

Why: every create of a tenant updates that tenant's one counter row. Inside a transaction of several round trips
the row stays locked from the counter write until the COMMIT arrives, and a tenant's concurrent creates queue on
it; here it is locked from the statement's own counter write to the end of that statement's commit, all inside
the server. The count and the plan's limit hold exactly as before (the upsert waits for the row, the CHECK
tenant_client_counts_within_plan refuses a count over the plan, and a refused statement writes nothing).

The creation inputs a replica cached (adapters/creation_inputs.py) are checked in the same statement: the client
is inserted only if the tenant's catalogue version is still the one relied on, and every other write takes its
rows from the inserted client, so a stale cache writes nothing and the statement answers the current version.
"""

from __future__ import annotations

import dataclasses
import json
from binascii import b2a_base64
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import asyncpg
from opentelemetry import trace
from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import JSON, String

from client_svc.adapters.name_keys import indexed_words
from client_svc.adapters.tables import client_contact_persons, client_contact_points, client_custom_values, clients
from client_svc.domain.contact_details import ContactPerson, ContactPoint
from client_svc.domain.custom_fields import CustomValue
from client_svc.domain.fuzzy import word_keys
from client_svc.domain.model import Client
from platform_core.messaging.outbox import PendingEvent
from platform_core.observability import tracing_enabled

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def _sql_type(column: Column[Any]) -> str:
    if isinstance(column.type, String):
        return "TEXT"  # a collation of the column applies on assignment; a cast cannot name it
    return str(column.type.compile(dialect=_PG))


def _attribute_columns(table: Table, cls: type) -> list[Column[Any]]:
    """The table's columns the domain class holds, in table order (the others keep their defaults, as the ORM
    leaves them)."""
    held = {f.name for f in dataclasses.fields(cls)}
    return [c for c in table.columns if c.name in held]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class _Children:
    """Rows of one child table of the client, passed as one text array per column, unnested and cast back in the
    statement. Text arrays because asyncpg knows their codec: an array of uuid, boolean or integer would cost a
    type introspection query on every new pooled connection."""

    table: Table
    columns: list[Column[Any]]  # without tenant_id and client_id (taken from the inserted client)

    @classmethod
    def of(cls, table: Table, domain: type) -> _Children:
        columns = [c for c in _attribute_columns(table, domain) if c.name not in ("tenant_id", "client_id")]
        return cls(table, columns)

    def cte(self, name: str, first_parameter: int) -> str:
        names = [c.name for c in self.columns]
        arrays = ", ".join(f"CAST(${first_parameter + n} AS TEXT[])" for n in range(len(self.columns)))
        values = ", ".join(
            f"CAST(r.{c.name} AS {'JSONB' if isinstance(c.type, JSON) else _sql_type(c)})" for c in self.columns
        )
        return (
            f"{name} AS (INSERT INTO {self.table.name} (tenant_id, client_id, {', '.join(names)}) "
            f"SELECT client.tenant_id, client.id, {values} FROM client, unnest({arrays}) AS r({', '.join(names)}))"
        )

    def arrays(self, rows: Sequence[object]) -> list[list[str | None]]:
        return [
            [
                json.dumps(getattr(row, c.name)) if isinstance(c.type, JSON) else _text(getattr(row, c.name))
                for row in rows
            ]
            for c in self.columns
        ]


_CLIENT_COLUMNS = _attribute_columns(clients, Client)
_POINTS = _Children.of(client_contact_points, ContactPoint)
_PERSONS = _Children.of(client_contact_persons, ContactPerson)
_CUSTOM = _Children.of(client_custom_values, CustomValue)


def _statement() -> str:
    n = len(_CLIENT_COLUMNS)
    tenant = 1 + next(i for i, c in enumerate(_CLIENT_COLUMNS) if c.name == "tenant_id")
    version, max_clients, attempts = n + 1, n + 2, n + 3
    points = n + 4
    persons = points + len(_POINTS.columns)
    custom = persons + len(_PERSONS.columns)
    words = custom + len(_CUSTOM.columns)
    keys, key_words = words + 1, words + 2
    event_ids, subjects, envelopes = words + 3, words + 4, words + 5
    client_values = ", ".join(f"CAST(${i + 1} AS {_sql_type(c)})" for i, c in enumerate(_CLIENT_COLUMNS))
    return f"""
WITH current AS (
    SELECT coalesce((SELECT v.version FROM client_catalogue_versions v WHERE v.tenant_id = ${tenant}), 0) AS version
), client AS (
    INSERT INTO clients ({", ".join(c.name for c in _CLIENT_COLUMNS)})
    SELECT {client_values} FROM current
    WHERE CAST(${version} AS BIGINT) IS NULL OR current.version = ${version}
    RETURNING tenant_id, id
), {_POINTS.cte("points", points)}, {_PERSONS.cte("persons", persons)}, {_CUSTOM.cte("custom", custom)},
words AS (
    INSERT INTO client_name_words (tenant_id, word, client_id)
    SELECT client.tenant_id, w.word, client.id FROM client, unnest(CAST(${words} AS TEXT[])) AS w(word)
    ON CONFLICT DO NOTHING
), word_keys AS (
    INSERT INTO tenant_name_keys (tenant_id, key, word)
    SELECT client.tenant_id, k.key, k.word
    FROM client, unnest(CAST(${keys} AS TEXT[]), CAST(${key_words} AS TEXT[])) AS k(key, word)
    ON CONFLICT DO NOTHING
), events AS (
    INSERT INTO outbox (event_id, tenant_id, subject, envelope, created_at, attempts)
    SELECT CAST(e.event_id AS UUID), client.tenant_id, e.subject, decode(e.envelope, 'base64'), clock_timestamp(),
        CAST(${attempts} AS INTEGER)
    FROM client, unnest(CAST(${event_ids} AS TEXT[]), CAST(${subjects} AS TEXT[]), CAST(${envelopes} AS TEXT[]))
        WITH ORDINALITY AS e(event_id, subject, envelope, n)
    ORDER BY e.n
), counted AS (
    -- Written like any increment of the quota (adapters/repository.py): the current plan comes with it.
    INSERT INTO tenant_client_counts AS c (tenant_id, live_clients, max_clients)
    SELECT client.tenant_id, 1, CAST(${max_clients} AS INTEGER) FROM client
    ON CONFLICT (tenant_id) DO UPDATE SET live_clients = c.live_clients + 1, max_clients = excluded.max_clients
)
SELECT current.version, EXISTS (SELECT FROM client) AS created FROM current
"""


CREATE_CLIENT = _statement()
_tracer = trace.get_tracer(__name__)
_SPAN_ATTRIBUTES = {"db.system": "postgresql", "db.operation": "INSERT", "db.statement": CREATE_CLIENT}


@dataclass(frozen=True)
class Inserted:
    created: bool  # False: the catalogue version was not the one relied on; nothing was written
    catalogue_version: int


async def insert_client(
    driver: asyncpg.Connection,
    client: Client,
    *,
    catalogue_version: int | None,
    max_clients: int | None,
    events: Sequence[PendingEvent],
    events_taken: bool,
) -> Inserted:
    """Write ``client`` (new, with its contact points, persons and custom values) and its ``events``, counting
    one more live client of its tenant against ``max_clients``; committed when this returns.
    ``catalogue_version``: the tenant's version the inputs were read at (None: not checked). ``events_taken``: a
    publisher of this process sends the events (the relay leaves the rows to it a while).

    Raises what the schema refuses (asyncpg's errors: a repeated request id, a count over the plan, ...)."""
    # The engine's SQL spans do not see a statement sent on the driver: it gets its own when tracing is on.
    span: AbstractContextManager[object] = (
        _tracer.start_as_current_span("INSERT clients", kind=trace.SpanKind.CLIENT, attributes=_SPAN_ATTRIBUTES)
        if tracing_enabled()
        else nullcontext()
    )
    with span:
        words = sorted(indexed_words(client))
        pairs = sorted((key, word) for word in words for key in word_keys(word))
        record = await driver.fetchrow(
            CREATE_CLIENT,
            *(getattr(client, c.name) for c in _CLIENT_COLUMNS),
            catalogue_version,
            max_clients,
            1 if events_taken else 0,
            *_POINTS.arrays(client.contact_points),
            *_PERSONS.arrays(client.contact_persons),
            *_CUSTOM.arrays(client.custom_values),
            words,
            [k for k, _ in pairs],
            [w for _, w in pairs],
            [str(e.event_id) for e in events],
            [e.subject for e in events],
            [b2a_base64(e.envelope, newline=False).decode() for e in events],
        )
    assert record is not None
    return Inserted(created=record["created"], catalogue_version=record["version"])
