"""Import jobs, their files and rejected rows, and the bulk writes of an import, in PostgreSQL.

An import writes thousands of clients: the ORM's one round trip per row is what this module exists to
avoid. It speaks asyncpg directly (COPY for new rows and their events, one statement per batch for
updates) on the connection the import's unit of work holds (service_layer/import_unit_of_work.py), inside
the transactions it opens. The ports the import use cases see are the abstract classes here.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import json
import sys
import types
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from client_svc.adapters import event_mapping
from client_svc.adapters.name_keys import indexed_words
from client_svc.domain.contact_details import ContactPerson, ContactPoint
from client_svc.domain.custom_fields import CustomValue
from client_svc.domain.fuzzy import word_keys
from client_svc.domain.imports import ExtraColumn, JobRow, RowProblem
from client_svc.domain.model import Client, ClientTag
from platform_core.errors import FailedPrecondition
from platform_core.messaging.outbox import copy_to_outbox

JOB_COLUMNS = """
    tenant_id, id, created_by, filename, format, status, file_bytes, file_chunks, columns, mapping, duplicates,
    all_or_nothing, default_region, max_clients, dry_run, total_rows, processed_rows, created_rows, updated_rows,
    unchanged_rows, skipped_rows, rejected_rows, error, error_code, lease_owner, lease_expires_at, attempts, created_at,
    updated_at, finished_at
"""

# What an import writes into clients (other columns keep their defaults).
CLIENT_COLUMNS = (
    "tenant_id",
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "created_at",
    "updated_at",
    "online_booking_blocked",
    "version",
    "status_id",
    "kind",
    "company_name",
    "address_line1",
    "address_line2",
    "address_city",
    "address_region",
    "address_postal_code",
    "address_country",
    "date_of_birth",
    "preferred_language",
    "timezone",
    "source",
    "default_invoicing_method",
    "opening_balance_minor",
    "opening_balance_currency",
    "external_id",
)
# The fields an import's update may change (the rest is identity and lifecycle).
UPDATABLE = tuple(
    c for c in CLIENT_COLUMNS if c not in ("tenant_id", "id", "created_at", "online_booking_blocked", "version")
)


@dataclass(frozen=True)
class Counts:
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.processed + other.processed,
            self.created + other.created,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.skipped + other.skipped,
            self.rejected + other.rejected,
        )


def unmapped(cls: type[Any], *, name: str | None = None, parts: Mapping[str, type[Any]] | None = None) -> type[Any]:
    """The same domain class without the ORM's instrumentation: for objects that never meet a session.

    The imperative mapping instruments every attribute of a mapped class; setting one then costs
    microseconds of change tracking, and a new Client sets some forty (its collections most of all). An
    import builds a Client per row only to validate it and copy it into COPY rows, so it uses this twin:
    the same fields and methods (register, update, set_tags...), plain attributes. ``parts`` are the twins
    of the mapped classes its methods create (a contact point, a tag), by the name the methods use, so the
    twin's rows are plain too. A twin ``name``d here is found by pickle under that name in this module, so
    it travels to and from the import's row workers (adapters/import_row_workers.py).
    """
    code_globals = {**vars(sys.modules[cls.__module__]), **parts} if parts else None

    def plain(value: Any) -> Any:
        if code_globals is None:
            return value
        if isinstance(value, types.FunctionType):
            twin_function = types.FunctionType(
                value.__code__, code_globals, value.__name__, value.__defaults__, value.__closure__
            )
            twin_function.__kwdefaults__ = value.__kwdefaults__
            twin_function.__qualname__ = value.__qualname__
            return twin_function
        if isinstance(value, classmethod | staticmethod):
            return type(value)(plain(value.__func__))
        if isinstance(value, property):
            return property(plain(value.fget), plain(value.fset), plain(value.fdel), value.__doc__)
        return value

    namespace = {
        attribute: plain(value)
        for attribute, value in vars(cls).items()
        if isinstance(value, types.FunctionType | classmethod | staticmethod | property)
        and not attribute.startswith(("__", "_sa_"))
    }
    twin = dataclasses.make_dataclass(
        name or cls.__name__,
        [
            (f.name, f.type, dataclasses.field(default=f.default, default_factory=f.default_factory, repr=f.repr))
            for f in dataclasses.fields(cls)
        ],
        namespace=namespace,
        eq=False,
    )
    twin.__module__ = __name__ if name else cls.__module__
    twin.__doc__ = f"{cls.__name__}, not mapped to a table (see import_store.unmapped)."
    return twin


# A Client built by an import, and its rows: same rules, no ORM bookkeeping.
DetachedTag: type[ClientTag] = unmapped(ClientTag, name="DetachedTag")
DetachedContactPoint: type[ContactPoint] = unmapped(ContactPoint, name="DetachedContactPoint")
DetachedContactPerson: type[ContactPerson] = unmapped(ContactPerson, name="DetachedContactPerson")
DetachedCustomValue: type[CustomValue] = unmapped(CustomValue, name="DetachedCustomValue")
DetachedClient: type[Client] = unmapped(
    Client,
    name="DetachedClient",
    parts={
        "ClientTag": DetachedTag,
        "ContactPoint": DetachedContactPoint,
        "ContactPerson": DetachedContactPerson,
        "CustomValue": DetachedCustomValue,
    },
)


# A client's contact point rows as stored (for telling whether an update changed them).
PointRow = tuple[uuid.UUID, uuid.UUID, uuid.UUID, str, str, str, bool, int]
POINT_COLUMNS = ("tenant_id", "id", "client_id", "kind", "value", "label", "is_primary", "position")


Problems = Sequence[tuple[int, Sequence[str], Sequence[RowProblem]]]


@dataclass(frozen=True)
class ExistingClient:
    """A client as loaded for an import, and what was stored of it (to write back only what changes)."""

    client: Client  # a DetachedClient: updated by the domain, written back by this module
    external_id: str | None
    tags: tuple[str, ...]
    points: frozenset[PointRow] = frozenset()
    words: frozenset[str] = frozenset()


@contextlib.asynccontextmanager
async def raw_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """An asyncpg connection of the service's pool (returned to it afterwards)."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        yield driver
        # Whatever the caller did, it did in its own transactions; the pool's reset rolls back nothing of it.


