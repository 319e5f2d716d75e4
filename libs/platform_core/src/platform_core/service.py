"""The life of a gRPC service process, the same for every service.

``service_main`` is each service's ``__main__``: ``serve``, ``migrate`` and the parked-message commands.
``serve`` connects the database and NATS, asks the service's ``build`` for its servicers and consumers,
starts the gRPC server (health and reflection included), the outbox publisher and relay, the consumers and any
background jobs, and on SIGTERM/SIGINT reports NOT_SERVING, drains in-flight calls and stops everything in order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import grpc
import uvloop
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from platform_core import migrations
from platform_core.config import ServiceSettings
from platform_core.db import create_engine, session_factory
from platform_core.grpc.channels import create_channel
from platform_core.grpc.interceptors import ServerContextInterceptor
from platform_core.messaging.bus import connect, ensure_stream
from platform_core.messaging.consumer import EventConsumer
from platform_core.messaging.outbox import OutboxPublisher, OutboxRelay
from platform_core.observability import instrument_engine, setup_telemetry, shutdown_telemetry

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 5.0


@dataclass
class Runtime:
    """What a service's ``build`` receives: connections owned by the process."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    js: JetStreamContext
    _channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)

    @property
    def read_engine(self) -> AsyncEngine:
        """The same pool, in autocommit: a query is one round trip, without BEGIN and ROLLBACK around it."""
        return self.engine.execution_options(isolation_level="AUTOCOMMIT")

    def channel(self, service: str) -> grpc.aio.Channel:
        """The persistent channel to another service, created once."""
        if service not in self._channels:
            self._channels[service] = create_channel(
                self.settings.grpc_addr(service), default_deadline=self.settings.grpc_deadline_seconds
            )
        return self._channels[service]

    async def close_channels(self) -> None:
        for channel in self._channels.values():
            await channel.close()


class Worker(Protocol):
    """A background loop of a service (e.g. a job runner): runs until ``stop`` is set."""

    name: str

    async def run(self, stop: asyncio.Event) -> None: ...


async def run_periodically(
    stop: asyncio.Event, interval_seconds: float, work: Callable[[], Awaitable[object]], *, what: str
) -> None:
    """A Worker's loop: ``work`` now and then every ``interval_seconds`` until ``stop`` is set. A failing run
    is logged and the next one catches up (the database may be away for a moment)."""
    while not stop.is_set():
        try:
            await work()
        except Exception:
            log.exception("%s failed", what)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)


@dataclass
class ServiceParts:
    # (add_<Name>Servicer_to_server, servicer, full service name)
    servicers: Sequence[tuple[Callable[[Any, grpc.aio.Server], None], Any, str]]
    consumers: Sequence[EventConsumer] = ()
    # Producers run the outbox relay; a service that emits no events leaves it off.
    publishes_events: bool = True
    workers: Sequence[Worker] = ()


Build = Callable[[Runtime], ServiceParts]


