"""gRPC servicer of ClientPortal: portal invitations and access changes, recorded for their events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

import grpc

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import client_service_pb2_grpc as pb_grpc
from client_svc.domain import commands_portal as commands
from client_svc.entrypoints.access import record_id, reference_id, require_staff, utc_now
from client_svc.service_layer import portal_handlers as handlers
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.errors import InvalidArgument

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ClientPortal"].full_name


class ClientPortalServicer(pb_grpc.ClientPortalServicer):
    def __init__(self, *, uow_factory: Callable[[], ClientUnitOfWork]) -> None:
        self._uow_factory = uow_factory

    async def RecordPortalInvitation(
        self, request: record_pb.RecordPortalInvitationRequest, context: grpc.aio.ServicerContext
    ) -> record_pb.RecordPortalInvitationResponse:
        tenant_id = require_staff()
        if not request.HasField("expires_at"):
            raise InvalidArgument.single("expires_at", "is required")
        recorded = await handlers.record_invitation(
            commands.IssueInvitation(
                tenant_id=tenant_id,
                invitation_id=reference_id(request.invitation_id, "invitation_id", "invitation"),
                client_id=record_id(request.client_id, "client"),
                email=request.email,
                accept_url=request.accept_url,
                expires_at=request.expires_at.ToDatetime(tzinfo=UTC),
                business_name=request.business_name,
                now=utc_now(),
            ),
            self._uow_factory(),
        )
        return record_pb.RecordPortalInvitationResponse(recorded=recorded)

    async def RecordPortalAccessChange(
        self, request: record_pb.RecordPortalAccessChangeRequest, context: grpc.aio.ServicerContext
    ) -> record_pb.RecordPortalAccessChangeResponse:
        command = commands.ChangePortalAccess(
            require_staff(),
            reference_id(request.change_id, "change_id", "change"),
            record_id(request.client_id, "client"),
            request.enabled,
            now=utc_now(),
        )
        recorded = await handlers.record_access_change(command, self._uow_factory())
        return record_pb.RecordPortalAccessChangeResponse(recorded=recorded)
