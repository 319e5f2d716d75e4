"""Forgets public booking page requests once they are old: what a visitor typed (name, email, phone) is kept
only as long as it can matter. A confirmed one lives on as its ordinary request; one never confirmed was never
a request at all. Every replica runs it; each batch is claimed with SKIP LOCKED, so replicas share the work."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from platform_core.service import run_periodically
from portal_requests_svc.domain import commands
from portal_requests_svc.service_layer.public_request_handlers import purge_public_requests
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork


class PublicRequestPurger:
    name = "public-request-purger"

    def __init__(
        self,
        uow: PortalRequestsUnitOfWork,
        *,
        kept_for: timedelta,
        interval_seconds: float,
        batch_size: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._uow = uow
        self._kept_for = kept_for
        self._interval = interval_seconds
        self._batch = batch_size
        self._clock = clock

    async def run_once(self) -> int:
        """Delete every request for a code older than the retention, batch by batch; returns how many."""
        total = 0
        while True:
            done = await purge_public_requests(
                commands.PurgePublicRequests(self._clock() - self._kept_for, self._batch), self._uow
            )
            total += done
            if done < self._batch:
                return total

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(stop, self._interval, self.run_once, what="purging old public booking requests")
