"""What erasing a client touches beyond its own row: what was merged into it and its per-client records."""

from __future__ import annotations

import abc
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from client_svc.adapters import client_owned


class AbstractErasureRepository(abc.ABC):
    @abc.abstractmethod
    async def absorbed_ids(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[uuid.UUID]:
        """Clients merged into this one, directly or through another merged client."""

    @abc.abstractmethod
    async def delete_records(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> None:
        """Delete the per-client records of these clients (notes with their revisions, memberships, ...)."""


class SqlAlchemyErasureRepository(AbstractErasureRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def absorbed_ids(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self.session.execute(
            text(
                "WITH RECURSIVE absorbed(id) AS ("
                " SELECT id FROM clients WHERE tenant_id = :t AND merged_into = :c"
                " UNION SELECT c.id FROM clients c JOIN absorbed a ON c.tenant_id = :t AND c.merged_into = a.id"
                ") SELECT id FROM absorbed ORDER BY id"
            ),
            {"t": tenant_id, "c": client_id},
        )
        return [r.id for r in rows]

    async def delete_records(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> None:
        await self.session.flush()  # the aggregates' own removals (tags, assignments) first
        await client_owned.delete_all(self.session, tenant_id, client_ids)
