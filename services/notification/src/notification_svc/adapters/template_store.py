"""A business's own message templates (overrides of the defaults, per kind and language)."""

from __future__ import annotations

import abc
import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


class AbstractTemplateStore(abc.ABC):
    @abc.abstractmethod
    async def overrides(self, tenant_id: uuid.UUID) -> dict[tuple[str, str], str]:
        """(kind, language) -> source."""

    @abc.abstractmethod
    async def save(self, tenant_id: uuid.UUID, kind: str, language: str, source: str, now: datetime) -> None: ...

    @abc.abstractmethod
    async def reset(self, tenant_id: uuid.UUID, kind: str, language: str) -> bool: ...


class SqlAlchemyTemplateStore(AbstractTemplateStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def overrides(self, tenant_id: uuid.UUID) -> dict[tuple[str, str], str]:
        rows = await self.session.execute(
            text("SELECT kind, language, source FROM template_overrides WHERE tenant_id = :t"), {"t": tenant_id}
        )
        return {(r.kind, r.language): r.source for r in rows}

    async def save(self, tenant_id: uuid.UUID, kind: str, language: str, source: str, now: datetime) -> None:
        await self.session.execute(
            text(
                "INSERT INTO template_overrides (tenant_id, kind, language, source, updated_at) "
                "VALUES (:t, :k, :l, :s, :now) ON CONFLICT (tenant_id, kind, language) "
                "DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at"
            ),
            {"t": tenant_id, "k": kind, "l": language, "s": source, "now": now},
        )

    async def reset(self, tenant_id: uuid.UUID, kind: str, language: str) -> bool:
        result = await self.session.execute(
            text("DELETE FROM template_overrides WHERE tenant_id = :t AND kind = :k AND language = :l"),
            {"t": tenant_id, "k": kind, "l": language},
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
