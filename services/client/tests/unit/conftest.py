"""Fakes for unit tests: no database, no broker."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from client_svc.adapters.custom_field_repository import AbstractCustomFieldRepository
from client_svc.adapters.portal_repository import AbstractPortalRepository
from client_svc.adapters.repository import AbstractClientRepository, AbstractStatusRepository
from client_svc.domain.custom_fields import CustomField, CustomFieldCatalogue
from client_svc.domain.model import Client
from client_svc.domain.portal import PortalRecord
from client_svc.domain.statuses import ClientStatus, StatusCatalogue, ready_made_statuses
from client_svc.service_layer.unit_of_work import DUPLICATE_REQUEST, ClientUnitOfWork
from platform_core.errors import Conflict


class FakeClientRepository(AbstractClientRepository):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[uuid.UUID, uuid.UUID], Client] = {}

    def _add(self, client: Client) -> None:
        self.rows[(client.tenant_id, client.id)] = client

    async def _get(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> Client | None:
        return self.rows.get((tenant_id, client_id))

    async def get_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> Client | None:
        for client in self.rows.values():
            if client.tenant_id == tenant_id and client.request_id == request_id:
                return client
        return None

    async def claim_ended_blocks(self, now: datetime, limit: int) -> list[Client]:
        ended = sorted(
            (c for c in self.rows.values() if c.online_booking_blocked_until and c.online_booking_blocked_until <= now),
            key=lambda c: c.online_booking_blocked_until or now,
        )[:limit]
        self.seen.update(ended)
        return ended


class FakeStatusRepository(AbstractStatusRepository):
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, list[ClientStatus]] = {}

    async def catalogue(self, tenant_id: uuid.UUID) -> StatusCatalogue:
        return StatusCatalogue(tenant_id, self.rows.setdefault(tenant_id, ready_made_statuses(tenant_id)))

    def add(self, status: ClientStatus) -> None:
        """The catalogue already holds the list it appended to."""


class FakeCustomFieldRepository(AbstractCustomFieldRepository):
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, list[CustomField]] = {}

    async def catalogue(self, tenant_id: uuid.UUID) -> CustomFieldCatalogue:
        return CustomFieldCatalogue(tenant_id, self.rows.setdefault(tenant_id, []))

    def add(self, definition: CustomField) -> None:
        """The catalogue already holds the list it appended to."""


class FakePortalRepository(AbstractPortalRepository):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[uuid.UUID, uuid.UUID], PortalRecord] = {}

    def _add(self, record: PortalRecord) -> None:
        self.rows[(record.tenant_id, record.id)] = record

    async def exists(self, tenant_id: uuid.UUID, record_id: uuid.UUID) -> bool:
        return (tenant_id, record_id) in self.rows


class FakeQuota:
    def __init__(self) -> None:
        self.live: dict[uuid.UUID, int] = {}

    async def change(self, tenant_id: uuid.UUID, delta: int, *, max_clients: int | None) -> None:
        self.live[tenant_id] = self.live.get(tenant_id, 0) + delta


class FakeClientUnitOfWork(ClientUnitOfWork):
    """Keeps committed clients and published events in memory; enforces the request-id uniqueness."""

    def __init__(self) -> None:
        self.clients = FakeClientRepository()
        self.statuses = FakeStatusRepository()
        self.quota = FakeQuota()
        self.custom_fields = FakeCustomFieldRepository()
        self.portal = FakePortalRepository()
        self.repositories = (self.clients, self.portal)
        self.committed = False
        self.published: list[Any] = []
        self._pending: dict[tuple[uuid.UUID, uuid.UUID], Client] = {}

    async def _start(self) -> None:
        self._pending = dict(self.clients.rows)

    async def _commit(self, events: list[Any]) -> None:
        seen_keys: set[tuple[uuid.UUID, str]] = set()
        for client in self.clients.rows.values():
            if client.request_id:
                key = (client.tenant_id, client.request_id)
                if key in seen_keys:
                    raise Conflict("duplicate request", reason=DUPLICATE_REQUEST)
                seen_keys.add(key)
        self.published.extend(events)
        self.committed = True
        self._pending = dict(self.clients.rows)

    async def rollback(self) -> None:
        self.clients.rows = dict(self._pending)

    async def _close(self) -> None:
        await self.rollback()


@pytest.fixture
def uow() -> FakeClientUnitOfWork:
    return FakeClientUnitOfWork()
