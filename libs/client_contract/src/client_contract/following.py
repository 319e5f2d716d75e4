"""A service's records that name a client follow it through the client service's merges and erasures.

``ClientsMerged`` moves every record of the merged-away clients to the survivor and remembers each move in
the service's own ``client_merge_moves`` table (tenant_id, merge_id, record_kind, record_id,
original_client_id); ``ClientsUnmerged`` returns exactly the records moved (those still with the survivor)
to their original clients. ``ClientErased`` is the service's own business: what personal text it holds and
what it must keep. Every step is set-based and runs in the consumer's transaction, once per event.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, MetaData, Table, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1 import events_pb2 as client_events
from platform_core.messaging.consumer import ReceivedEvent, Subscription


def merge_moves_table(metadata: MetaData) -> Table:
    """The service's ``client_merge_moves`` table as its migration creates it (its record-kind CHECK is the
    migration's alone)."""
    return Table(
        "client_merge_moves",
        metadata,
        Column("tenant_id", UUID(as_uuid=True), primary_key=True),
        Column("merge_id", UUID(as_uuid=True), primary_key=True),
        Column("record_kind", Text, primary_key=True),
        Column("record_id", UUID(as_uuid=True), primary_key=True),
        Column("original_client_id", UUID(as_uuid=True), nullable=False),
    )


@dataclass(frozen=True)
class FollowingTable:
    """A table whose rows name a client in ``client_id`` and follow it through a merge."""

    record_kind: str  # as client_merge_moves.record_kind names its rows
    table: str
    # More assignments when a row moves (``:at`` is the event's time), e.g. "version = version + 1".
    touch: str = ""


@dataclass(frozen=True)
class MergeMove:
    """One merge (or its undo) being applied: the statements' parameters."""

    tenant_id: uuid.UUID
    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    at: datetime

    @property
    def params(self) -> dict[str, Any]:
        return {"t": self.tenant_id, "m": self.merge_id, "s": self.survivor_id, "at": self.at}


# Called after the rows moved (``restoring``: back to their original clients, before the moves are forgotten).
AfterMove = Callable[[AsyncSession, MergeMove, bool], Awaitable[None]]
Erase = Callable[[AsyncSession, uuid.UUID, uuid.UUID, datetime], Awaitable[None]]


@dataclass(frozen=True)
class MoveHistory:
    """A history table of a followed table's rows, (tenant_id, <record>, at, actor, action, <details jsonb>),
    where each move is written as the client it went from and to."""

    table: str
    record_column: str
    details_column: str


def history_of_moves(following: FollowingTable, history: MoveHistory) -> AfterMove:
    """An ``after_move`` that writes each moved row's move into its history ('client_merged' /
    'client_unmerged', with the client ids from and to)."""

    async def record(session: AsyncSession, move: MergeMove, restoring: bool) -> None:
        now_with = "mm.original_client_id" if restoring else "CAST(:s AS uuid)"
        pair = ("CAST(:s AS uuid)::text", "mm.original_client_id::text")
        moved_from, moved_to = pair if restoring else pair[::-1]
        await session.execute(
            text(
                f"INSERT INTO {history.table} (tenant_id, {history.record_column}, at, actor, action,"
                f" {history.details_column})"
                f" SELECT r.tenant_id, r.id, :at, 'system', '{'client_unmerged' if restoring else 'client_merged'}',"
                f" jsonb_build_object('client_id', jsonb_build_array({moved_from}, {moved_to}))"
                f" FROM client_merge_moves mm JOIN {following.table} r ON r.tenant_id = mm.tenant_id"
                f" AND r.id = mm.record_id WHERE mm.tenant_id = :t AND mm.merge_id = :m"
                f" AND mm.record_kind = '{following.record_kind}' AND r.client_id = {now_with}"
            ),
            move.params,
        )

    return record


def _set(table: FollowingTable, client: str) -> str:
    return f"client_id = {client}" + (f", {table.touch}" if table.touch else "")


async def move_to_survivor(
    session: AsyncSession, move: MergeMove, merged_ids: Sequence[uuid.UUID], tables: Sequence[FollowingTable]
) -> None:
    params = move.params | {"merged": list(merged_ids)}
    for table in tables:
        await session.execute(
            text(
                "INSERT INTO client_merge_moves (tenant_id, merge_id, record_kind, record_id, original_client_id)"
                f" SELECT tenant_id, :m, '{table.record_kind}', id, client_id FROM {table.table}"
                " WHERE tenant_id = :t AND client_id = ANY(:merged) AND client_id <> :s"
                " ON CONFLICT DO NOTHING"
            ),
            params,
        )
        await session.execute(
            text(
                f"UPDATE {table.table} r SET {_set(table, ':s')} FROM client_merge_moves mm"
                f" WHERE mm.tenant_id = :t AND mm.merge_id = :m AND mm.record_kind = '{table.record_kind}'"
                " AND r.tenant_id = mm.tenant_id AND r.id = mm.record_id AND r.client_id = mm.original_client_id"
            ),
            params,
        )


async def move_back(session: AsyncSession, move: MergeMove, tables: Sequence[FollowingTable]) -> None:
    for table in tables:
        await session.execute(
            text(
                f"UPDATE {table.table} r SET {_set(table, 'mm.original_client_id')} FROM client_merge_moves mm"
                f" WHERE mm.tenant_id = :t AND mm.merge_id = :m AND mm.record_kind = '{table.record_kind}'"
                " AND r.tenant_id = mm.tenant_id AND r.id = mm.record_id AND r.client_id = :s"
            ),
            move.params,
        )


async def forget_moves(session: AsyncSession, move: MergeMove) -> None:
    await session.execute(text("DELETE FROM client_merge_moves WHERE tenant_id = :t AND merge_id = :m"), move.params)


def client_following_subscriptions(
    tables: Sequence[FollowingTable], *, erase: Erase, after_move: AfterMove | None = None
) -> list[Subscription]:
    """The subscriptions that keep ``tables`` with their clients; ``erase`` drops what an erased client's
    records say about the person."""

    def move_of(event: ReceivedEvent) -> MergeMove:
        payload = event.payload
        return MergeMove(
            event.tenant_id,
            uuid.UUID(payload.merge_id),
            uuid.UUID(payload.survivor_id),
            event.envelope.occurred_at.ToDatetime(tzinfo=UTC),
        )

    async def merged(session: AsyncSession, event: ReceivedEvent) -> None:
        move = move_of(event)
        await move_to_survivor(session, move, [uuid.UUID(m) for m in event.payload.merged_ids], tables)
        if after_move is not None:
            await after_move(session, move, False)

    async def unmerged(session: AsyncSession, event: ReceivedEvent) -> None:
        move = move_of(event)
        await move_back(session, move, tables)
        if after_move is not None:
            await after_move(session, move, True)
        await forget_moves(session, move)

    async def erased(session: AsyncSession, event: ReceivedEvent) -> None:
        at = event.envelope.occurred_at.ToDatetime(tzinfo=UTC)
        await erase(session, event.tenant_id, uuid.UUID(event.payload.client_id), at)

    return [
        Subscription(client_events.ClientsMerged, merged),
        Subscription(client_events.ClientsUnmerged, unmerged),
        Subscription(client_events.ClientErased, erased),
    ]
