"""The background job that keeps every active series booked up to the rolling horizon.

Every replica runs it; each series is extended in its own transaction and claimed with FOR UPDATE SKIP LOCKED,
so replicas share the work and never book an occurrence twice (the unique occurrence index backs that up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from scheduling_svc.service_layer import series
from scheduling_svc.service_layer.unit_of_work import SchedulingUnitOfWork

log = logging.getLogger(__name__)


class SeriesExtender:
    name = "series-extender"

    def __init__(
        self,
        uow_factory: Callable[[], SchedulingUnitOfWork],
        horizon: series.Horizon,
        *,
        interval_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._uow_factory = uow_factory
        self._horizon = horizon
        self._interval = interval_seconds
        self._clock = clock

    async def run_once(self) -> int:
        return await series.extend_due_series(self._uow_factory, self._clock(), self._horizon)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # the database is away for a moment: the next run catches up
                log.exception("extending recurring series failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._interval)
