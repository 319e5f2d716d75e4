"""What every servicer method checks first: who calls, and which ids it names."""

from __future__ import annotations

import uuid
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from platform_core.errors import InvalidArgument, NotFound, PermissionDenied
from platform_core.grpc.context import current_context
from platform_core.ids import parse_uuid


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def record_id(raw: str, what: str) -> uuid.UUID:
    """An id naming the record to act on: a malformed one names nothing, so it looks missing (404)."""
    parsed = parse_uuid(raw)
    if parsed is None:
        raise NotFound(f"{what} not found")
    return parsed


def reference_id(raw: str, field: str, what: str) -> uuid.UUID:
    """An id given as a value of a field: a malformed one is invalid input naming that field (422)."""
    parsed = parse_uuid(raw)
    if parsed is None:
        raise InvalidArgument.single(field, f"is not a {what} id")
    return parsed


def require_staff() -> uuid.UUID:
    context = current_context()
    if context.principal.kind not in ("staff", "service"):
        raise PermissionDenied("staff only")
    return context.tenant_id
