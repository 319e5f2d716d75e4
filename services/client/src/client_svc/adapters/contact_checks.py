"""An import's emails and phones checked on every core: a pool of worker processes, sized to the machine.

Checking an email (email-validator) and a phone (phonenumbers) is most of the CPU a row of an import costs.
The import hands each batch's distinct values to the pool ahead of reading the batch; the results come back
as plain (valid, text) pairs and this process's domain learns them (``contact.learn_contacts``), so reading
the rows and creating the clients by the usual rules finds every value already checked. The results are those
of the very functions the rows would call, so an import reads exactly as it would without the pool.
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from client_svc.domain.contact import Checked, check_contacts, learn_contacts

log = logging.getLogger(__name__)

Phone = tuple[str, str | None]  # (as typed, the default region it is read in)


@dataclass
class ContactResults:
    """Checked values, not yet known to this process: ``learn`` makes them known (just before they are read)."""

    parts: list[tuple[Sequence[str], list[Checked], Sequence[Phone], list[Checked]]] = field(default_factory=list)

    def learn(self) -> None:
        for emails, email_results, phones, phone_results in self.parts:
            learn_contacts(emails, email_results, phones, phone_results)


class AbstractContactChecks(abc.ABC):
    """Checks a batch's emails and phones ahead of the batch (``check``); each row reads the same either way."""

    @abc.abstractmethod
    async def check(self, emails: Sequence[str], phones: Sequence[Phone]) -> ContactResults: ...

    @abc.abstractmethod
    def close(self) -> None:
        """Let go of what the checks hold (worker processes)."""


class InlineContactChecks(AbstractContactChecks):
    """Nothing ahead: each row's values are checked as the row is read, in this process."""

    async def check(self, emails: Sequence[str], phones: Sequence[Phone]) -> ContactResults:
        return ContactResults()

    def close(self) -> None:
        """Nothing held."""


def machine_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ProcessPoolContactChecks(AbstractContactChecks):
    """A batch's values split among ``workers`` processes (spawned at the first import, kept until ``close``).

    A batch with fewer than ``min_values`` values is left to the rows (a pool's round trip would cost more).
    If the workers fail, the batch is left to the rows; a broken pool (a worker killed) is replaced for the next.
    """

    def __init__(self, workers: int, *, min_values: int = 200) -> None:
        self._workers = max(workers, 1)
        self._min_values = min_values
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None

    def _pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._executor is None:
            # Spawned, not forked: the service's process holds gRPC's and the event loop's threads.
            self._executor = concurrent.futures.ProcessPoolExecutor(
                self._workers, mp_context=multiprocessing.get_context("spawn")
            )
        return self._executor

    async def check(self, emails: Sequence[str], phones: Sequence[Phone]) -> ContactResults:
        if len(emails) + len(phones) < self._min_values:
            return ContactResults()
        loop = asyncio.get_running_loop()
        pool = self._pool()
        n = self._workers
        slices = [(emails[i::n], phones[i::n]) for i in range(n)]
        try:
            answers = await asyncio.gather(
                *(loop.run_in_executor(pool, check_contacts, e, p) for e, p in slices if e or p)
            )
        except Exception as exc:
            # Only a saving is lost: the rows check their values themselves, with the same results.
            log.warning("the import's contact check workers failed; this batch is checked in-process", exc_info=True)
            if isinstance(exc, BrokenProcessPool):
                self.close()
            return ContactResults()
        parts = [(e, er, p, pr) for (e, p), (er, pr) in zip([s for s in slices if s[0] or s[1]], answers, strict=True)]
        return ContactResults(parts)

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
