"""Memberships and subscriptions in PostgreSQL."""

from __future__ import annotations

import abc
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from membership_billing_svc.adapters.tables import (
    loyalty_programs,
    membership_settings,
    memberships,
    subscription_periods,
    subscriptions,
)
from membership_billing_svc.domain.loyalty import LoyaltyProgram
from membership_billing_svc.domain.membership_settings import MembershipSettings
from membership_billing_svc.domain.memberships import (
    DurationUnit,
    Extra,
    Membership,
    Period,
    Subscription,
    SubscriptionStatus,
)
from membership_billing_svc.domain.packages import Invoicing
from platform_core.errors import NotFound

Executor = AsyncSession | AsyncConnection


def membership_from_row(r: Any) -> Membership:
    return Membership(
        tenant_id=r.tenant_id,
        id=r.id,
        name=r.name,
        package_id=r.package_id,
        benefits=r.benefits,
        duration_count=r.duration_count,
        duration_unit=DurationUnit(r.duration_unit),
        price_minor=r.price_minor,
        currency=r.currency,
        tax_rate_bp=r.tax_rate_bp,
        invoicing=Invoicing(r.invoicing),
        payment_terms_days=r.payment_terms_days,
        tolerance_days=r.tolerance_days,
        auto_renew=r.auto_renew,
        expiring_notice_days=r.expiring_notice_days,
        extras=tuple(Extra(e["description"], e["price_minor"]) for e in r.extras),
        created_at=r.created_at,
    )


def subscription_from_row(r: Any) -> Subscription:
    return Subscription(
        tenant_id=r.tenant_id,
        id=r.id,
        client_id=r.client_id,
        membership_id=r.membership_id,
        membership_name=r.membership_name,
        starts_on=r.starts_on,
        expires_on=r.expires_on,
        tolerance_days=r.tolerance_days,
        status=SubscriptionStatus(r.status),
        currency=r.currency,
        price_minor=r.price_minor,
        auto_renew=r.auto_renew,
        expiring_notice_days=r.expiring_notice_days,
        invoice_id=r.invoice_id,
        frozen_from=r.frozen_from,
        frozen_until=r.frozen_until,
        freeze_reason=r.freeze_reason,
        notice_sent_for=r.notice_sent_for,
        cancel_reason=r.cancel_reason,
        created_at=r.created_at,
        updated_at=r.updated_at,
        request_id=r.request_id,
        version=r.version,
        resumes_at=r.resumes_at,
        next_review_at=r.next_review_at,
    )


async def periods_of(
    db: Executor, tenant_id: uuid.UUID, subscription_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Period]]:
    rows = (
        await db.execute(
            select(subscription_periods)
            .where(
                subscription_periods.c.tenant_id == tenant_id,
                subscription_periods.c.subscription_id.in_(list(subscription_ids)),
            )
            .order_by(subscription_periods.c.starts_on)
        )
    ).all()
    found: dict[uuid.UUID, list[Period]] = defaultdict(list)
    for r in rows:
        found[r.subscription_id].append(
            Period(r.starts_on, r.expires_on, r.invoice_id, r.kind, r.request_id, r.created_at)
        )
    return found


def program_from_row(r: Any) -> LoyaltyProgram:
    return LoyaltyProgram(
        tenant_id=r.tenant_id,
        points_credit_type_id=r.points_credit_type_id,
        currency=r.currency,
        step_minor=r.step_minor,
        points_per_step=r.points_per_step,
        points_per_visit=r.points_per_visit,
        validity_days=r.validity_days,
        reward_credit_type_id=r.reward_credit_type_id,
        points_per_reward_unit=r.points_per_reward_unit,
        updated_at=r.updated_at,
    )


# Every check-in and payment reads it: built once, as the check-in's other statements (building it per call
# showed in the check-in's profile).
_LOYALTY_PROGRAM = select(loyalty_programs).where(loyalty_programs.c.tenant_id == bindparam("tenant_id"))


async def loyalty_program(db: Executor, tenant_id: uuid.UUID) -> LoyaltyProgram | None:
    row = (await db.execute(_LOYALTY_PROGRAM, {"tenant_id": tenant_id})).first()
    return None if row is None else program_from_row(row)


async def settings_of(db: AsyncConnection | AsyncSession, tenant_id: uuid.UUID) -> MembershipSettings:
    row = (await db.execute(select(membership_settings).where(membership_settings.c.tenant_id == tenant_id))).first()
    if row is None:
        return MembershipSettings(tenant_id)
    return MembershipSettings(tenant_id, row.clients_may_cancel, row.updated_at)


