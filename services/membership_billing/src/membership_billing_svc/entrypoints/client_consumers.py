"""Client events in: a new client's opening balance opens its account; merges re-point a client's invoices
and payments (and an unmerge returns them); an erasure removes the personal text billing holds. Each runs
in the consumer's transaction, once per event."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1 import events_pb2 as client_events
from client_contract.following import client_following_subscriptions
from membership_billing_svc.adapters import client_following
from membership_billing_svc.domain import commands
from membership_billing_svc.service_layer import handlers
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork
from platform_core.messaging.consumer import ReceivedEvent, Subscription

UowWithin = Callable[[AsyncSession], BillingUnitOfWork]


def client_subscriptions(uow_within: UowWithin) -> list[Subscription]:
    async def created(session: AsyncSession, events: Sequence[ReceivedEvent]) -> None:
        # Most new clients bring no opening balance: a run of them costs nothing here but its inbox rows.
        for event in events:
            payload = event.payload
            if not payload.HasField("opening_balance"):
                continue
            await handlers.open_client_account(
                commands.OpenClientAccount(
                    tenant_id=event.tenant_id,
                    client_id=uuid.UUID(payload.client_id),
                    amount_minor=payload.opening_balance.amount_minor,
                    currency=payload.opening_balance.currency,
                    source_event_id=event.event_id,
                    now=event.envelope.occurred_at.ToDatetime(tzinfo=UTC),
                ),
                uow_within(session),
            )

    following = client_following_subscriptions(
        client_following.FOLLOWING,
        erase=client_following.drop_personal_text,
        after_move=client_following.return_later_payments,
    )
    return [Subscription.batched(client_events.ClientCreated, created), *following]
