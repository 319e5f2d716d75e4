"""Fakes for the handlers' unit tests: a unit of work over in-memory repositories and ports (no database, no
broker, no blob store)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from client_svc.adapters.attachment_repository import AbstractAttachmentRepository
from client_svc.adapters.custom_field_repository import AbstractCustomFieldRepository
from client_svc.adapters.erasure_repository import AbstractErasureRepository
from client_svc.adapters.merge_repository import AbstractMergeRepository
from client_svc.adapters.portal_repository import AbstractPortalRepository
from client_svc.adapters.repository import (
    AbstractClientQuota,
    AbstractClientRepository,
    AbstractGroupRepository,
    AbstractNoteRepository,
    AbstractStatusRepository,
)
from client_svc.adapters.storage import AbstractBlobStorage, BlobNotFound
from client_svc.domain.attachments import Attachment, AttachmentPolicy
from client_svc.domain.custom_fields import CustomField, CustomFieldCatalogue
from client_svc.domain.groups import ClientGroup
from client_svc.domain.merge import ClientMerge, OwnedRow
from client_svc.domain.model import Client
from client_svc.domain.notes import Note
from client_svc.domain.portal import PortalRecord
from client_svc.domain.statuses import ClientStatus, StatusCatalogue, ready_made_statuses
from client_svc.service_layer.unit_of_work import DUPLICATE_REQUEST, ClientUnitOfWork
from platform_core.errors import Conflict

ATTACHMENT_POLICY = AttachmentPolicy(max_bytes=64 * 1024)


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


class FakeNoteRepository(AbstractNoteRepository):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[uuid.UUID, uuid.UUID], Note] = {}

    def add(self, note: Note) -> None:
        self.rows[(note.tenant_id, note.id)] = note
        self.seen.add(note)

    async def get(self, tenant_id: uuid.UUID, client_id: uuid.UUID, note_id: uuid.UUID) -> Note | None:
        note = self.rows.get((tenant_id, note_id))
        if note is None or note.client_id != client_id:
            return None
        self.seen.add(note)
        return note


@dataclass
class _Group:
    name: str
    members: set[uuid.UUID] = field(default_factory=set)
    staff: list[uuid.UUID] = field(default_factory=list)


class FakeGroupRepository(AbstractGroupRepository):
    def __init__(self, clients: FakeClientRepository) -> None:
        self.clients = clients
        self.rows: dict[tuple[uuid.UUID, uuid.UUID], _Group] = {}

    async def all(self, tenant_id: uuid.UUID) -> list[ClientGroup]:
        groups = [
            ClientGroup(group_id, g.name, sum(1 for m in g.members if self._live(tenant_id, m)), tuple(g.staff))
            for (tenant, group_id), g in self.rows.items()
            if tenant == tenant_id
        ]
        return sorted(groups, key=lambda g: g.name.lower())

    def _live(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> bool:
        client = self.clients.rows.get((tenant_id, client_id))
        return client is not None and client.merged_into is None

    async def create(self, tenant_id: uuid.UUID, group_id: uuid.UUID, name: str, now: datetime) -> None:
        self._unique(tenant_id, name)
        self.rows[(tenant_id, group_id)] = _Group(name)

    async def rename(self, tenant_id: uuid.UUID, group_id: uuid.UUID, name: str) -> bool:
        group = self.rows.get((tenant_id, group_id))
        if group is None:
            return False
        self._unique(tenant_id, name)
        group.name = name
        return True

    def _unique(self, tenant_id: uuid.UUID, name: str) -> None:
        if any(t == tenant_id and g.name == name for (t, _), g in self.rows.items()):
            raise Conflict("a group with this name already exists", reason="GROUP_NAME_TAKEN")

    async def delete(self, tenant_id: uuid.UUID, group_id: uuid.UUID) -> bool:
        return self.rows.pop((tenant_id, group_id), None) is not None

    async def unknown_clients(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        def known(client_id: uuid.UUID) -> bool:
            client = self.clients.rows.get((tenant_id, client_id))
            return client is not None and not client.is_deleted and client.merged_into is None

        return [i for i in client_ids if not known(i)]

    async def add_members(
        self, tenant_id: uuid.UUID, group_id: uuid.UUID, client_ids: list[uuid.UUID], now: datetime
    ) -> None:
        self.rows[(tenant_id, group_id)].members.update(client_ids)

    async def set_staff(
        self, tenant_id: uuid.UUID, group_id: uuid.UUID, staff_ids: list[uuid.UUID], now: datetime
    ) -> None:
        group = self.rows[(tenant_id, group_id)]
        group.staff = [s for s in group.staff if s in staff_ids] + [s for s in staff_ids if s not in group.staff]

    async def remove_members(self, tenant_id: uuid.UUID, group_id: uuid.UUID, client_ids: list[uuid.UUID]) -> None:
        self.rows[(tenant_id, group_id)].members.difference_update(client_ids)


class FakeQuota(AbstractClientQuota):
    def __init__(self) -> None:
        self.live: dict[uuid.UUID, int] = {}

    async def change(self, tenant_id: uuid.UUID, delta: int, *, max_clients: int | None) -> None:
        self.live[tenant_id] = self.live.get(tenant_id, 0) + delta


class FakeCustomFieldRepository(AbstractCustomFieldRepository):
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, list[CustomField]] = {}

    async def catalogue(self, tenant_id: uuid.UUID) -> CustomFieldCatalogue:
        return CustomFieldCatalogue(tenant_id, self.rows.setdefault(tenant_id, []))

    def add(self, definition: CustomField) -> None:
        """The catalogue already holds the list it appended to."""


class FakeAttachmentRepository(AbstractAttachmentRepository):
    def __init__(self, clients: FakeClientRepository) -> None:
        super().__init__()
        self.clients = clients
        self.rows: dict[tuple[uuid.UUID, uuid.UUID], Attachment] = {}

    def _add(self, attachment: Attachment) -> None:
        self.rows[(attachment.tenant_id, attachment.id)] = attachment

    async def _get(self, tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment | None:
        return self.rows.get((tenant_id, attachment_id))

    async def of_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[Attachment]:
        live = [a for (t, _), a in self.rows.items() if t == tenant_id and a.client_id == client_id and not a.deleted]
        return sorted(live, key=lambda a: (a.uploaded_at, a.id), reverse=True)

    async def storage_keys_of(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[str]:
        owners = {client_id} | {
            c.id for (t, _), c in self.clients.rows.items() if t == tenant_id and c.merged_into == client_id
        }
        return [a.storage_key for (t, _), a in self.rows.items() if t == tenant_id and a.client_id in owners]


class FakePortalRepository(AbstractPortalRepository):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[uuid.UUID, uuid.UUID], PortalRecord] = {}

    def _add(self, record: PortalRecord) -> None:
        self.rows[(record.tenant_id, record.id)] = record

    async def exists(self, tenant_id: uuid.UUID, record_id: uuid.UUID) -> bool:
        return (tenant_id, record_id) in self.rows


class FakeMergeRepository(AbstractMergeRepository):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[OwnedRow] = []
        self.journals: dict[uuid.UUID, ClientMerge] = {}
        self.undone_ids: list[uuid.UUID] = []

    async def owned_rows(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> list[OwnedRow]:
        return [r for r in self.rows if r.owner in client_ids]

    async def _add(self, merge: ClientMerge) -> None:
        self.journals[merge.id] = merge

    async def _get(self, tenant_id: uuid.UUID, merge_id: uuid.UUID, *, lock: bool) -> ClientMerge | None:
        return self.journals.get(merge_id)

    async def undone(self, merge: ClientMerge) -> None:
        self.undone_ids.append(merge.id)

    async def involving(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> list[ClientMerge]:
        return [m for m in self.journals.values() if m.survivor_id in client_ids or set(m.merged_ids) & set(client_ids)]

    async def purged(self, merges: list[ClientMerge]) -> None:
        pass


class FakeErasureRepository(AbstractErasureRepository):
    def __init__(self, clients: FakeClientRepository, attachments: FakeAttachmentRepository) -> None:
        self.clients = clients
        self.attachments = attachments
        self.deleted_for: list[uuid.UUID] = []

    async def absorbed_ids(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[uuid.UUID]:
        return [c.id for c in self.clients.rows.values() if c.merged_into == client_id]

    async def delete_records(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> None:
        self.deleted_for += client_ids
        for key in [k for k, a in self.attachments.rows.items() if a.client_id in client_ids]:
            del self.attachments.rows[key]


class FakeBlobStorage(AbstractBlobStorage):
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        self.blobs[key] = b"".join([chunk async for chunk in chunks])

    async def open(self, key: str) -> AsyncIterator[bytes]:
        if key not in self.blobs:
            raise BlobNotFound(key)
        yield self.blobs[key]

    async def delete(self, key: str) -> None:
        self.blobs.pop(key, None)


class FakeClientUnitOfWork(ClientUnitOfWork):
    """Keeps what is committed and the events published in memory; enforces the request-id uniqueness. A
    rollback forgets clients added since the last commit."""

    def __init__(self) -> None:
        self.clients = FakeClientRepository()
        self.statuses = FakeStatusRepository()
        self.notes = FakeNoteRepository()
        self.groups = FakeGroupRepository(self.clients)
        self.quota = FakeQuota()
        self.custom_fields = FakeCustomFieldRepository()
        self.attachments = FakeAttachmentRepository(self.clients)
        self.portal = FakePortalRepository()
        self.merges = FakeMergeRepository()
        self.erasure = FakeErasureRepository(self.clients, self.attachments)
        self.storage = FakeBlobStorage()
        self.attachment_policy = ATTACHMENT_POLICY
        self.repositories = (self.clients, self.notes, self.attachments, self.portal, self.merges)
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
