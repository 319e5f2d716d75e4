"""Merges and erasures as the timeline remembers them (timeline_merges, activity_merge_moves,
erased_clients), and the set statements that re-point entries."""

from __future__ import annotations

import abc
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from notification_svc.adapters.tables import activity_entries
from notification_svc.domain.merges import EntryMove, OpenMerge, Placement
from notification_svc.domain.model import ActivityEntry

MAX_CHAIN = 20

# Where each of the clients :cs stands: the open merges it went through (depth 1, 2, ...) and whether it or
# a survivor was erased (depth 0).
_PLACEMENTS = text(
    """
    WITH RECURSIVE asked (origin) AS (SELECT DISTINCT unnest(CAST(:cs AS uuid[]))),
    chain (origin, merge_id, merged_client_id, survivor_id, depth) AS (
        SELECT a.origin, m.merge_id, m.merged_client_id, m.survivor_id, 1 FROM asked a
        JOIN timeline_merges m ON m.tenant_id = :t AND m.merged_client_id = a.origin AND m.unmerged_at IS NULL
        UNION ALL
        SELECT chain.origin, m.merge_id, m.merged_client_id, m.survivor_id, chain.depth + 1
        FROM timeline_merges m JOIN chain ON m.merged_client_id = chain.survivor_id
        WHERE m.tenant_id = :t AND m.unmerged_at IS NULL AND chain.depth < :max
    )
    SELECT origin, merge_id, merged_client_id, survivor_id, depth, NULL AS erased FROM chain
    UNION ALL
    SELECT a.origin, NULL, NULL, NULL, 0, EXISTS (
        SELECT 1 FROM erased_clients WHERE tenant_id = :t
        AND (client_id = a.origin OR client_id IN (SELECT survivor_id FROM chain WHERE chain.origin = a.origin))
    ) FROM asked a
    ORDER BY origin, depth
    """
)


