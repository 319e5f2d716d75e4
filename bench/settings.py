"""Benchmark knobs, read from BENCH_* environment variables (defaults keep a run under ~4 minutes)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class BenchSettings:
    seconds: float  # measured window of each timed phase
    warmup_seconds: float  # unmeasured load before each window (connections, prepared statements, caches)
    concurrency: int  # HTTP connections / database connections / workers
    seed_clients: int  # clients created before the read benchmark
    # Events per second for the latency measurement; None = half the measured POST throughput (the issue's
    # rate), so the pipeline runs below saturation and the figure is latency, not backlog.
    event_rate: float | None
    relay_events: int  # outbox rows the relay drains in the throughput measurement
    import_rows: int  # rows of the CSV the import measurement imports
    results_path: Path
    search_clients: int = 100_000  # clients of the one tenant the search measurement searches
    only: tuple[str, ...] = ()  # run only these measurements (function names); empty: all

    @classmethod
    def from_env(cls) -> BenchSettings:
        return cls(
            seconds=_env_float("BENCH_SECONDS", 10.0),
            warmup_seconds=_env_float("BENCH_WARMUP_SECONDS", 3.0),
            concurrency=_env_int("BENCH_CONCURRENCY", 64),
            seed_clients=_env_int("BENCH_SEED_CLIENTS", 1000),
            event_rate=float(os.environ["BENCH_EVENT_RATE"]) if os.environ.get("BENCH_EVENT_RATE") else None,
            relay_events=_env_int("BENCH_RELAY_EVENTS", 20_000),
            import_rows=_env_int("BENCH_IMPORT_ROWS", 20_000),
            results_path=Path(os.environ.get("BENCH_RESULTS", "/tmp/atrium-bench-results.json")),
            search_clients=_env_int("BENCH_SEARCH_CLIENTS", 100_000),
            only=tuple(name for name in os.environ.get("BENCH_ONLY", "").replace(",", " ").split() if name),
        )
