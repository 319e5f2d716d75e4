"""Portal invitations and access changes recorded for their events."""

from __future__ import annotations

import abc
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from client_svc.domain.portal import PortalRecord


class AbstractPortalRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: set[PortalRecord] = set()

    def add(self, record: PortalRecord) -> None:
        self._add(record)
        self.seen.add(record)

    @abc.abstractmethod
    def _add(self, record: PortalRecord) -> None: ...

    @abc.abstractmethod
    async def exists(self, tenant_id: uuid.UUID, record_id: uuid.UUID) -> bool: ...


class SqlAlchemyPortalRepository(AbstractPortalRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self.session = session

    def _add(self, record: PortalRecord) -> None:
        self.session.add(record)

    async def exists(self, tenant_id: uuid.UUID, record_id: uuid.UUID) -> bool:
        return await self.session.get(PortalRecord, (tenant_id, record_id)) is not None
