"""Importing clients from a file and exporting them: the use cases and the run over a file.

An import is a job: upload (the file's bytes stored as chunks in the client database), a dry run that
reads every row and reports its problems without writing anything, then the import itself. Dry runs and
imports run in the background on whichever replica claims the job (``entrypoints/import_worker.py``).

The import writes in batches of ``batch_rows``: each batch is one transaction holding its new clients (COPY),
its updates, its events in the outbox (one COPY) and the job's progress, so a run that stops resumes after
the last committed batch. All-or-nothing mode runs the whole file in one transaction: one bad row and it
rolls back, nothing written.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import functools
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg

from client_svc.adapters import event_mapping
from client_svc.adapters.import_files import detect_format, read_rows
from client_svc.adapters.import_store import Counts, DetachedClient, ExistingClient, ImportStore
from client_svc.domain.imports import (
    FIELD_KEYS,
    Candidate,
    Columns,
    Decision,
    ExtraColumn,
    FileIndex,
    ImportedRow,
    RowProblem,
    RowRejected,
    StatusLookup,
    apply_row,
    check_mapping,
    decide,
    new_client,
    read_options,
    read_row,
    suggest_mapping,
)
from client_svc.domain.model import Client
from client_svc.domain.statuses import ClientStatus
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from platform_core.ids import new_id

log = logging.getLogger(__name__)

MAX_FILENAME = 255
PROBLEMS_PAGE_MAX = 1000


class ColumnExtension(Protocol):
    """Columns beyond the client record's own fields (custom fields, secondary phones and emails).

    The hook for them: an implementation is passed to ``ImportService`` in ``bootstrap.py``. Its columns are
    offered in the mapping (``custom:<key>``), parsed per row (``ExtraColumn.parse``: a ValueError is a
    problem of that cell), compared with what ``load`` returns (an import that changes nothing writes
    nothing), stored with ``save`` in the batch's transaction, and written by the export.
    """

    async def columns(self, conn: asyncpg.Connection, tenant_id: uuid.UUID) -> Sequence[ExtraColumn]: ...

    async def load(
        self, conn: asyncpg.Connection, tenant_id: uuid.UUID, client_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, Any]]: ...

    async def save(
        self, conn: asyncpg.Connection, tenant_id: uuid.UUID, values: dict[uuid.UUID, dict[str, Any]]
    ) -> None: ...


@dataclass(frozen=True)
class ImportSettings:
    max_file_bytes: int = 50 * 1024 * 1024
    batch_rows: int = 1000
    tmp_dir: str | None = None
    lease_seconds: float = 60.0
    progress_seconds: float = 2.0
    max_attempts: int = 3
    retention_days: int = 30


@dataclass(frozen=True)
class JobView:
    job: asyncpg.Record
    suggested: list[str]
    extra: Sequence[ExtraColumn]


class LeaseLost(Exception):
    """Another replica took the job over (this one stalled past its lease): stop without writing."""


class _RolledBack(Exception):
    """An all-or-nothing import met a bad row: its transaction rolls back."""


class ImportService:
    def __init__(
        self,
        store: ImportStore,
        uow_factory: Callable[[], ClientUnitOfWork],
        settings: ImportSettings,
        *,
        extensions: Sequence[ColumnExtension] = (),
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self._uow_factory = uow_factory
        self.settings = settings
        self._extensions = extensions
        self.on_queued = on_queued

    # --- the use cases of the API ----------------------------------------------------------------------

    async def create(self, tenant_id: uuid.UUID, created_by: str, filename: str) -> asyncpg.Record:
        name = " ".join(filename.split())[-MAX_FILENAME:] or "clients.csv"
        file_format = "xlsx" if name.lower().endswith((".xlsx", ".xlsm")) else "csv"
        return await self.store.create_job(
            tenant_id, new_id(), created_by=created_by, filename=name, file_format=file_format, now=datetime.now(UTC)
        )

    async def append(self, tenant_id: uuid.UUID, job_id: uuid.UUID, seq: int, data: bytes) -> asyncpg.Record:
        if not data:
            raise InvalidArgument.single("data", "is empty")
        if seq < 0:
            raise InvalidArgument.single("seq", "must be 0 or more")
        job = await self.store.append_chunk(tenant_id, job_id, seq, data, max_bytes=self.settings.max_file_bytes)
        if job is None:
            raise NotFound("import not found")
        if job["status"] != "uploading":
            raise FailedPrecondition("the file of this import is already complete", reason="IMPORT_NOT_UPLOADING")
        return job

    async def finish_upload(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> JobView:
        """The file is complete: read its header row (and fail the import now if the file cannot be read)."""
        job = await self._job(tenant_id, job_id)
        if job["status"] != "uploading":
            raise FailedPrecondition("the file of this import is already complete", reason="IMPORT_NOT_UPLOADING")
        if job["file_chunks"] == 0:
            raise InvalidArgument.single("file", "is empty")
        try:
            head = await anext(aiter(self.store.chunks(tenant_id, job_id, 1)))
            file_format = detect_format(head, job["filename"])
            header = await self._header(tenant_id, job_id, file_format, job["file_chunks"])
        except InvalidArgument as exc:
            await self.store.fail_upload(tenant_id, job_id, exc.message, "BAD_FILE")
            raise
        updated = await self.store.set_uploaded(tenant_id, job_id, file_format=file_format, columns=header)
        if updated is None:
            raise FailedPrecondition("the file of this import is already complete", reason="IMPORT_NOT_UPLOADING")
        return await self._view(updated)

    async def _header(self, tenant_id: uuid.UUID, job_id: uuid.UUID, file_format: str, chunks: int) -> list[str]:
        rows = read_rows(self.store.chunks(tenant_id, job_id, chunks), file_format, tmp_dir=self.settings.tmp_dir)
        async with contextlib.aclosing(rows):
            async for _, cells in rows:
                return [cell.strip() for cell in cells]
        raise InvalidArgument.single("file", "the file is empty: the first row must name the columns")

    async def get(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> JobView:
        return await self._view(await self._job(tenant_id, job_id))

    async def dry_run(
        self,
        tenant_id: uuid.UUID,
        job_id: uuid.UUID,
        *,
        mapping: Sequence[str] | None,
        duplicates: str,
        all_or_nothing: bool,
        default_region: str,
        max_clients: int,
    ) -> JobView:
        """Check the mapping now; read every row in the background (nothing written)."""
        view = await self.get(tenant_id, job_id)
        job = view.job
        if job["status"] not in ("uploaded", "validated"):
            raise FailedPrecondition(
                f"a dry run needs an uploaded file (this import is {job['status']})", reason="IMPORT_NOT_READY"
            )
        headers = list(job["columns"])
        options = read_options(duplicates, all_or_nothing, default_region, max_clients)
        chosen = check_mapping(
            mapping if mapping else view.suggested, headers, view.extra, updating=options.duplicates == "update"
        )
        queued = await self.store.queue(
            tenant_id,
            job_id,
            status="validating",
            from_statuses=("uploaded", "validated"),
            mapping=chosen,
            duplicates=options.duplicates,
            all_or_nothing=options.all_or_nothing,
            default_region=options.default_region,
            max_clients=options.max_clients,
        )
        if queued is None:
            raise FailedPrecondition("the import changed meanwhile; reload it", reason="IMPORT_NOT_READY")
        self.on_queued()
        return await self._view(queued)

    async def start(self, tenant_id: uuid.UUID, job_id: uuid.UUID, *, max_clients: int) -> JobView:
        """Import what the dry run read, with its mapping and options."""
        job = await self._job(tenant_id, job_id)
        if job["status"] != "validated":
            raise FailedPrecondition(
                f"an import starts after its dry run (this import is {job['status']})", reason="IMPORT_NOT_VALIDATED"
            )
        if job["all_or_nothing"] and job["rejected_rows"]:
            raise FailedPrecondition(
                f"{job['rejected_rows']:,} rows have problems and the import is all-or-nothing: fix them first",
                reason="IMPORT_HAS_PROBLEMS",
            )
        if max_clients:
            async with self.store.connection() as conn:
                live = await self.store.live_clients(conn, tenant_id)
            if live + job["created_rows"] > max_clients:
                raise FailedPrecondition(_over_plan(max_clients, live, job["created_rows"]), reason="PLAN_CLIENT_LIMIT")
        queued = await self.store.queue(
            tenant_id, job_id, status="running", from_statuses=("validated",), max_clients=max_clients
        )
        if queued is None:
            raise FailedPrecondition("the import changed meanwhile; reload it", reason="IMPORT_NOT_VALIDATED")
        self.on_queued()
        return await self._view(queued)

    async def problems(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, *, after: int, limit: int
    ) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
        job = await self._job(tenant_id, job_id)
        rows = await self.store.problems_page(tenant_id, job_id, after=after, limit=min(limit, PROBLEMS_PAGE_MAX))
        return job, rows

    async def delete(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> None:
        status = await self.store.delete_job(tenant_id, job_id)
        if status is None:
            raise NotFound("import not found")
        if status in ("validating", "running"):
            raise FailedPrecondition("the import is running; wait until it ends", reason="IMPORT_RUNNING")

    async def extra_columns(self, tenant_id: uuid.UUID) -> list[ExtraColumn]:
        if not self._extensions:
            return []
        async with self.store.connection() as conn:
            return [c for ext in self._extensions for c in await ext.columns(conn, tenant_id)]

    async def extra_values(
        self, tenant_id: uuid.UUID, client_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, Any]]:
        values: dict[uuid.UUID, dict[str, Any]] = {}
        if not self._extensions or not client_ids:
            return values
        async with self.store.connection() as conn:
            for ext in self._extensions:
                for client_id, found in (await ext.load(conn, tenant_id, client_ids)).items():
                    values.setdefault(client_id, {}).update(found)
        return values

    async def _job(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> asyncpg.Record:
        job = await self.store.job(tenant_id, job_id)
        if job is None:
            raise NotFound("import not found")
        return job

    async def _view(self, job: asyncpg.Record) -> JobView:
        extra = await self.extra_columns(job["tenant_id"])
        return JobView(job, suggest_mapping(list(job["columns"]), extra), extra)

    # --- the run (background) --------------------------------------------------------------------------

    async def run(self, job: asyncpg.Record, owner: str) -> None:
        """Work on a claimed job until it is validated, completed or failed (or the lease is lost)."""
        if job["attempts"] > self.settings.max_attempts:
            async with self.store.connection() as conn:
                await self.store.finish(
                    conn,
                    job,
                    owner,
                    status="failed",
                    counts=_counts(job),
                    total_rows=None,
                    error=f"the import failed {self.settings.max_attempts} times; it was given up",
                    error_code="IMPORT_GAVE_UP",
                )
            return
        run = _Run(self, job, owner)
        await run.execute()


def _over_plan(max_clients: int, live: int, adding: int) -> str:
    return (
        f"your plan allows {max_clients:,} active clients; {live:,} are active and this import adds {adding:,}"
        " more: delete some or upgrade the plan"
    )


def _counts(job: asyncpg.Record) -> Counts:
    return Counts(
        job["processed_rows"],
        job["created_rows"],
        job["updated_rows"],
        job["unchanged_rows"],
        job["skipped_rows"],
        job["rejected_rows"],
    )


@dataclass
class _Batch:
    rows: list[ImportedRow] = field(default_factory=list)
    created: list[tuple[Client, str | None]] = field(default_factory=list)
    updated: list[tuple[ExistingClient, str | None]] = field(default_factory=list)
    extra: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)
    sources: dict[uuid.UUID, ImportedRow] = field(default_factory=dict)  # the row each client comes from
    problems: list[tuple[int, Sequence[str], Sequence[RowProblem]]] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)


class _Run:
    """One pass over a job's file: a dry run, a batched import or an all-or-nothing import."""

    def __init__(self, service: ImportService, job: asyncpg.Record, owner: str) -> None:
        self.service = service
        self.store = service.store
        self.settings = service.settings
        self.job = job
        self.owner = owner
        self.tenant_id: uuid.UUID = job["tenant_id"]
        self.dry = bool(job["dry_run"])
        self.atomic = bool(job["all_or_nothing"]) and not self.dry
        self.options = read_options(
            job["duplicates"], bool(job["all_or_nothing"]), job["default_region"], job["max_clients"]
        )
        # A batched import resumes after its last committed batch; the other kinds start over.
        self.resume_after = job["processed_rows"] if not self.dry and not self.atomic else 0
        self.counts = _counts(job) if self.resume_after else Counts()
        self.index = FileIndex()
        self.updated_by: dict[uuid.UUID, int] = {}  # client -> the row of this file that updates it
        self.failed_rows = 0  # all-or-nothing: once a row fails, the rest is only checked
        self.lost = asyncio.Event()

    async def execute(self) -> None:
        extra = await self.service.extra_columns(self.tenant_id)
        self.columns = Columns(tuple(self.job["columns"]), tuple(self.job["mapping"]), tuple(extra))
        self.default_status, self.statuses, self.status_by_id = await self._statuses()
        heartbeat = asyncio.create_task(self._heartbeat(), name=f"import-lease-{self.job['id']}")
        try:
            if self.resume_after == 0:
                async with self.store.connection() as conn, conn.transaction():
                    if not await self.store.holds(conn, self.job, self.owner):
                        raise LeaseLost()
                    await conn.execute(
                        "DELETE FROM import_problems WHERE tenant_id = $1 AND job_id = $2",
                        self.tenant_id,
                        self.job["id"],
                    )
            if self.atomic:
                await self._atomic()
            else:
                await self._batched()
        except LeaseLost:
            log.warning("import %s: lease lost to another replica; stopped", self.job["id"])
        except InvalidArgument as exc:
            # The file itself cannot be read further (bad bytes, broken quoting, a huge cell...).
            await self._finish("failed", error=exc.message, error_code="BAD_FILE")
        except DomainError as exc:
            await self._finish("failed", error=exc.message, error_code=exc.reason)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _statuses(self) -> tuple[ClientStatus, StatusLookup, dict[uuid.UUID, ClientStatus]]:
        uow = self.service._uow_factory()
        async with uow:
            catalogue = await uow.statuses.catalogue(self.tenant_id)
            await uow.commit()  # keeps the ready-made set if this was the first use
        return catalogue.default, StatusLookup(catalogue.statuses), {s.id: s for s in catalogue.statuses}

    async def _heartbeat(self) -> None:
        # Often enough for a progress bar; the lease is renewed each time as well.
        interval = min(self.settings.lease_seconds / 4, self.settings.progress_seconds)
        while True:
            await asyncio.sleep(interval)
            # A batched import commits its progress with each batch; the others show it here.
            progress = self.counts if (self.dry or self.atomic) else None
            try:
                held = await self.store.renew(
                    self.tenant_id, self.job["id"], self.owner, self.settings.lease_seconds, progress
                )
            except Exception:
                log.warning("import %s: lease renewal failed; retrying", self.job["id"], exc_info=True)
                continue
            if not held:
                self.lost.set()
                return

    async def _rows(self) -> AsyncIterator[ImportedRow]:
        """The file's data rows, read (after those a resumed import already did)."""
        chunks = self.store.chunks(self.tenant_id, self.job["id"], self.job["file_chunks"])
        rows = read_rows(chunks, self.job["format"], tmp_dir=self.settings.tmp_dir)
        seen = 0
        header = True
        async for number, cells in rows:
            if header:
                header = False
                continue
            seen += 1
            if seen <= self.resume_after:
                continue
            yield read_row(
                number,
                cells,
                self.columns,
                default_region=self.options.default_region,
                statuses=self.statuses,
            )

    async def _batches(self) -> AsyncIterator[list[ImportedRow]]:
        batch: list[ImportedRow] = []
        async for row in self._rows():
            batch.append(row)
            if len(batch) >= self.settings.batch_rows:
                yield batch
                batch = []
        if batch:
            yield batch

    def _check_lease(self) -> None:
        if self.lost.is_set():
            raise LeaseLost()

    async def _batched(self) -> None:
        """Dry run (nothing written, problems kept as found) or import, one transaction per batch."""
        async for rows in self._batches():
            self._check_lease()
            async with self.store.connection() as conn:
                if self.dry:
                    batch = await self._judge(conn, rows, lock=False)
                    await self._keep_problems(conn, batch.problems)
                    self.counts += batch.counts
                    continue
                async with conn.transaction():
                    batch = await self._judge(conn, rows, lock=True)
                    await self._write_batch(conn, batch, quota=True)
                    if not await self.store.record_batch(
                        conn, self.job, self.owner, self.counts + batch.counts, batch.problems
                    ):
                        raise LeaseLost()
                self.counts += batch.counts
        if self.dry:
            await self._finish_dry_run()
        else:
            await self._finish("completed")

    async def _keep_problems(
        self, conn: asyncpg.Connection, problems: list[tuple[int, Sequence[str], Sequence[RowProblem]]]
    ) -> None:
        """Rejected rows, committed now (a dry run and an all-or-nothing import commit nothing else)."""
        if not problems:
            return
        async with conn.transaction():
            if not await self.store.holds(conn, self.job, self.owner):
                raise LeaseLost()
            await self.store.add_problems(conn, self.tenant_id, self.job["id"], problems)

    async def _finish_dry_run(self) -> None:
        error = code = None
        if self.options.max_clients and self.counts.created:
            async with self.store.connection() as conn:
                live = await self.store.live_clients(conn, self.tenant_id)
            if live + self.counts.created > self.options.max_clients:
                error, code = _over_plan(self.options.max_clients, live, self.counts.created), "PLAN_CLIENT_LIMIT"
        await self._finish("validated", error=error, error_code=code)

    async def _atomic(self) -> None:
        """The whole file in one transaction: the first bad row stops the writing, the rest is still checked
        (so every problem is reported at once), and the transaction rolls back."""
        async with self.store.connection() as conn, self.store.connection() as side:
            try:
                async with conn.transaction():
                    created = 0
                    async for rows in self._batches():
                        self._check_lease()
                        batch = await self._judge(conn, rows, lock=not self.failed_rows)
                        self.counts += batch.counts
                        if batch.problems:
                            self.failed_rows += len(batch.problems)
                            # Kept whatever happens to the transaction: they are what the user must fix.
                            await self._keep_problems(side, batch.problems)
                        if not self.failed_rows:
                            await self._write_batch(conn, batch, quota=False)
                            created += len(batch.created)
                            if batch.problems:  # rows the database refused
                                self.failed_rows += len(batch.problems)
                                await self._keep_problems(side, batch.problems)
                    if self.failed_rows:
                        raise _RolledBack()
                    await self.store.add_live_clients(conn, self.tenant_id, created, self.options.max_clients)
                    if not await self.store.finish(
                        conn,
                        self.job,
                        self.owner,
                        status="completed",
                        counts=self.counts,
                        total_rows=self.counts.processed,
                    ):
                        raise LeaseLost()
            except _RolledBack:
                await self._finish(
                    "failed",
                    error=f"{self.failed_rows:,} rows have problems; the import is all-or-nothing, so nothing was"
                    " imported",
                    error_code="IMPORT_REJECTED",
                    nothing_written=True,
                )

    async def _judge(self, conn: asyncpg.Connection, rows: list[ImportedRow], *, lock: bool) -> _Batch:
        """Decide every row of a batch against the clients it may be about; nothing written yet."""
        batch = _Batch(rows=rows)
        keys: dict[str, set[Any]] = {"id": set(), "external_id": set(), "email": set(), "phone": set()}
        for row in rows:
            if not row.problems:
                for kind, value in row.match_keys():
                    keys[kind].add(uuid.UUID(value) if kind == "id" else value)
        existing = await self.store.candidates(
            conn,
            self.tenant_id,
            ids=sorted(keys["id"]),
            external_ids=sorted(keys["external_id"]),
            emails=sorted(keys["email"]),
            phones=sorted(keys["phone"]),
            lock=lock,
        )
        by_id = {e.client.id: e for e in existing}
        by_external = {e.external_id: e for e in existing if e.external_id}
        by_email: dict[str, ExistingClient] = {}
        by_phone: dict[str, ExistingClient] = {}
        for e in sorted(existing, key=lambda e: e.client.id):  # the oldest client first
            if not e.client.is_deleted and e.client.merged_into is None:  # a merged-away one is its survivor now
                if e.client.email:
                    by_email.setdefault(e.client.email.lower(), e)
                if e.client.phone:
                    by_phone.setdefault(e.client.phone, e)
        current_extra = (
            await self.service.extra_values(self.tenant_id, list(by_id)) if self.columns.extra_by_key else {}
        )
        now = datetime.now(UTC)
        processed = created = updated = unchanged = skipped = rejected = 0
        for row in rows:
            processed += 1
            try:
                decision = self.index.check(row, self.options.duplicates, self.columns) or decide(
                    row,
                    self.options.duplicates,
                    by_id=_candidate(by_id.get(row.client_id) if row.client_id else None),
                    by_external_id=_candidate(by_external.get(row.external_id) if row.external_id else None),
                    by_email=_candidate(by_email.get(row.email.lower()) if row.email else None),
                    by_phone=_candidate(by_phone.get(row.phone) if row.phone else None),
                    columns=self.columns,
                )
                if decision.action == "skip":
                    if row.problems:
                        raise RowRejected(row.problems)
                    skipped += 1
                elif decision.action == "create":
                    client = new_client(
                        row,
                        self.columns,
                        tenant_id=self.tenant_id,
                        client_id=new_id(),
                        default_status=self.default_status,
                        default_region=self.options.default_region,
                        now=now,
                        client_type=DetachedClient,
                    )
                    batch.created.append((client, row.external_id))
                    batch.sources[client.id] = row
                    batch.events.extend(client.events)
                    client.events.clear()
                    if row.extra:
                        batch.extra[client.id] = dict(row.extra)
                    created += 1
                else:
                    changed = self._update(row, by_id[_target(decision)], current_extra, batch, now)
                    if changed:
                        updated += 1
                    else:
                        unchanged += 1
            except RowRejected as exc:
                batch.problems.append((row.number, row.cells, exc.problems))
                rejected += 1
                continue
            self.index.remember(row)
        batch.counts = Counts(processed, created, updated, unchanged, skipped, rejected)
        return batch

    def _update(
        self,
        row: ImportedRow,
        existing: ExistingClient,
        current_extra: dict[uuid.UUID, dict[str, Any]],
        batch: _Batch,
        now: datetime,
    ) -> bool:
        # A copy: a row rejected half way leaves the client as it was for the rows after it.
        client = copy.copy(existing.client)
        client.tag_rows = list(existing.client.tag_rows)
        client.contact_points = [copy.copy(p) for p in existing.client.contact_points]  # the domain edits them
        client.contact_persons = list(existing.client.contact_persons)
        client.events = []
        earlier = self.updated_by.get(client.id)
        if earlier is not None:
            raise RowRejected(
                [RowProblem(row.key_column(self.columns), f"row {earlier} of this file already updates this client")]
            )
        previous = self.status_by_id.get(client.status_id) if client.status_id else None
        apply_row(
            client,
            row,
            self.columns,
            previous_status=previous,
            default_region=self.options.default_region,
            now=now,
        )
        self.updated_by[client.id] = row.number
        external_id = row.external_id or existing.external_id
        extra = current_extra.get(client.id, {})
        extra_changed = {k: v for k, v in row.extra.items() if extra.get(k) != v}
        if extra_changed:
            client.note_custom_values_changed(now=now)
        changed = bool(client.events) or external_id != existing.external_id or bool(extra_changed)
        if changed:
            if not client.events:
                client.updated_at = max(now, client.created_at)
            batch.updated.append((dataclasses.replace(existing, client=client), external_id))
            batch.sources[client.id] = row
            batch.events.extend(client.events)
            client.events.clear()
            if extra_changed:
                batch.extra[client.id] = extra_changed
        return changed

    async def _write_batch(self, conn: asyncpg.Connection, batch: _Batch, *, quota: bool) -> None:
        """The batch at once; if the database refuses it (a row the client rules accept but the schema does not,
        a clash with a concurrent write), row by row, each in its own savepoint, rejecting the rows refused."""
        try:
            async with conn.transaction():
                await self._write(conn, batch, quota=quota)
        except asyncpg.IntegrityConstraintViolationError:
            log.warning("import %s: a batch was refused; writing it row by row", self.job["id"], exc_info=True)
        else:
            return
        refused: set[uuid.UUID] = set()
        for client, external_id in batch.created:
            if not await self._write_one(
                conn, batch, client.id, functools.partial(self.store.insert_clients, conn, [(client, external_id)])
            ):
                refused.add(client.id)
        for existing, external_id in batch.updated:
            if not await self._write_one(
                conn,
                batch,
                existing.client.id,
                functools.partial(self.store.update_clients, conn, [(existing, external_id)]),
            ):
                refused.add(existing.client.id)
        created = [c for c in batch.created if c[0].id not in refused]
        updated = [u for u in batch.updated if u[0].client.id not in refused]
        batch.counts = Counts(
            batch.counts.processed,
            len(created),
            len(updated),
            batch.counts.unchanged,
            batch.counts.skipped,
            batch.counts.rejected + len(refused),
        )
        batch.created, batch.updated = created, updated
        batch.events = [e for e in batch.events if e.client_id not in refused]
        if quota:
            await self.store.add_live_clients(conn, self.tenant_id, len(created), self.options.max_clients)
        await self.store.add_events(conn, [event_mapping.to_envelope(e) for e in batch.events])

    async def _write_one(
        self, conn: asyncpg.Connection, batch: _Batch, client_id: uuid.UUID, write: Callable[[], Awaitable[None]]
    ) -> bool:
        row = batch.sources[client_id]
        try:
            async with conn.transaction():
                await write()
                if client_id in batch.extra:
                    for extension in self.service._extensions:
                        await extension.save(conn, self.tenant_id, {client_id: batch.extra[client_id]})
        except asyncpg.IntegrityConstraintViolationError as exc:
            batch.problems.append((row.number, row.cells, [_refused(exc, self.columns)]))
            return False
        return True

    async def _write(self, conn: asyncpg.Connection, batch: _Batch, *, quota: bool) -> None:
        await self.store.insert_clients(conn, batch.created)
        await self.store.update_clients(conn, batch.updated)
        if quota:
            await self.store.add_live_clients(conn, self.tenant_id, len(batch.created), self.options.max_clients)
        for extension in self.service._extensions:
            if batch.extra:
                await extension.save(conn, self.tenant_id, batch.extra)
        await self.store.add_events(conn, [event_mapping.to_envelope(e) for e in batch.events])

    async def _finish(
        self, status: str, *, error: str | None = None, error_code: str | None = None, nothing_written: bool = False
    ) -> None:
        counts = self.counts
        if nothing_written:
            # The good rows were not imported either: they count as skipped, none as created or updated.
            counts = Counts(counts.processed, skipped=counts.processed - counts.rejected, rejected=counts.rejected)
        async with self.store.connection() as conn, conn.transaction():
            if not await self.store.finish(
                conn,
                self.job,
                self.owner,
                status=status,
                counts=counts,
                total_rows=self.counts.processed if status != "failed" or self.dry else None,
                error=error,
                error_code=error_code,
            ):
                raise LeaseLost()


def _refused(exc: asyncpg.IntegrityConstraintViolationError, columns: Columns) -> RowProblem:
    """A database refusal as a row problem, naming the column when the constraint's name does."""
    constraint = getattr(exc, "constraint_name", None) or ""
    for key in (*FIELD_KEYS, "external_id"):
        if constraint.startswith(f"clients_{key}"):
            return RowProblem(columns.header_of(key), f"refused by the database ({constraint})")
    return RowProblem("", f"refused by the database ({constraint or type(exc).__name__})")


def _candidate(existing: ExistingClient | None) -> Candidate | None:
    if existing is None:
        return None
    client = existing.client
    return Candidate(client.id, existing.external_id, client.is_deleted, merged_into=client.merged_into)


def _target(decision: Decision) -> uuid.UUID:
    assert decision.target is not None
    return decision.target
