"""Client import (CSV/XLSX upload, dry run, import, progress, rejected rows) and export, for owners and admins.

Importing and exporting every client at once is an owner's or admin's work (a whole client list leaves or
enters the business): staff get 403. The uploaded file streams through to the client service in 1 MiB
chunks, never held whole here; the export streams page by page as it is written.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import Field, StringConstraints

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.common.v1 import types_pb2
from gateway.api import path_id
from gateway.dependencies import BACKENDS, SETTINGS
from gateway.identity.model import Account
from gateway.problems import problem
from gateway.routes.clients import list_request
from gateway.routes.registry import api
from gateway.schemas import Body, ClientFilters, Out
from gateway.tabular import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, CsvWriter, XlsxWriter, writer_for
from platform_core.errors import InvalidArgument

log = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024
EXPORT_PAGE = 1000
PROBLEMS_PAGE = 1000
MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file in a multipart body
UPLOAD_TYPES = ("multipart/form-data", CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, "application/octet-stream")
TAG = "client imports"


# --- bodies and answers ------------------------------------------------------------------------------------


class ImportColumnOut(Out):
    header: str
    field: str | None = Field(description="The field the column is mapped to (null: ignored).")
    suggested_field: str | None = Field(description="The field its header suggests.")


class ImportFieldOut(Out):
    key: str
    label: str


class ImportCountsOut(Out):
    total: int | None = Field(description="Data rows in the file, known once a dry run has read it.")
    processed: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    rejected: int


class ClientImportOut(Out):
    id: str
    filename: str
    format: Literal["csv", "xlsx"]
    status: Literal["uploading", "uploaded", "validating", "validated", "running", "completed", "failed"]
    file_bytes: int
    columns: list[ImportColumnOut]
    duplicates: Literal["skip", "update", "create"]
    all_or_nothing: bool
    dry_run: bool = Field(description="The counts are a dry run's (what the import would do), not an import's.")
    counts: ImportCountsOut
    error: str | None = Field(description="Why the import failed, or (after a dry run) why it cannot start.")
    error_code: str | None
    fields: list[ImportFieldOut] = Field(description="Every field a column can be mapped to.")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


FieldKey = Annotated[str, StringConstraints(max_length=100)]


class DryRunBody(Body):
    mapping: Annotated[list[FieldKey | None], Field(max_length=200)] | None = Field(
        default=None,
        description="One field key per column of the file, in order (null: ignore the column); "
        "omitted: the suggested mapping.",
    )
    duplicates: Literal["skip", "update", "create"] = Field(
        default="skip",
        description="Rows matching an existing client (by id, external_id, then email, then phone): skip them, "
        "update the client, or create a new client anyway. An id or external_id match is never duplicated.",
    )
    all_or_nothing: bool = Field(default=False, description="One bad row and nothing is imported.")


class ImportProblemOut(Out):
    column: str
    message: str


class RejectedRowOut(Out):
    row: int = Field(description="As a spreadsheet numbers it: the header is row 1.")
    cells: list[str]
    problems: list[ImportProblemOut]


class ProblemsPageOut(Out):
    columns: list[str]
    items: list[RejectedRowOut]
    next_page_token: str | None


class ProblemsQuery(Body):
    page_size: int = Field(default=100, ge=1, le=PROBLEMS_PAGE)
    page_token: Annotated[str, StringConstraints(max_length=20)] = ""


class ExportQuery(ClientFilters):
    format: Literal["csv", "xlsx"] = "csv"


class UploadQuery(Body):
    filename: Annotated[str, StringConstraints(max_length=255)] = Field(
        default="", description="The file's name, for a raw (non-multipart) body."
    )


def _timestamp(message: Any, name: str) -> str | None:
    return getattr(message, name).ToJsonString() if message.HasField(name) else None


def import_json(job: client_pb.ClientImport) -> dict[str, Any]:
    return {
        "id": job.id,
        "filename": job.filename,
        "format": job.format,
        "status": job.status,
        "file_bytes": job.file_bytes,
        "columns": [
            {"header": c.header, "field": c.field or None, "suggested_field": c.suggested_field or None}
            for c in job.columns
        ],
        "duplicates": job.duplicates,
        "all_or_nothing": job.all_or_nothing,
        "dry_run": job.dry_run,
        "counts": {
            "total": job.total_rows or (0 if job.status in ("validated", "running", "completed") else None),
            "processed": job.processed_rows,
            "created": job.created_rows,
            "updated": job.updated_rows,
            "unchanged": job.unchanged_rows,
            "skipped": job.skipped_rows,
            "rejected": job.rejected_rows,
        },
        "error": job.error or None,
        "error_code": job.error_code or None,
        "fields": [{"key": f.key, "label": f.label} for f in job.fields],
        "created_at": _timestamp(job, "created_at"),
        "updated_at": _timestamp(job, "updated_at"),
        "finished_at": _timestamp(job, "finished_at"),
    }


def import_id_of(request: web.Request) -> str:
    return path_id(request, "import_id", "import")


# --- upload ------------------------------------------------------------------------------------------------


class _TooLarge(Exception):
    pass


# What aiohttp raises on a multipart body it cannot read (no boundary, a bad part header, a missing end).
_UNREADABLE_MULTIPART = (ValueError, HttpProcessingError)


def _unreadable_multipart() -> InvalidArgument:
    return InvalidArgument.single("file", "is not a readable multipart/form-data body")


async def _file_part(request: web.Request) -> tuple[BodyPartReader | None, str]:
    """The multipart body's file part (field "file", or the first part with a filename)."""
    try:
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                return None, ""
            if isinstance(part, BodyPartReader) and (part.name == "file" or part.filename):
                return part, part.filename or ""
            await part.release()
    except _UNREADABLE_MULTIPART as exc:
        raise _unreadable_multipart() from exc


