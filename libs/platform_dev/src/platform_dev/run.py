"""`make run`: the whole platform on this machine, in the foreground; Ctrl-C stops all of it.

Uses the PostgreSQL server at ATRIUM_POSTGRES_URL (or per-unit ATRIUM_<UNIT>_DATABASE_URL) and the NATS
at ATRIUM_NATS_URL when given; otherwise starts embedded ones under ATRIUM_DATA_DIR (default .atrium),
whose data survive restarts. Runs each unit's migrations as a step of its own, seeds the demo tenant,
then runs every unit under honcho.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from honcho.manager import Manager
from honcho.printer import Printer

from platform_dev import devstack

DEFAULT_NATS_PORT = 4222


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        # As servers do: a port still in TIME_WAIT from the last run is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _announce_when_ready(base_url: str, web_url: str, manager: Manager, env: dict[str, str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=1) as response:
                if response.status == 200:
                    # Working hours and a service go through the scheduling API, so they need it running.
                    subprocess.run([sys.executable, "-m", "gateway", "seed-demo-schedule"], env=env, check=False)
                    manager._system_print(  # honcho's own channel, so the banner is not interleaved
                        f"\n  Atrium is up: {base_url}\n"
                        f"  Staff console: {web_url}/sign-in  (client portal: {web_url}/portal/sign-in)\n"
                        f"  API description: {base_url}/api/openapi.json\n"
                        "  Press Ctrl-C to stop everything.\n\n"
                    )
                    return
        except OSError:
            pass
        time.sleep(0.25)
    manager._system_print("Atrium did not become ready within 120 s; see the logs above.\n")


def main() -> int:
    env = dict(os.environ)
    data_dir = Path(env.get("ATRIUM_DATA_DIR", ".atrium")).resolve()
    gateway_port = int(env.get("ATRIUM_GATEWAY_PORT", "8080"))
    per_unit_urls = all(env.get(f"ATRIUM_{u.name.upper()}_DATABASE_URL") for u in devstack.UNITS)
    embedded_pg = None if env.get("ATRIUM_POSTGRES_URL") or per_unit_urls else data_dir / "pg"
    nats_port = None if env.get("ATRIUM_NATS_URL") else int(env.get("ATRIUM_NATS_PORT", DEFAULT_NATS_PORT))

    web_port = int(env.get("ATRIUM_WEB_PORT", devstack.DEFAULT_WEB_PORT))
    busy = [p for p in (gateway_port, web_port, nats_port) if p is not None and not _port_free(p)]
    if busy:
        print(
            f"port(s) {busy} already in use: stop what uses them or set "
            "ATRIUM_GATEWAY_PORT/ATRIUM_WEB_PORT/ATRIUM_NATS_PORT"
        )
        return 1

    postgres = None
    if embedded_pg is not None:
        print(f"Starting embedded PostgreSQL in {embedded_pg} ...")
        postgres = devstack.start_postgres(embedded_pg)
        env["ATRIUM_POSTGRES_URL"] = postgres.url
    try:
        manager = Manager(Printer(sys.stdout))
        if nats_port is not None:
            (data_dir / "nats").mkdir(parents=True, exist_ok=True)
            env["ATRIUM_NATS_URL"] = f"nats://127.0.0.1:{nats_port}"
            manager.add_process("nats", "exec " + shlex.join(devstack.nats_command(data_dir / "nats", nats_port)))
        env.setdefault("ATRIUM_JWT_SECRET", devstack.dev_secret(data_dir, "jwt-secret"))
        env.setdefault("ATRIUM_WEB_SESSION_SECRET", devstack.dev_secret(data_dir, "web-session-secret"))
        plan = devstack.plan(env, gateway_port=gateway_port)
        web_url = f"http://127.0.0.1:{plan.web_port}"
        # Invitation links lead to the web unit's pages (behind an ingress both share one host).
        plan.env.setdefault("ATRIUM_PUBLIC_URL", web_url)

        print("Migrating databases ...")
        plan.migrate_all()
        subprocess.run([sys.executable, "-m", "gateway", "seed-demo"], env=plan.env, check=True)

        for name, command in plan.processes():
            # exec: the unit itself receives honcho's SIGTERM and shuts down gracefully.
            manager.add_process(name, "exec " + shlex.join(command), env=plan.env)
        base_url = f"http://127.0.0.1:{gateway_port}"
        threading.Thread(target=_announce_when_ready, args=(base_url, web_url, manager, plan.env), daemon=True).start()
        manager.loop()
        # Stopped by Ctrl-C or SIGTERM with every unit down: a clean exit.
        return 0 if manager.returncode in (None, 0, 130, 143) else int(manager.returncode)
    finally:
        if postgres is not None:
            print("Stopping embedded PostgreSQL ...")
            postgres.stop()


if __name__ == "__main__":
    sys.exit(main())
