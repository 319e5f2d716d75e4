"""Read side of memberships: straight reads on the read engine, no unit of work."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from membership_billing_svc.adapters.ledger_repository import lot_from_row, remaining_of
from membership_billing_svc.adapters.membership_repository import membership_from_row, periods_of, subscription_from_row
from membership_billing_svc.adapters.tables import credit_lots, memberships, subscriptions
from membership_billing_svc.domain.ledger import Lot
from membership_billing_svc.domain.memberships import Membership, Period, Subscription
from platform_core.errors import NotFound

MAX_SUBSCRIPTIONS = 200


@dataclass(frozen=True)
class SubscriptionView:
    subscription: Subscription
    periods: tuple[Period, ...]
    # Its credits (what is left of each as of now), first-expiring first.
    lots: tuple[Lot, ...]


async def list_memberships(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[Membership]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(memberships).where(memberships.c.tenant_id == tenant_id).order_by(memberships.c.name)
            )
        ).all()
    return [membership_from_row(r) for r in rows]


async def _views(conn: AsyncConnection, tenant_id: uuid.UUID, rows: Sequence[Any]) -> list[SubscriptionView]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    periods = await periods_of(conn, tenant_id, ids)
    lot_rows = (
        await conn.execute(
            select(credit_lots)
            .where(credit_lots.c.tenant_id == tenant_id, credit_lots.c.subscription_id.in_(ids))
            .order_by(credit_lots.c.expires_at, credit_lots.c.starts_at, credit_lots.c.id)
        )
    ).all()
    remaining = await remaining_of(conn, tenant_id, [r.id for r in lot_rows])
    lots: dict[uuid.UUID, list[Lot]] = defaultdict(list)
    for r in lot_rows:
        lots[r.subscription_id].append(lot_from_row(r, remaining.get(r.id, 0)))
    return [SubscriptionView(subscription_from_row(r), tuple(periods[r.id]), tuple(lots[r.id])) for r in rows]


async def get_subscription(engine: AsyncEngine, tenant_id: uuid.UUID, subscription_id: uuid.UUID) -> SubscriptionView:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(subscriptions).where(
                    subscriptions.c.tenant_id == tenant_id, subscriptions.c.id == subscription_id
                )
            )
        ).all()
        found = await _views(conn, tenant_id, rows)
    if not found:
        raise NotFound("subscription not found")
    return found[0]


async def list_subscriptions(engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[SubscriptionView]:
    """The client's subscriptions, the latest first."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(subscriptions)
                .where(subscriptions.c.tenant_id == tenant_id, subscriptions.c.client_id == client_id)
                .order_by(subscriptions.c.starts_on.desc(), subscriptions.c.id)
                .limit(MAX_SUBSCRIPTIONS)
            )
        ).all()
        return await _views(conn, tenant_id, rows)
