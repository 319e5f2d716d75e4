"""Load generation and the figures every measurement reports (throughput, p50, p99, errors)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

# An operation returns True on success; False or an exception counts as an error.
Operation = Callable[[], Awaitable[bool]]

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class Figures:
    ops_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    count: int
    first_error: str | None = None


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(math.ceil(q * len(sorted_values)) - 1, 0)
    return sorted_values[rank]


def figures(
    latencies_ms: Sequence[float], *, seconds: float, errors: int = 0, first_error: str | None = None
) -> Figures:
    ordered = sorted(latencies_ms)
    return Figures(
        ops_per_s=len(ordered) / seconds if seconds > 0 else 0.0,
        p50_ms=percentile(ordered, 0.50),
        p99_ms=percentile(ordered, 0.99),
        errors=errors,
        count=len(ordered),
        first_error=first_error,
    )


class _Errors:
    def __init__(self) -> None:
        self.count = 0
        self.first: str | None = None

    def add(self, what: str) -> None:
        self.count += 1
        if self.first is None:
            self.first = what


async def closed_loop(op: Operation, *, workers: int, seconds: float, warmup: float) -> Figures:
    """``workers`` coroutines each run ``op`` back to back for ``warmup + seconds``.

    Only operations that complete inside the measured window count towards throughput and latency, so the
    warm-up (connection set-up, first-call costs) stays out of the figures. Errors count over the whole
    run: a failure while warming up is still a failure.
    """
    start = time.perf_counter_ns() + int(warmup * NS_PER_S)
    end = start + int(seconds * NS_PER_S)
    latencies: list[float] = []
    errors = _Errors()

    async def worker() -> None:
        while (began := time.perf_counter_ns()) < end:
            try:
                ok = await op()
                failure = None if ok else "unsuccessful response"
            except Exception as exc:
                failure = repr(exc)
            done = time.perf_counter_ns()
            if failure is not None:
                errors.add(failure)
            elif start <= done <= end:
                latencies.append((done - began) / NS_PER_MS)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return figures(latencies, seconds=seconds, errors=errors.count, first_error=errors.first)


async def paced_loop(op: Operation, *, rate: float, seconds: float, workers: int = 8) -> tuple[int, int, str | None]:
    """Start ``op`` at a steady ``rate`` per second for ``seconds`` (open loop, spread over ``workers``).

    A steady rate measures latency rather than backlog. Slots are on a fixed schedule, so a slow
    operation delays only its own worker and the others keep the pace. Returns (ok, errors, first error).
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    total = int(rate * seconds)
    ok = 0
    errors = _Errors()

    async def worker(offset: int) -> None:
        nonlocal ok
        for slot in range(offset, total, workers):
            delay = start + slot / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                if await op():
                    ok += 1
                else:
                    errors.add("unsuccessful response")
            except Exception as exc:
                errors.add(repr(exc))

    await asyncio.gather(*(worker(i) for i in range(workers)))
    return ok, errors.count, errors.first
