"""Tables of the notification database and the mapping of the domain onto them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, MetaData, Table, Text, event
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import registry

from notification_svc.domain.model import ActivityEntry

metadata = MetaData()
mapper_registry = registry(metadata=metadata)

activity_entries = Table(
    "activity_entries",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("source_event_id", UUID(as_uuid=True), nullable=False),
    Column("source_event_type", Text, nullable=False),
)

_mapped = False


def start_mappers() -> None:
    global _mapped
    if _mapped:
        return
    _mapped = True
    mapper_registry.map_imperatively(ActivityEntry, activity_entries)


@event.listens_for(ActivityEntry, "load")
def _receive_load(entry: ActivityEntry, _: Any) -> None:
    entry.events = []
