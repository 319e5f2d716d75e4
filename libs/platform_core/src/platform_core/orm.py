"""Imperative mapping of domain classes (they never import SQLAlchemy)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, event, inspect
from sqlalchemy.orm import registry


def map_aggregate(
    mapper_registry: registry,
    cls: type,
    table: Table,
    *,
    version_column: str | None = None,
    properties: dict[str, Any] | None = None,
) -> None:
    """Map ``cls`` onto ``table`` once; loaded instances get an empty ``events`` list (they skip __init__).

    With ``version_column``, every UPDATE checks and bumps it: a concurrent change makes the later commit
    fail (StaleDataError) instead of silently overwriting the first.
    """
    if inspect(cls, raiseerr=False) is not None:
        return
    options: dict[str, Any] = {"properties": properties or {}}
    if version_column:
        options["version_id_col"] = table.c[version_column]
    mapper_registry.map_imperatively(cls, table, **options)
    event.listen(cls, "load", _fresh_events)


def _fresh_events(instance: Any, _context: Any) -> None:
    instance.events = []
