"""gRPC methods for merging duplicates, undoing merges and erasing a client (mixed into ClientServicer)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as pb
from client_svc import views
from client_svc.domain import commands_merges as commands
from client_svc.domain.merge import ClientMerge
from client_svc.entrypoints.access import record_id as _record_id
from client_svc.entrypoints.access import require_staff as _staff
from client_svc.entrypoints.access import timestamp as _timestamp
from client_svc.entrypoints.access import utc_now
from client_svc.service_layer import erasure_handlers, merge_handlers
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.errors import InvalidArgument, NotFound, PermissionDenied
from platform_core.grpc.context import current_context
from platform_core.ids import parse_uuid
from platform_core.validation import Violations

# Who may erase a client's personal data.
ERASER_ROLES = frozenset({"owner", "admin"})


def _ids(raw: list[str], field: str) -> list[uuid.UUID]:
    parsed = [(value, parse_uuid(value)) for value in raw]
    bad = Violations()
    for value, p in parsed:
        if p is None:
            bad.add(field, f"{value!r} is not a client id")
    bad.raise_if_any()
    return [p for _, p in parsed if p is not None]


class MergeAndErasureRpcs:
    """Needs the servicer's ``_uow_factory``, ``_engine`` and its client message builder."""

    _uow_factory: Callable[[], ClientUnitOfWork]
    _engine: AsyncEngine

    def _client_message(self, row: Any) -> pb.Client:
        raise NotImplementedError  # the servicer's

    async def MergeClients(self, request: pb.MergeClientsRequest, context: grpc.aio.ServicerContext) -> pb.ClientMerge:
        tenant_id = _staff()
        if not request.survivor_id:
            raise InvalidArgument.single("survivor_id", "is required")
        [survivor_id] = _ids([request.survivor_id], "survivor_id")
        choices = dict(
            zip(
                request.field_choices.keys(),
                _ids(list(request.field_choices.values()), "field_choices"),
                strict=True,
            )
        )
        merge = await merge_handlers.merge_clients(
            commands.MergeClients(
                tenant_id=tenant_id,
                survivor_id=survivor_id,
                merged_ids=tuple(_ids(list(request.merged_ids), "merged_ids")),
                merged_by=current_context().principal.id,
                field_choices=choices,
                now=utc_now(),
            ),
            self._uow_factory(),
        )
        return await self._merge_message(merge)

    async def UnmergeClients(
        self, request: pb.UnmergeClientsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientMerge:
        command = commands.UnmergeClients(
            _staff(), _record_id(request.merge_id, "merge"), max_clients=request.max_clients, now=utc_now()
        )
        return await self._merge_message(await merge_handlers.unmerge_clients(command, self._uow_factory()))

    async def GetClientMerge(
        self, request: pb.GetClientMergeRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientMerge:
        command = commands.GetClientMerge(_staff(), _record_id(request.merge_id, "merge"))
        return await self._merge_message(await merge_handlers.get_merge(command, self._uow_factory()))

    async def ListClientMerges(
        self, request: pb.ListClientMergesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClientMergesResponse:
        tenant_id = _staff()
        client_id = _record_id(request.client_id, "client")
        if await views.client_by_id(self._engine, tenant_id, client_id) is None:
            raise NotFound("client not found")
        merges = await merge_handlers.list_merges(commands.ListClientMerges(tenant_id, client_id), self._uow_factory())
        return pb.ListClientMergesResponse(merges=[await self._merge_message(m) for m in merges])

    async def EraseClient(self, request: pb.EraseClientRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        tenant_id = _staff()
        principal = current_context().principal
        if principal.kind == "staff" and principal.role not in ERASER_ROLES:
            raise PermissionDenied("only an owner or an admin may erase a client's personal data")
        command = commands.EraseClient(tenant_id, _record_id(request.id, "client"), request.confirm, now=utc_now())
        client = await erasure_handlers.erase_client(command, self._uow_factory())
        row = await views.client_by_id(self._engine, client.tenant_id, client.id)
        if row is None:
            raise NotFound("client not found")
        return self._client_message(row)

    async def _merge_message(self, merge: ClientMerge) -> pb.ClientMerge:
        survivor = await views.client_by_id(self._engine, merge.tenant_id, merge.survivor_id)
        message: Any = pb.ClientMerge(
            id=str(merge.id),
            survivor_id=str(merge.survivor_id),
            merged_ids=[str(i) for i in merge.merged_ids],
            merged_at=_timestamp(merge.merged_at),
            undo_until=_timestamp(merge.undo_until),
            merged_by=merge.merged_by,
            fields_taken={name: str(client_id) for name, client_id in merge.fields_taken.items()},
            moved=merge.moved_counts(),
            survivor=self._client_message(survivor) if survivor is not None else None,
            undoable=merge.undoable(datetime.now(UTC)),
        )
        if merge.unmerged_at is not None:
            message.unmerged_at.CopyFrom(_timestamp(merge.unmerged_at))
        return message
