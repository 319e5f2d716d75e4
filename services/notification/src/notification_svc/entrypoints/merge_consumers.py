"""ClientsMerged, ClientsUnmerged and ClientErased in: the timeline follows merges and forgets erased clients."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1 import events_pb2 as client_events
from notification_svc.domain.commands import FollowMerge, FollowUnmerge, ForgetClient
from notification_svc.domain.merges import Source
from notification_svc.service_layer import handlers
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork
from platform_core.messaging.consumer import ReceivedEvent, Subscription


def _source(event: ReceivedEvent) -> Source:
    return Source(event.envelope.occurred_at.ToDatetime(tzinfo=UTC), event.event_id, event.envelope.event_type)


def _ids(values: Iterable[str]) -> tuple[uuid.UUID, ...]:
    return tuple(uuid.UUID(v) for v in values)


def merge_subscriptions(uow_within: Callable[[AsyncSession], NotificationUnitOfWork]) -> list[Subscription]:
    async def merged(session: AsyncSession, event: ReceivedEvent) -> None:
        p = event.payload
        command = FollowMerge(
            event.tenant_id, uuid.UUID(p.merge_id), uuid.UUID(p.survivor_id), _ids(p.merged_ids), _source(event)
        )
        await handlers.follow_merge(command, uow_within(session))

    async def unmerged(session: AsyncSession, event: ReceivedEvent) -> None:
        p = event.payload
        command = FollowUnmerge(
            event.tenant_id, uuid.UUID(p.merge_id), uuid.UUID(p.survivor_id), _ids(p.restored_ids), _source(event)
        )
        await handlers.follow_unmerge(command, uow_within(session))

    async def erased(session: AsyncSession, event: ReceivedEvent) -> None:
        command = ForgetClient(event.tenant_id, uuid.UUID(event.payload.client_id), _source(event))
        await handlers.forget_client(command, uow_within(session))

    return [
        Subscription(client_events.ClientsMerged, merged),
        Subscription(client_events.ClientsUnmerged, unmerged),
        Subscription(client_events.ClientErased, erased),
    ]
