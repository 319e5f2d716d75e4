"""Whether the message bus answers, for /readyz: events are written to outboxes either way, but a
platform without NATS cannot deliver them, so the gateway reports itself not ready while it is away."""

from __future__ import annotations

import asyncio
import contextlib

from nats.aio.client import Client as NATS

from platform_core.messaging.bus import connect


class BusProbe:
    def __init__(self, url: str) -> None:
        self._url = url
        self._stop = asyncio.Event()
        self._nc: NATS | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        # In the background: the gateway serves (and answers "not ready") while NATS is not there yet.
        self._task = asyncio.create_task(self._connect(), name="bus-probe")

    async def _connect(self) -> None:
        self._nc = await connect(self._url, name="atrium-gateway", stop=self._stop)

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()
