"""The background job that gives back tentative holds no pending request owns (see
service_layer/hold_reconciliation). Every replica runs it; each hold is judged under its own locks, so two
replicas judging one hold agree, and releasing a hold twice is no error."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.service import run_periodically
from portal_requests_svc.adapters.scheduler import AbstractScheduler
from portal_requests_svc.service_layer.handlers import UowFactory
from portal_requests_svc.service_layer.hold_reconciliation import release_orphan_holds


class HoldReconciler:
    name = "hold-reconciler"

    def __init__(
        self,
        uow_factory: UowFactory,
        scheduler: AbstractScheduler,
        *,
        interval_seconds: float,
        grace: timedelta,
        horizon: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._uow_factory = uow_factory
        self._scheduler = scheduler
        self._interval = interval_seconds
        self._grace = grace
        self._horizon = horizon
        self._clock = clock

    async def run_once(self) -> int:
        """One pass over every business that may have holds; returns how many holds were given back."""
        async with self._uow_factory() as uow:
            tenants = await uow.requests.tenants_with_settings()
        released = 0
        for tenant_id in tenants:
            # The reconciler acts for each business in turn.
            with bind_call_context(CallContext(tenant_id, Principal.service("portal_requests"))):
                released += len(
                    await release_orphan_holds(
                        self._uow_factory,
                        self._scheduler,
                        tenant_id,
                        self._clock(),
                        grace=self._grace,
                        horizon=self._horizon,
                    )
                )
        return released

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(stop, self._interval, self.run_once, what="releasing orphan tentative holds")
