"""Use cases of the membership-expiry rule: keep each subscription's newest facts from billing's events and
(re)plan its expiry reminders from them, in the consuming transaction of the event; read, set and reset the
business's rule."""

from __future__ import annotations

import uuid
from datetime import datetime

from notification_svc.domain.membership_expiry import (
    DEFAULT_EXPIRY_RULE,
    EXPIRY_KIND,
    SubscriptionFacts,
    expiry_reminders,
)
from notification_svc.domain.payment_notices import BillingStep, billing_notices
from notification_svc.service_layer.delivery import client_zone, on_preferred_channel
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork

# Billing's one-off notice at the membership's expiring_notice_days, which a business's own rule replaces.
EXPIRING_NOTICE = "membership.expiring"


async def plan_membership_notices(
    tenant_id: uuid.UUID,
    source_event_id: uuid.UUID,
    occurred_at: datetime,
    client_id: uuid.UUID,
    facts: SubscriptionFacts | None,
    notice: BillingStep | None,
    uow: NotificationUnitOfWork,
    *,
    now: datetime,
) -> int:
    """A membership event: its notice (none for a fact with nothing to tell, e.g. resumed), and the
    subscription's expiry reminders moved to what is now true of it: those not yet sent are cancelled (in
    this transaction, so none goes out stale) and the rule's still ahead planned again. An event older than
    the facts kept moves no reminder. Returns how many messages were newly planned."""
    async with uow:
        zone = await client_zone(uow, tenant_id, client_id)
        rule = await uow.memberships.rule(tenant_id)
        planned = []
        if notice is not None and not (notice.kind == EXPIRING_NOTICE and rule is not None):
            planned += billing_notices(notice, zone, now=now)
        if facts is not None and await uow.memberships.keep_subscription(tenant_id, facts, occurred_at, now):
            await uow.messages.cancel_pending(tenant_id, facts.subscription_id, EXPIRY_KIND, now)
            planned += expiry_reminders(tenant_id, facts, source_event_id, zone, rule or DEFAULT_EXPIRY_RULE, now=now)
        count = await uow.messages.plan(await on_preferred_channel(uow, tenant_id, client_id, planned), now)
        await uow.commit()
        return count
