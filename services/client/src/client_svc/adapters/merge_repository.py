"""The merge journal (client_merges, client_merge_moves) and the records merges move.

Journals are written with plain statements (no ORM mapping): a merge is written once, then marked
undone or purged.
"""

from __future__ import annotations

import abc
import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from client_svc.adapters import client_owned
from client_svc.domain.merge import ClientMerge, OwnedRow, RowMove


class AbstractMergeRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: set[ClientMerge] = set()

    async def add(self, merge: ClientMerge) -> None:
        """Write the journal and move the planned records to the survivor."""
        await self._add(merge)
        self.seen.add(merge)

    async def get(self, tenant_id: uuid.UUID, merge_id: uuid.UUID, *, lock: bool = False) -> ClientMerge | None:
        merge = await self._get(tenant_id, merge_id, lock=lock)
        if merge is not None:
            self.seen.add(merge)
        return merge

    @abc.abstractmethod
    async def owned_rows(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> list[OwnedRow]: ...

    @abc.abstractmethod
    async def _add(self, merge: ClientMerge) -> None: ...

    @abc.abstractmethod
    async def _get(self, tenant_id: uuid.UUID, merge_id: uuid.UUID, *, lock: bool) -> ClientMerge | None: ...

    @abc.abstractmethod
    async def undone(self, merge: ClientMerge) -> None:
        """Move the records back to their original owners and record the merge as undone."""

    @abc.abstractmethod
    async def involving(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> list[ClientMerge]:
        """Merges any of these clients took part in, newest first."""

    @abc.abstractmethod
    async def purged(self, merges: list[ClientMerge]) -> None:
        """Store that these merges forgot their values and records (erasure)."""


class SqlAlchemyMergeRepository(AbstractMergeRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self.session = session

    async def owned_rows(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> list[OwnedRow]:
        return await client_owned.owned_rows(self.session, tenant_id, client_ids)

    async def _add(self, merge: ClientMerge) -> None:
        await self.session.flush()  # the clients' new state first (their version checks fail early)
        await self.session.execute(
            text(
                "INSERT INTO client_merges (tenant_id, id, survivor_id, merged_ids, merged_at, undo_until, merged_by, "
                "survivor_before, survivor_after, fields_taken) VALUES (:t, :id, :s, :m, :at, :until, :by, "
                "CAST(:before AS jsonb), CAST(:after AS jsonb), CAST(:taken AS jsonb))"
            ),
            {
                "t": merge.tenant_id,
                "id": merge.id,
                "s": merge.survivor_id,
                "m": list(merge.merged_ids),
                "at": merge.merged_at,
                "until": merge.undo_until,
                "by": merge.merged_by,
                "before": json.dumps(merge.survivor_before),
                "after": json.dumps(merge.survivor_after),
                "taken": json.dumps({k: str(v) for k, v in merge.fields_taken.items()}),
            },
        )
        if merge.moves:
            await self.session.execute(
                text(
                    "INSERT INTO client_merge_moves (tenant_id, merge_id, table_name, row_key, from_client_id) "
                    "VALUES (:t, :m, :table, :key, :from)"
                ),
                [
                    {"t": merge.tenant_id, "m": merge.id, "table": m.table, "key": m.key, "from": m.from_client}
                    for m in merge.moves
                ],
            )
            await client_owned.move_to(self.session, merge.tenant_id, merge.moves, merge.survivor_id)

    async def _get(self, tenant_id: uuid.UUID, merge_id: uuid.UUID, *, lock: bool) -> ClientMerge | None:
        merges = await self._load(tenant_id, "id = :id", {"id": merge_id}, lock=lock)
        return merges[0] if merges else None

    async def involving(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> list[ClientMerge]:
        return await self._load(
            tenant_id, "(survivor_id = ANY(:ids) OR merged_ids && CAST(:ids AS uuid[]))", {"ids": client_ids}
        )

    async def _load(
        self, tenant_id: uuid.UUID, condition: str, params: dict[str, Any], *, lock: bool = False
    ) -> list[ClientMerge]:
        rows = (
            await self.session.execute(
                text(
                    "SELECT * FROM client_merges WHERE tenant_id = :t AND "
                    + condition
                    + " ORDER BY merged_at DESC, id DESC"
                    + (" FOR UPDATE" if lock else "")
                ),
                {"t": tenant_id, **params},
            )
        ).all()
        if not rows:
            return []
        moves: dict[uuid.UUID, list[RowMove]] = {}
        for m in await self.session.execute(
            text(
                "SELECT merge_id, table_name, row_key, from_client_id FROM client_merge_moves "
                "WHERE tenant_id = :t AND merge_id = ANY(:ids) ORDER BY table_name, row_key"
            ),
            {"t": tenant_id, "ids": [r.id for r in rows]},
        ):
            moves.setdefault(m.merge_id, []).append(RowMove(m.table_name, m.row_key, m.from_client_id))
        return [
            ClientMerge(
                tenant_id=r.tenant_id,
                id=r.id,
                survivor_id=r.survivor_id,
                merged_ids=tuple(r.merged_ids),
                merged_at=r.merged_at,
                undo_until=r.undo_until,
                merged_by=r.merged_by,
                survivor_before=r.survivor_before,
                survivor_after=r.survivor_after,
                fields_taken={k: uuid.UUID(v) for k, v in r.fields_taken.items()},
                moves=moves.get(r.id, []),
                unmerged_at=r.unmerged_at,
                purged_at=r.purged_at,
            )
            for r in rows
        ]

    async def undone(self, merge: ClientMerge) -> None:
        await self.session.flush()
        await client_owned.move_back(self.session, merge.tenant_id, merge.moves, merge.survivor_id)
        await self.session.execute(
            text("UPDATE client_merges SET unmerged_at = :at WHERE tenant_id = :t AND id = :id"),
            {"t": merge.tenant_id, "id": merge.id, "at": merge.unmerged_at},
        )

    async def purged(self, merges: list[ClientMerge]) -> None:
        for merge in merges:
            await self.session.execute(
                text("DELETE FROM client_merge_moves WHERE tenant_id = :t AND merge_id = :id"),
                {"t": merge.tenant_id, "id": merge.id},
            )
            await self.session.execute(
                text(
                    "UPDATE client_merges SET survivor_before = '{}', survivor_after = '{}', purged_at = :at "
                    "WHERE tenant_id = :t AND id = :id"
                ),
                {"t": merge.tenant_id, "id": merge.id, "at": merge.purged_at},
            )
