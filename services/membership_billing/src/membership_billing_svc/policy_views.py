"""Quoting the cancellation and no-show policy before a client confirms (or cancels): what cancelling now
and a no-show would cost, per service. A read on the read engine; nothing is written."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from membership_billing_svc import ledger_views
from membership_billing_svc.adapters.policy_repository import load_policies
from membership_billing_svc.domain import commands
from membership_billing_svc.domain.cancellation_policy import (
    FREE,
    CancellationPolicy,
    Outcome,
    OutcomeKind,
    Window,
    applicable,
    applies_to,
)


@dataclass(frozen=True)
class Cost:
    outcome: Outcome
    fee: tuple[int, str] | None
    # (credit type id, units) the outcome keeps of the credits that would pay for the visit.
    forfeit: tuple[uuid.UUID, int] | None


@dataclass(frozen=True)
class ServiceTerms:
    service_id: uuid.UUID
    policy: CancellationPolicy | None
    window: Window | None
    cancel_now: Cost
    no_show: Cost
    free_until: datetime | None


async def quote_cancellation(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    client_id: uuid.UUID,
    *,
    start: datetime,
    zone: ZoneInfo,
    visits: Sequence[commands.VisitFacts],
    cancelled_by: str,
    at: datetime,
) -> list[ServiceTerms]:
    """What cancelling at ``at`` and a no-show would cost, per service (forfeits from the credits that would
    pay for the visit now)."""
    async with engine.connect() as conn:
        business, overrides = await load_policies(conn, tenant_id, [v.service_id for v in visits])
    terms = []
    for visit in visits:
        policy = applicable(business, overrides.get(visit.service_id))
        window = policy.window_at(start, zone, at) if policy and applies_to(business, cancelled_by) else None
        no_show = policy.no_show if policy else FREE
        payer: tuple[uuid.UUID, int] | None = None
        if (window and window.outcome.kind is OutcomeKind.FORFEIT) or no_show.kind is OutcomeKind.FORFEIT:
            quote = await ledger_views.quote_visit(engine, tenant_id, client_id, visit.service_id, at)
            if quote.payer is not None:
                payer = (quote.payer.rule.credit_type_id, quote.payer.rule.units)
        terms.append(
            ServiceTerms(
                visit.service_id,
                policy,
                window,
                _cost(window.outcome if window else FREE, visit, payer),
                _cost(no_show, visit, payer),
                policy.free_until(start, zone) if policy and applies_to(business, cancelled_by) else None,
            )
        )
    return terms


def _cost(outcome: Outcome, visit: commands.VisitFacts, payer: tuple[uuid.UUID, int] | None) -> Cost:
    forfeit = None
    if outcome.kind is OutcomeKind.FORFEIT and payer is not None:
        forfeit = (payer[0], outcome.forfeited_units(payer[1]))
    return Cost(outcome, outcome.fee_for(visit.price_minor, visit.currency), forfeit)
