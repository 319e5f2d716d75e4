"""Identifiers: UUIDv7 everywhere, so ids sort by creation time and index well."""

from __future__ import annotations

import uuid

from uuid6 import uuid7 as _uuid7


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=_uuid7().bytes)


def parse_uuid(value: str) -> uuid.UUID | None:
    """The UUID in ``value``, or None when it is not one (callers answer 404, never 500)."""
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return None
