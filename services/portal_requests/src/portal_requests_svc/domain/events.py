"""Facts about appointment requests, in the past tense. Mapped to contracts in adapters/event_mapping.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class OptionFact:
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class RequestSubmitted:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    service_id: uuid.UUID
    preferred_staff_id: uuid.UUID | None
    options: tuple[OptionFact, ...]
    timezone: str
    occurred_at: datetime


@dataclass(frozen=True)
class RequestApproved:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    appointment_id: uuid.UUID
    start: datetime
    approved_by: str
    occurred_at: datetime


@dataclass(frozen=True)
class RequestDeclined:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    reason: str
    declined_by: str
    occurred_at: datetime


@dataclass(frozen=True)
class RequestWithdrawn:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    occurred_at: datetime


@dataclass(frozen=True)
class RequestExpired:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    occurred_at: datetime
