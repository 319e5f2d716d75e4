"""Tables of the client database and the imperative mapping of the domain model onto them."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import registry

from client_svc.domain.model import Client
from client_svc.domain.statuses import ClientStatus
from platform_core.orm import map_aggregate

metadata = MetaData()
mapper_registry = registry(metadata=metadata)

clients = Table(
    "clients",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("first_name", Text, nullable=False),
    Column("last_name", Text, nullable=False),
    Column("email", Text),
    Column("phone", Text),
    Column("request_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
    Column("online_booking_blocked", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("status_id", UUID(as_uuid=True)),
)

client_statuses = Table(
    "client_statuses",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("label", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("archived_at", DateTime(timezone=True)),
)


def start_mappers() -> None:
    map_aggregate(mapper_registry, Client, clients, version_column="version")
    map_aggregate(mapper_registry, ClientStatus, client_statuses)
