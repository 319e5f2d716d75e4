"""The background job that tells when open invoices are due soon, due today and overdue (PaymentDue, for the
notification service), each stage once per invoice, judged on each business's calendar.

Every replica runs it: invoices are claimed with FOR UPDATE SKIP LOCKED, and a notice row per invoice and
stage (its primary key) decides which replica tells it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from membership_billing_svc.domain import commands
from membership_billing_svc.service_layer import handlers
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.service import run_periodically

PRINCIPAL = Principal.service("membership_billing")


class PaymentDueNotifier:
    name = "payment-due-notifier"

    def __init__(
        self,
        uow_factory: Callable[[], BillingUnitOfWork],
        *,
        soon_days: int,
        interval_seconds: float,
        batch_size: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._uow_factory = uow_factory
        self._soon_days = soon_days
        self._interval = interval_seconds
        self._batch = batch_size
        self._clock = clock

    async def run_once(self) -> int:
        """A batch per business of what is due now (the next run takes the rest); returns how many were told."""
        now = self._clock()
        async with self._uow_factory() as uow:
            tenants = await uow.due_notices.due_tenants(now.date(), self._soon_days, self._batch)
        told = 0
        for tenant_id in tenants:
            with bind_call_context(CallContext(tenant_id, PRINCIPAL)):
                told += await handlers.notify_payments_due(
                    commands.NotifyPaymentsDue(tenant_id, self._soon_days, self._batch, now),
                    self._uow_factory(),
                )
        return told

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(stop, self._interval, self.run_once, what="telling payments due")
