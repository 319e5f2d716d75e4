"""Forgets public booking page requests once they are old: what a visitor typed (name, email, phone) is kept
only as long as it can matter. A confirmed one lives on as its ordinary request; one never confirmed was never
a request at all. Every replica runs it; each batch is claimed with SKIP LOCKED, so replicas share the work."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from platform_core.service import run_periodically


class PublicRequestPurger:
    name = "public-request-purger"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        kept_for: timedelta,
        interval_seconds: float,
        batch_size: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._kept_for = kept_for
        self._interval = interval_seconds
        self._batch = batch_size
        self._clock = clock

    async def run_once(self) -> int:
        """Delete every request for a code older than the retention, batch by batch; returns how many."""
        total = 0
        while True:
            async with self._sessions() as session, session.begin():
                deleted = await session.execute(
                    text(
                        "DELETE FROM public_requests WHERE (tenant_id, id) IN ("
                        "SELECT tenant_id, id FROM public_requests WHERE created_at < :before "
                        "ORDER BY created_at LIMIT :n FOR UPDATE SKIP LOCKED)"
                    ),
                    {"before": self._clock() - self._kept_for, "n": self._batch},
                )
            done = int(deleted.rowcount or 0)  # type: ignore[attr-defined]
            total += done
            if done < self._batch:
                return total

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(stop, self._interval, self.run_once, what="purging old public booking requests")
