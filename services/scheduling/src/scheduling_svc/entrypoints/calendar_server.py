"""gRPC servicer of calendar files: feeds per staff member or client, and one appointment as .ics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.scheduling.v1 import calendar_pb2 as pb
from atrium.scheduling.v1 import calendar_pb2_grpc as pb_grpc
from platform_core.grpc.context import CallContext, current_context
from platform_core.grpc.values import record_id, timestamp
from scheduling_svc import calendar_views
from scheduling_svc.domain import commands
from scheduling_svc.domain.feeds import CalendarFeed, FeedOwner, Viewer
from scheduling_svc.entrypoints.appointment_server import actor_of
from scheduling_svc.service_layer import feed_handlers
from scheduling_svc.service_layer.unit_of_work import SchedulingUnitOfWork

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CalendarService"].full_name


def viewer_of(call: CallContext) -> Viewer:
    p = call.principal
    return Viewer(p.kind, p.id, p.role, p.client_id)


def _owner(message: pb.FeedOwner) -> FeedOwner:
    return FeedOwner.parse(message.kind, message.id)


def feed_message(feed: CalendarFeed) -> pb.CalendarFeed:
    message = pb.CalendarFeed(
        id=str(feed.id),
        owner=pb.FeedOwner(kind=feed.owner.kind, id=str(feed.owner.id)),
        include_cancelled=feed.include_cancelled,
        created_at=timestamp(feed.created_at),
    )
    if feed.revoked_at is not None:
        message.revoked_at.CopyFrom(timestamp(feed.revoked_at))
    return message


class CalendarServicer(pb_grpc.CalendarServiceServicer):
    def __init__(
        self,
        *,
        uow_factory: Callable[[], SchedulingUnitOfWork],
        engine: AsyncEngine,
    ) -> None:
        self._uow_factory = uow_factory
        self._engine = engine

    async def IssueFeed(self, request: pb.IssueFeedRequest, context: grpc.aio.ServicerContext) -> pb.IssuedFeed:
        call = current_context()
        feed, token = await feed_handlers.issue_feed(
            commands.IssueFeed(
                tenant_id=call.tenant_id,
                viewer=viewer_of(call),
                owner=_owner(request.owner),
                include_cancelled=request.include_cancelled,
                actor=actor_of(call),
                now=datetime.now(UTC),
            ),
            self._uow_factory(),
        )
        return pb.IssuedFeed(feed=feed_message(feed), token=token)

    async def RevokeFeed(self, request: pb.RevokeFeedRequest, context: grpc.aio.ServicerContext) -> pb.CalendarFeed:
        call = current_context()
        owner = _owner(request.owner)
        feed = await feed_handlers.revoke_feed(
            commands.RevokeFeed(
                tenant_id=call.tenant_id,
                viewer=viewer_of(call),
                owner=owner,
                feed_id=record_id(request.feed_id, "calendar feed"),
                actor=actor_of(call),
                now=datetime.now(UTC),
            ),
            self._uow_factory(),
        )
        return feed_message(feed)

    async def ListFeeds(self, request: pb.ListFeedsRequest, context: grpc.aio.ServicerContext) -> pb.ListFeedsResponse:
        call = current_context()
        feeds = await feed_handlers.list_feeds(
            commands.ListFeeds(tenant_id=call.tenant_id, viewer=viewer_of(call), owner=_owner(request.owner)),
            self._uow_factory(),
        )
        return pb.ListFeedsResponse(feeds=[feed_message(f) for f in feeds])

    async def RenderFeed(self, request: pb.RenderFeedRequest, context: grpc.aio.ServicerContext) -> pb.CalendarFile:
        call = current_context()
        content = await calendar_views.render_feed(
            self._engine, tenant_id=call.tenant_id, token=request.token, now=datetime.now(UTC)
        )
        return pb.CalendarFile(content=content, filename=calendar_views.FEED_FILENAME)

    async def AppointmentIcs(
        self, request: pb.AppointmentIcsRequest, context: grpc.aio.ServicerContext
    ) -> pb.CalendarFile:
        call = current_context()
        content, filename = await calendar_views.appointment_ics(
            self._engine,
            tenant_id=call.tenant_id,
            viewer=viewer_of(call),
            appointment_id=record_id(request.appointment_id, "appointment"),
        )
        return pb.CalendarFile(content=content, filename=filename)
