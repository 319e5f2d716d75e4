"""Facts about clients, in the past tense. Mapped to contracts in adapters/event_mapping.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from client_svc.domain.contact_details import PersonValue, PointValue


@dataclass(frozen=True)
class ClientCreated:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    occurred_at: datetime
    kind: str = "individual"
    company_name: str = ""
    source: str = "staff"
    opening_balance_minor: int | None = None
    opening_balance_currency: str | None = None
    emails: tuple[PointValue, ...] = ()
    phones: tuple[PointValue, ...] = ()
    contact_persons: tuple[PersonValue, ...] = ()
    # What messages to the client are written in and shown in (empty: the business's).
    preferred_language: str = ""
    timezone: str = ""


@dataclass(frozen=True)
class ClientUpdated:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    changed_fields: tuple[str, ...]
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    occurred_at: datetime
    emails: tuple[PointValue, ...] = ()
    phones: tuple[PointValue, ...] = ()
    contact_persons: tuple[PersonValue, ...] = ()
    # What messages to the client are written in and shown in (empty: the business's).
    preferred_language: str = ""
    timezone: str = ""


@dataclass(frozen=True)
class ClientDeleted:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    occurred_at: datetime


@dataclass(frozen=True)
class ClientRestored:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    occurred_at: datetime


@dataclass(frozen=True)
class ClientBookingBlocked:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    reason: str
    occurred_at: datetime


@dataclass(frozen=True)
class ClientBookingUnblocked:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    occurred_at: datetime


@dataclass(frozen=True)
class ClientStatusChanged:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    from_status_id: uuid.UUID | None
    from_label: str
    to_status_id: uuid.UUID
    to_label: str
    occurred_at: datetime
