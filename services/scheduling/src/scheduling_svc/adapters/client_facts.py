"""Scheduling's own copy of what booking needs to know of each client (blocked, deleted, zone, merged into),
kept from the client service's events, as eShop's services keep the facts they need: a booking reads it in
one statement instead of asking the client service.

Every fact carries the time of the event that set it, and an upsert changes a fact only for a newer event, so
redelivered and late events leave the newest state. A client the copy does not know completely yet (created
before scheduling followed clients, or whose events have not arrived) is asked of the client service once,
and the answer is stored stamped at the earliest instant, so that any event overrides it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from client_contract.lookup import ClientFacts
from platform_core.db import CompiledQuery
from platform_core.grpc.context import current_tenant
from scheduling_svc.adapters.client_directory import AbstractClientDirectory
from scheduling_svc.adapters.tables import client_facts

# Each fact and the column holding the time of the event that set it.
STAMPS = {
    "online_booking_blocked": "blocked_at",
    "deleted": "deleted_at",
    "erased": "erased_at",
    "timezone": "timezone_at",
    "merged_into": "merged_at",
}
# Stamp of facts read from the client service: older than any event.
LOOKED_UP = datetime.min.replace(tzinfo=UTC)


def _newer(stamp: str) -> str:
    return f"client_facts.{stamp} IS NULL OR client_facts.{stamp} <= EXCLUDED.{stamp}"


def _upsert(facts: Sequence[str]) -> str:
    """Set ``facts`` on the clients ``:ids`` (arrays: each client's facts, named like them, and its time
    ``:at``), each fact only where the row holds none or an older one."""
    columns = [c for fact in facts for c in (fact, STAMPS[fact])]
    values = [v for fact in facts for v in (f"x.{fact}", "x.at")]
    arrays = [f"CAST(:{fact} AS {_TYPES[fact]}[])" for fact in facts]
    assignments = [
        f"{c} = CASE WHEN {_newer(STAMPS[fact])} THEN EXCLUDED.{c} ELSE client_facts.{c} END"
        for fact in facts
        for c in (fact, STAMPS[fact])
    ]
    return (
        f"INSERT INTO client_facts (tenant_id, client_id, {', '.join(columns)})"
        f" SELECT :t, x.client_id, {', '.join(values)}"
        f" FROM unnest(CAST(:ids AS uuid[]), CAST(:at AS timestamptz[]), {', '.join(arrays)})"
        f" AS x(client_id, at, {', '.join(facts)})"
        f" ON CONFLICT (tenant_id, client_id) DO UPDATE SET {', '.join(assignments)}"
    )


_TYPES = {
    "online_booking_blocked": "boolean",
    "deleted": "boolean",
    "erased": "boolean",
    "timezone": "text",
    "merged_into": "uuid",
}
_UPSERTS: dict[tuple[str, ...], Any] = {}


@dataclass(frozen=True)
class RecordedFacts:
    """Facts of one client as of ``at`` (an event's time)."""

    client_id: uuid.UUID
    at: datetime
    facts: Mapping[str, object]


async def record(
    conn: AsyncSession | AsyncConnection,
    tenant_id: uuid.UUID,
    client_ids: Sequence[uuid.UUID],
    at: datetime,
    facts: Mapping[str, object],
) -> None:
    """Record ``facts`` of ``client_ids`` as of ``at`` (an event's time)."""
    await record_each(conn, tenant_id, [RecordedFacts(client_id, at, facts) for client_id in client_ids])


async def record_each(
    conn: AsyncSession | AsyncConnection, tenant_id: uuid.UUID, rows: Sequence[RecordedFacts]
) -> None:
    """Record each client's facts (the same fact names for all) in one statement, as recording them one after
    another would: of two rows for one client, the newer wins, or the later at the same time."""
    newest: dict[uuid.UUID, RecordedFacts] = {}
    for row in rows:
        if row.client_id not in newest or newest[row.client_id].at <= row.at:
            newest[row.client_id] = row
    if not newest:
        return
    names = tuple(sorted(rows[0].facts))
    statement = _UPSERTS.get(names)
    if statement is None:
        statement = _UPSERTS[names] = text(_upsert(names))
    kept = list(newest.values())
    params: dict[str, object] = {"t": tenant_id, "ids": [r.client_id for r in kept], "at": [r.at for r in kept]}
    params.update({name: [r.facts[name] for r in kept] for name in names})
    await conn.execute(statement, params)


async def forget_merged_facts(
    session: AsyncSession, tenant_id: uuid.UUID, client_ids: Sequence[uuid.UUID], at: datetime
) -> None:
    """A merge or its undo may give the clients involved other values (the client service does not say which):
    forget what was known as of ``at``, so the next booking asks."""
    await session.execute(
        text(
            "UPDATE client_facts SET"
            " online_booking_blocked = CASE WHEN blocked_at <= :at THEN NULL ELSE online_booking_blocked END,"
            " blocked_at = CASE WHEN blocked_at <= :at THEN NULL ELSE blocked_at END,"
            " timezone = CASE WHEN timezone_at <= :at THEN NULL ELSE timezone END,"
            " timezone_at = CASE WHEN timezone_at <= :at THEN NULL ELSE timezone_at END"
            " WHERE tenant_id = :t AND client_id = ANY(CAST(:ids AS uuid[]))"
        ),
        {"t": tenant_id, "ids": list(client_ids), "at": at},
    )


_asked = client_facts.alias("asked")
_holder = client_facts.alias("holder")  # the client itself, or the one it was merged into
# Every booking reads it: compiled once, run as a prepared statement.
_FACTS = CompiledQuery.of(
    select(
        _asked.c.merged_at.label("asked_merged_at"),
        _holder.c.client_id,
        _holder.c.online_booking_blocked,
        _holder.c.deleted,
        _holder.c.erased,
        _holder.c.timezone,
        _holder.c.merged_into,
        _holder.c.merged_at,
    )
    .select_from(
        _asked.outerjoin(
            _holder,
            and_(
                _holder.c.tenant_id == _asked.c.tenant_id,
                _holder.c.client_id == func.coalesce(_asked.c.merged_into, _asked.c.client_id),
            ),
        )
    )
    .where(_asked.c.tenant_id == bindparam("tenant_id"), _asked.c.client_id == bindparam("client_id"))
)


def facts_of(row: Any) -> ClientFacts | None:
    """The facts a row of ``_FACTS`` states, or None when something is unknown."""
    known = (
        row is not None
        and row.asked_merged_at is not None
        and row.client_id is not None
        and row.merged_at is not None
        and row.merged_into is None
        and None not in (row.online_booking_blocked, row.deleted, row.timezone)
    )
    if not known:
        return None
    return ClientFacts(
        client_id=row.client_id,
        online_booking_blocked=row.online_booking_blocked,
        deleted=row.deleted or row.erased,
        timezone=row.timezone,
    )


class ProjectedClientDirectory(AbstractClientDirectory):
    """Clients from scheduling's own copy; one the copy does not know yet is asked of ``fallback`` and kept."""

    def __init__(self, engine: AsyncEngine, fallback: AbstractClientDirectory) -> None:
        self._engine = engine
        self._fallback = fallback

    async def lookup(self, client_id: uuid.UUID) -> ClientFacts | None:
        tenant_id = current_tenant()
        known = facts_of(await _FACTS.first(self._engine, tenant_id=tenant_id, client_id=client_id))
        if known is not None:
            return known
        asked = await self._fallback.lookup(client_id)
        if asked is not None:
            await self._keep(tenant_id, client_id, asked)
        return asked

    async def _keep(self, tenant_id: uuid.UUID, client_id: uuid.UUID, facts: ClientFacts) -> None:
        async with self._engine.begin() as conn:
            await record(
                conn,
                tenant_id,
                [facts.client_id],
                LOOKED_UP,
                {
                    "online_booking_blocked": facts.online_booking_blocked,
                    "deleted": facts.deleted,
                    "timezone": facts.timezone,
                    "merged_into": None,
                },
            )
            if facts.client_id != client_id:  # merged away: the client service answered with its survivor
                await record(conn, tenant_id, [client_id], LOOKED_UP, {"merged_into": facts.client_id})
