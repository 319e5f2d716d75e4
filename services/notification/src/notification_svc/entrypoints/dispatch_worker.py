"""The background loop that delivers due messages. Every replica runs it; each batch is leased with
FOR UPDATE SKIP LOCKED, so replicas share the work and never send one attempt twice."""

from __future__ import annotations

import asyncio

from notification_svc.service_layer.delivery import Dispatcher
from platform_core.service import run_periodically


class DispatchWorker:
    name = "message-dispatcher"

    def __init__(self, dispatcher: Dispatcher, *, interval_seconds: float) -> None:
        self._dispatcher = dispatcher
        self._interval = interval_seconds

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(stop, self._interval, self._dispatcher.dispatch_all_due, what="delivering messages")
