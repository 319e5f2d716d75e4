"""The background job that expires open requests once every preferred time (or a proposal's hold) has passed,
and passes waitlist offers whose hold ran out on to the next waiting client.

Every replica runs it; each batch is claimed with FOR UPDATE SKIP LOCKED, so replicas share the work and
never expire a request twice (and a request being decided right now is left to its decision).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from platform_core.service import run_periodically
from portal_requests_svc.domain import commands
from portal_requests_svc.service_layer import handlers, waitlist_handlers
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork


class RequestExpirer:
    name = "request-expirer"

    def __init__(
        self,
        uow: PortalRequestsUnitOfWork,
        *,
        interval_seconds: float,
        batch_size: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._uow = uow
        self._interval = interval_seconds
        self._batch = batch_size
        self._clock = clock

    async def run_once(self) -> int:
        """Expire everything due now, batch by batch; returns how many requests and offers ran out."""
        total = 0
        for sweep in (self._expire_requests, self._pass_on_offers):
            while True:
                done = await sweep()
                total += done
                if done < self._batch:
                    break
        return total

    async def _expire_requests(self) -> int:
        return await handlers.expire_due_requests(commands.ExpireDueRequests(self._clock(), self._batch), self._uow)

    async def _pass_on_offers(self) -> int:
        return await waitlist_handlers.pass_on_expired_offers(
            commands.PassOnExpiredOffers(self._clock(), self._batch), self._uow
        )

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(stop, self._interval, self.run_once, what="expiring appointment requests")