class AbstractMembershipRepository(abc.ABC):
    """Memberships, subscriptions (saved with their new periods when the unit commits), the loyalty program and
    the business's membership settings."""

    def __init__(self) -> None:
        self.seen: set[Membership | Subscription] = set()

    def add(self, aggregate: Membership | Subscription) -> None:
        self.seen.add(aggregate)

    @abc.abstractmethod
    async def loyalty_program(self, tenant_id: uuid.UUID) -> LoyaltyProgram | None: ...

    @abc.abstractmethod
    async def put_loyalty_program(self, program: LoyaltyProgram) -> None: ...

    @abc.abstractmethod
    async def settings(self, tenant_id: uuid.UUID) -> MembershipSettings: ...

    @abc.abstractmethod
    async def put_settings(self, settings: MembershipSettings) -> None: ...

    @abc.abstractmethod
    async def get(self, tenant_id: uuid.UUID, membership_id: uuid.UUID) -> Membership: ...

    @abc.abstractmethod
    async def subscription(self, tenant_id: uuid.UUID, subscription_id: uuid.UUID) -> Subscription:
        """Locked for the rest of the transaction."""

    @abc.abstractmethod
    async def subscription_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> Subscription | None: ...

    @abc.abstractmethod
    async def renewal_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> uuid.UUID | None:
        """The subscription a renewal with this request id renewed."""

    @abc.abstractmethod
    async def due_tenants(self, now: datetime, limit: int) -> list[uuid.UUID]: ...

    @abc.abstractmethod
    async def claim_due_of(self, tenant_id: uuid.UUID, now: datetime, limit: int) -> list[Subscription]:
        """The business's subscriptions whose next change is due by ``now``; those another replica holds are
        skipped."""

    @abc.abstractmethod
    async def save(self) -> None: ...

    @abc.abstractmethod
    async def move_lot_expiries(self, s: Subscription, zone: str, now: datetime) -> None:
        """The subscription's lots not yet expired follow its freeze or resume (their expiry, a business
        midnight, moves by whole days of the business's calendar) or end with its cancellation."""


