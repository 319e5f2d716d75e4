"""Client statuses: each tenant starts from a ready-made set and renames, extends, reorders and archives it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound

MAX_LABEL_LENGTH = 50
# (key, label, is default): keys make the ready-made ids stable per tenant, so seeding is idempotent.
READY_MADE = (("lead", "Lead", False), ("active", "Active", True), ("inactive", "Inactive", False))
_READY_MADE_NAMESPACE = uuid.UUID("5b0e3c1e-6f1e-4a8e-9a44-4f1c2b9f7a10")


def ready_made_id(tenant_id: uuid.UUID, key: str) -> uuid.UUID:
    return uuid.uuid5(_READY_MADE_NAMESPACE, f"{tenant_id}:{key}")


@dataclass(eq=False)
class ClientStatus:
    tenant_id: uuid.UUID
    id: uuid.UUID
    label: str
    position: int
    is_default: bool = False
    archived_at: datetime | None = None

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


def ready_made_statuses(tenant_id: uuid.UUID) -> list[ClientStatus]:
    return [
        ClientStatus(tenant_id, ready_made_id(tenant_id, key), label, position, is_default)
        for position, (key, label, is_default) in enumerate(READY_MADE)
    ]


def _clean_label(label: str) -> str:
    label = " ".join(label.split())
    if not label:
        raise InvalidArgument.single("label", "is required")
    if len(label) > MAX_LABEL_LENGTH:
        raise InvalidArgument.single("label", f"must be at most {MAX_LABEL_LENGTH} characters")
    return label


class StatusCatalogue:
    """All statuses of one tenant; the rules that span them (unique labels, one default, order)."""

    def __init__(self, tenant_id: uuid.UUID, statuses: list[ClientStatus]) -> None:
        self.tenant_id = tenant_id
        self.statuses = statuses

    def live(self) -> list[ClientStatus]:
        return sorted((s for s in self.statuses if not s.archived), key=lambda s: (s.position, s.label))

    def find(self, status_id: uuid.UUID | None) -> ClientStatus | None:
        return next((s for s in self.statuses if s.id == status_id), None)

    def get(self, status_id: uuid.UUID) -> ClientStatus:
        status = self.find(status_id)
        if status is None:
            raise NotFound("status not found")
        return status

    def assignable(self, status_id: uuid.UUID) -> ClientStatus:
        status = self.get(status_id)
        if status.archived:
            raise FailedPrecondition("this status is archived", reason="STATUS_ARCHIVED")
        return status

    @property
    def default(self) -> ClientStatus:
        return next(s for s in self.statuses if s.is_default)

    def _require_unique(self, label: str, except_id: uuid.UUID | None = None) -> None:
        if any(s.label.lower() == label.lower() and s.id != except_id for s in self.live()):
            raise Conflict(f"a status named {label!r} already exists", reason="STATUS_LABEL_TAKEN")

    def create(self, label: str, *, status_id: uuid.UUID) -> ClientStatus:
        label = _clean_label(label)
        self._require_unique(label)
        position = max((s.position for s in self.statuses), default=-1) + 1
        status = ClientStatus(self.tenant_id, status_id, label, position)
        self.statuses.append(status)
        return status

    def rename(self, status_id: uuid.UUID, label: str) -> ClientStatus:
        status = self.assignable(status_id)
        label = _clean_label(label)
        self._require_unique(label, except_id=status.id)
        status.label = label
        return status

    def make_default(self, status_id: uuid.UUID) -> ClientStatus:
        status = self.assignable(status_id)
        for other in self.statuses:
            other.is_default = other is status
        return status

    def archive(self, status_id: uuid.UUID, *, now: datetime) -> ClientStatus:
        status = self.assignable(status_id)
        if status.is_default:
            raise FailedPrecondition(
                "make another status the default before archiving this one", reason="STATUS_DEFAULT"
            )
        status.archived_at = now
        return status

    def reorder(self, ids: list[uuid.UUID]) -> list[ClientStatus]:
        live = self.live()
        if len(ids) != len(set(ids)) or set(ids) != {s.id for s in live}:
            raise InvalidArgument.single("ids", "must list every live status exactly once")
        for position, status_id in enumerate(ids):
            self.get(status_id).position = position
        return self.live()