async def _chunks(request: web.Request, part: BodyPartReader | None, limit: int) -> AsyncIterator[bytes]:
    """The file's bytes in chunks of CHUNK_BYTES (the last shorter); _TooLarge past ``limit``."""
    buffer = bytearray()
    total = 0

    async def pieces() -> AsyncIterator[bytes]:
        if part is not None:
            while piece := await part.read_chunk(CHUNK_BYTES):
                yield piece
        else:
            async for piece in request.content.iter_chunked(CHUNK_BYTES):
                yield piece

    async for piece in pieces():
        total += len(piece)
        if total > limit:
            raise _TooLarge()
        buffer += piece
        while len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer[:CHUNK_BYTES])
            del buffer[:CHUNK_BYTES]
    if buffer:
        yield bytes(buffer)


def _too_large(request: web.Request, limit: int) -> web.Response:
    return problem(
        request,
        413,
        detail=f"the file is larger than {limit:,} bytes, the most an import takes",
        code="IMPORT_TOO_LARGE",
    )


@api.route(
    "POST",
    "/api/v1/client-imports",
    summary="Upload a CSV or XLSX file of clients to import",
    tag=TAG,
    query=UploadQuery,
    response=ClientImportOut,
    status=201,
    permission="clients.import",
    upload=UPLOAD_TYPES,
    errors=(409, 413),
    description="The file as multipart/form-data (field `file`) or as the raw body (name it with ?filename=). "
    "CSV must be UTF-8 (with or without BOM; comma, semicolon or tab separated); the first row names the "
    "columns. The answer suggests a field for each column; then POST .../dry-run. 413 above the size limit; "
    "422 for a file that cannot be read at all. Owners and admins only.",
)
async def upload_import(request: web.Request, query: UploadQuery, account: Account) -> web.StreamResponse | Any:
    limit = request.app[SETTINGS].client_import_max_bytes
    multipart = request.content_type == "multipart/form-data"
    if request.content_length is not None and request.content_length > limit + (MULTIPART_SLACK if multipart else 0):
        return _too_large(request, limit)
    part, filename = await _file_part(request) if multipart else (None, query.filename)
    if multipart and part is None:
        raise InvalidArgument.single("file", "send the file in a multipart field named file")
    imports = request.app[BACKENDS].client_imports
    job = await imports.CreateClientImport(client_pb.CreateClientImportRequest(filename=filename or "clients.csv"))
    completed = False
    try:
        seq = 0
        async for data in _chunks(request, part, limit):
            await imports.AppendClientImportChunk(
                client_pb.AppendClientImportChunkRequest(id=job.id, seq=seq, data=data)
            )
            seq += 1
        if seq == 0:
            raise InvalidArgument.single("file", "is empty")
        uploaded = await imports.CompleteClientImportUpload(client_pb.ClientImportRequest(id=job.id))
        completed = True
    except _TooLarge:
        return _too_large(request, limit)
    except _UNREADABLE_MULTIPART as exc:
        raise _unreadable_multipart() from exc
    finally:
        if not completed:
            await _discard(request, job.id)
    return import_json(uploaded)


