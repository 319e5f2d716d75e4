"""Fakes for the handlers' unit tests: a unit of work over in-memory repositories and ports (no database, no
broker, no blob store)."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from client_svc.adapters.attachment_repository import AbstractAttachmentRepository
from client_svc.adapters.contact_checks import InlineContactChecks
from client_svc.adapters.creation_inputs import AbstractCreationInputs, CreationInputs
from client_svc.adapters.custom_field_repository import AbstractCustomFieldRepository
from client_svc.adapters.erasure_repository import AbstractErasureRepository
from client_svc.adapters.import_store import (
    AbstractColumnExtension,
    AbstractImportStore,
    Counts,
    ExistingClient,
    Problems,
)
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
from client_svc.domain.imports import JobRow
from client_svc.domain.merge import ClientMerge, OwnedRow
from client_svc.domain.model import Client
from client_svc.domain.notes import Note
from client_svc.domain.portal import PortalRecord
from client_svc.domain.statuses import ClientStatus, StatusCatalogue, ready_made_statuses
from client_svc.service_layer.import_unit_of_work import ImportSettings, ImportUnitOfWork
from client_svc.service_layer.unit_of_work import DUPLICATE_REQUEST, ClientUnitOfWork
from platform_core.errors import Conflict, FailedPrecondition

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


class FakeCreationInputs(AbstractCreationInputs):
    """Read from the fake catalogues every time (no cache to go stale)."""

    def __init__(self, statuses: FakeStatusRepository, custom_fields: FakeCustomFieldRepository) -> None:
        self.statuses = statuses
        self.custom_fields = custom_fields

    async def of(self, tenant_id: uuid.UUID) -> CreationInputs:
        default = await self.statuses.default_status(tenant_id)
        return CreationInputs(default, await self.custom_fields.catalogue(tenant_id))


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
        self.creation_inputs = FakeCreationInputs(self.statuses, self.custom_fields)
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


# --- the client import --------------------------------------------------------------------------------------

IMPORT_NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night the clocks go forward in Europe
IMPORT_SETTINGS = ImportSettings(batch_rows=2)  # a few rows already make several batches


@dataclass
class _ImportState:
    jobs: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = field(default_factory=dict)
    chunks: dict[tuple[uuid.UUID, uuid.UUID], list[bytes]] = field(default_factory=dict)
    clients: dict[uuid.UUID, tuple[Client, str | None]] = field(default_factory=dict)
    live: dict[uuid.UUID, int] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)
    analyses: list[int] = field(default_factory=list)  # the clients each analyse counted


class FakeImportStore(AbstractImportStore):
    """Jobs, their files, the clients an import writes and its events, in memory. A transaction that raises
    restores the jobs, clients, plan counts and events as they were; rejected rows stay (as an all-or-nothing
    import keeps them on a connection of its own), and so do the leases (another replica takes a job over in a
    transaction of its own)."""

    def __init__(self) -> None:
        self.state = _ImportState()
        self.leases: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
        self.problems: dict[tuple[uuid.UUID, uuid.UUID], list[tuple[int, list[str], list[dict[str, str]]]]] = {}

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        saved = copy.deepcopy(self.state)
        try:
            yield
        except BaseException:
            self.state = saved
            raise

    def _found(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> dict[str, Any] | None:
        return self.state.jobs.get((tenant_id, job_id))

    def _row(self, job: dict[str, Any]) -> JobRow:
        return {**job, "lease_owner": self.leases.get((job["tenant_id"], job["id"]))}

    async def create_job(
        self,
        tenant_id: uuid.UUID,
        job_id: uuid.UUID,
        *,
        created_by: str,
        filename: str,
        file_format: str,
        now: datetime,
    ) -> JobRow:
        job: dict[str, Any] = {
            "tenant_id": tenant_id,
            "id": job_id,
            "created_by": created_by,
            "filename": filename,
            "format": file_format,
            "status": "uploading",
            "file_bytes": 0,
            "file_chunks": 0,
            "columns": [],
            "mapping": None,
            "duplicates": "skip",
            "all_or_nothing": False,
            "default_region": "",
            "max_clients": 0,
            "dry_run": True,
            "total_rows": None,
            **dict.fromkeys(("processed_rows", "created_rows", "updated_rows", "unchanged_rows"), 0),
            **dict.fromkeys(("skipped_rows", "rejected_rows", "attempts"), 0),
            **dict.fromkeys(("error", "error_code", "lease_expires_at", "finished_at")),
            "created_at": now,
            "updated_at": now,
        }
        self.state.jobs[(tenant_id, job_id)] = job
        self.state.chunks[(tenant_id, job_id)] = []
        return self._row(job)

    async def job(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> JobRow | None:
        job = self._found(tenant_id, job_id)
        return None if job is None else self._row(job)

    async def append_chunk(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, seq: int, data: bytes, *, max_bytes: int
    ) -> JobRow | None:
        job = self._found(tenant_id, job_id)
        if job is None or job["status"] != "uploading" or seq < job["file_chunks"]:
            return None if job is None else self._row(job)
        if seq > job["file_chunks"]:
            raise FailedPrecondition(
                f"chunk {seq} came before chunk {job['file_chunks']}", reason="IMPORT_CHUNK_OUT_OF_ORDER"
            )
        if job["file_bytes"] + len(data) > max_bytes:
            raise FailedPrecondition("the file is too large", reason="IMPORT_TOO_LARGE")
        self.state.chunks[(tenant_id, job_id)].append(data)
        job["file_bytes"] += len(data)
        job["file_chunks"] += 1
        return self._row(job)

    async def chunk(self, tenant_id: uuid.UUID, job_id: uuid.UUID, seq: int) -> bytes | None:
        chunks = self.state.chunks.get((tenant_id, job_id), [])
        return chunks[seq] if seq < len(chunks) else None

    async def set_uploaded(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, *, file_format: str, columns: Sequence[str]
    ) -> JobRow | None:
        job = self._found(tenant_id, job_id)
        if job is None or job["status"] != "uploading":
            return None
        job.update(status="uploaded", format=file_format, columns=list(columns))
        return self._row(job)

    async def fail_upload(self, tenant_id: uuid.UUID, job_id: uuid.UUID, error: str, code: str) -> None:
        job = self._found(tenant_id, job_id)
        if job is not None:
            job.update(status="failed", error=error, error_code=code)
            self.state.chunks[(tenant_id, job_id)] = []

    async def queue(
        self,
        tenant_id: uuid.UUID,
        job_id: uuid.UUID,
        *,
        status: str,
        from_statuses: Sequence[str],
        mapping: Sequence[str] | None = None,
        duplicates: str | None = None,
        all_or_nothing: bool | None = None,
        default_region: str | None = None,
        max_clients: int | None = None,
    ) -> JobRow | None:
        job = self._found(tenant_id, job_id)
        if job is None or job["status"] not in from_statuses:
            return None
        given = {
            "mapping": list(mapping) if mapping is not None else None,
            "duplicates": duplicates,
            "all_or_nothing": all_or_nothing,
            "default_region": default_region,
            "max_clients": max_clients,
        }
        job.update({k: v for k, v in given.items() if v is not None}, status=status, dry_run=status == "validating")
        job.update(dict.fromkeys(COUNT_COLUMNS, 0), error=None, error_code=None, attempts=0)
        self.leases.pop((tenant_id, job_id), None)
        self.problems.pop((tenant_id, job_id), None)
        return self._row(job)

    async def delete_job(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> str | None:
        job = self._found(tenant_id, job_id)
        if job is None:
            return None
        if job["status"] not in ("validating", "running"):
            del self.state.jobs[(tenant_id, job_id)]
        return str(job["status"])

    async def claim(self, owner: str, lease_seconds: float) -> JobRow | None:
        for key, job in self.state.jobs.items():
            if job["status"] in ("validating", "running") and key not in self.leases:
                self.leases[key] = owner
                job["attempts"] += 1
                return self._row(job)
        return None

    async def release(self, owner: str) -> None:
        self.leases = {key: held for key, held in self.leases.items() if held != owner}

    async def renew(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, owner: str, lease_seconds: float, progress: Counts | None
    ) -> bool:
        return self.leases.get((tenant_id, job_id)) == owner

    def _set_counts(self, job: dict[str, Any], counts: Counts) -> None:
        job.update(zip(COUNT_COLUMNS, dataclasses.astuple(counts), strict=True))

    async def record_batch(self, job: JobRow, owner: str, counts: Counts, problems: Problems) -> bool:
        if not await self.holds(job, owner):
            return False
        self._set_counts(self.state.jobs[(job["tenant_id"], job["id"])], counts)
        await self.add_problems(job["tenant_id"], job["id"], problems)
        return True

    async def holds(self, job: JobRow, owner: str) -> bool:
        return self.leases.get((job["tenant_id"], job["id"])) == owner

    async def clear_problems(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> None:
        self.problems.pop((tenant_id, job_id), None)

    async def add_problems(self, tenant_id: uuid.UUID, job_id: uuid.UUID, problems: Problems) -> None:
        self.problems.setdefault((tenant_id, job_id), []).extend(
            (number, list(cells), [{"column": p.column, "message": p.message} for p in row_problems])
            for number, cells, row_problems in problems
        )

    async def finish(
        self,
        job: JobRow,
        owner: str,
        *,
        status: str,
        counts: Counts,
        total_rows: int | None,
        error: str | None = None,
        error_code: str | None = None,
    ) -> bool:
        if not await self.holds(job, owner):
            return False
        found = self.state.jobs[(job["tenant_id"], job["id"])]
        self._set_counts(found, counts)
        found.update(status=status, error=error, error_code=error_code)
        del self.leases[(job["tenant_id"], job["id"])]
        if total_rows is not None:
            found["total_rows"] = total_rows
        if status in ("completed", "failed"):
            self.state.chunks[(job["tenant_id"], job["id"])] = []
        return True

    async def problems_page(self, tenant_id: uuid.UUID, job_id: uuid.UUID, *, after: int, limit: int) -> list[JobRow]:
        rows = sorted(self.problems.get((tenant_id, job_id), []))
        return [
            {"row_number": number, "cells": cells, "problems": problems}
            for number, cells, problems in rows
            if number > after
        ][:limit]

    async def purge(self, older_than_days: int) -> int:
        return 0

    async def candidates(
        self,
        tenant_id: uuid.UUID,
        *,
        ids: Sequence[uuid.UUID],
        external_ids: Sequence[str],
        emails: Sequence[str],
        phones: Sequence[str],
        lock: bool,
    ) -> list[ExistingClient]:
        found = [
            (client, external_id)
            for client, external_id in self.state.clients.values()
            if client.tenant_id == tenant_id
            and (
                client.id in ids
                or external_id in external_ids
                or (client.email or "").lower() in emails
                or client.phone in phones
            )
        ]
        return [
            ExistingClient(copy.deepcopy(client), external_id, tuple(t.tag for t in client.tag_rows))
            for client, external_id in found
        ]

    async def insert_clients(self, clients: Sequence[tuple[Client, str | None]]) -> None:
        for client, external_id in clients:
            self.state.clients[client.id] = (client, external_id)

    async def update_clients(self, updates: Sequence[tuple[ExistingClient, str | None]]) -> None:
        for existing, external_id in updates:
            existing.client.version += 1
            self.state.clients[existing.client.id] = (existing.client, external_id)

    async def add_live_clients(self, tenant_id: uuid.UUID, count: int, max_clients: int) -> None:
        live = self.state.live.get(tenant_id, 0) + count
        if max_clients and live > max_clients:
            raise FailedPrecondition("over the plan", reason="PLAN_CLIENT_LIMIT")
        self.state.live[tenant_id] = live

    async def live_clients(self, tenant_id: uuid.UUID) -> int:
        return self.state.live.get(tenant_id, 0)

    async def add_events(self, events: Sequence[Any]) -> None:
        self.state.events.extend(events)

    async def refresh_statistics(self) -> int:
        self.state.analyses.append(len(self.state.clients))
        return len(self.state.clients)


COUNT_COLUMNS = ("processed_rows", "created_rows", "updated_rows", "unchanged_rows", "skipped_rows", "rejected_rows")


class FakeImportUnitOfWork(ImportUnitOfWork):
    """The import's unit of work over the in-memory store and statuses; its clock is fixed (``IMPORT_NOW``);
    ``queued`` counts the jobs handed to the workers. ``independent()`` shares the store, as the database is
    shared."""

    def __init__(
        self,
        *,
        store: FakeImportStore | None = None,
        statuses: FakeStatusRepository | None = None,
        extensions: Sequence[AbstractColumnExtension] = (),
        settings: ImportSettings = IMPORT_SETTINGS,
    ) -> None:
        self.store: FakeImportStore = store or FakeImportStore()
        self.imports = self.store
        self.statuses = statuses or FakeStatusRepository()
        self.extensions = list(extensions)
        self.settings = settings
        self.contact_checks = InlineContactChecks()
        self.queued_jobs = 0
        self.entered = False

    async def _start(self) -> None:
        assert not self.entered, "a unit of work is entered once at a time"
        self.entered = True

    async def _close(self) -> None:
        self.entered = False

    def transaction(self) -> contextlib.AbstractAsyncContextManager[None]:
        assert self.entered, "a transaction needs the unit of work entered"
        return self.store.transaction()

    def independent(self) -> FakeImportUnitOfWork:
        return FakeImportUnitOfWork(
            store=self.store, statuses=self.statuses, extensions=self.extensions, settings=self.settings
        )

    async def status_catalogue(self, tenant_id: uuid.UUID) -> StatusCatalogue:
        return await self.statuses.catalogue(tenant_id)

    def now(self) -> datetime:
        return IMPORT_NOW

    def queued(self) -> None:
        self.queued_jobs += 1
