"""Client events in: a new client's opening balance opens its account; merges re-point a client's invoices
and payments (and an unmerge returns them); an erasure removes the personal text billing holds. Each runs
in the consumer's transaction, once per event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1 import events_pb2 as client_events
from membership_billing_svc.adapters import client_links
from membership_billing_svc.service_layer import handlers
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork
from platform_core.messaging.consumer import ReceivedEvent, Subscription

UowWithin = Callable[[AsyncSession], BillingUnitOfWork]


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
    await client_links.drop_personal_text(session, event.tenant_id, uuid.UUID(event.payload.client_id))


def client_subscriptions(uow_within: UowWithin) -> list[Subscription]:
    async def created(session: AsyncSession, event: ReceivedEvent) -> None:
        payload = event.payload
        if not payload.HasField("opening_balance"):
            return
        await handlers.open_client_account(
            uow_within(session),
            event.tenant_id,
            uuid.UUID(payload.client_id),
            amount_minor=payload.opening_balance.amount_minor,
            currency=payload.opening_balance.currency,
            source_event_id=event.event_id,
            now=event.envelope.occurred_at.ToDatetime(tzinfo=UTC),
        )

    return [
        Subscription(client_events.ClientCreated, created),
        Subscription(client_events.ClientsMerged, _merged),
        Subscription(client_events.ClientsUnmerged, _unmerged),
        Subscription(client_events.ClientErased, _erased),
    ]
