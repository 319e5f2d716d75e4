"""`python -m bench`: start PostgreSQL, NATS and every unit, run the measurements, print the table, stop all.

Exit code 0 whatever the verdicts (a MISS is a finding, not a failure); non-zero only when the harness
itself fails or is interrupted.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import asyncpg
import uvloop

from bench import campaigns, credits, measurements, reminders, scheduling, search, web
from bench.measurements import Bench
from bench.report import Result, format_row, format_table, write_json
from bench.settings import BenchSettings
from bench.stack import Stack, print_logs
from platform_dev.testing.infra import test_infra

MEASUREMENTS: list[Callable[[Bench], Awaitable[Result | list[Result]]]] = [
    measurements.read_client,
    measurements.create_client,
    measurements.event_latency,
    scheduling.availability,
    scheduling.contended_booking,
    search.search_clients,  # seeds a tenant of its own (100,000 clients)
    measurements.import_clients,
    reminders.due_reminders,
    campaigns.campaign_send,
    credits.check_ins,
    web.card_page,
    measurements.relay_throughput,  # last: it stops the notification unit
]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def run_all(stack: Stack, settings: BenchSettings, results: list[Result]) -> None:
    log("migrating and starting units")
    await stack.start()
    connector = aiohttp.TCPConnector(limit=settings.concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        tenant = await stack.sign_up(http)
        http.headers["Authorization"] = f"Bearer {tenant.token}"
        pool = await asyncpg.create_pool(
            stack.database_dsn("client"), min_size=settings.concurrency, max_size=settings.concurrency
        )
        try:
            bench = Bench(settings, stack, tenant, http, pool, measurements.scratch_suffix())
            for measure in MEASUREMENTS:
                if settings.only and measure.__name__ not in settings.only:
                    continue
                # Each measurement starts on a quiet platform: the previous one's event backlog is its own.
                if unsettled := await stack.settle():
                    log(unsettled)
                log(f"{measure.__name__} ...")
                outcome = await measure(bench)
                for result in outcome if isinstance(outcome, list) else [outcome]:
                    results.append(result)
                    log(format_row(result))
        finally:
            await pool.close()


def main() -> int:
    settings = BenchSettings.from_env()
    results: list[Result] = []
    failed = False
    started = time.monotonic()
    log("starting embedded PostgreSQL and NATS")
    try:
        with test_infra() as (infra, _nats):
            stack = Stack.prepare(infra)
            try:
                # uvloop: the load generator's own overhead stays small, for ours and raw alike.
                with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                    runner.run(run_all(stack, settings, results))
            except KeyboardInterrupt:
                failed = True
                raise
            except Exception:
                failed = True
                print_logs(stack)
                raise
            finally:
                log(f"stopping units: {stack.stop() or 'none running'}")
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if results:
            print(format_table(results))
            write_json(settings.results_path, results, settings)
            state = "partial results" if failed else "results"
            print(f"\n{state} written to {settings.results_path} ({time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
