"""The whole platform, started the way `make run` starts it (devstack plan: migrate steps, then every
unit as its own process), against the session's PostgreSQL and NATS. Tests speak only HTTP to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from platform_dev import devstack
from platform_dev.testing.infra import TestInfra
from platform_dev.testing.plugin import wait_until

from .mailbox import Mailbox
from .otlp import SpanCollector

JWT_SECRET = secrets.token_urlsafe(48)
WEB_SESSION_SECRET = secrets.token_urlsafe(48)
LOGIN_MAX_FAILURES = 3
E2E_ATTACHMENT_MAX_BYTES = 256 * 1024
E2E_WEBHOOK_RETRY_DELAYS = [0.2, 0.4, 0.8]


@dataclass
class Stack:
    base_url: str
    env: dict[str, str]
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


@dataclass
class Api:
    """Thin HTTP helper: returns (status, parsed body, headers)."""

    session: aiohttp.ClientSession
    stack: Stack

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any, Any]:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        async with self.session.request(
            method, self.stack.url(path), json=json, data=data, headers=all_headers, params=params
        ) as r:
            raw = await r.read()
            try:
                body = await r.json(content_type=None) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            return r.status, body, r.headers

    async def sign_up(self, name: str = "Test Studio", country: str = "US") -> dict[str, Any]:
        email = f"owner-{uuid.uuid4().hex[:10]}@example.com"
        status, body, _ = await self.call(
            "POST",
            "/api/v1/signup",
            json={
                "business_name": name,
                "country": country,
                "timezone": "America/New_York",
                "owner_email": email,
                "owner_password": "correct horse battery",
            },
        )
        assert status == 201, body
        body["owner_email"] = email
        body["token"] = body["tokens"]["access_token"]
        await self._wait_for_business_zone(body["token"], body["tenant"]["timezone"])
        return body

    async def _wait_for_business_zone(self, token: str, zone: str) -> None:
        """Until scheduling has followed the new business's zone (an event after sign-up): every service that
        dates something (billing's midnights, scheduling's days) asks scheduling for it, and a test acting in
        the first moments would otherwise date it in UTC, which differs from the business's day near midnight."""

        async def followed() -> bool:
            status, settings, _ = await self.call("GET", "/api/v1/scheduling/settings", token=token)
            return status == 200 and settings["timezone"] == zone

        await wait_until(followed)

    async def create_client(self, token: str, **fields: Any) -> dict[str, Any]:
        status, body, _ = await self.call("POST", "/api/v1/clients", token=token, json={"first_name": "Ada"} | fields)
        assert status == 201, body
        return body


@pytest.fixture(scope="session")
async def span_collector() -> AsyncIterator[SpanCollector]:
    collector = SpanCollector()
    await collector.start()
    yield collector
    await collector.stop()


@contextlib.asynccontextmanager
async def extra_gateway(stack: Stack, session: aiohttp.ClientSession, **settings: str) -> AsyncIterator[Api]:
    """A second gateway over the same services, with other settings (ATRIUM_<NAME>=value)."""
    port = devstack.free_port()
    env = stack.env | {f"ATRIUM_{k.upper()}": v for k, v in settings.items()} | {"ATRIUM_GATEWAY_PORT": str(port)}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)  # its spans are not under test
    process = subprocess.Popen([sys.executable, "-m", "gateway", "serve"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:

        async def up() -> bool:
            try:
                async with session.get(f"{base}/healthz") as r:
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        await wait_until(up, timeout=30, interval=0.1)
        yield Api(session, Stack(base, env, stack.log_dir))
    finally:
        process.terminate()
        assert await asyncio.to_thread(process.wait, 15) == 0


def restart_unit(stack: Stack, name: str) -> subprocess.Popen[bytes]:
    """Start a unit again (after a test stopped it), exactly as the stack started it."""
    unit = next(u for u in devstack.UNITS if u.name == name)
    return _start(stack, name, [sys.executable, "-m", unit.module, "serve"], stack.env)


def _start(stack: Stack, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = open(stack.log_dir / f"{name}.log", "ab")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


async def wait_ready(session: aiohttp.ClientSession, base_url: str, processes: dict[str, Any], log_dir: Path) -> None:
    async def ready() -> bool:
        for name, process in processes.items():
            if process.poll() is not None:
                logs = (log_dir / f"{name}.log").read_text(errors="replace")[-4000:]
                raise AssertionError(f"{name} exited with {process.returncode}:\n{logs}")
        try:
            async with session.get(f"{base_url}/readyz") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    # Eleven processes start and migrate on a machine others may share: a busy one needs more than a minute.
    await wait_until(ready, timeout=180, interval=0.1)


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    mailbox = Mailbox()
    mailbox.controller.start()
    yield mailbox
    mailbox.controller.stop()


@pytest.fixture(scope="session")
async def stack(infra: TestInfra, span_collector: SpanCollector, mailbox: Mailbox) -> AsyncIterator[Stack]:
    env = (
        dict(os.environ)
        | infra.env()
        | {
            # Databases and streams of its own: the in-process services of the integration tests run on
            # the same servers, and a second consumer or relay on these would take some of its events.
            "ATRIUM_DATABASE_PREFIX": f"{infra.database_prefix}e2e",
            "ATRIUM_NATS_PREFIX": f"{infra.nats_prefix}e2e",
            "ATRIUM_JWT_SECRET": JWT_SECRET,
            "ATRIUM_WEB_SESSION_SECRET": WEB_SESSION_SECRET,
            "ATRIUM_LOGIN_MAX_FAILURES": str(LOGIN_MAX_FAILURES),
            "ATRIUM_LOG_LEVEL": "INFO",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{span_collector.port}",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "ATRIUM_SMTP_HOST": "127.0.0.1",
            "ATRIUM_SMTP_PORT": str(mailbox.controller.port),
            "ATRIUM_BLOB_DIR": str(infra.tmp_dir / "e2e-blobs"),
            "ATRIUM_ATTACHMENT_MAX_BYTES": str(E2E_ATTACHMENT_MAX_BYTES),
            # Webhook receivers in tests are local http servers, retried quickly.
            "ATRIUM_WEBHOOK_ALLOW_INSECURE_TARGETS": "true",
            "ATRIUM_WEBHOOK_RETRY_DELAYS_SECONDS": json.dumps(E2E_WEBHOOK_RETRY_DELAYS),
        }
    )
    plan = devstack.plan(
        env,
        gateway_port=devstack.free_port(),
        grpc_ports={unit.name: devstack.free_port() for unit in devstack.UNITS if unit.grpc},
        web_port=devstack.free_port(),
    )
    await asyncio.to_thread(plan.migrate_all)
    log_dir = infra.tmp_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    stack = Stack(f"http://127.0.0.1:{plan.gateway_port}", plan.env, log_dir)
    for name, command in plan.processes():
        stack.processes[name] = _start(stack, name, command, plan.env)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, stack.base_url, stack.processes, log_dir)
        yield stack
    finally:
        for process in stack.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        exit_codes = {}
        for name, process in stack.processes.items():
            try:
                # Waited for off the event loop: the span collector in this loop must keep answering
                # the units' final trace exports while they shut down.
                exit_codes[name] = await asyncio.to_thread(process.wait, 15)
            except subprocess.TimeoutExpired:
                process.kill()
                exit_codes[name] = "killed"
        # Every unit stops cleanly on SIGTERM.
        unclean = {n: c for n, c in exit_codes.items() if c not in (0, -signal.SIGTERM)}
        if unclean:
            print(f"units did not stop cleanly: {unclean}", file=sys.stderr)
        assert not unclean, unclean


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, stack)
