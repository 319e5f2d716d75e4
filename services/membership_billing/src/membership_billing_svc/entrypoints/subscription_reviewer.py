"""The background job that applies what the calendar decides about subscriptions: a freeze that ran out
resumes, the expiring notice goes, a subscription enters its tolerance days and then expires, and one set to
renew by itself is renewed (invoiced as its membership says).

Every replica runs it. Each subscription names the instant of its next change (``next_review_at``, a
business midnight); a batch is claimed with FOR UPDATE SKIP LOCKED, so replicas share the work and each
change happens once. Days are the business's: its zone is asked for per business.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from membership_billing_svc.domain import commands
from membership_billing_svc.service_layer import membership_handlers
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.service import run_periodically

PRINCIPAL = Principal.service("membership_billing")


class SubscriptionReviewer:
    name = "subscription-reviewer"

    def __init__(
        self,
        uow_factory: Callable[[], BillingUnitOfWork],
        *,
        interval_seconds: float,
        batch_size: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._uow_factory = uow_factory
        self._interval = interval_seconds
        self._batch = batch_size
        self._clock = clock

    async def run_once(self) -> int:
        """A batch of what is due now per business (the next run takes the rest); returns how many were
        reviewed."""
        now = self._clock()
        async with self._uow_factory() as uow:
            tenants = await uow.memberships.due_tenants(now, self._batch)
        total = 0
        for tenant_id in tenants:
            with bind_call_context(CallContext(tenant_id, PRINCIPAL)):
                total += await membership_handlers.review_subscriptions(
                    commands.ReviewSubscriptions(tenant_id, now, self._batch), self._uow_factory()
                )
        return total

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(stop, self._interval, self.run_once, what="reviewing subscriptions")