class WriteRefused(Exception):
    """The database refused a write of the import (a row the client rules accept but the schema does not, a
    clash with a concurrent write); its transaction or savepoint rolled back."""

    def __init__(self, constraint: str | None, kind: str) -> None:
        super().__init__(constraint or kind)
        self.constraint = constraint
        self.kind = kind


class AbstractColumnExtension(abc.ABC):
    """Columns beyond the client record's own fields (custom fields, secondary phones and emails).

    Their columns are offered in the mapping (``custom:<key>``), parsed per row (``ExtraColumn.parse``: a
    ValueError is a problem of that cell), compared with what ``load`` returns (an import that changes nothing
    writes nothing), stored with ``save`` in the batch's transaction, and written by the export.
    """

    @abc.abstractmethod
    async def columns(self, tenant_id: uuid.UUID) -> Sequence[ExtraColumn]: ...

    @abc.abstractmethod
    async def load(self, tenant_id: uuid.UUID, client_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]: ...

    @abc.abstractmethod
    async def save(self, tenant_id: uuid.UUID, values: dict[uuid.UUID, dict[str, Any]]) -> None: ...


class AbstractImportStore(abc.ABC):
    """Import jobs, their files and rejected rows, and the import's bulk writes: on the unit of work's
    connection, in the transaction it holds."""

    @abc.abstractmethod
    async def create_job(
        self,
        tenant_id: uuid.UUID,
        job_id: uuid.UUID,
        *,
        created_by: str,
        filename: str,
        file_format: str,
        now: datetime,
    ) -> JobRow: ...

    @abc.abstractmethod
    async def job(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> JobRow | None: ...

    @abc.abstractmethod
    async def append_chunk(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, seq: int, data: bytes, *, max_bytes: int
    ) -> JobRow | None:
        """Store chunk ``seq`` (a repeat of a stored one is ignored; one out of order or over ``max_bytes`` is
        refused): the job's status, file_bytes and file_chunks, or None when there is no such job."""

    @abc.abstractmethod
    async def chunk(self, tenant_id: uuid.UUID, job_id: uuid.UUID, seq: int) -> bytes | None:
        """One stored chunk of the file (None when it is gone)."""

    @abc.abstractmethod
    async def set_uploaded(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, *, file_format: str, columns: Sequence[str]
    ) -> JobRow | None:
        """The file is complete (None when the job was not uploading)."""

    @abc.abstractmethod
    async def fail_upload(self, tenant_id: uuid.UUID, job_id: uuid.UUID, error: str, code: str) -> None:
        """A file that cannot be read: the job records why, and its bytes go."""

    @abc.abstractmethod
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
        """Hand the job to the workers (dry run: validating; import: running), from the statuses given; None
        when the job is not in one of them."""

    @abc.abstractmethod
    async def delete_job(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> str | None:
        """Delete a job that is not running; its status before, or None when there is none."""

    @abc.abstractmethod
    async def claim(self, owner: str, lease_seconds: float) -> JobRow | None:
        """The next job to work on whose lease is free or expired, leased to ``owner``."""

    @abc.abstractmethod
    async def release(self, owner: str) -> None:
        """Let go of every lease ``owner`` holds."""

    @abc.abstractmethod
    async def renew(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, owner: str, lease_seconds: float, progress: Counts | None
    ) -> bool:
        """Extend the lease (and show progress); False when lost."""

    @abc.abstractmethod
    async def record_batch(self, job: JobRow, owner: str, counts: Counts, problems: Problems) -> bool:
        """The job's progress so far and this batch's rejected rows; False when ``owner`` lost the lease."""

    @abc.abstractmethod
    async def holds(self, job: JobRow, owner: str) -> bool:
        """Whether ``owner`` still holds the job's lease (kept until the transaction ends)."""

    @abc.abstractmethod
    async def clear_problems(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> None: ...

    @abc.abstractmethod
    async def add_problems(self, tenant_id: uuid.UUID, job_id: uuid.UUID, problems: Problems) -> None: ...

    @abc.abstractmethod
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
        """Close the job (guarded by the lease: False when lost); the file goes once the import ran."""

    @abc.abstractmethod
    async def problems_page(self, tenant_id: uuid.UUID, job_id: uuid.UUID, *, after: int, limit: int) -> list[JobRow]:
        """Rejected rows (row_number, cells, problems) after row ``after``, in order."""

    @abc.abstractmethod
    async def purge(self, older_than_days: int) -> int: ...

    @abc.abstractmethod
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
        """Clients that rows of a batch may be about, by any key (locked for update when ``lock``)."""

    @abc.abstractmethod
    async def insert_clients(self, clients: Sequence[tuple[Client, str | None]]) -> None: ...

    @abc.abstractmethod
    async def update_clients(self, updates: Sequence[tuple[ExistingClient, str | None]]) -> None: ...

    @abc.abstractmethod
    async def add_live_clients(self, tenant_id: uuid.UUID, count: int, max_clients: int) -> None:
        """Count ``count`` new live clients against the plan (refused with PLAN_CLIENT_LIMIT over it)."""

    @abc.abstractmethod
    async def live_clients(self, tenant_id: uuid.UUID) -> int: ...

    @abc.abstractmethod
    async def add_events(self, events: Sequence[Any]) -> None:
        """The batch's domain events into the outbox."""

    @abc.abstractmethod
    async def refresh_statistics(self) -> int:
        """Analyse the tables an import grows (outside the batches' transactions); the clients (of every tenant)
        the statistics now count."""


class AsyncpgImportStore(AbstractImportStore):
    """The store on one asyncpg connection of the service's pool (the unit of work's)."""

    def __init__(self, conn: asyncpg.Connection, *, nats_prefix: str) -> None:
        self._conn = conn
        self._prefix = nats_prefix

    # --- jobs -------------------------------------------------------------------------------------------

    async def create_job(
        self,
        tenant_id: uuid.UUID,
        job_id: uuid.UUID,
        *,
        created_by: str,
        filename: str,
        file_format: str,
        now: datetime,
    ) -> asyncpg.Record:
        row = await self._conn.fetchrow(
            f"INSERT INTO import_jobs (tenant_id, id, created_by, filename, format, status, created_at, updated_at)"
            f" VALUES ($1, $2, $3, $4, $5, 'uploading', $6, $6) RETURNING {JOB_COLUMNS}",
            tenant_id,
            job_id,
            created_by,
            filename,
            file_format,
            now,
        )
        assert row is not None
        return row

    async def job(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> asyncpg.Record | None:
        return await self._conn.fetchrow(
            f"SELECT {JOB_COLUMNS} FROM import_jobs WHERE tenant_id = $1 AND id = $2", tenant_id, job_id
        )

    async def append_chunk(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, seq: int, data: bytes, *, max_bytes: int
    ) -> asyncpg.Record | None:
        """Store chunk ``seq`` (a repeat of a stored one is ignored); None when the job is not uploading."""
        async with self._conn.transaction():
            job = await self._conn.fetchrow(
                "SELECT status, file_bytes, file_chunks FROM import_jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                tenant_id,
                job_id,
            )
            if job is None or job["status"] != "uploading":
                return job
            if seq < job["file_chunks"]:
                return job  # a retry of a chunk already stored
            if seq > job["file_chunks"]:
                raise FailedPrecondition(
                    f"chunk {seq} came before chunk {job['file_chunks']}", reason="IMPORT_CHUNK_OUT_OF_ORDER"
                )
            if job["file_bytes"] + len(data) > max_bytes:
                raise FailedPrecondition(
                    f"the file is larger than {max_bytes:,} bytes, the most an import takes", reason="IMPORT_TOO_LARGE"
                )
            await self._conn.execute(
                "INSERT INTO import_file_chunks (tenant_id, job_id, seq, data) VALUES ($1, $2, $3, $4)",
                tenant_id,
                job_id,
                seq,
                data,
            )
            return await self._conn.fetchrow(
                "UPDATE import_jobs SET file_bytes = file_bytes + $3, file_chunks = file_chunks + 1, updated_at = now()"
                " WHERE tenant_id = $1 AND id = $2 RETURNING status, file_bytes, file_chunks",
                tenant_id,
                job_id,
                len(data),
            )

    async def chunk(self, tenant_id: uuid.UUID, job_id: uuid.UUID, seq: int) -> bytes | None:
        data = await self._conn.fetchval(
            "SELECT data FROM import_file_chunks WHERE tenant_id = $1 AND job_id = $2 AND seq = $3",
            tenant_id,
            job_id,
            seq,
        )
        return None if data is None else bytes(data)

    async def set_uploaded(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, *, file_format: str, columns: Sequence[str]
    ) -> asyncpg.Record | None:
        return await self._conn.fetchrow(
            f"UPDATE import_jobs SET status = 'uploaded', format = $3, columns = $4, updated_at = now()"
            f" WHERE tenant_id = $1 AND id = $2 AND status = 'uploading' RETURNING {JOB_COLUMNS}",
            tenant_id,
            job_id,
            file_format,
            list(columns),
        )

    async def fail_upload(self, tenant_id: uuid.UUID, job_id: uuid.UUID, error: str, code: str) -> None:
        """A file that cannot be read: the job records why, and its bytes go."""
        async with self._conn.transaction():
            await self._conn.execute(
                "UPDATE import_jobs SET status = 'failed', error = $3, error_code = $4, finished_at = now(),"
                " updated_at = now() WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                job_id,
                error,
                code,
            )
            await self._conn.execute(
                "DELETE FROM import_file_chunks WHERE tenant_id = $1 AND job_id = $2", tenant_id, job_id
            )

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
    ) -> asyncpg.Record | None:
        """Hand the job to the workers (dry run: validating; import: running), from the statuses given.

        Counts and earlier problems are cleared; the workers' lease starts expired so any replica claims it.
        None when the job is not in one of ``from_statuses``.
        """
        async with self._conn.transaction():
            row = await self._conn.fetchrow(
                f"""
                UPDATE import_jobs SET
                    status = $3, dry_run = ($3 = 'validating'),
                    mapping = coalesce($5, mapping), duplicates = coalesce($6, duplicates),
                    all_or_nothing = coalesce($7, all_or_nothing), default_region = coalesce($8, default_region),
                    max_clients = coalesce($9, max_clients),
                    processed_rows = 0, created_rows = 0, updated_rows = 0, unchanged_rows = 0, skipped_rows = 0,
                    rejected_rows = 0, error = NULL, error_code = NULL, lease_owner = NULL, lease_expires_at = NULL,
                    attempts = 0,
                    finished_at = NULL, updated_at = now()
                WHERE tenant_id = $1 AND id = $2 AND status = ANY($4::text[])
                RETURNING {JOB_COLUMNS}
                """,
                tenant_id,
                job_id,
                status,
                list(from_statuses),
                list(mapping) if mapping is not None else None,
                duplicates,
                all_or_nothing,
                default_region,
                max_clients,
            )
            if row is not None:
                await self._conn.execute(
                    "DELETE FROM import_problems WHERE tenant_id = $1 AND job_id = $2", tenant_id, job_id
                )
            return row

    async def delete_job(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> str | None:
        """Delete a job that is not running; its status before, or None when there is none."""
        async with self._conn.transaction():
            status = await self._conn.fetchval(
                "SELECT status FROM import_jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenant_id, job_id
            )
            if status is not None and status not in ("validating", "running"):
                await self._conn.execute("DELETE FROM import_jobs WHERE tenant_id = $1 AND id = $2", tenant_id, job_id)
            return str(status) if status is not None else None

    async def claim(self, owner: str, lease_seconds: float) -> asyncpg.Record | None:
        """The next job to work on whose lease is free or expired, leased to ``owner``."""
        async with self._conn.transaction():
            return await self._conn.fetchrow(
                f"""
                UPDATE import_jobs SET lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2),
                    attempts = attempts + 1
                WHERE (tenant_id, id) = (
                    SELECT tenant_id, id FROM import_jobs
                    WHERE status IN ('validating', 'running') AND (lease_expires_at IS NULL OR lease_expires_at < now())
                    ORDER BY lease_expires_at NULLS FIRST, updated_at
                    LIMIT 1 FOR UPDATE SKIP LOCKED
                )
                RETURNING {JOB_COLUMNS}
                """,
                owner,
                lease_seconds,
            )

    async def release(self, owner: str) -> None:
        """Let go of every lease ``owner`` holds (on shutdown), so another replica resumes at once."""
        await self._conn.execute(
            "UPDATE import_jobs SET lease_expires_at = NULL, lease_owner = NULL,"
            " attempts = greatest(attempts - 1, 0) WHERE lease_owner = $1 AND status IN ('validating', 'running')",
            owner,
        )

    async def renew(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, owner: str, lease_seconds: float, progress: Counts | None
    ) -> bool:
        """Extend the lease (and show progress, for runs that commit it only at the end); False when lost."""
        result = await self._conn.execute(
            """
            UPDATE import_jobs SET lease_expires_at = now() + make_interval(secs => $4), updated_at = now(),
                processed_rows = coalesce($5, processed_rows), created_rows = coalesce($6, created_rows),
                updated_rows = coalesce($7, updated_rows), unchanged_rows = coalesce($8, unchanged_rows),
                skipped_rows = coalesce($9, skipped_rows), rejected_rows = coalesce($10, rejected_rows)
            WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND status IN ('validating', 'running')
            """,
            tenant_id,
            job_id,
            owner,
            lease_seconds,
            *(_counts_args(progress) if progress else (None,) * 6),
        )
        return str(result).endswith(" 1")

    async def record_batch(
        self,
        job: asyncpg.Record,
        owner: str,
        counts: Counts,
        problems: Problems,
    ) -> bool:
        """In the caller's transaction: the job's progress so far, and this batch's rejected rows.

        False when this worker no longer holds the lease (the caller must then roll back).
        """
        result = await self._conn.execute(
            """
            UPDATE import_jobs SET processed_rows = $4, created_rows = $5, updated_rows = $6, unchanged_rows = $7,
                skipped_rows = $8, rejected_rows = $9, updated_at = now()
            WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3
            """,
            job["tenant_id"],
            job["id"],
            owner,
            *_counts_args(counts),
        )
        if not str(result).endswith(" 1"):
            return False
        await self.add_problems(job["tenant_id"], job["id"], problems)
        return True

    async def holds(self, job: asyncpg.Record, owner: str) -> bool:
        """In the caller's transaction: whether ``owner`` still holds the job's lease (and keeps it until the
        transaction ends: a replica taking the job over waits for it)."""
        held = await self._conn.fetchval(
            "SELECT true FROM import_jobs WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 FOR SHARE",
            job["tenant_id"],
            job["id"],
            owner,
        )
        return bool(held)

    async def clear_problems(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> None:
        await self._conn.execute("DELETE FROM import_problems WHERE tenant_id = $1 AND job_id = $2", tenant_id, job_id)

    async def add_problems(
        self,
        tenant_id: uuid.UUID,
        job_id: uuid.UUID,
        problems: Problems,
    ) -> None:
        if not problems:
            return
        await self._conn.copy_records_to_table(
            "import_problems",
            columns=["tenant_id", "job_id", "row_number", "cells", "problems"],
            records=[
                (
                    tenant_id,
                    job_id,
                    number,
                    list(cells),
                    json.dumps([{"column": p.column, "message": p.message} for p in row_problems]),
                )
                for number, cells, row_problems in problems
            ],
        )

    async def finish(
        self,
        job: asyncpg.Record,
        owner: str,
        *,
        status: str,
        counts: Counts,
        total_rows: int | None,
        error: str | None = None,
        error_code: str | None = None,
    ) -> bool:
        """Close the job in the caller's transaction (guarded by the lease); the file goes once the import ran."""
        result = await self._conn.execute(
            """
            UPDATE import_jobs SET status = $4, processed_rows = $5, created_rows = $6, updated_rows = $7,
                unchanged_rows = $8, skipped_rows = $9, rejected_rows = $10, total_rows = coalesce($11, total_rows),
                error = $12, error_code = $13, lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
                finished_at = CASE WHEN $4 IN ('completed', 'failed') THEN now() END
            WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3
            """,
            job["tenant_id"],
            job["id"],
            owner,
            status,
            *_counts_args(counts),
            total_rows,
            error,
            error_code,
        )
        if not str(result).endswith(" 1"):
            return False
        if status in ("completed", "failed"):
            await self._conn.execute(
                "DELETE FROM import_file_chunks WHERE tenant_id = $1 AND job_id = $2", job["tenant_id"], job["id"]
            )
        return True

    async def problems_page(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, *, after: int, limit: int
    ) -> list[asyncpg.Record]:
        return list(
            await self._conn.fetch(
                "SELECT row_number, cells, problems FROM import_problems"
                " WHERE tenant_id = $1 AND job_id = $2 AND row_number > $3 ORDER BY row_number LIMIT $4",
                tenant_id,
                job_id,
                after,
                limit,
            )
        )

    async def purge(self, older_than_days: int) -> int:
        """Finished jobs (and their rejected rows) after their retention; uploads abandoned for a day."""
        result = await self._conn.execute(
            "DELETE FROM import_jobs WHERE (status IN ('completed', 'failed')"
            " AND finished_at < now() - make_interval(days => $1))"
            " OR (status IN ('uploading', 'uploaded', 'validated') AND updated_at < now() - interval '1 day')",
            older_than_days,
        )
        return int(str(result).split()[-1])

    # --- clients ----------------------------------------------------------------------------------------

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
        """Clients that rows of a batch may be about, by any key (locked for update when ``lock``)."""
        if not (ids or external_ids or emails or phones):
            return []
        rows = await self._conn.fetch(
            f"""
            SELECT c.*, ARRAY(SELECT t.tag FROM client_tags t WHERE t.tenant_id = c.tenant_id AND t.client_id = c.id)
                AS tag_list
            FROM clients c
            WHERE c.tenant_id = $1 AND c.id IN (
                -- One semi-join per key (never "= ANY(array)" per row: a batch brings a thousand of each).
                SELECT unnest($2::uuid[])
                UNION SELECT id FROM clients WHERE tenant_id = $1 AND external_id IN (SELECT unnest($3::text[]))
                UNION SELECT id FROM clients WHERE tenant_id = $1 AND lower(email) IN (SELECT unnest($4::text[]))
                UNION SELECT id FROM clients WHERE tenant_id = $1 AND phone IN (SELECT unnest($5::text[]))
            )
            {"FOR UPDATE OF c" if lock else ""}
            """,
            tenant_id,
            list(ids),
            list(external_ids),
            list(emails),
            list(phones),
        )
        found = [_twin(row) for row in rows]
        if found:
            await self._load_contacts(tenant_id, found)
        return [_existing(client, row) for client, row in zip(found, rows, strict=True)]

    async def _load_contacts(self, tenant_id: uuid.UUID, found: Sequence[Client]) -> None:
        """The contact points and persons of the batch's clients: one query each for the whole batch (the
        domain compares an import's email and phone with the lists, and keeps persons to businesses)."""
        by_id = {c.id: c for c in found}
        client_ids = list(by_id)
        points = await self._conn.fetch(
            f"SELECT {', '.join(POINT_COLUMNS)} FROM client_contact_points"
            " WHERE tenant_id = $1 AND client_id IN (SELECT unnest($2::uuid[]))",
            tenant_id,
            client_ids,
        )
        for p in points:
            by_id[p["client_id"]].contact_points.append(DetachedContactPoint(**dict(p)))
        persons = await self._conn.fetch(
            "SELECT tenant_id, client_id, id, position, name, role, email, phone FROM client_contact_persons"
            " WHERE tenant_id = $1 AND client_id IN (SELECT unnest($2::uuid[]))",
            tenant_id,
            client_ids,
        )
        for p in persons:
            by_id[p["client_id"]].contact_persons.append(DetachedContactPerson(**dict(p)))

    async def insert_clients(self, clients: Sequence[tuple[Client, str | None]]) -> None:
        if not clients:
            return
        await self._conn.copy_records_to_table(
            "clients",
            columns=list(CLIENT_COLUMNS),
            records=[_values(c, external_id, CLIENT_COLUMNS) for c, external_id in clients],
        )
        tags = [(t.tenant_id, t.client_id, t.tag) for c, _ in clients for t in c.tag_rows]
        if tags:
            await self._conn.copy_records_to_table(
                "client_tags", columns=["tenant_id", "client_id", "tag"], records=tags
            )
        points = [row for c, _ in clients for row in _point_rows(c)]
        if points:
            await self._conn.copy_records_to_table("client_contact_points", columns=list(POINT_COLUMNS), records=points)
            await _check_points_now(self._conn)
        await self._index_names([(c, frozenset()) for c, _ in clients])

    async def update_clients(self, updates: Sequence[tuple[ExistingClient, str | None]]) -> None:
        """Write back changed clients (each already locked by ``candidates``), their version bumped."""
        if not updates:
            return
        sets = ", ".join(f"{name} = ${i + 4}" for i, name in enumerate(UPDATABLE))
        await self._conn.executemany(
            f"UPDATE clients SET {sets}, version = version + 1 WHERE tenant_id = $1 AND id = $2 AND version = $3",
            [
                (e.client.tenant_id, e.client.id, e.client.version, *_values(e.client, external_id, UPDATABLE))
                for e, external_id in updates
            ],
        )
        retagged = [e for e, _ in updates if tuple(sorted(t.tag for t in e.client.tag_rows)) != tuple(sorted(e.tags))]
        if retagged:
            await self._conn.execute(
                "DELETE FROM client_tags WHERE tenant_id = $1 AND client_id = ANY($2::uuid[])",
                retagged[0].client.tenant_id,
                [e.client.id for e in retagged],
            )
            rows = [(t.tenant_id, t.client_id, t.tag) for e in retagged for t in e.client.tag_rows]
            if rows:
                await self._conn.copy_records_to_table(
                    "client_tags", columns=["tenant_id", "client_id", "tag"], records=rows
                )
        # Contact points as the domain left them (rows it kept keep their ids); the uniqueness of a value and
        # of the primary are checked at commit, so the rows are simply written again.
        repointed = [e for e, _ in updates if frozenset(_point_rows(e.client)) != e.points]
        if repointed:
            await self._conn.execute(
                "DELETE FROM client_contact_points WHERE tenant_id = $1 AND client_id IN (SELECT unnest($2::uuid[]))",
                repointed[0].client.tenant_id,
                [e.client.id for e in repointed],
            )
            points = [row for e in repointed for row in _point_rows(e.client)]
            if points:
                await self._conn.copy_records_to_table(
                    "client_contact_points", columns=list(POINT_COLUMNS), records=points
                )
            await _check_points_now(self._conn)
        await self._index_names([(e.client, e.words) for e, _ in updates])

    async def _index_names(self, clients: Sequence[tuple[Client, frozenset[str]]]) -> None:
        """The typo-tolerant search's words of these clients (and the tenant's keys of words new to it), as
        adapters/name_keys.py keeps them for the clients the repository writes: ``clients`` pairs each client
        with the words indexed for it before."""
        added: list[tuple[uuid.UUID, str]] = []
        removed: list[tuple[uuid.UUID, str]] = []
        for client, before in clients:
            now = indexed_words(client)
            added += [(client.id, w) for w in sorted(now - before)]
            removed += [(client.id, w) for w in sorted(before - now)]
        if not (added or removed):
            return
        tenant_id = clients[0][0].tenant_id
        if removed:
            await self._conn.execute(
                "DELETE FROM client_name_words WHERE tenant_id = $1"
                " AND (client_id, word) IN (SELECT * FROM unnest($2::uuid[], $3::text[]))",
                tenant_id,
                [c for c, _ in removed],
                [w for _, w in removed],
            )
        if added:
            await self._conn.execute(
                "INSERT INTO client_name_words (tenant_id, word, client_id)"
                " SELECT $1, w, c FROM unnest($2::text[], $3::uuid[]) AS n(w, c) ON CONFLICT DO NOTHING",
                tenant_id,
                [w for _, w in added],
                [c for c, _ in added],
            )
            # A word the tenant already knows has its keys: those change nothing (sorted: concurrent writers of
            # one tenant take the same order).
            pairs = sorted({(key, word) for word in {w for _, w in added} for key in word_keys(word)})
            await self._conn.execute(
                "INSERT INTO tenant_name_keys (tenant_id, key, word)"
                " SELECT $1, k, w FROM unnest($2::text[], $3::text[]) AS n(k, w) ON CONFLICT DO NOTHING",
                tenant_id,
                [k for k, _ in pairs],
                [w for _, w in pairs],
            )

    async def add_live_clients(self, tenant_id: uuid.UUID, count: int, max_clients: int) -> None:
        """Count ``count`` new live clients against the plan (the schema refuses going over it)."""
        if not count:
            return
        try:
            await self._conn.execute(
                "INSERT INTO tenant_client_counts AS c (tenant_id, live_clients, max_clients) VALUES ($1, $2, $3)"
                " ON CONFLICT (tenant_id) DO UPDATE SET live_clients = c.live_clients + $2, max_clients = $3",
                tenant_id,
                count,
                max_clients or None,
            )
        except asyncpg.CheckViolationError as exc:
            if exc.constraint_name != "tenant_client_counts_within_plan":
                raise
            live = await self._conn.fetchval(
                "SELECT live_clients FROM tenant_client_counts WHERE tenant_id = $1", tenant_id
            )
            raise FailedPrecondition(
                f"your plan allows {max_clients:,} active clients; {live:,} are active and this import adds"
                f" {count:,} more: delete some or upgrade the plan",
                reason="PLAN_CLIENT_LIMIT",
            ) from exc

    async def live_clients(self, tenant_id: uuid.UUID) -> int:
        value = await self._conn.fetchval(
            "SELECT live_clients FROM tenant_client_counts WHERE tenant_id = $1", tenant_id
        )
        return int(value or 0)

    async def add_events(self, events: Sequence[Any]) -> None:
        """The batch's events into the outbox in one COPY, through the outbox's own writer."""
        await copy_to_outbox(self._conn, self._prefix, [event_mapping.to_envelope(e) for e in events])

    async def refresh_statistics(self) -> int:
        """Why: every new contact point (and tag) is checked against clients by its foreign key, whose query each
        connection plans once and keeps until the table's statistics change. Planned while the statistics count
        (almost) no client of the tenant, the plan ties the primary key with the name index that also leads with
        tenant_id, may take the latter, and then reads all the tenant's clients per new row: each batch slower
        than the one before until autovacuum's analyse. An analyse replans it (on every connection) on what the
        table now holds. Its own short transaction: its lock then blocks no other import's analyse for a batch."""
        await self._conn.execute("ANALYZE clients")
        value = await self._conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = 'clients'::regclass")
        return max(int(value), 0)


async def _check_points_now(conn: asyncpg.Connection) -> None:
    """Check the contact points' deferred constraints now, not at commit: a refusal then belongs to the batch
    (or the row) being written, which the import rejects alone, instead of failing the transaction's commit."""
    await conn.execute("SET CONSTRAINTS client_contact_points_value_once, client_contact_points_one_primary IMMEDIATE")


def _counts_args(counts: Counts) -> tuple[int, ...]:
    return (counts.processed, counts.created, counts.updated, counts.unchanged, counts.skipped, counts.rejected)


def _values(client: Client, external_id: str | None, columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(external_id if name == "external_id" else getattr(client, name) for name in columns)


# A client as the import reads it back: what it writes (but the external id, which is no Client field) and its
# identity and lifecycle.
_CLIENT_FIELDS = (
    *(c for c in CLIENT_COLUMNS if c != "external_id"),
    "request_id",
    "deleted_at",
    "merged_into",
    "merged_at",
    "erased_at",
)


def _twin(row: asyncpg.Record) -> Client:
    client = DetachedClient(**{name: row[name] for name in _CLIENT_FIELDS})
    client.tag_rows = [DetachedTag(client.tenant_id, client.id, tag) for tag in row["tag_list"] or ()]
    return client


def _existing(client: Client, row: asyncpg.Record) -> ExistingClient:
    return ExistingClient(
        client,
        row["external_id"],
        tuple(t.tag for t in client.tag_rows),
        frozenset(_point_rows(client)),
        indexed_words(client),
    )


def _point_rows(client: Client) -> list[PointRow]:
    return [
        (p.tenant_id, p.id, p.client_id, p.kind, p.value, p.label, p.is_primary, p.position)
        for p in client.contact_points
    ]
