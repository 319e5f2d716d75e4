"""gRPC servicer: protobuf in, commands and views, protobuf out. No business rules here."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import client_service_pb2_grpc as pb_grpc
from atrium.common.v1 import types_pb2
from client_svc import views
from client_svc.domain import commands
from client_svc.service_layer import handlers
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.errors import NotFound, PermissionDenied
from platform_core.grpc.context import current_context
from platform_core.ids import parse_uuid

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ClientService"].full_name


def _timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def client_message(row: Any) -> pb.Client:
    return pb.Client(
        id=str(row.id),
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email or "",
        phone=row.phone or "",
        created_at=_timestamp(row.created_at),
        updated_at=_timestamp(row.updated_at),
        online_booking_blocked=row.online_booking_blocked,
        deleted_at=_timestamp(row.deleted_at) if row.deleted_at else None,
        version=row.version,
    )


def _client_id(raw: str) -> uuid.UUID:
    client_id = parse_uuid(raw)
    if client_id is None:
        raise NotFound("client not found")
    return client_id


def _optional(request: Any, field: str) -> str | None:
    return getattr(request, field) if request.HasField(field) else None


def _require_staff() -> uuid.UUID:
    context = current_context()
    if context.principal.kind not in ("staff", "service"):
        raise PermissionDenied("staff only")
    return context.tenant_id


class ClientServicer(pb_grpc.ClientServiceServicer):
    def __init__(self, *, uow_factory: Callable[[], ClientUnitOfWork], engine: AsyncEngine) -> None:
        self._uow_factory = uow_factory
        self._engine = engine

    async def CreateClient(self, request: pb.CreateClientRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        tenant_id = _require_staff()
        client = await handlers.create_client(
            commands.CreateClient(
                tenant_id=tenant_id,
                first_name=request.first_name,
                last_name=request.last_name,
                email=request.email,
                phone=request.phone,
                default_region=request.default_region,
                request_id=request.request_id,
            ),
            self._uow_factory(),
        )
        return client_message(client)

    async def GetClient(self, request: pb.GetClientRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        call = current_context()
        client_id = parse_uuid(request.id)
        # A portal principal sees its own record only; anything else looks exactly like a missing one.
        if client_id is None or (call.principal.is_portal and call.principal.client_id != str(client_id)):
            raise NotFound("client not found")
        row = await views.client_by_id(self._engine, call.tenant_id, client_id)
        if row is None:
            raise NotFound("client not found")
        return client_message(row)

    async def ListClients(
        self, request: pb.ListClientsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClientsResponse:
        tenant_id = _require_staff()
        limit = views.page_size(request.page.page_size)
        after = views.decode_cursor(request.page.page_token) if request.page.page_token else None
        rows, next_after = await views.list_clients(
            self._engine, tenant_id, limit=limit, after=after, include_deleted=request.include_deleted
        )
        return pb.ListClientsResponse(
            clients=[client_message(r) for r in rows],
            page=types_pb2.PageInfo(next_page_token=views.encode_cursor(next_after) if next_after else ""),
        )

    async def UpdateClient(self, request: pb.UpdateClientRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        tenant_id = _require_staff()
        command = commands.UpdateClient(
            tenant_id=tenant_id,
            client_id=_client_id(request.id),
            first_name=_optional(request, "first_name"),
            last_name=_optional(request, "last_name"),
            email=_optional(request, "email"),
            phone=_optional(request, "phone"),
            default_region=request.default_region,
        )
        return client_message(await handlers.update_client(command, self._uow_factory()))

    async def DeleteClient(self, request: pb.DeleteClientRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        command = commands.DeleteClient(_require_staff(), _client_id(request.id))
        return client_message(await handlers.delete_client(command, self._uow_factory()))

    async def RestoreClient(self, request: pb.RestoreClientRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        command = commands.RestoreClient(_require_staff(), _client_id(request.id))
        return client_message(await handlers.restore_client(command, self._uow_factory()))

    async def SetOnlineBookingBlocked(
        self, request: pb.SetOnlineBookingBlockedRequest, context: grpc.aio.ServicerContext
    ) -> pb.Client:
        command = commands.SetOnlineBookingBlocked(
            _require_staff(), _client_id(request.id), blocked=request.blocked, reason=request.reason
        )
        return client_message(await handlers.set_online_booking_blocked(command, self._uow_factory()))
