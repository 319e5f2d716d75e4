"""gRPC servicer of ClientImports: client import and export; protobuf in and out, no rules."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import client_service_pb2_grpc as pb_grpc
from atrium.common.v1 import types_pb2
from client_svc import views
from client_svc.domain import commands_imports
from client_svc.domain.imports import FIELDS, ExtraColumn, export_cells, export_headers
from client_svc.entrypoints.grpc_server import list_filters  # the list's own reading of its filters
from client_svc.service_layer import import_handlers
from client_svc.service_layer.import_handlers import JobView
from client_svc.service_layer.import_unit_of_work import ImportUnitOfWork
from platform_core.errors import InvalidArgument, NotFound, PermissionDenied
from platform_core.grpc.context import current_context
from platform_core.grpc.values import timestamp
from platform_core.ids import parse_uuid

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ClientImports"].full_name
MAX_CHUNK_BYTES = 1024 * 1024
EXPORT_PAGE_SIZE = 500
MAX_EXPORT_PAGE_SIZE = 1000
PROBLEMS_PAGE_SIZE = 100
# Who may import and export clients in bulk (the gateway checks the same; a service principal may too).
BULK_ROLES = ("owner", "admin")


def _timestamp(value: datetime | None) -> Timestamp | None:
    return None if value is None else timestamp(value)


def import_message(view: JobView) -> pb.ClientImport:
    job = view.job
    mapping: Sequence[str] = job["mapping"] if job["mapping"] is not None else view.suggested
    fields = [pb.ClientImportField(key=f.key, label=f.label) for f in FIELDS]
    fields += [pb.ClientImportField(key=c.key, label=c.label) for c in view.extra]
    return pb.ClientImport(
        id=str(job["id"]),
        filename=job["filename"],
        format=job["format"],
        status=job["status"],
        file_bytes=job["file_bytes"],
        columns=[
            pb.ClientImportColumn(header=header, field=field, suggested_field=suggested)
            for header, field, suggested in zip(job["columns"], mapping, view.suggested, strict=True)
        ],
        duplicates=job["duplicates"],
        all_or_nothing=job["all_or_nothing"],
        dry_run=job["dry_run"],
        total_rows=job["total_rows"] or 0,
        processed_rows=job["processed_rows"],
        created_rows=job["created_rows"],
        updated_rows=job["updated_rows"],
        unchanged_rows=job["unchanged_rows"],
        skipped_rows=job["skipped_rows"],
        rejected_rows=job["rejected_rows"],
        error=job["error"] or "",
        error_code=job["error_code"] or "",
        created_at=_timestamp(job["created_at"]),
        updated_at=_timestamp(job["updated_at"]),
        finished_at=_timestamp(job["finished_at"]),
        fields=fields,
    )


def _bulk_tenant() -> uuid.UUID:
    context = current_context()
    principal = context.principal
    if principal.kind == "service" or (principal.kind == "staff" and principal.role in BULK_ROLES):
        return context.tenant_id
    raise PermissionDenied(f"importing and exporting clients requires one of the roles: {', '.join(BULK_ROLES)}")


def _import_id(raw: str) -> uuid.UUID:
    parsed = parse_uuid(raw)
    if parsed is None:
        raise NotFound("import not found")
    return parsed


class ClientImportsServicer(pb_grpc.ClientImportsServicer):
    def __init__(self, *, import_uow: Callable[[], ImportUnitOfWork], engine: AsyncEngine) -> None:
        self._uow = import_uow
        self._engine = engine  # the read engine, for the export

    async def CreateClientImport(
        self, request: pb.CreateClientImportRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientImport:
        command = commands_imports.CreateImport(
            _bulk_tenant(), current_context().principal.id, request.filename, now=datetime.now(UTC)
        )
        return import_message(await import_handlers.create_import(command, self._uow()))

    async def AppendClientImportChunk(
        self, request: pb.AppendClientImportChunkRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppendClientImportChunkResponse:
        tenant_id = _bulk_tenant()
        if len(request.data) > MAX_CHUNK_BYTES:
            raise InvalidArgument.single("data", f"chunks hold at most {MAX_CHUNK_BYTES:,} bytes")
        command = commands_imports.AppendImportChunk(tenant_id, _import_id(request.id), request.seq, request.data)
        job = await import_handlers.append_import_chunk(command, self._uow())
        return pb.AppendClientImportChunkResponse(file_bytes=job["file_bytes"])

    async def CompleteClientImportUpload(
        self, request: pb.ClientImportRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientImport:
        command = commands_imports.FinishImportUpload(_bulk_tenant(), _import_id(request.id))
        return import_message(await import_handlers.finish_import_upload(command, self._uow()))

    async def GetClientImport(
        self, request: pb.ClientImportRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientImport:
        command = commands_imports.GetImport(_bulk_tenant(), _import_id(request.id))
        return import_message(await import_handlers.get_import(command, self._uow()))

    async def DryRunClientImport(
        self, request: pb.DryRunClientImportRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientImport:
        command = commands_imports.DryRunImport(
            _bulk_tenant(),
            _import_id(request.id),
            mapping=list(request.mapping) or None,
            duplicates=request.duplicates,
            all_or_nothing=request.all_or_nothing,
            default_region=request.default_region,
            max_clients=request.max_clients,
        )
        return import_message(await import_handlers.dry_run_import(command, self._uow()))

    async def StartClientImport(
        self, request: pb.StartClientImportRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientImport:
        command = commands_imports.StartImport(_bulk_tenant(), _import_id(request.id), max_clients=request.max_clients)
        return import_message(await import_handlers.start_import(command, self._uow()))

    async def ListClientImportProblems(
        self, request: pb.ListClientImportProblemsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClientImportProblemsResponse:
        size = request.page.page_size or PROBLEMS_PAGE_SIZE
        if not 0 < size <= 1000:
            raise InvalidArgument.single("page_size", "must be between 1 and 1000")
        after = 0
        if request.page.page_token:
            if not request.page.page_token.isdigit():
                raise InvalidArgument.single("page_token", "is not a page token from this list")
            after = int(request.page.page_token)
        command = commands_imports.ListImportProblems(
            _bulk_tenant(), _import_id(request.id), after=after, limit=size + 1
        )
        job, rows = await import_handlers.list_import_problems(command, self._uow())
        more = len(rows) > size
        rows = rows[:size]
        return pb.ListClientImportProblemsResponse(
            columns=list(job["columns"]),
            rows=[
                pb.ClientImportRejectedRow(
                    row=r["row_number"],
                    cells=list(r["cells"]),
                    problems=[pb.ClientImportProblem(column=p["column"], message=p["message"]) for p in _json(r)],
                )
                for r in rows
            ],
            page=types_pb2.PageInfo(next_page_token=str(rows[-1]["row_number"]) if more else ""),
        )

    async def DeleteClientImport(
        self, request: pb.ClientImportRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteClientImportResponse:
        await import_handlers.delete_import(
            commands_imports.DeleteImport(_bulk_tenant(), _import_id(request.id)), self._uow()
        )
        return pb.DeleteClientImportResponse()

    async def ExportClients(
        self, request: pb.ListClientsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExportClientsResponse:
        tenant_id = _bulk_tenant()
        size = request.page.page_size or EXPORT_PAGE_SIZE
        if not 0 < size <= MAX_EXPORT_PAGE_SIZE:
            raise InvalidArgument.single("page_size", f"must be between 1 and {MAX_EXPORT_PAGE_SIZE}")
        rows, token = await views.list_clients(
            self._engine,
            tenant_id,
            limit=size,
            page_token=request.page.page_token,
            sort=request.sort,
            **list_filters(request),
        )
        extra: list[ExtraColumn] = await import_handlers.list_extra_columns(
            commands_imports.ListExtraColumns(tenant_id), self._uow()
        )
        values = (
            await import_handlers.load_extra_values(
                commands_imports.LoadExtraValues(tenant_id, [r.id for r in rows]), self._uow()
            )
            if extra
            else {}
        )
        return pb.ExportClientsResponse(
            columns=export_headers(extra),
            rows=[pb.ExportedClient(cells=export_cells(r, values.get(r.id, {}), extra)) for r in rows],
            page=types_pb2.PageInfo(next_page_token=token),
        )


def _json(row: Any) -> list[dict[str, str]]:
    value = row["problems"]
    return list(json.loads(value) if isinstance(value, str) else value)
