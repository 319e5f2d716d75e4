"""What callers ask the client service to do about client records, in the imperative: one command per use
case (reads included). ``now`` is the entrypoint's clock reading, given to the use cases that need the time.

The other capabilities have their own modules: ``commands_custom_fields``, ``commands_attachments``,
``commands_portal`` and ``commands_merges``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from client_svc.domain.contact_details import ContactPersonInput, ContactPointInput
from client_svc.domain.profile import ProfileInput


@dataclass(frozen=True)
class CreateClient:
    tenant_id: uuid.UUID
    first_name: str
    last_name: str = ""
    email: str = ""
    phone: str = ""
    default_region: str = ""
    request_id: str = ""
    profile: ProfileInput = field(default_factory=ProfileInput)
    # The plan's limit on live clients; 0: none.
    max_clients: int = 0
    # None: only the single email / phone above.
    emails: tuple[ContactPointInput, ...] | None = None
    phones: tuple[ContactPointInput, ...] | None = None
    contact_persons: tuple[ContactPersonInput, ...] | None = None
    # Custom field values by key, as JSON values; the form says which required fields must be there.
    custom_fields: Mapping[str, object] = field(default_factory=dict)
    form: str = "staff"
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class UpdateClient:
    """None leaves a field as it is; an empty email or phone clears it."""

    tenant_id: uuid.UUID
    client_id: uuid.UUID
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    default_region: str = ""
    profile: ProfileInput | None = None
    # None leaves a list as it is; a list replaces it.
    emails: tuple[ContactPointInput, ...] | None = None
    phones: tuple[ContactPointInput, ...] | None = None
    contact_persons: tuple[ContactPersonInput, ...] | None = None
    # Only the keys given change; a None value clears one.
    custom_fields: Mapping[str, object] = field(default_factory=dict)
    form: str = "staff"
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class DeleteClient:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class RestoreClient:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    max_clients: int = 0
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class SetOnlineBookingBlocked:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    blocked: bool
    reason: str = ""
    # The block ends by itself then (None: until lifted).
    until: datetime | None = None
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class SetClientStatus:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    status_id: uuid.UUID
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class CreateClientStatus:
    tenant_id: uuid.UUID
    label: str


@dataclass(frozen=True)
class UpdateClientStatus:
    tenant_id: uuid.UUID
    status_id: uuid.UUID
    label: str | None = None
    make_default: bool = False


@dataclass(frozen=True)
class ArchiveClientStatus:
    tenant_id: uuid.UUID
    status_id: uuid.UUID
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class ReorderClientStatuses:
    tenant_id: uuid.UUID
    ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class AddClientNote:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    author_id: str
    body: str
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class EditClientNote:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    note_id: uuid.UUID
    editor_id: str
    editor_role: str
    body: str
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class SetClientStaff:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    staff_ids: tuple[uuid.UUID, ...]
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class SetClientTags:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    tags: tuple[str, ...]
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class ListClientStatuses:
    tenant_id: uuid.UUID
    include_archived: bool = False


@dataclass(frozen=True)
class ListClientGroups:
    tenant_id: uuid.UUID


@dataclass(frozen=True)
class CreateClientGroup:
    tenant_id: uuid.UUID
    name: str
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class RenameClientGroup:
    tenant_id: uuid.UUID
    group_id: uuid.UUID
    name: str


@dataclass(frozen=True)
class DeleteClientGroup:
    tenant_id: uuid.UUID
    group_id: uuid.UUID


@dataclass(frozen=True)
class AddClientsToGroup:
    tenant_id: uuid.UUID
    group_id: uuid.UUID
    # As given: each is checked to be a client id of this business.
    client_ids: tuple[str, ...]
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class RemoveClientsFromGroup:
    tenant_id: uuid.UUID
    group_id: uuid.UUID
    client_ids: tuple[str, ...]


@dataclass(frozen=True)
class SetClientGroupStaff:
    tenant_id: uuid.UUID
    group_id: uuid.UUID
    staff_ids: tuple[uuid.UUID, ...]
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class LiftEndedBookingBlocks:
    """One batch of the sweep (every business): the blocks whose end is at or before ``now``."""

    now: datetime
    batch: int
