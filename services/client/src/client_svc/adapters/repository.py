"""Client repositories: SQLAlchemy for real, a fake in unit tests (tests/unit/fakes.py)."""

from __future__ import annotations

import abc
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from client_svc.adapters.orm import clients
from client_svc.domain.model import Client


class AbstractClientRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: set[Client] = set()

    def add(self, client: Client) -> None:
        self._add(client)
        self.seen.add(client)

    async def get(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> Client | None:
        client = await self._get(tenant_id, client_id)
        if client is not None:
            self.seen.add(client)
        return client

    @abc.abstractmethod
    def _add(self, client: Client) -> None: ...

    @abc.abstractmethod
    async def _get(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> Client | None: ...

    @abc.abstractmethod
    async def get_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> Client | None: ...


class SqlAlchemyClientRepository(AbstractClientRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self.session = session

    def _add(self, client: Client) -> None:
        self.session.add(client)

    async def _get(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> Client | None:
        return await self.session.get(Client, (tenant_id, client_id))

    async def get_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> Client | None:
        result = await self.session.execute(
            select(Client).where(clients.c.tenant_id == tenant_id, clients.c.request_id == request_id)
        )
        return result.scalar_one_or_none()
