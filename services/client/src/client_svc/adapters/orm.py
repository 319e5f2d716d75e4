"""Tables of the client database and the imperative mapping of the domain model onto them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, MetaData, Table, Text, event
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import registry

from client_svc.domain.model import Client

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
)

_mapped = False


def start_mappers() -> None:
    global _mapped
    if _mapped:
        return
    _mapped = True
    mapper_registry.map_imperatively(Client, clients)


@event.listens_for(Client, "load")
def _receive_load(client: Client, _: Any) -> None:
    # Loaded instances skip __init__; give them an empty event list.
    client.events = []
