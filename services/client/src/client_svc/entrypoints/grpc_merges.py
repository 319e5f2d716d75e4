"""gRPC servicer of ClientMerges: finding duplicates, merging them into a survivor, undoing merges."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import client_service_pb2_grpc as pb_grpc
from client_svc import views
from client_svc.domain import commands_merges as commands
from client_svc.domain import duplicates
from client_svc.domain.merge import ClientMerge
from client_svc.entrypoints.access import record_id as _record_id
from client_svc.entrypoints.access import require_staff as _staff
from client_svc.entrypoints.access import timestamp as _timestamp
from client_svc.entrypoints.access import utc_now
from client_svc.entrypoints.grpc_server import client_message
from client_svc.service_layer import merge_handlers
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.errors import InvalidArgument, NotFound
from platform_core.grpc.context import current_context
from platform_core.ids import parse_uuid
from platform_core.validation import Violations

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ClientMerges"].full_name


def _ids(raw: list[str], field: str) -> list[uuid.UUID]:
    parsed = [(value, parse_uuid(value)) for value in raw]
    bad = Violations()
    for value, p in parsed:
        if p is None:
            bad.add(field, f"{value!r} is not a client id")
    bad.raise_if_any()
    return [p for _, p in parsed if p is not None]


class ClientMergesServicer(pb_grpc.ClientMergesServicer):
    def __init__(self, *, uow_factory: Callable[[], ClientUnitOfWork], engine: AsyncEngine) -> None:
        self._uow_factory = uow_factory
        self._engine = engine

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
            survivor=client_message(survivor) if survivor is not None else None,
            undoable=merge.undoable(datetime.now(UTC)),
        )
        if merge.unmerged_at is not None:
            message.unmerged_at.CopyFrom(_timestamp(merge.unmerged_at))
        return message

    async def FindDuplicateClients(
        self, request: pb.FindDuplicateClientsRequest, context: grpc.aio.ServicerContext
    ) -> pb.FindDuplicateClientsResponse:
        tenant_id = _staff()
        limit = views.page_size(request.limit, "limit")
        candidates = await views.duplicate_candidates(self._engine, tenant_id)
        ranked = sorted(candidates.items(), key=lambda item: (-duplicates.score(item[1]), item[0]))[:limit]
        ids = list({client_id for pair, _ in ranked for client_id in pair})
        rows = await views.clients_by_ids(self._engine, tenant_id, ids) if ids else {}
        return pb.FindDuplicateClientsResponse(
            pairs=[
                pb.DuplicatePair(
                    first=client_message(rows[first]),
                    second=client_message(rows[second]),
                    score=duplicates.score(reasons),
                    reasons=sorted(reasons),
                )
                for (first, second), reasons in ranked
            ]
        )
