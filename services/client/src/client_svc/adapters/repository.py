"""Client repositories: SQLAlchemy for real, a fake in unit tests (tests/unit/fakes.py)."""

from __future__ import annotations

import abc
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from client_svc.adapters.orm import client_statuses, clients
from client_svc.domain.model import Client
from client_svc.domain.notes import Note
from client_svc.domain.statuses import ClientStatus, StatusCatalogue, ready_made_statuses


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


class AbstractStatusRepository(abc.ABC):
    # Statuses raise no events; nothing to collect.
    seen: set[Any] = set()

    @abc.abstractmethod
    async def catalogue(self, tenant_id: uuid.UUID) -> StatusCatalogue:
        """The tenant's statuses; the ready-made set on first use."""

    @abc.abstractmethod
    def add(self, status: ClientStatus) -> None: ...


class SqlAlchemyStatusRepository(AbstractStatusRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def catalogue(self, tenant_id: uuid.UUID) -> StatusCatalogue:
        statuses = await self._load(tenant_id)
        if not statuses:
            # Seeding is idempotent (stable ids), so concurrent first uses agree.
            await self.session.execute(
                insert(client_statuses)
                .values(
                    [
                        {
                            "tenant_id": s.tenant_id,
                            "id": s.id,
                            "label": s.label,
                            "position": s.position,
                            "is_default": s.is_default,
                        }
                        for s in ready_made_statuses(tenant_id)
                    ]
                )
                .on_conflict_do_nothing(index_elements=["tenant_id", "id"])
            )
            statuses = await self._load(tenant_id)
        return StatusCatalogue(tenant_id, statuses)

    async def _load(self, tenant_id: uuid.UUID) -> list[ClientStatus]:
        result = await self.session.execute(select(ClientStatus).where(client_statuses.c.tenant_id == tenant_id))
        return list(result.scalars())

    def add(self, status: ClientStatus) -> None:
        self.session.add(status)


class AbstractNoteRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: set[Note] = set()

    @abc.abstractmethod
    def add(self, note: Note) -> None: ...

    @abc.abstractmethod
    async def get(self, tenant_id: uuid.UUID, client_id: uuid.UUID, note_id: uuid.UUID) -> Note | None: ...


class SqlAlchemyNoteRepository(AbstractNoteRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self.session = session

    def add(self, note: Note) -> None:
        self.session.add(note)
        self.seen.add(note)

    async def get(self, tenant_id: uuid.UUID, client_id: uuid.UUID, note_id: uuid.UUID) -> Note | None:
        note = await self.session.get(Note, (tenant_id, note_id))
        if note is None or note.client_id != client_id:
            return None
        self.seen.add(note)
        return note
