"""Client events in: merges re-point a client's requests (an unmerge returns them), an erasure drops the
client's messages. Each runs in the consumer's transaction, once per event."""

from __future__ import annotations

import uuid
from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1 import events_pb2 as client_events
from platform_core.messaging.consumer import ReceivedEvent, Subscription
from portal_requests_svc.adapters import client_links


async def _merged(session: AsyncSession, event: ReceivedEvent) -> None:
    payload = event.payload
    await client_links.repoint_merged(
        session,
        event.tenant_id,
        merge_id=uuid.UUID(payload.merge_id),
        survivor_id=uuid.UUID(payload.survivor_id),
        merged_ids=[uuid.UUID(m) for m in payload.merged_ids],
        at=event.envelope.occurred_at.ToDatetime(tzinfo=UTC),
    )


async def _unmerged(session: AsyncSession, event: ReceivedEvent) -> None:
    payload = event.payload
    await client_links.restore_unmerged(
        session,
        event.tenant_id,
        merge_id=uuid.UUID(payload.merge_id),
        survivor_id=uuid.UUID(payload.survivor_id),
        at=event.envelope.occurred_at.ToDatetime(tzinfo=UTC),
    )


async def _erased(session: AsyncSession, event: ReceivedEvent) -> None:
    await client_links.drop_client_text(session, event.tenant_id, uuid.UUID(event.payload.client_id))


def client_subscriptions() -> list[Subscription]:
    return [
        Subscription(client_events.ClientsMerged, _merged),
        Subscription(client_events.ClientsUnmerged, _unmerged),
        Subscription(client_events.ClientErased, _erased),
    ]
