"""The mapping of the timeline's domain onto its table."""

from __future__ import annotations

from sqlalchemy.orm import registry

from notification_svc.adapters.tables import activity_entries, metadata
from notification_svc.domain.model import ActivityEntry
from platform_core.orm import map_aggregate

mapper_registry = registry(metadata=metadata)


def start_mappers() -> None:
    map_aggregate(mapper_registry, ActivityEntry, activity_entries)
