"""The background job that lifts online-booking blocks whose end has come (e.g. the billing policy's block
after repeated no-shows). Every replica runs it; each batch is claimed with FOR UPDATE SKIP LOCKED, so
replicas share the work and a block is lifted once (with its ClientBookingUnblocked)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from client_svc.domain import commands
from client_svc.service_layer import handlers
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.service import run_periodically


class BookingBlockSweeper:
    name = "booking-block-sweeper"

    def __init__(
        self,
        uow_factory: Callable[[], ClientUnitOfWork],
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
        """Lift every block ended by now, batch by batch; returns how many."""
        total = 0
        while True:
            command = commands.LiftEndedBookingBlocks(now=self._clock(), batch=self._batch)
            lifted = await handlers.lift_ended_booking_blocks(command, self._uow_factory())
            total += lifted
            if lifted < self._batch:
                return total

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(stop, self._interval, self.run_once, what="lifting ended booking blocks")
