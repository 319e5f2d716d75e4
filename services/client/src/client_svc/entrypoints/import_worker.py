"""Runs client imports in the background of the client service, on whichever replica claims them.

A job is claimed with ``FOR UPDATE SKIP LOCKED`` and leased for a while; the run renews the lease as it
goes and every write of a batch checks it still holds it, so a job never runs twice at once. A replica that
stops releases its lease (another takes the job over at once); one that dies leaves it to expire. A batched
import resumes after its last committed batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable

from client_svc.domain import commands_imports
from client_svc.domain.imports import JobRow
from client_svc.service_layer import import_handlers
from client_svc.service_layer.import_handlers import LeaseLost
from client_svc.service_layer.import_unit_of_work import ImportUnitOfWork
from platform_core.ids import new_id

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0


class ImportWorker:
    name = "client-imports"

    def __init__(
        self,
        import_uow: Callable[[], ImportUnitOfWork],
        *,
        poll_interval: float = 1.0,
        on_stop: Callable[[], None] = lambda: None,
    ) -> None:
        self._uow = import_uow
        self._on_stop = on_stop  # lets go of what the runs shared (the contact check workers)
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._last_purge = 0.0
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{new_id().hex[-8:]}"

    def wake(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self._claim_and_work(stop)
        finally:
            self._on_stop()

    async def _claim_and_work(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            self._wake.clear()
            try:
                job = await import_handlers.claim_import(commands_imports.ClaimImport(self.owner), self._uow())
                failures = 0
            except Exception:
                failures += 1
                log.warning("claiming an import failed (%d in a row)", failures, exc_info=True)
                await _wait(stop, self._wake, min(0.2 * 2**failures, 10.0))
                continue
            if job is not None:
                await self._work(job, stop)
                continue  # there may be more
            await self._purge()
            await _wait(stop, self._wake, self._poll_interval)

    async def _work(self, job: JobRow, stop: asyncio.Event) -> None:
        command = commands_imports.RunImport(job, self.owner)
        run = asyncio.create_task(import_handlers.run_import(command, self._uow()))
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([run, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not run.done():
            # Shutting down: what is committed stays, another replica resumes (the lease is released for it).
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await run
            with contextlib.suppress(Exception):
                await import_handlers.release_imports(commands_imports.ReleaseImports(self.owner), self._uow())
            return
        try:
            run.result()
        except LeaseLost:
            log.warning("import lease lost; another replica has the job")
        except Exception:
            # Left leased: once the lease expires the job is tried again (and given up after a few tries).
            log.exception("import run failed")

    async def _purge(self) -> None:
        now = time.monotonic()
        if now - self._last_purge < PURGE_EVERY_SECONDS:
            return
        self._last_purge = now
        try:
            purged = await import_handlers.purge_imports(commands_imports.PurgeImports(), self._uow())
            if purged:
                log.info("purged %d old client imports", purged)
        except Exception:
            log.warning("purging old client imports failed", exc_info=True)


async def _wait(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
