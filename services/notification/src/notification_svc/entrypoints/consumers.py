"""Integration events in: each becomes a command for this service, inside the consumer's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1 import events_pb2 as client_events
from notification_svc.domain.model import RecordActivity, client_created_summary
from notification_svc.service_layer import handlers
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork
from platform_core.messaging.consumer import ReceivedEvent, Subscription

UowFactory = Callable[[AsyncSession], NotificationUnitOfWork]


def client_subscriptions(uow_within: UowFactory) -> list[Subscription]:
    async def on_client_created(session: AsyncSession, event: ReceivedEvent) -> None:
        payload: client_events.ClientCreated = event.payload
        await handlers.record_activity(
            RecordActivity(
                tenant_id=event.tenant_id,
                client_id=uuid.UUID(payload.client_id),
                kind="client.created",
                summary=client_created_summary(payload.first_name, payload.last_name),
                occurred_at=event.envelope.occurred_at.ToDatetime(tzinfo=UTC),
                source_event_id=event.event_id,
                source_event_type=event.envelope.event_type,
            ),
            uow_within(session),
        )

    return [Subscription(client_events.ClientCreated, on_client_created)]
