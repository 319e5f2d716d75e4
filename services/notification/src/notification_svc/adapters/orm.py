"""Tables of the notification database and the mapping of the domain onto them."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import registry

from notification_svc.domain.model import ActivityEntry
from platform_core.orm import map_aggregate

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
    Column("anonymized_at", DateTime(timezone=True)),
)


def start_mappers() -> None:
    map_aggregate(mapper_registry, ActivityEntry, activity_entries)
