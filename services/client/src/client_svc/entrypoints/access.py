"""What every servicer method checks first: who calls, and which ids it names (the platform's rules)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from platform_core.grpc import values
from platform_core.grpc.values import record_id, reference_id, timestamp

__all__ = ["record_id", "reference_id", "require_staff", "timestamp", "utc_now"]


def require_staff() -> uuid.UUID:
    """The tenant of a call made by staff (or another service)."""
    return values.require_staff().tenant_id


def utc_now() -> datetime:
    """The clock the use cases are given (as their commands' ``now``)."""
    return datetime.now(UTC)
