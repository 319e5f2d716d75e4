"""Imperative mapping of domain classes (they never import SQLAlchemy)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, event, inspect
from sqlalchemy.orm import registry


def map_aggregate(mapper_registry: registry, cls: type, table: Table) -> None:
    """Map ``cls`` onto ``table`` once; loaded instances get an empty ``events`` list (they skip __init__)."""
    if inspect(cls, raiseerr=False) is not None:
        return
    mapper_registry.map_imperatively(cls, table)
    event.listen(cls, "load", _fresh_events)


def _fresh_events(instance: Any, _context: Any) -> None:
    instance.events = []
