"""Read side of memberships: straight reads on the read engine, no unit of work."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from membership_billing_svc.adapters.ledger_repository import lot_from_row, remaining_of
from membership_billing_svc.adapters.membership_repository import membership_from_row, periods_of, subscription_from_row
from membership_billing_svc.adapters.tables import (
    credit_lots,
    invoices,
    memberships,
    subscription_freezes,
    subscription_periods,
    subscriptions,
)
from membership_billing_svc.domain.invoices import CLIENT_VISIBLE_STATUSES
from membership_billing_svc.domain.ledger import Lot
from membership_billing_svc.domain.membership_report import Measure, MembershipFact
from membership_billing_svc.domain.memberships import Membership, Period, Subscription, SubscriptionStatus
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


async def membership_report_facts(
    engine: AsyncEngine, tenant_id: uuid.UUID, first: date, last: date
) -> tuple[list[MembershipFact], dict[uuid.UUID, Membership]]:
    """Per business day in [first, last] and membership: periods started (with what their issued invoices
    total), last paid days reached, freezes started; three grouped reads on the report's indexes."""
    sub = subscriptions
    same_subscription = (sub.c.tenant_id == subscription_periods.c.tenant_id) & (
        sub.c.id == subscription_periods.c.subscription_id
    )
    issued_total = case(
        (invoices.c.status.in_([s.value for s in CLIENT_VISIBLE_STATUSES]), invoices.c.total_minor), else_=0
    )
    expired = sub.c.status == SubscriptionStatus.EXPIRED.value
    async with engine.connect() as conn:
        started = (
            await conn.execute(
                select(
                    subscription_periods.c.starts_on,
                    sub.c.membership_id,
                    subscription_periods.c.kind,
                    func.count().label("n"),
                    func.coalesce(func.sum(issued_total), 0).label("invoiced"),
                )
                .select_from(
                    subscription_periods.join(sub, same_subscription).outerjoin(
                        invoices,
                        (invoices.c.tenant_id == subscription_periods.c.tenant_id)
                        & (invoices.c.id == subscription_periods.c.invoice_id),
                    )
                )
                .where(
                    subscription_periods.c.tenant_id == tenant_id,
                    subscription_periods.c.starts_on.between(first, last),
                )
                .group_by(subscription_periods.c.starts_on, sub.c.membership_id, subscription_periods.c.kind)
            )
        ).all()
        ending = (
            await conn.execute(
                select(sub.c.expires_on, sub.c.membership_id, expired.label("expired"), func.count().label("n"))
                .where(
                    sub.c.tenant_id == tenant_id,
                    sub.c.expires_on.between(first, last),
                    sub.c.status != SubscriptionStatus.CANCELLED.value,
                )
                .group_by(sub.c.expires_on, sub.c.membership_id, expired)
            )
        ).all()
        frozen = (
            await conn.execute(
                select(subscription_freezes.c.frozen_from, sub.c.membership_id, func.count().label("n"))
                .select_from(
                    subscription_freezes.join(
                        sub,
                        (sub.c.tenant_id == subscription_freezes.c.tenant_id)
                        & (sub.c.id == subscription_freezes.c.subscription_id),
                    )
                )
                .where(
                    subscription_freezes.c.tenant_id == tenant_id,
                    subscription_freezes.c.frozen_from.between(first, last),
                )
                .group_by(subscription_freezes.c.frozen_from, sub.c.membership_id)
            )
        ).all()
        names = (await conn.execute(select(memberships).where(memberships.c.tenant_id == tenant_id))).all()
    facts = [
        MembershipFact(
            r.starts_on,
            r.membership_id,
            Measure.NEW if r.kind == "register" else Measure.RENEWED,
            int(r.n),
            int(r.invoiced),
        )
        for r in started
    ]
    facts += [
        MembershipFact(r.expires_on, r.membership_id, Measure.EXPIRED if r.expired else Measure.EXPIRING, int(r.n))
        for r in ending
    ]
    facts += [MembershipFact(r.frozen_from, r.membership_id, Measure.FROZEN, int(r.n)) for r in frozen]
    return facts, {r.id: membership_from_row(r) for r in names}
