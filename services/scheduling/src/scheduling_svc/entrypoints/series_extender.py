"""The background job that keeps every active series booked up to the rolling horizon.

Every replica runs it; each series is extended in its own transaction and claimed with FOR UPDATE SKIP LOCKED,
so replicas share the work and never book an occurrence twice (the unique occurrence index backs that up).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from platform_core.service import run_periodically
from scheduling_svc.domain import commands
from scheduling_svc.domain.series import Horizon
from scheduling_svc.service_layer import series_handlers
from scheduling_svc.service_layer.unit_of_work import SchedulingUnitOfWork


class SeriesExtender:
    name = "series-extender"

    def __init__(
        self,
        uow_factory: Callable[[], SchedulingUnitOfWork],
        horizon: Horizon,
        *,
        interval_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._uow_factory = uow_factory
        self._horizon = horizon
        self._interval = interval_seconds
        self._clock = clock

    async def run_once(self) -> int:
        return await series_handlers.extend_due_series(
            commands.ExtendDueSeries(self._clock(), self._horizon), self._uow_factory()
        )

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(stop, self._interval, self.run_once, what="extending recurring series")
