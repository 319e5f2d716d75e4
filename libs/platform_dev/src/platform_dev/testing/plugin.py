"""pytest plugin: session-wide PostgreSQL and NATS, and helpers to run a unit in-process."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from platform_core.config import ServiceSettings
from platform_core.grpc.channels import create_channel
from platform_core.migrations import upgrade_async
from platform_core.observability import setup_telemetry
from platform_core.service import Build, serve
from platform_dev import devstack
from platform_dev.testing.infra import TestInfra, test_infra


@pytest.fixture(scope="session", autouse=True)
def telemetry() -> None:
    """As every unit's __main__ does first: tracing on, gRPC instrumented."""
    setup_telemetry("tests", log_level="WARNING")


@pytest.fixture(scope="session")
def infra_and_nats() -> Iterator[tuple[TestInfra, devstack.EmbeddedNats | None]]:
    with test_infra() as pair:
        yield pair


@pytest.fixture(scope="session")
def infra(infra_and_nats: tuple[TestInfra, Any]) -> TestInfra:
    return infra_and_nats[0]


@pytest.fixture(scope="session")
def embedded_nats(infra_and_nats: tuple[TestInfra, devstack.EmbeddedNats | None]) -> devstack.EmbeddedNats:
    """The embedded NATS server, for tests that stop and restart it."""
    server = infra_and_nats[1]
    if server is None:
        pytest.skip("NATS is external here; outage tests need the embedded server")
    return server


@contextlib.contextmanager
def patched_env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def unit_settings(settings_type: type[ServiceSettings], infra: TestInfra, **overrides: Any) -> ServiceSettings:
    with patched_env(infra.env()):
        return settings_type(**overrides)


async def migrate_unit(settings: ServiceSettings, unit_dir: Path) -> str:
    url = settings.database_url(settings.unit)
    await upgrade_async(unit_dir / "alembic.ini", url, create_database=True)
    return url


@contextlib.asynccontextmanager
async def running_service(settings: ServiceSettings, build: Build) -> AsyncIterator[int]:
    """Serve a unit in this process on a free port; yields the port."""
    stop = asyncio.Event()
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, build, stop=stop, on_ready=ready.set_result))
    waiters: list[asyncio.Future[Any]] = [task, ready]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # raises the start-up error
    try:
        yield ready.result()
    finally:
        stop.set()
        await task


@contextlib.asynccontextmanager
async def serving_channel(settings: ServiceSettings, build: Build, unit_dir: Path) -> AsyncIterator[grpc.aio.Channel]:
    """Migrate a unit's database, serve the unit in this process and yield a channel to it."""
    await migrate_unit(settings, unit_dir)
    async with running_service(settings, build) as port:
        channel = create_channel(f"127.0.0.1:{port}", default_deadline=5)
        try:
            yield channel
        finally:
            await channel.close()


@contextlib.asynccontextmanager
async def unit_at_free_port(
    settings_type: type[ServiceSettings], infra: TestInfra, build: Build, unit_dir: Path, **overrides: Any
) -> AsyncIterator[str]:
    """Another unit the unit under test calls: migrated and served in this process; yields its address."""
    addr = f"127.0.0.1:{devstack.free_port()}"
    settings = unit_settings(settings_type, infra, grpc_listen=addr, **overrides)
    await migrate_unit(settings, unit_dir)
    async with running_service(settings, build):
        yield addr


@contextlib.asynccontextmanager
async def channel_to(addr: str) -> AsyncIterator[grpc.aio.Channel]:
    channel = create_channel(addr, default_deadline=5)
    try:
        yield channel
    finally:
        await channel.close()


async def wait_until(condition: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll an (async or sync) condition until it returns something truthy; fail after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
