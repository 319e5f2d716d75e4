"""The business's membership-expiry rule, and the subscriptions' facts its reminders are planned from
(kept from billing's Membership* events, the newest fact winning)."""

from __future__ import annotations

import abc
import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from notification_svc.domain.membership_expiry import MembershipExpiryRule, SubscriptionFacts


class AbstractMembershipStore(abc.ABC):
    @abc.abstractmethod
    async def rule(self, tenant_id: uuid.UUID) -> MembershipExpiryRule | None: ...

    @abc.abstractmethod
    async def set_rule(self, tenant_id: uuid.UUID, rule: MembershipExpiryRule, now: datetime) -> None: ...

    @abc.abstractmethod
    async def delete_rule(self, tenant_id: uuid.UUID) -> bool: ...

    @abc.abstractmethod
    async def keep_subscription(
        self, tenant_id: uuid.UUID, facts: SubscriptionFacts, occurred_at: datetime, now: datetime
    ) -> bool:
        """Keep the facts unless newer ones are kept already (an event delivered late); True when kept."""


class SqlAlchemyMembershipStore(AbstractMembershipStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rule(self, tenant_id: uuid.UUID) -> MembershipExpiryRule | None:
        row = (
            await self.session.execute(
                text("SELECT days, channels, send_at FROM membership_expiry_rules WHERE tenant_id = :t"),
                {"t": tenant_id},
            )
        ).first()
        return MembershipExpiryRule(tuple(row.days), tuple(row.channels), row.send_at) if row else None

    async def set_rule(self, tenant_id: uuid.UUID, rule: MembershipExpiryRule, now: datetime) -> None:
        await self.session.execute(
            text(
                "INSERT INTO membership_expiry_rules (tenant_id, days, channels, send_at, updated_at) "
                "VALUES (:t, :days, :channels, :send_at, :now) ON CONFLICT (tenant_id) DO UPDATE SET "
                "days = excluded.days, channels = excluded.channels, send_at = excluded.send_at, "
                "updated_at = excluded.updated_at"
            ),
            {
                "t": tenant_id,
                "days": list(rule.days),
                "channels": list(rule.channels),
                "send_at": rule.send_at,
                "now": now,
            },
        )

    async def delete_rule(self, tenant_id: uuid.UUID) -> bool:
        deleted = await self.session.execute(
            text("DELETE FROM membership_expiry_rules WHERE tenant_id = :t"), {"t": tenant_id}
        )
        return bool(deleted.rowcount)  # type: ignore[attr-defined]

    async def keep_subscription(
        self, tenant_id: uuid.UUID, facts: SubscriptionFacts, occurred_at: datetime, now: datetime
    ) -> bool:
        kept = await self.session.execute(
            text(
                "INSERT INTO subscription_facts (tenant_id, subscription_id, client_id, membership_name, expires_on, "
                "tolerance_until, status, occurred_at, updated_at) VALUES (:t, :id, :client, :name, :expires, "
                ":tolerance, :status, :occurred, :now) ON CONFLICT (tenant_id, subscription_id) DO UPDATE SET "
                "membership_name = excluded.membership_name, expires_on = excluded.expires_on, "
                "tolerance_until = excluded.tolerance_until, status = excluded.status, "
                "occurred_at = excluded.occurred_at, updated_at = excluded.updated_at "
                "WHERE subscription_facts.occurred_at <= excluded.occurred_at RETURNING 1"
            ),
            {
                "t": tenant_id,
                "id": facts.subscription_id,
                "client": facts.client_id,
                "name": facts.membership_name,
                "expires": facts.expires_on,
                "tolerance": facts.tolerance_until,
                "status": facts.status,
                "occurred": occurred_at,
                "now": now,
            },
        )
        return kept.first() is not None
