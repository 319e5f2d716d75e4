"""Settings from the environment, one prefix (ATRIUM_) for every process.

Each process builds its settings once at start-up and passes them into ``bootstrap``; nothing reads
``os.environ`` at import time. Invalid or missing settings fail fast with the variable named.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

ENV_PREFIX = "ATRIUM_"

# Default gRPC ports of the services, used when ATRIUM_<SERVICE>_GRPC_ADDR is not set.
DEFAULT_GRPC_PORTS = {
    "client": 50051,
    "scheduling": 50052,
    "portal_requests": 50053,
    "membership_billing": 50054,
    "notification": 50055,
}


class PlatformSettings(BaseSettings):
    """What every Atrium process shares."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    env: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"

    # PostgreSQL: either one server URL from which each unit derives its own database
    # (<database_prefix>_<unit>, created on first start outside production), or one URL per unit.
    postgres_url: str | None = None
    database_prefix: str = Field(default="atrium", pattern=r"^[a-z][a-z0-9_]{0,30}$")
    client_database_url: str | None = None
    scheduling_database_url: str | None = None
    membership_billing_database_url: str | None = None
    portal_requests_database_url: str | None = None
    notification_database_url: str | None = None
    gateway_database_url: str | None = None
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)

    nats_url: str = "nats://127.0.0.1:4222"
    # Prefix of every subject and stream name: tests use a fresh one per run.
    nats_prefix: str = Field(default="atrium", pattern=r"^[a-z][a-z0-9_]{0,30}$")

    client_grpc_addr: str = f"127.0.0.1:{DEFAULT_GRPC_PORTS['client']}"
    scheduling_grpc_addr: str = f"127.0.0.1:{DEFAULT_GRPC_PORTS['scheduling']}"
    membership_billing_grpc_addr: str = f"127.0.0.1:{DEFAULT_GRPC_PORTS['membership_billing']}"
    portal_requests_grpc_addr: str = f"127.0.0.1:{DEFAULT_GRPC_PORTS['portal_requests']}"
    notification_grpc_addr: str = f"127.0.0.1:{DEFAULT_GRPC_PORTS['notification']}"
    # Deadline applied to every outgoing gRPC call that does not set its own.
    grpc_deadline_seconds: float = Field(default=5.0, gt=0, le=300)

    def database_url(self, unit: str) -> str:
        """The asyncpg URL of ``unit``'s own database."""
        explicit = getattr(self, f"{unit}_database_url", None)
        if explicit:
            url = make_url(explicit)
        elif self.postgres_url:
            url = make_url(self.postgres_url).set(database=f"{self.database_prefix}_{unit}")
        else:
            raise ValueError(
                f"set ATRIUM_POSTGRES_URL or ATRIUM_{unit.upper()}_DATABASE_URL to reach the {unit} database"
            )
        return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)

    def grpc_addr(self, service: str) -> str:
        addr: str = getattr(self, f"{service}_grpc_addr")
        return addr


class ServiceSettings(PlatformSettings):
    """Settings of one gRPC service. Subclasses set ``unit``."""

    unit: ClassVar[str] = ""
    # Where this service's gRPC server binds; defaults to 127.0.0.1 and the port of its own address.
    grpc_listen: str | None = None
    # Outbox relay and consumers.
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    consumer_max_deliver: int = Field(default=8, ge=1, le=100)

    @model_validator(mode="after")
    def _has_database(self) -> ServiceSettings:
        if self.unit:
            self.database_url(self.unit)
        return self

    def listen_address(self) -> str:
        if self.grpc_listen:
            return self.grpc_listen
        port = self.grpc_addr(self.unit).rsplit(":", 1)[1]
        return f"127.0.0.1:{port}"