class SqlAlchemyMembershipRepository(AbstractMembershipRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self._session = session

    async def loyalty_program(self, tenant_id: uuid.UUID) -> LoyaltyProgram | None:
        return await loyalty_program(self._session, tenant_id)

    async def put_loyalty_program(self, program: LoyaltyProgram) -> None:
        values = {
            "points_credit_type_id": program.points_credit_type_id,
            "currency": program.currency,
            "step_minor": program.step_minor,
            "points_per_step": program.points_per_step,
            "points_per_visit": program.points_per_visit,
            "validity_days": program.validity_days,
            "reward_credit_type_id": program.reward_credit_type_id,
            "points_per_reward_unit": program.points_per_reward_unit,
            "updated_at": program.updated_at,
        }
        await self._session.execute(
            upsert(loyalty_programs)
            .values(tenant_id=program.tenant_id, **values)
            .on_conflict_do_update(index_elements=[loyalty_programs.c.tenant_id], set_=values)
        )

    async def settings(self, tenant_id: uuid.UUID) -> MembershipSettings:
        return await settings_of(self._session, tenant_id)

    async def put_settings(self, settings: MembershipSettings) -> None:
        values = {"clients_may_cancel": settings.clients_may_cancel, "updated_at": settings.updated_at}
        await self._session.execute(
            upsert(membership_settings)
            .values(tenant_id=settings.tenant_id, **values)
            .on_conflict_do_update(index_elements=[membership_settings.c.tenant_id], set_=values)
        )

    async def get(self, tenant_id: uuid.UUID, membership_id: uuid.UUID) -> Membership:
        row = (
            await self._session.execute(
                select(memberships).where(memberships.c.tenant_id == tenant_id, memberships.c.id == membership_id)
            )
        ).first()
        if row is None:
            raise NotFound("membership not found")
        return membership_from_row(row)

    async def subscription(self, tenant_id: uuid.UUID, subscription_id: uuid.UUID) -> Subscription:
        row = (
            await self._session.execute(
                select(subscriptions)
                .where(subscriptions.c.tenant_id == tenant_id, subscriptions.c.id == subscription_id)
                .with_for_update()
            )
        ).first()
        if row is None:
            raise NotFound("subscription not found")
        subscription = subscription_from_row(row)
        self.seen.add(subscription)
        return subscription

    async def subscription_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> Subscription | None:
        row = (
            await self._session.execute(
                select(subscriptions).where(
                    subscriptions.c.tenant_id == tenant_id, subscriptions.c.request_id == request_id
                )
            )
        ).first()
        return None if row is None else subscription_from_row(row)

    async def renewal_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> uuid.UUID | None:
        return (
            await self._session.execute(
                select(subscription_periods.c.subscription_id).where(
                    subscription_periods.c.tenant_id == tenant_id,
                    subscription_periods.c.request_id == request_id,
                    subscription_periods.c.kind == "renew",
                )
            )
        ).scalar()

    async def due_tenants(self, now: datetime, limit: int) -> list[uuid.UUID]:
        rows = (
            await self._session.execute(
                select(subscriptions.c.tenant_id)
                .where(subscriptions.c.next_review_at <= now)
                .group_by(subscriptions.c.tenant_id)
                .order_by(func.min(subscriptions.c.next_review_at))
                .limit(limit)
            )
        ).all()
        return [r.tenant_id for r in rows]

    async def claim_due_of(self, tenant_id: uuid.UUID, now: datetime, limit: int) -> list[Subscription]:
        rows = (
            await self._session.execute(
                select(subscriptions)
                .where(subscriptions.c.tenant_id == tenant_id, subscriptions.c.next_review_at <= now)
                .order_by(subscriptions.c.next_review_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        found = [subscription_from_row(r) for r in rows]
        self.seen.update(found)
        return found

    async def save(self) -> None:
        for membership in [a for a in self.seen if isinstance(a, Membership) and a.is_new]:
            await self._session.execute(
                insert(memberships).values(
                    tenant_id=membership.tenant_id,
                    id=membership.id,
                    name=membership.name,
                    package_id=membership.package_id,
                    benefits=membership.benefits,
                    duration_count=membership.duration_count,
                    duration_unit=membership.duration_unit.value,
                    price_minor=membership.price_minor,
                    currency=membership.currency,
                    tax_rate_bp=membership.tax_rate_bp,
                    invoicing=membership.invoicing.value,
                    payment_terms_days=membership.payment_terms_days,
                    tolerance_days=membership.tolerance_days,
                    auto_renew=membership.auto_renew,
                    expiring_notice_days=membership.expiring_notice_days,
                    extras=[{"description": e.description, "price_minor": e.price_minor} for e in membership.extras],
                    created_at=membership.created_at,
                )
            )
            membership.is_new = False
        for subscription in sorted((a for a in self.seen if isinstance(a, Subscription)), key=lambda s: s.id):
            await self._save_subscription(subscription)

    async def _save_subscription(self, s: Subscription) -> None:
        values = {
            "client_id": s.client_id,
            "membership_name": s.membership_name,
            "starts_on": s.starts_on,
            "expires_on": s.expires_on,
            "tolerance_days": s.tolerance_days,
            "status": s.status.value,
            "price_minor": s.price_minor,
            "auto_renew": s.auto_renew,
            "expiring_notice_days": s.expiring_notice_days,
            "invoice_id": s.invoice_id,
            "frozen_from": s.frozen_from,
            "frozen_until": s.frozen_until,
            "resumes_at": s.resumes_at,
            "freeze_reason": s.freeze_reason,
            "notice_sent_for": s.notice_sent_for,
            "cancel_reason": s.cancel_reason,
            "next_review_at": s.next_review_at,
            "updated_at": s.updated_at,
        }
        if s.is_new:
            await self._session.execute(
                insert(subscriptions).values(
                    tenant_id=s.tenant_id,
                    id=s.id,
                    membership_id=s.membership_id,
                    currency=s.currency,
                    created_at=s.created_at,
                    request_id=s.request_id,
                    version=0,
                    **values,
                )
            )
            s.is_new = False
        else:
            await self._session.execute(
                update(subscriptions)
                .where(subscriptions.c.tenant_id == s.tenant_id, subscriptions.c.id == s.id)
                .values(version=subscriptions.c.version + 1, **values)
            )
            s.version += 1
        if s.new_periods:
            await self._session.execute(
                insert(subscription_periods),
                [
                    {
                        "tenant_id": s.tenant_id,
                        "subscription_id": s.id,
                        "starts_on": p.starts_on,
                        "expires_on": p.expires_on,
                        "invoice_id": p.invoice_id,
                        "kind": p.kind,
                        "request_id": p.request_id,
                        "created_at": p.created_at,
                    }
                    for p in s.new_periods
                ],
            )
            s.new_periods.clear()

    async def move_lot_expiries(self, s: Subscription, zone: str, now: datetime) -> None:
        params = {"t": s.tenant_id, "s": s.id, "now": now}
        if s.lot_shift_days:
            await self._session.execute(
                text(
                    "UPDATE credit_lots SET expires_at ="
                    " (((expires_at AT TIME ZONE :zone)::date + CAST(:days AS integer))::timestamp AT TIME ZONE :zone)"
                    " WHERE tenant_id = :t AND subscription_id = :s AND expires_at > :now"
                ),
                params | {"zone": zone, "days": s.lot_shift_days},
            )
            s.lot_shift_days = 0
        if s.lots_end_at is not None:
            await self._session.execute(
                text(
                    "UPDATE credit_lots SET expires_at = greatest(:end, starts_at)"
                    " WHERE tenant_id = :t AND subscription_id = :s AND expires_at > :end"
                ),
                params | {"end": s.lots_end_at},
            )
            s.lots_end_at = None