async def _discard(request: web.Request, job_id: str) -> None:
    """An upload that did not complete leaves nothing behind (best effort: abandoned ones are purged too)."""
    try:
        await request.app[BACKENDS].client_imports.DeleteClientImport(client_pb.ClientImportRequest(id=job_id))
    except Exception:
        log.warning("could not delete the abandoned import %s", job_id, exc_info=True)


# --- the job -----------------------------------------------------------------------------------------------


@api.route(
    "GET",
    "/api/v1/client-imports/{import_id}",
    summary="An import: its status, progress (poll it) and counts",
    tag=TAG,
    response=ClientImportOut,
    permission="clients.import",
)
async def get_import(request: web.Request, account: Account) -> dict[str, Any]:
    job = await request.app[BACKENDS].client_imports.GetClientImport(
        client_pb.ClientImportRequest(id=import_id_of(request))
    )
    return import_json(job)


@api.route(
    "POST",
    "/api/v1/client-imports/{import_id}/dry-run",
    summary="Dry run: read and judge every row with this mapping and these options, writing nothing",
    tag=TAG,
    body=DryRunBody,
    response=ClientImportOut,
    status=202,
    permission="clients.import",
    errors=(409,),
    description="Runs in the background: poll the import until it is `validated` (or `failed` for a file that "
    "turns out unreadable), then read the rejected rows and start it. 422 names each wrong mapping entry, "
    "or the missing required column.",
)
async def dry_run_import(request: web.Request, body: DryRunBody, account: Account) -> dict[str, Any]:
    job = await request.app[BACKENDS].client_imports.DryRunClientImport(
        client_pb.DryRunClientImportRequest(
            id=import_id_of(request),
            mapping=[m or "" for m in body.mapping or ()],
            duplicates=body.duplicates,
            all_or_nothing=body.all_or_nothing,
            default_region=account.country,
            max_clients=account.max_clients,
        )
    )
    return import_json(job)


@api.route(
    "POST",
    "/api/v1/client-imports/{import_id}/start",
    summary="Import what the dry run read (its mapping and options)",
    tag=TAG,
    response=ClientImportOut,
    status=202,
    permission="clients.import",
    errors=(409,),
    description="Runs in the background: poll the import until it is `completed` or `failed`. 409 before a "
    "dry run, when an all-or-nothing import has rejected rows, or when it would exceed the plan's clients.",
)
async def start_import(request: web.Request, account: Account) -> dict[str, Any]:
    job = await request.app[BACKENDS].client_imports.StartClientImport(
        client_pb.StartClientImportRequest(id=import_id_of(request), max_clients=account.max_clients)
    )
    return import_json(job)


@api.route(
    "GET",
    "/api/v1/client-imports/{import_id}/problems",
    summary="Rejected rows with every problem (row, column, message), in file order",
    tag=TAG,
    query=ProblemsQuery,
    response=ProblemsPageOut,
    permission="clients.import",
)
async def list_import_problems(request: web.Request, query: ProblemsQuery, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].client_imports.ListClientImportProblems(
        client_pb.ListClientImportProblemsRequest(
            id=import_id_of(request),
            page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token),
        )
    )
    return {
        "columns": list(reply.columns),
        "items": [
            {
                "row": r.row,
                "cells": list(r.cells),
                "problems": [{"column": p.column, "message": p.message} for p in r.problems],
            }
            for r in reply.rows
        ],
        "next_page_token": reply.page.next_page_token or None,
    }


