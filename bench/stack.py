"""The platform under test: every unit as its own process (as `make run` starts them), on fresh databases
and streams of the embedded PostgreSQL/NATS, plus the connections the raw counterparts use."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import nats

from platform_core.config import PlatformSettings
from platform_core.db import asyncpg_dsn
from platform_dev import devstack
from platform_dev.testing.infra import TestInfra

READY_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
# Gateway settings allow at most a day; plenty for one run, and no refresh logic in the harness.
ACCESS_TOKEN_TTL_SECONDS = 86_400


class StackError(RuntimeError):
    """The platform could not be brought up (a unit exited or never became ready)."""


@dataclass
class Tenant:
    id: uuid.UUID
    token: str
    country: str


@dataclass
class Stack:
    infra: TestInfra
    plan: devstack.StackPlan
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @classmethod
    def prepare(cls, infra: TestInfra) -> Stack:
        env = (
            dict(os.environ)
            | infra.env()
            | {
                "ATRIUM_JWT_SECRET": secrets.token_urlsafe(48),
                "ATRIUM_WEB_SESSION_SECRET": secrets.token_urlsafe(48),
                "ATRIUM_LOG_LEVEL": "WARNING",
                "ATRIUM_CHECK_RESPONSES": "false",
                "ATRIUM_ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_TTL_SECONDS),
            }
        )
        plan = devstack.plan(
            env,
            gateway_port=devstack.free_port(),
            grpc_ports={unit.name: devstack.free_port() for unit in devstack.UNITS if unit.grpc},
            web_port=devstack.free_port(),
        )
        log_dir = infra.tmp_dir / "logs"
        log_dir.mkdir(exist_ok=True)
        return cls(infra, plan, log_dir)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.plan.gateway_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.plan.web_port}"

    def database_dsn(self, unit: str) -> str:
        """asyncpg DSN of a unit's own database (the raw counterparts use the same database)."""
        return asyncpg_dsn(self.database_url(unit))

    def database_url(self, unit: str) -> str:
        """SQLAlchemy URL of a unit's own database, as the unit itself builds it."""
        settings = PlatformSettings(postgres_url=self.infra.postgres_url, database_prefix=self.infra.database_prefix)
        return settings.database_url(unit)

    async def start(self) -> None:
        await asyncio.to_thread(self.plan.migrate_all)
        # Every process `make run` starts, workers (e.g. the gateway's) included.
        for name, command in self.plan.processes():
            self._spawn(name, command)
        await self.wait_ready()

    def _spawn(self, name: str, command: list[str]) -> None:
        # The child inherits its own copy of the descriptor, so the parent's can close right away.
        with open(self.log_dir / f"{name}.log", "ab") as log:
            # Own session: a Ctrl-C in the terminal reaches only the harness, which stops units in order.
            self.processes[name] = subprocess.Popen(
                command,
                env=self.plan.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def start_bare(self, tenant: uuid.UUID, table: str) -> str:
        """The bare pipeline (bench/bare.py) on the client database: its HTTP base URL, once it answers."""
        grpc_port, http_port = devstack.free_port(), devstack.free_port()
        servers = {
            "bare-grpc": ["grpc", str(grpc_port), self.database_dsn("client"), table],
            "bare-http": ["http", str(http_port), str(grpc_port), str(tenant)],
        }
        for name, args in servers.items():
            self._spawn(name, [sys.executable, "-m", "bench.bare", *args])
        base_url = f"http://127.0.0.1:{http_port}"
        deadline = time.monotonic() + READY_TIMEOUT
        async with aiohttp.ClientSession() as session:
            while True:
                self.check_alive(*servers)
                try:
                    async with session.get(f"{base_url}/clients/{uuid.UUID(int=0)}") as response:
                        if response.status == 404:
                            return base_url
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise StackError(f"the bare pipeline did not answer after {READY_TIMEOUT}s")
                await asyncio.sleep(0.1)

    def stop_unit(self, name: str) -> int | str:
        """SIGTERM, then wait; kill only if the unit does not stop in time."""
        self._terminate(name)
        return self._reap(name)

    def stop(self) -> dict[str, int | str]:
        """Stop every unit; all receive SIGTERM first so they drain in parallel."""
        for name in self.processes:
            self._terminate(name)
        return {name: self._reap(name) for name in list(self.processes)}

    def _terminate(self, name: str) -> None:
        process = self.processes.get(name)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)

    def _reap(self, name: str) -> int | str:
        process = self.processes.pop(name, None)
        if process is None:
            return "not running"
        try:
            return process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return "killed"

    def check_alive(self, *names: str) -> None:
        for name in names or tuple(self.processes):
            process = self.processes.get(name)
            if process is not None and process.poll() is not None:
                raise StackError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        async with aiohttp.ClientSession() as session:
            while True:
                self.check_alive()
                try:
                    async with session.get(f"{self.base_url}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise StackError(f"gateway not ready after {READY_TIMEOUT}s")
                await asyncio.sleep(0.1)

    async def sign_up(self, session: aiohttp.ClientSession) -> Tenant:
        body: dict[str, Any] = {
            "business_name": "Bench Studio",
            "country": "US",
            "timezone": "America/New_York",
            "owner_email": f"bench-{uuid.uuid4().hex[:10]}@example.com",
            "owner_password": secrets.token_urlsafe(16),
        }
        async with session.post(f"{self.base_url}/api/v1/signup", json=body) as response:
            reply = await response.json(content_type=None)
            if response.status != 201:
                raise StackError(f"signup answered {response.status}: {reply}")
        return Tenant(uuid.UUID(reply["tenant"]["id"]), reply["tokens"]["access_token"], body["country"])

    async def wait_events_handled(self, timeout: float = 120.0) -> None:
        """Until every event written so far is published and handled by every consumer (``settle``), or fail:
        run between phases so that one phase's background event work does not eat the next one's CPU."""
        behind = await self.settle(timeout, checkpoint=False)
        if behind is not None:
            raise StackError(f"events not handled: {behind}")

    async def settle(self, timeout: float = 120.0, *, checkpoint: bool = True) -> str | None:
        """Until no unit has an unpublished outbox row and no durable consumer of any stream has a message
        pending or unacknowledged, then (unless told not to) a CHECKPOINT: one measurement's trailing event work
        (consumers catching up, the relay's marking, dirty pages) is not charged to the next measurement's window.
        What was still behind after ``timeout`` (the measurement then runs anyway, and the log says so), else None."""
        databases = [unit.name for unit in devstack.UNITS if unit.database]
        deadline = time.monotonic() + timeout
        connections = {name: await asyncpg.connect(self.database_dsn(name)) for name in databases}
        bus = await nats.connect(self.infra.nats_url)
        try:
            js = bus.jetstream()
            while True:
                self.check_alive()
                unpublished = {
                    name: n
                    for name, conn in connections.items()
                    if await conn.fetchval("SELECT to_regclass('outbox') IS NOT NULL")
                    and (n := await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
                }
                behind: dict[str, int] = {}
                for stream in await js.streams_info():
                    # The streams of this run (envelope.stream_name: PREFIX_PRODUCER_EVENTS).
                    name = stream.config.name
                    if name is None or not name.startswith(f"{self.infra.nats_prefix}_".upper()):
                        continue
                    for consumer in await js.consumers_info(name):
                        waiting = (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
                        if waiting:
                            behind[consumer.name or "?"] = waiting
                if not unpublished and not behind:
                    break
                if time.monotonic() > deadline:
                    return f"not settled after {timeout:.0f}s: unpublished {unpublished}, consumers behind {behind}"
                await asyncio.sleep(0.2)
            if checkpoint:
                await next(iter(connections.values())).execute("CHECKPOINT")
            return None
        finally:
            await bus.close()
            for conn in connections.values():
                await conn.close()


def print_logs(stack: Stack) -> None:
    for name in ("client", "notification", "gateway"):
        tail = stack.log_tail(name)
        if tail:
            print(f"--- {name}.log (tail) ---\n{tail}", file=sys.stderr)
