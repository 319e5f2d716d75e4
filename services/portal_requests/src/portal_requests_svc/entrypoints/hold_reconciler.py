"""The background job that gives back tentative holds no pending request owns (see
service_layer/hold_handlers). Every replica runs it; each hold is judged under its own locks, so two
replicas judging one hold agree, and releasing a hold twice is no error."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from platform_core.service import run_periodically
from portal_requests_svc.domain import commands
from portal_requests_svc.service_layer.hold_handlers import reconcile_holds
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork


class HoldReconciler:
    name = "hold-reconciler"

    def __init__(
        self,
        uow: PortalRequestsUnitOfWork,
        *,
        interval_seconds: float,
        grace: timedelta,
        horizon: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._uow = uow
        self._interval = interval_seconds
        self._grace = grace
        self._horizon = horizon
        self._clock = clock

    async def run_once(self) -> int:
        """One pass over every business that may have holds; returns how many holds were given back."""
        return await reconcile_holds(commands.ReconcileHolds(self._clock(), self._grace, self._horizon), self._uow)

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(stop, self._interval, self.run_once, what="releasing orphan tentative holds")
