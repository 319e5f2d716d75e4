"""What callers ask the client service to do, in the imperative."""

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


@dataclass(frozen=True)
class DeleteClient:
    tenant_id: uuid.UUID
    client_id: uuid.UUID


@dataclass(frozen=True)
class RestoreClient:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    max_clients: int = 0


@dataclass(frozen=True)
class SetOnlineBookingBlocked:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    blocked: bool
    reason: str = ""
    # The block ends by itself then (None: until lifted).
    until: datetime | None = None


@dataclass(frozen=True)
class SetClientStatus:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    status_id: uuid.UUID


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


@dataclass(frozen=True)
class EditClientNote:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    note_id: uuid.UUID
    editor_id: str
    editor_role: str
    body: str


@dataclass(frozen=True)
class SetClientStaff:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    staff_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class SetClientTags:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    tags: tuple[str, ...]


@dataclass(frozen=True)
class CreateCustomField:
    tenant_id: uuid.UUID
    label: str
    type: str
    key: str = ""
    options: tuple[str, ...] = ()
    required: bool = False
    forms: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpdateCustomField:
    tenant_id: uuid.UUID
    field_id: uuid.UUID
    label: str | None = None
    options: tuple[str, ...] | None = None
    required: bool | None = None
    forms: tuple[str, ...] | None = None
    retired: bool | None = None


@dataclass(frozen=True)
class ReorderCustomFields:
    tenant_id: uuid.UUID
    ids: tuple[uuid.UUID, ...]
