"""Client events in: merges re-point a client's appointments and series (an unmerge returns them), an erasure
removes the personal text scheduling holds, and every event that changes what booking needs to know of a
client updates scheduling's copy of it (adapters/client_facts.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1 import events_pb2 as client_events
from client_contract.following import client_following_subscriptions
from platform_core.messaging.consumer import ReceivedEvent, Subscription
from scheduling_svc.adapters import client_facts, client_links


def _at(event: ReceivedEvent) -> datetime:
    at: datetime = event.envelope.occurred_at.ToDatetime(tzinfo=UTC)
    return at


def _fact_subscription(payload_type: type[Message], facts: Callable[[Any], Mapping[str, object]]) -> Subscription:
    """Record ``facts(payload)`` of each event's client (a run of events in one statement)."""

    async def handle(session: AsyncSession, events: Sequence[ReceivedEvent]) -> None:
        rows = [client_facts.RecordedFacts(uuid.UUID(e.payload.client_id), _at(e), facts(e.payload)) for e in events]
        await client_facts.record_each(session, events[0].tenant_id, rows)

    return Subscription.batched(payload_type, handle)


async def _merged(session: AsyncSession, event: ReceivedEvent) -> None:
    payload = event.payload
    survivor, at = uuid.UUID(payload.survivor_id), _at(event)
    await client_facts.record(
        session, event.tenant_id, [uuid.UUID(m) for m in payload.merged_ids], at, {"merged_into": survivor}
    )
    await client_facts.forget_merged_facts(session, event.tenant_id, [survivor], at)


async def _unmerged(session: AsyncSession, event: ReceivedEvent) -> None:
    payload = event.payload
    restored, at = [uuid.UUID(r) for r in payload.restored_ids], _at(event)
    await client_facts.record(session, event.tenant_id, restored, at, {"merged_into": None})
    await client_facts.forget_merged_facts(session, event.tenant_id, [uuid.UUID(payload.survivor_id), *restored], at)


async def _erased(session: AsyncSession, event: ReceivedEvent) -> None:
    await client_facts.record(
        session, event.tenant_id, [uuid.UUID(event.payload.client_id)], _at(event), {"erased": True}
    )


FACT_SUBSCRIPTIONS = [
    _fact_subscription(
        client_events.ClientCreated,
        lambda p: {"online_booking_blocked": False, "deleted": False, "timezone": p.timezone, "merged_into": None},
    ),
    _fact_subscription(client_events.ClientUpdated, lambda p: {"timezone": p.timezone}),
    _fact_subscription(client_events.ClientDeleted, lambda _: {"deleted": True}),
    _fact_subscription(client_events.ClientRestored, lambda _: {"deleted": False}),
    _fact_subscription(client_events.ClientBookingBlocked, lambda _: {"online_booking_blocked": True}),
    _fact_subscription(client_events.ClientBookingUnblocked, lambda _: {"online_booking_blocked": False}),
    Subscription(client_events.ClientsMerged, _merged),
    Subscription(client_events.ClientsUnmerged, _unmerged),
    Subscription(client_events.ClientErased, _erased),
]


def _both(first: Subscription, then: Subscription) -> Subscription:
    async def handle(session: AsyncSession, event: ReceivedEvent) -> None:
        await first.handler(session, event)
        await then.handler(session, event)

    return Subscription(first.payload_type, handle)


def client_subscriptions() -> list[Subscription]:
    following = {
        s.event_type: s
        for s in client_following_subscriptions(
            client_links.FOLLOWING, erase=client_links.anonymize_client, after_move=client_links.RECORD_MOVES
        )
    }
    facts = {s.event_type: s for s in FACT_SUBSCRIPTIONS}
    return [
        _both(following[t], facts[t]) if t in following and t in facts else following.get(t) or facts[t]
        for t in sorted(following.keys() | facts.keys())
    ]
