"""Reading and writing the plain values of gRPC messages the same way in every servicer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from platform_core.errors import InvalidArgument, NotFound, PermissionDenied
from platform_core.grpc.context import CallContext, current_context
from platform_core.ids import parse_uuid

_EPOCH = datetime(1970, 1, 1)
_NO_OFFSET = timedelta(0)


def timestamp(value: datetime) -> Timestamp:
    """What ``Timestamp.FromDatetime`` makes of ``value`` (a naive one is UTC), by datetime arithmetic instead of its
    struct_time round trip: every record a servicer answers carries a few instants."""
    since_epoch = value.replace(tzinfo=None) - (value.utcoffset() or _NO_OFFSET) - _EPOCH
    return Timestamp(seconds=since_epoch.days * 86_400 + since_epoch.seconds, nanos=since_epoch.microseconds * 1_000)


def aware(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


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


def require_staff() -> CallContext:
    """The call's context, when a staff member (or another service) makes it."""
    context = current_context()
    if context.principal.kind not in ("staff", "service"):
        raise PermissionDenied("staff only")
    return context


MANAGER_ROLES = ("owner", "admin")


def require_manager(action: str) -> CallContext:
    """The call's context, when an owner or admin (or another service) makes it: the services check again
    what the gateway's permission already decided, so no other door reaches ``action``."""
    context = require_staff()
    if context.principal.kind == "staff" and context.principal.role not in MANAGER_ROLES:
        raise PermissionDenied(f"{action} requires one of the roles: {', '.join(MANAGER_ROLES)}")
    return context
