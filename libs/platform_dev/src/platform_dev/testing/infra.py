"""PostgreSQL and NATS for a test session, from (in this order): URLs in the environment
(ATRIUM_TEST_POSTGRES_URL, ATRIUM_TEST_NATS_URL), testcontainers when a Docker engine answers, or the
embedded servers that `make run` uses. Each session gets fresh database and stream names.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from platform_dev import devstack

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TestInfra:
    __test__ = False  # not a test class, despite the name

    postgres_url: str  # server URL; databases are derived with database_prefix
    nats_url: str
    database_prefix: str
    nats_prefix: str
    tmp_dir: Path

    def env(self) -> dict[str, str]:
        return {
            "ATRIUM_ENV": "test",
            "ATRIUM_POSTGRES_URL": self.postgres_url,
            "ATRIUM_DATABASE_PREFIX": self.database_prefix,
            "ATRIUM_NATS_URL": self.nats_url,
            "ATRIUM_NATS_PREFIX": self.nats_prefix,
        }


def _docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def _postgres(tmp: Path) -> Iterator[str]:
    if url := os.environ.get("ATRIUM_TEST_POSTGRES_URL"):
        yield url
        return
    if _docker_answers():
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver=None, dbname="postgres") as container:
            yield container.get_connection_url()
        return
    server = devstack.start_postgres(tmp / "pg")
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def _nats(tmp: Path) -> Iterator[tuple[str, devstack.EmbeddedNats | None]]:
    if url := os.environ.get("ATRIUM_TEST_NATS_URL"):
        yield url, None
        return
    if _docker_answers():
        from testcontainers.community.nats import NatsContainer

        with NatsContainer("nats:2.10", jetstream=True) as container:
            yield container.nats_uri(), None
        return
    server = devstack.EmbeddedNats(tmp / "nats", devstack.free_port())
    server.start()
    try:
        yield server.url, server
    finally:
        server.stop()


@contextlib.contextmanager
def test_infra() -> Iterator[tuple[TestInfra, devstack.EmbeddedNats | None]]:
    # Short path: PostgreSQL's unix socket lives in the data directory.
    with tempfile.TemporaryDirectory(prefix="atr-", dir="/tmp") as tmp_name:
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o755)  # the embedded server may run as another user
        run_id = secrets.token_hex(3)
        with _postgres(tmp) as pg_url, _nats(tmp) as (nats_url, nats_server):
            yield TestInfra(pg_url, nats_url, f"t{run_id}", f"t{run_id}", tmp), nats_server
