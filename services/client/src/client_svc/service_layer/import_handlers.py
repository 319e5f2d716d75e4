"""Importing clients from a file, and the extra columns of the export: the use cases and the run over a file.

An import is a job: upload (the file's bytes stored as chunks in the client database), a dry run that
reads every row and reports its problems without writing anything, then the import itself. Dry runs and
imports run in the background on whichever replica claims the job (``entrypoints/import_worker.py``).

The import writes in batches of ``batch_rows``: each batch is one transaction holding its new clients (COPY),
its updates, its events in the outbox (one COPY) and the job's progress, so a run that stops resumes after
the last committed batch. All-or-nothing mode runs the whole file in one transaction: one bad row and it
rolls back, nothing written. Every use case is ``handler(cmd, uow)`` on an ``ImportUnitOfWork``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import functools
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from client_svc.adapters.contact_checks import ContactResults
from client_svc.adapters.import_files import ROWS_PER_SLICE, detect_format, read_rows
from client_svc.adapters.import_store import Counts, DetachedClient, ExistingClient, Problems, WriteRefused
from client_svc.domain import commands_imports
from client_svc.domain.contact import ContactError, normalize_region
from client_svc.domain.imports import (
    FIELD_KEYS,
    Candidate,
    Columns,
    Decision,
    ExtraColumn,
    FileIndex,
    ImportedRow,
    JobRow,
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
from client_svc.service_layer.import_unit_of_work import ImportUnitOfWork
from platform_core.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from platform_core.ids import new_id

log = logging.getLogger(__name__)

MAX_FILENAME = 255
PROBLEMS_PAGE_MAX = 1000


@dataclass(frozen=True)
class JobView:
    job: JobRow
    suggested: list[str]
    extra: Sequence[ExtraColumn]


class LeaseLost(Exception):
    """Another replica took the job over (this one stalled past its lease): stop without writing."""


class _RolledBack(Exception):
    """An all-or-nothing import met a bad row: its transaction rolls back."""


# --- the use cases of the API ------------------------------------------------------------------------------


async def create_import(cmd: commands_imports.CreateImport, uow: ImportUnitOfWork) -> JobView:
    name = " ".join(cmd.filename.split())[-MAX_FILENAME:] or "clients.csv"
    file_format = "xlsx" if name.lower().endswith((".xlsx", ".xlsm")) else "csv"
    async with uow:
        job = await uow.imports.create_job(
            cmd.tenant_id, new_id(), created_by=cmd.created_by, filename=name, file_format=file_format, now=cmd.now
        )
        return await _view(uow, job)


async def append_import_chunk(cmd: commands_imports.AppendImportChunk, uow: ImportUnitOfWork) -> JobRow:
    """The job's status, file_bytes and file_chunks after the chunk."""
    if not cmd.data:
        raise InvalidArgument.single("data", "is empty")
    if cmd.seq < 0:
        raise InvalidArgument.single("seq", "must be 0 or more")
    async with uow:
        job = await uow.imports.append_chunk(
            cmd.tenant_id, cmd.import_id, cmd.seq, cmd.data, max_bytes=uow.settings.max_file_bytes
        )
    if job is None:
        raise NotFound("import not found")
    if job["status"] != "uploading":
        raise FailedPrecondition("the file of this import is already complete", reason="IMPORT_NOT_UPLOADING")
    return job


async def finish_import_upload(cmd: commands_imports.FinishImportUpload, uow: ImportUnitOfWork) -> JobView:
    """The file is complete: read its header row (and fail the import now if the file cannot be read)."""
    tenant_id, job_id = cmd.tenant_id, cmd.import_id
    async with uow:
        job = await _job(uow, tenant_id, job_id)
    if job["status"] != "uploading":
        raise FailedPrecondition("the file of this import is already complete", reason="IMPORT_NOT_UPLOADING")
    if job["file_chunks"] == 0:
        raise InvalidArgument.single("file", "is empty")
    try:
        head = await anext(aiter(_chunks(uow, tenant_id, job_id, 1)))
        file_format = detect_format(head, job["filename"])
        header = await _header(uow, tenant_id, job_id, file_format, job["file_chunks"])
    except InvalidArgument as exc:
        async with uow:
            await uow.imports.fail_upload(tenant_id, job_id, exc.message, "BAD_FILE")
        raise
    async with uow:
        updated = await uow.imports.set_uploaded(tenant_id, job_id, file_format=file_format, columns=header)
        if updated is None:
            raise FailedPrecondition("the file of this import is already complete", reason="IMPORT_NOT_UPLOADING")
        return await _view(uow, updated)


