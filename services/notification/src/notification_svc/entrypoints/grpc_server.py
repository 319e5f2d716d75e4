"""gRPC servicer of the notification service."""

from __future__ import annotations

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.common.v1 import types_pb2
from atrium.notification.v1 import notification_service_pb2 as pb
from atrium.notification.v1 import notification_service_pb2_grpc as pb_grpc
from notification_svc import views
from platform_core.errors import NotFound
from platform_core.grpc.context import current_context
from platform_core.ids import parse_uuid

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["NotificationService"].full_name


class NotificationServicer(pb_grpc.NotificationServiceServicer):
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ListClientActivity(
        self, request: pb.ListClientActivityRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClientActivityResponse:
        call = current_context()
        client_id = parse_uuid(request.client_id)
        if client_id is None or (call.principal.is_portal and call.principal.client_id != str(client_id)):
            raise NotFound("client not found")
        limit = views.page_size(request.page.page_size)
        after = views.decode_cursor(request.page.page_token) if request.page.page_token else None
        rows, next_token = await views.client_timeline(
            self._engine, call.tenant_id, client_id, limit=limit, after=after
        )
        response = pb.ListClientActivityResponse(page=types_pb2.PageInfo(next_page_token=next_token))
        for row in rows:
            entry = response.entries.add(
                id=str(row.id),
                client_id=str(row.client_id),
                kind=row.kind,
                summary=row.summary,
                source_event_id=str(row.source_event_id),
                source_event_type=row.source_event_type,
            )
            entry.occurred_at.FromDatetime(row.occurred_at)
        return response
