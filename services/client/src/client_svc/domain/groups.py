"""Groups of clients: a name per tenant; memberships change in bulk, as sets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from platform_core.errors import InvalidArgument

MAX_GROUP_NAME = 80
MAX_BULK = 1_000
MAX_GROUP_STAFF = 20  # as per client


@dataclass(frozen=True)
class ClientGroup:
    id: uuid.UUID
    name: str
    member_count: int
    # Staff assigned to the group, in the order they were assigned: assigned to each of its clients.
    staff_ids: tuple[uuid.UUID, ...] = ()


def clean_group_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidArgument.single("name", "is required")
    if len(name) > MAX_GROUP_NAME:
        raise InvalidArgument.single("name", f"must be at most {MAX_GROUP_NAME} characters")
    return name


def bulk_client_ids(raw_ids: list[str]) -> list[uuid.UUID]:
    """Distinct client ids of one bulk request; refuses malformed ones and oversize requests."""
    if not raw_ids:
        raise InvalidArgument.single("client_ids", "name at least one client")
    if len(raw_ids) > MAX_BULK:
        raise InvalidArgument.single("client_ids", f"at most {MAX_BULK} clients at once")
    ids: dict[uuid.UUID, None] = {}
    for raw in raw_ids:
        try:
            ids[uuid.UUID(raw)] = None
        except ValueError as exc:
            raise InvalidArgument.single("client_ids", f"{raw!r} is not a client id") from exc
    return list(ids)


def group_staff(staff_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The staff set of a group: distinct, at most ``MAX_GROUP_STAFF``."""
    wanted = list(dict.fromkeys(staff_ids))
    if len(wanted) > MAX_GROUP_STAFF:
        raise InvalidArgument.single("staff_ids", f"at most {MAX_GROUP_STAFF} staff members per group")
    return wanted