async def get_import(cmd: commands_imports.GetImport, uow: ImportUnitOfWork) -> JobView:
    async with uow:
        return await _view(uow, await _job(uow, cmd.tenant_id, cmd.import_id))


async def dry_run_import(cmd: commands_imports.DryRunImport, uow: ImportUnitOfWork) -> JobView:
    """Check the mapping now; read every row in the background (nothing written)."""
    async with uow:
        view = await _view(uow, await _job(uow, cmd.tenant_id, cmd.import_id))
        job = view.job
        if job["status"] not in ("uploaded", "validated"):
            raise FailedPrecondition(
                f"a dry run needs an uploaded file (this import is {job['status']})", reason="IMPORT_NOT_READY"
            )
        headers = list(job["columns"])
        options = read_options(cmd.duplicates, cmd.all_or_nothing, cmd.default_region, cmd.max_clients)
        chosen = check_mapping(
            cmd.mapping if cmd.mapping else view.suggested, headers, view.extra, updating=options.duplicates == "update"
        )
        queued = await uow.imports.queue(
            cmd.tenant_id,
            cmd.import_id,
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
        uow.queued()
        return await _view(uow, queued)


async def start_import(cmd: commands_imports.StartImport, uow: ImportUnitOfWork) -> JobView:
    """Import what the dry run read, with its mapping and options."""
    async with uow:
        job = await _job(uow, cmd.tenant_id, cmd.import_id)
        if job["status"] != "validated":
            raise FailedPrecondition(
                f"an import starts after its dry run (this import is {job['status']})", reason="IMPORT_NOT_VALIDATED"
            )
        if job["all_or_nothing"] and job["rejected_rows"]:
            raise FailedPrecondition(
                f"{job['rejected_rows']:,} rows have problems and the import is all-or-nothing: fix them first",
                reason="IMPORT_HAS_PROBLEMS",
            )
        if cmd.max_clients:
            live = await uow.imports.live_clients(cmd.tenant_id)
            if live + job["created_rows"] > cmd.max_clients:
                raise FailedPrecondition(
                    _over_plan(cmd.max_clients, live, job["created_rows"]), reason="PLAN_CLIENT_LIMIT"
                )
        queued = await uow.imports.queue(
            cmd.tenant_id, cmd.import_id, status="running", from_statuses=("validated",), max_clients=cmd.max_clients
        )
        if queued is None:
            raise FailedPrecondition("the import changed meanwhile; reload it", reason="IMPORT_NOT_VALIDATED")
        uow.queued()
        return await _view(uow, queued)


async def list_import_problems(
    cmd: commands_imports.ListImportProblems, uow: ImportUnitOfWork
) -> tuple[JobRow, list[JobRow]]:
    """The job and a page of its rejected rows (row_number, cells, problems)."""
    async with uow:
        job = await _job(uow, cmd.tenant_id, cmd.import_id)
        rows = await uow.imports.problems_page(
            cmd.tenant_id, cmd.import_id, after=cmd.after, limit=min(cmd.limit, PROBLEMS_PAGE_MAX)
        )
    return job, rows


async def delete_import(cmd: commands_imports.DeleteImport, uow: ImportUnitOfWork) -> None:
    async with uow:
        status = await uow.imports.delete_job(cmd.tenant_id, cmd.import_id)
    if status is None:
        raise NotFound("import not found")
    if status in ("validating", "running"):
        raise FailedPrecondition("the import is running; wait until it ends", reason="IMPORT_RUNNING")


async def list_extra_columns(cmd: commands_imports.ListExtraColumns, uow: ImportUnitOfWork) -> list[ExtraColumn]:
    async with uow:
        return await _extra_columns(uow, cmd.tenant_id)


async def load_extra_values(
    cmd: commands_imports.LoadExtraValues, uow: ImportUnitOfWork
) -> dict[uuid.UUID, dict[str, Any]]:
    if not cmd.client_ids:
        return {}
    async with uow:
        return await _extra_values(uow, cmd.tenant_id, cmd.client_ids)


# --- the workers' use cases --------------------------------------------------------------------------------


async def claim_import(cmd: commands_imports.ClaimImport, uow: ImportUnitOfWork) -> JobRow | None:
    async with uow:
        return await uow.imports.claim(cmd.owner, uow.settings.lease_seconds)


async def release_imports(cmd: commands_imports.ReleaseImports, uow: ImportUnitOfWork) -> None:
    async with uow:
        await uow.imports.release(cmd.owner)


async def purge_imports(cmd: commands_imports.PurgeImports, uow: ImportUnitOfWork) -> int:
    async with uow:
        return await uow.imports.purge(uow.settings.retention_days)


async def run_import(cmd: commands_imports.RunImport, uow: ImportUnitOfWork) -> None:
    """Work on a claimed job until it is validated, completed or failed (or the lease is lost)."""
    job, settings = cmd.job, uow.settings
    if job["attempts"] > settings.max_attempts:
        async with uow:
            await uow.imports.finish(
                job,
                cmd.owner,
                status="failed",
                counts=_counts(job),
                total_rows=None,
                error=f"the import failed {settings.max_attempts} times; it was given up",
                error_code="IMPORT_GAVE_UP",
            )
        return
    await _Run(uow, job, cmd.owner).execute()


# --- what the use cases share ------------------------------------------------------------------------------


async def _job(uow: ImportUnitOfWork, tenant_id: uuid.UUID, job_id: uuid.UUID) -> JobRow:
    job = await uow.imports.job(tenant_id, job_id)
    if job is None:
        raise NotFound("import not found")
    return job


async def _view(uow: ImportUnitOfWork, job: JobRow) -> JobView:
    extra = await _extra_columns(uow, job["tenant_id"])
    return JobView(job, suggest_mapping(list(job["columns"]), extra), extra)


async def _extra_columns(uow: ImportUnitOfWork, tenant_id: uuid.UUID) -> list[ExtraColumn]:
    return [c for ext in uow.extensions for c in await ext.columns(tenant_id)]


async def _extra_values(
    uow: ImportUnitOfWork, tenant_id: uuid.UUID, client_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    values: dict[uuid.UUID, dict[str, Any]] = {}
    for ext in uow.extensions:
        for client_id, found in (await ext.load(tenant_id, client_ids)).items():
            values.setdefault(client_id, {}).update(found)
    return values


async def _chunks(uow: ImportUnitOfWork, tenant_id: uuid.UUID, job_id: uuid.UUID, count: int) -> AsyncIterator[bytes]:
    """The file's bytes, one stored chunk at a time, each read on a connection of its own (never the whole file;
    beside whatever transaction the caller holds)."""
    reader = uow.independent()
    for seq in range(count):
        async with reader:
            data = await reader.imports.chunk(tenant_id, job_id, seq)
        if data is None:
            raise FailedPrecondition("the uploaded file is gone", reason="IMPORT_FILE_GONE")
        yield data


async def _header(
    uow: ImportUnitOfWork, tenant_id: uuid.UUID, job_id: uuid.UUID, file_format: str, chunks: int
) -> list[str]:
    rows = read_rows(_chunks(uow, tenant_id, job_id, chunks), file_format, tmp_dir=uow.settings.tmp_dir)
    async with contextlib.aclosing(rows):
        async for _, cells in rows:
            return [cell.strip() for cell in cells]
    raise InvalidArgument.single("file", "the file is empty: the first row must name the columns")


def _over_plan(max_clients: int, live: int, adding: int) -> str:
    return (
        f"your plan allows {max_clients:,} active clients; {live:,} are active and this import adds {adding:,}"
        " more: delete some or upgrade the plan"
    )


def _counts(job: JobRow) -> Counts:
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

    def __init__(self, uow: ImportUnitOfWork, job: JobRow, owner: str) -> None:
        self.uow = uow
        self.settings = uow.settings
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
        uow = self.uow
        async with uow:
            extra = await _extra_columns(uow, self.tenant_id)
        self.columns = Columns(tuple(self.job["columns"]), tuple(self.job["mapping"]), tuple(extra))
        catalogue = await uow.status_catalogue(self.tenant_id)
        self.default_status = catalogue.default
        self.statuses = StatusLookup(catalogue.statuses)
        self.status_by_id = {s.id: s for s in catalogue.statuses}
        heartbeat = asyncio.create_task(self._heartbeat(), name=f"import-lease-{self.job['id']}")
        try:
            if self.resume_after == 0:
                async with uow, uow.transaction():
                    if not await uow.imports.holds(self.job, self.owner):
                        raise LeaseLost()
                    await uow.imports.clear_problems(self.tenant_id, self.job["id"])
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

    async def _heartbeat(self) -> None:
        # Often enough for a progress bar; the lease is renewed each time as well (on a connection of its own).
        interval = min(self.settings.lease_seconds / 4, self.settings.progress_seconds)
        beside = self.uow.independent()
        while True:
            await asyncio.sleep(interval)
            # A batched import commits its progress with each batch; the others show it here.
            progress = self.counts if (self.dry or self.atomic) else None
            try:
                async with beside:
                    held = await beside.imports.renew(
                        self.tenant_id, self.job["id"], self.owner, self.settings.lease_seconds, progress
                    )
            except Exception:
                log.warning("import %s: lease renewal failed; retrying", self.job["id"], exc_info=True)
                continue
            if not held:
                self.lost.set()
                return

    async def _raw_batches(self) -> AsyncGenerator[list[tuple[int, list[str]]], None]:
        """The file's data rows as cells, a batch at a time (after those a resumed import already did)."""
        chunks = _chunks(self.uow, self.tenant_id, self.job["id"], self.job["file_chunks"])
        rows = read_rows(chunks, self.job["format"], tmp_dir=self.settings.tmp_dir)
        seen = 0
        header = True
        batch: list[tuple[int, list[str]]] = []
        async with contextlib.aclosing(rows):
            async for number, cells in rows:
                if header:
                    header = False
                    continue
                seen += 1
                if seen <= self.resume_after:
                    continue
                batch.append((number, cells))
                if len(batch) >= self.settings.batch_rows:
                    yield batch
                    batch = []
        if batch:
            yield batch

    async def _batches(self) -> AsyncGenerator[list[ImportedRow], None]:
        """The rows, read, a batch at a time. The emails and phones of the next batch are checked (on other cores)
        while this one is judged and written; a file that breaks further on still has the batches before it."""
        raw_batches = self._raw_batches()
        ahead: tuple[list[tuple[int, list[str]]], asyncio.Future[ContactResults]] | None = None
        try:
            while True:
                try:
                    raw = await anext(raw_batches)
                except StopAsyncIteration:
                    break
                except Exception:
                    if ahead is not None:
                        yield await self._read(*ahead)
                        ahead = None
                    raise
                checking = asyncio.ensure_future(self._check_contacts(raw))
                if ahead is not None:
                    yield await self._read(*ahead)
                ahead = (raw, checking)
            if ahead is not None:
                yield await self._read(*ahead)
                ahead = None
        finally:
            if ahead is not None:
                ahead[1].cancel()
            await raw_batches.aclose()

    def _check_contacts(self, raw: list[tuple[int, list[str]]]) -> Awaitable[ContactResults]:
        """The batch's distinct emails and phones, to be checked ahead (as read_row and the client rules ask)."""
        region = self.options.default_region or None
        regions = [region]
        with contextlib.suppress(ContactError):
            if (rules_region := normalize_region(self.options.default_region)) != region:
                regions.append(rules_region)  # the client rules read the region normalized
        emails: dict[str, None] = {}
        phones: dict[tuple[str, str | None], None] = {}
        for _, cells in raw:
            values = self.columns.values(cells)
            if email := values.get("email"):
                emails[email] = None
            if phone := values.get("phone"):
                for r in regions:
                    phones[(phone, r)] = None
        return self.uow.contact_checks.check(list(emails), list(phones))

    async def _read(
        self, raw: list[tuple[int, list[str]]], checking: asyncio.Future[ContactResults]
    ) -> list[ImportedRow]:
        (await checking).learn()
        rows = []
        for i, (number, cells) in enumerate(raw, 1):
            rows.append(
                read_row(
                    number,
                    cells,
                    self.columns,
                    default_region=self.options.default_region,
                    statuses=self.statuses,
                )
            )
            if i % ROWS_PER_SLICE == 0:
                await asyncio.sleep(0)  # the event loop serves others between slices
        return rows

    def _check_lease(self) -> None:
        if self.lost.is_set():
            raise LeaseLost()

    async def _batched(self) -> None:
        """Dry run (nothing written, problems kept as found) or import, one transaction per batch."""
        uow = self.uow
        # New clients since the statistics were last refreshed, and how many make them stale: the first batch's
        # (the tenant the stored plans saw has just changed), then as many as the statistics counted.
        grown, stale_at = 0, 1
        async with contextlib.aclosing(self._batches()) as batches:
            async for rows in batches:
                self._check_lease()
                async with uow:
                    if self.dry:
                        batch = await self._judge(uow, rows, lock=False)
                        await self._keep_problems(uow, batch.problems)
                        self.counts += batch.counts
                        continue
                    async with uow.transaction():
                        batch = await self._judge(uow, rows, lock=True)
                        await self._write_batch(uow, batch, quota=True)
                        if not await uow.imports.record_batch(
                            self.job, self.owner, self.counts + batch.counts, batch.problems
                        ):
                            raise LeaseLost()
                    self.counts += batch.counts
                    grown += batch.counts.created
                    if grown >= stale_at:  # a handful of analyses, however big the file
                        stale_at, grown = max(await uow.imports.refresh_statistics(), 1), 0
        if self.dry:
            await self._finish_dry_run()
        else:
            await self._finish("completed")

    async def _keep_problems(self, uow: ImportUnitOfWork, problems: Problems) -> None:
        """Rejected rows, committed now (a dry run and an all-or-nothing import commit nothing else)."""
        if not problems:
            return
        async with uow.transaction():
            if not await uow.imports.holds(self.job, self.owner):
                raise LeaseLost()
            await uow.imports.add_problems(self.tenant_id, self.job["id"], problems)

    async def _finish_dry_run(self) -> None:
        error = code = None
        if self.options.max_clients and self.counts.created:
            async with self.uow:
                live = await self.uow.imports.live_clients(self.tenant_id)
            if live + self.counts.created > self.options.max_clients:
                error, code = _over_plan(self.options.max_clients, live, self.counts.created), "PLAN_CLIENT_LIMIT"
        await self._finish("validated", error=error, error_code=code)

    async def _atomic(self) -> None:
        """The whole file in one transaction: the first bad row stops the writing, the rest is still checked
        (so every problem is reported at once), and the transaction rolls back."""
        uow, side = self.uow, self.uow.independent()
        try:
            async with uow, side, uow.transaction(), contextlib.aclosing(self._batches()) as batches:
                created = 0
                async for rows in batches:
                    self._check_lease()
                    batch = await self._judge(uow, rows, lock=not self.failed_rows)
                    self.counts += batch.counts
                    if batch.problems:
                        self.failed_rows += len(batch.problems)
                        # Kept whatever happens to the transaction: they are what the user must fix.
                        await self._keep_problems(side, batch.problems)
                    if not self.failed_rows:
                        await self._write_batch(uow, batch, quota=False)
                        created += len(batch.created)
                        if batch.problems:  # rows the database refused
                            self.failed_rows += len(batch.problems)
                            await self._keep_problems(side, batch.problems)
                if self.failed_rows:
                    raise _RolledBack()
                await uow.imports.add_live_clients(self.tenant_id, created, self.options.max_clients)
                if not await uow.imports.finish(
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
                error=f"{self.failed_rows:,} rows have problems; the import is all-or-nothing, so nothing was imported",
                error_code="IMPORT_REJECTED",
                nothing_written=True,
            )

    async def _judge(self, uow: ImportUnitOfWork, rows: list[ImportedRow], *, lock: bool) -> _Batch:
        """Decide every row of a batch against the clients it may be about; nothing written yet."""
        batch = _Batch(rows=rows)
        keys: dict[str, set[Any]] = {"id": set(), "external_id": set(), "email": set(), "phone": set()}
        for row in rows:
            if not row.problems:
                for kind, value in row.match_keys():
                    keys[kind].add(uuid.UUID(value) if kind == "id" else value)
        existing = await uow.imports.candidates(
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
            await _extra_values(uow, self.tenant_id, list(by_id)) if self.columns.extra_by_key and by_id else {}
        )
        now = uow.now()
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

    async def _write_batch(self, uow: ImportUnitOfWork, batch: _Batch, *, quota: bool) -> None:
        """The batch at once; if the database refuses it (a row the client rules accept but the schema does not,
        a clash with a concurrent write), row by row, each in its own savepoint, rejecting the rows refused."""
        try:
            async with uow.transaction():
                await self._write(uow, batch, quota=quota)
        except WriteRefused:
            log.warning("import %s: a batch was refused; writing it row by row", self.job["id"], exc_info=True)
        else:
            return
        refused: set[uuid.UUID] = set()
        for client, external_id in batch.created:
            if not await self._write_one(
                uow, batch, client.id, functools.partial(uow.imports.insert_clients, [(client, external_id)])
            ):
                refused.add(client.id)
        for existing, external_id in batch.updated:
            if not await self._write_one(
                uow,
                batch,
                existing.client.id,
                functools.partial(uow.imports.update_clients, [(existing, external_id)]),
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
            await uow.imports.add_live_clients(self.tenant_id, len(created), self.options.max_clients)
        await uow.imports.add_events(batch.events)

    async def _write_one(
        self, uow: ImportUnitOfWork, batch: _Batch, client_id: uuid.UUID, write: Callable[[], Awaitable[None]]
    ) -> bool:
        row = batch.sources[client_id]
        try:
            async with uow.transaction():
                await write()
                if client_id in batch.extra:
                    for extension in uow.extensions:
                        await extension.save(self.tenant_id, {client_id: batch.extra[client_id]})
        except WriteRefused as exc:
            batch.problems.append((row.number, row.cells, [_refused(exc, self.columns)]))
            return False
        return True

    async def _write(self, uow: ImportUnitOfWork, batch: _Batch, *, quota: bool) -> None:
        await uow.imports.insert_clients(batch.created)
        await uow.imports.update_clients(batch.updated)
        if quota:
            await uow.imports.add_live_clients(self.tenant_id, len(batch.created), self.options.max_clients)
        for extension in uow.extensions:
            if batch.extra:
                await extension.save(self.tenant_id, batch.extra)
        await uow.imports.add_events(batch.events)

    async def _finish(
        self, status: str, *, error: str | None = None, error_code: str | None = None, nothing_written: bool = False
    ) -> None:
        counts = self.counts
        if nothing_written:
            # The good rows were not imported either: they count as skipped, none as created or updated.
            counts = Counts(counts.processed, skipped=counts.processed - counts.rejected, rejected=counts.rejected)
        async with self.uow, self.uow.transaction():
            if not await self.uow.imports.finish(
                self.job,
                self.owner,
                status=status,
                counts=counts,
                total_rows=self.counts.processed if status != "failed" or self.dry else None,
                error=error,
                error_code=error_code,
            ):
                raise LeaseLost()


def _refused(exc: WriteRefused, columns: Columns) -> RowProblem:
    """A database refusal as a row problem, naming the column when the constraint's name does."""
    constraint = exc.constraint or ""
    for key in (*FIELD_KEYS, "external_id"):
        if constraint.startswith(f"clients_{key}"):
            return RowProblem(columns.header_of(key), f"refused by the database ({constraint})")
    return RowProblem("", f"refused by the database ({constraint or exc.kind})")


def _candidate(existing: ExistingClient | None) -> Candidate | None:
    if existing is None:
        return None
    client = existing.client
    return Candidate(client.id, existing.external_id, client.is_deleted, merged_into=client.merged_into)


def _target(decision: Decision) -> uuid.UUID:
    assert decision.target is not None
    return decision.target