@api.route(
    "GET",
    "/api/v1/client-imports/{import_id}/rejected-rows",
    summary="The rejected rows as a CSV to fix and upload again (original columns plus `error`)",
    tag=TAG,
    permission="clients.import",
    produces=(CSV_MEDIA_TYPE,),
)
async def download_rejected_rows(request: web.Request, account: Account) -> web.StreamResponse:
    import_id = import_id_of(request)
    imports = request.app[BACKENDS].client_imports

    async def page(token: str) -> client_pb.ListClientImportProblemsResponse:
        return await imports.ListClientImportProblems(
            client_pb.ListClientImportProblemsRequest(
                id=import_id, page=types_pb2.PageRequest(page_size=PROBLEMS_PAGE, page_token=token)
            )
        )

    first = await page("")
    writer = CsvWriter()
    response = await _stream(request, writer.media_type, f"rejected-rows-{import_id}.csv")
    columns = list(first.columns)

    def rows(reply: client_pb.ListClientImportProblemsResponse) -> Iterator[list[str]]:
        for r in reply.rows:
            cells = list(r.cells) + [""] * (len(columns) - len(r.cells))
            yield [*cells[: len(columns)], "; ".join(f"{p.column}: {p.message}" for p in r.problems)]

    await _write_pages(request, response, writer, [*columns, "error"], first, page, rows, "rejected rows")
    return response


@api.route(
    "DELETE",
    "/api/v1/client-imports/{import_id}",
    summary="Delete an import that is not running, with its file and rejected rows (imported clients stay)",
    tag=TAG,
    status=204,
    permission="clients.import",
    errors=(409,),
)
async def delete_import(request: web.Request, account: Account) -> None:
    await request.app[BACKENDS].client_imports.DeleteClientImport(
        client_pb.ClientImportRequest(id=import_id_of(request))
    )


# --- export ------------------------------------------------------------------------------------------------


@api.route(
    "GET",
    "/api/v1/clients/export",
    summary="Export the clients the list's filters select, as CSV or XLSX (the columns an import reads)",
    tag=TAG,
    query=ExportQuery,
    permission="clients.export",
    produces=(CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE),
    description="Streams every client matching the filters (same as GET /api/v1/clients), newest first. Its "
    "columns are the ones an import maps by themselves, ids included: importing the file again (duplicates="
    "update) changes nothing. Owners and admins only.",
)
async def export_clients(request: web.Request, query: ExportQuery, account: Account) -> web.StreamResponse:
    imports = request.app[BACKENDS].client_imports

    async def page(token: str) -> client_pb.ExportClientsResponse:
        return await imports.ExportClients(list_request(query, account, page_size=EXPORT_PAGE, page_token=token))

    first = await page("")  # before the response starts: a refusal is still a proper problem response
    writer = writer_for(query.format)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response = await _stream(request, writer.media_type, f"clients-{stamp}.{writer.extension}")
    await _write_pages(
        request,
        response,
        writer,
        list(first.columns),
        first,
        page,
        lambda reply: (list(row.cells) for row in reply.rows),
        "export",
    )
    return response


async def _write_pages(
    request: web.Request,
    response: web.StreamResponse,
    writer: CsvWriter | XlsxWriter,
    header: list[str],
    first: Any,
    page: Callable[[str], Awaitable[Any]],
    rows: Callable[[Any], Iterable[list[str]]],
    what: str,
) -> None:
    """The header, then each page's rows as they come (``page`` fetches the one a token names), into the
    started response."""
    try:
        writer.row(header)
        reply = first
        while True:
            for cells in rows(reply):
                writer.row(cells)
            await response.write(writer.take())
            if not reply.page.next_page_token:
                break
            reply = await page(reply.page.next_page_token)
        await response.write(writer.close())
    except Exception:
        _abort(request, what)


async def _stream(request: web.Request, media_type: str, filename: str) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": media_type + ("; charset=utf-8" if media_type == CSV_MEDIA_TYPE else ""),
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    return response


def _abort(request: web.Request, what: str) -> None:
    """A failure once the file has started: cut the connection, so the client sees it incomplete (a clean end
    would pass a truncated file off as whole)."""
    log.exception("%s stream failed part way; closing the connection", what)
    if request.transport is not None:
        request.transport.abort()
