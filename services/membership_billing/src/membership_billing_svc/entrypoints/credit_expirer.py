"""The background job that writes the expiry entries of lots past their expiry (at the business's midnight).

Every replica runs it; each batch is claimed with FOR UPDATE SKIP LOCKED, so replicas share the work, and a
lot expires once (a unique index). Balances never wait for it: an expiry entry is effective at the lot's
expiry, and reads treat a lot past it as empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from membership_billing_svc.domain import commands
from membership_billing_svc.service_layer import ledger_handlers
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork
from platform_core.service import run_periodically


class CreditExpirer:
    name = "credit-expirer"

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
        """Expire everything due now, batch by batch; returns how many lots expired."""
        total = 0
        while True:
            expired = await ledger_handlers.expire_lots(
                commands.ExpireLots(self._clock(), self._batch), self._uow_factory()
            )
            total += expired
            if expired < self._batch:
                return total

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(stop, self._interval, self.run_once, what="expiring credits")
