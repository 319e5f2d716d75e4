"""The background loop that delivers due messages. Every replica runs it; each batch is leased with
FOR UPDATE SKIP LOCKED, so replicas share the work and never send one attempt twice."""

from __future__ import annotations

import asyncio

from notification_svc.domain import commands
from notification_svc.service_layer import delivery_handlers
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork
from platform_core.service import run_periodically


class DispatchWorker:
    name = "message-dispatcher"

    def __init__(
        self, uow: NotificationUnitOfWork, dispatch: commands.DispatchDueMessages, *, interval_seconds: float
    ) -> None:
        self._uow = uow
        self._dispatch = dispatch
        self._interval = interval_seconds

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(stop, self._interval, self._dispatch_due, what="delivering messages")

    async def _dispatch_due(self) -> int:
        return await delivery_handlers.dispatch_due_messages(self._dispatch, self._uow)