class AbstractTimelineRepository(abc.ABC):
    async def placement(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> Placement:
        return (await self.placements(tenant_id, [client_id]))[client_id]

    @abc.abstractmethod
    async def placements(self, tenant_id: uuid.UUID, client_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Placement]:
        """Where each client's entries go (several clients in one go)."""

    @abc.abstractmethod
    async def remember_moves(self, tenant_id: uuid.UUID, moves: Sequence[EntryMove]) -> None: ...

    @abc.abstractmethod
    async def open_merge(
        self,
        tenant_id: uuid.UUID,
        merge_id: uuid.UUID,
        survivor_id: uuid.UUID,
        merged: Sequence[uuid.UUID],
        at: datetime,
    ) -> None: ...

    @abc.abstractmethod
    async def move_entries(
        self, tenant_id: uuid.UUID, merge_id: uuid.UUID, survivor_id: uuid.UUID, merged: Sequence[uuid.UUID]
    ) -> int:
        """Re-point the merged clients' entries to the survivor, remembering each; returns how many."""

    @abc.abstractmethod
    async def close_merge(self, tenant_id: uuid.UUID, merge_id: uuid.UUID, at: datetime) -> bool | None:
        """Mark the merge undone: True; already undone: False; never seen: None."""

    @abc.abstractmethod
    async def return_entries(self, tenant_id: uuid.UUID, merge_id: uuid.UUID) -> int:
        """Every entry moved for this merge back to its original client; returns how many."""

    @abc.abstractmethod
    async def mark_erased(self, tenant_id: uuid.UUID, client_id: uuid.UUID, at: datetime) -> None: ...

    @abc.abstractmethod
    async def entries_of(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[ActivityEntry]: ...


class SqlAlchemyTimelineRepository(AbstractTimelineRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def placements(self, tenant_id: uuid.UUID, client_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Placement]:
        params = {"t": tenant_id, "cs": list(client_ids), "max": MAX_CHAIN}
        hops: dict[uuid.UUID, list[OpenMerge]] = {}
        erased: dict[uuid.UUID, bool] = {}
        for r in await self.session.execute(_PLACEMENTS, params):  # by client, then depth
            if r.depth == 0:
                erased[r.origin] = bool(r.erased)
            else:
                hops.setdefault(r.origin, []).append(OpenMerge(r.merge_id, r.merged_client_id, r.survivor_id))
        return {c: Placement(c, tuple(hops.get(c, ())), erased[c]) for c in erased}

    async def remember_moves(self, tenant_id: uuid.UUID, moves: Sequence[EntryMove]) -> None:
        if not moves:
            return
        await self.session.flush()  # the entries first (the moves reference them)
        await self.session.execute(
            text(
                "INSERT INTO activity_merge_moves (tenant_id, merge_id, entry_id, original_client_id) "
                "VALUES (:t, :m, :e, :c) ON CONFLICT DO NOTHING"
            ),
            [{"t": tenant_id, "m": m.merge_id, "e": m.entry_id, "c": m.original_client_id} for m in moves],
        )

    async def open_merge(
        self,
        tenant_id: uuid.UUID,
        merge_id: uuid.UUID,
        survivor_id: uuid.UUID,
        merged: Sequence[uuid.UUID],
        at: datetime,
    ) -> None:
        await self.session.execute(
            text(
                "INSERT INTO timeline_merges (tenant_id, merge_id, merged_client_id, survivor_id, merged_at) "
                "SELECT :t, :m, unnest(CAST(:merged AS uuid[])), :s, :at ON CONFLICT DO NOTHING"
            ),
            {"t": tenant_id, "m": merge_id, "merged": list(merged), "s": survivor_id, "at": at},
        )

    async def move_entries(
        self, tenant_id: uuid.UUID, merge_id: uuid.UUID, survivor_id: uuid.UUID, merged: Sequence[uuid.UUID]
    ) -> int:
        await self.session.flush()
        moved = await self.session.execute(
            text(
                """
                WITH old AS (
                    SELECT id, client_id FROM activity_entries
                    WHERE tenant_id = :t AND client_id = ANY(:merged) FOR UPDATE
                ), moved AS (
                    UPDATE activity_entries e SET client_id = :s FROM old
                    WHERE e.tenant_id = :t AND e.id = old.id RETURNING e.id, old.client_id
                )
                INSERT INTO activity_merge_moves (tenant_id, merge_id, entry_id, original_client_id)
                SELECT :t, :m, id, client_id FROM moved ON CONFLICT DO NOTHING
                """
            ),
            {"t": tenant_id, "m": merge_id, "s": survivor_id, "merged": list(merged)},
        )
        return int(moved.rowcount)  # type: ignore[attr-defined]

    async def close_merge(self, tenant_id: uuid.UUID, merge_id: uuid.UUID, at: datetime) -> bool | None:
        closed = await self.session.execute(
            text(
                "UPDATE timeline_merges SET unmerged_at = greatest(:at, merged_at) "
                "WHERE tenant_id = :t AND merge_id = :m AND unmerged_at IS NULL"
            ),
            {"t": tenant_id, "m": merge_id, "at": at},
        )
        if closed.rowcount:  # type: ignore[attr-defined]
            return True
        seen = await self.session.scalar(
            text("SELECT 1 FROM timeline_merges WHERE tenant_id = :t AND merge_id = :m LIMIT 1"),
            {"t": tenant_id, "m": merge_id},
        )
        return False if seen else None

    async def return_entries(self, tenant_id: uuid.UUID, merge_id: uuid.UUID) -> int:
        await self.session.flush()
        returned = await self.session.execute(
            text(
                """
                WITH done AS (
                    DELETE FROM activity_merge_moves WHERE tenant_id = :t AND merge_id = :m
                    RETURNING entry_id, original_client_id
                )
                UPDATE activity_entries e SET client_id = done.original_client_id FROM done
                WHERE e.tenant_id = :t AND e.id = done.entry_id
                """
            ),
            {"t": tenant_id, "m": merge_id},
        )
        return int(returned.rowcount)  # type: ignore[attr-defined]

    async def mark_erased(self, tenant_id: uuid.UUID, client_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            text(
                "INSERT INTO erased_clients (tenant_id, client_id, erased_at) VALUES (:t, :c, :at) "
                "ON CONFLICT DO NOTHING"
            ),
            {"t": tenant_id, "c": client_id, "at": at},
        )

    async def entries_of(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[ActivityEntry]:
        result = await self.session.execute(
            select(ActivityEntry).where(
                activity_entries.c.tenant_id == tenant_id, activity_entries.c.client_id == client_id
            )
        )
        return list(result.scalars())