async def _wait_for_database(engine: AsyncEngine, stop: asyncio.Event) -> None:
    delay = 0.2
    while True:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return
        except Exception as exc:
            if stop.is_set():
                raise
            log.warning("database not reachable (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def serve(
    settings: ServiceSettings,
    build: Build,
    *,
    stop: asyncio.Event,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    engine = create_engine(
        settings.database_url(settings.unit), pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    instrument_engine(engine)
    nc: NATS | None = None
    runtime: Runtime | None = None
    tasks: list[asyncio.Task[None]] = []
    server: grpc.aio.Server | None = None
    health_servicer = health.aio.HealthServicer()
    try:
        await _wait_for_database(engine, stop)
        nc = await connect(settings.nats_url, name=f"atrium-{settings.unit}", stop=stop)
        js = nc.jetstream()
        runtime = Runtime(settings, engine, session_factory(engine), js)
        parts = build(runtime)

        server = grpc.aio.server(
            interceptors=[ServerContextInterceptor()],
            options=[("grpc.so_reuseport", 0), ("grpc.max_concurrent_streams", 1000)],
        )
        for add_to_server, servicer, _ in parts.servicers:
            add_to_server(servicer, server)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        names = [name for _, _, name in parts.servicers]
        reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
        port = server.add_insecure_port(settings.listen_address())
        if port == 0:
            raise RuntimeError(f"cannot listen on {settings.listen_address()}")
        await server.start()

        if parts.publishes_events:
            await ensure_stream(js, settings.nats_prefix, settings.unit)
            # Each commit's events leave at once from here; the relay publishes what this misses.
            publisher = OutboxPublisher(engine, js)
            publisher.publish_commits_of(runtime.sessions)
            relay = OutboxRelay(engine, js, batch_size=settings.outbox_batch_size, publisher=publisher)
            tasks.append(asyncio.create_task(publisher.run(stop), name="outbox-publisher"))
            tasks.append(asyncio.create_task(relay.run(stop), name="outbox-relay"))
        for consumer in parts.consumers:
            tasks.append(asyncio.create_task(consumer.run(stop), name=f"consumer-{consumer.durable}"))
        for worker in parts.workers:
            tasks.append(asyncio.create_task(worker.run(stop), name=worker.name))

        # What start-up built lives as long as the process: keep it out of every later full collection.
        gc.freeze()
        for name in ["", *names]:
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("%s serving gRPC on %s", settings.unit, settings.listen_address())
        if on_ready:
            on_ready(port)
        await stop.wait()
    finally:
        stop.set()
        await health_servicer.enter_graceful_shutdown()
        if server is not None:
            await server.stop(STOP_GRACE_SECONDS)
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if runtime is not None:
            await runtime.close_channels()
        if nc is not None and nc.is_connected:
            await nc.drain()
        await engine.dispose()


def _install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


async def _serve_main(settings: ServiceSettings, build: Build) -> None:
    stop = asyncio.Event()
    _install_signal_handlers(stop)
    await serve(settings, build, stop=stop)


async def _parked(settings: ServiceSettings, build: Build, action: str, ids: list[int]) -> int:
    """List or replay parked messages of this service's consumers."""
    engine = create_engine(settings.database_url(settings.unit), pool_size=2, max_overflow=0)
    nc = await connect(settings.nats_url, name=f"atrium-{settings.unit}-admin")
    try:
        runtime = Runtime(settings, engine, session_factory(engine), nc.jetstream())
        parts = build(runtime)
        if action == "list":
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(
                        text(
                            "SELECT id, consumer, subject, event_id, error, deliveries, parked_at FROM parked_messages "
                            "WHERE replayed_at IS NULL ORDER BY id"
                        )
                    )
                ).all()
            for row in rows:
                print(f"{row.id}\t{row.consumer}\t{row.subject}\t{row.event_id}\t{row.deliveries}\t{row.error}")
            return 0
        failed = False
        for consumer in parts.consumers:
            for parked_id, outcome in await consumer.replay_parked(ids or None):
                print(f"{parked_id}\t{outcome}")
                failed = failed or outcome.startswith("failed")
        return 1 if failed else 0
    finally:
        await nc.close()
        await engine.dispose()


def service_main(
    settings_type: type[ServiceSettings], build: Build, unit_dir: Path, argv: list[str] | None = None
) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {settings_type.unit}_svc")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the gRPC service, its outbox relay and consumers")
    commands.add_parser("migrate", help="apply database migrations (creates the database outside production)")
    parked = commands.add_parser("parked", help="poison messages parked by this service's consumers")
    parked.add_argument("action", choices=["list", "replay"])
    parked.add_argument("ids", nargs="*", type=int, help="replay only these ids")
    args = parser.parse_args(argv)

    settings = settings_type()
    setup_telemetry(settings.unit, log_level=settings.log_level)
    try:
        if args.command == "migrate":
            url = settings.database_url(settings.unit)
            migrations.upgrade(unit_dir / "alembic.ini", url, create_database=settings.env != "production")
            log.info("%s database is at the latest migration", settings.unit)
            return 0
        if args.command == "parked":
            return uvloop.run(_parked(settings, build, args.action, args.ids))
        uvloop.run(_serve_main(settings, build))
        return 0
    finally:
        shutdown_telemetry()


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run a service's own module, e.g. python -m client_svc serve")
