"""Facts about appointment requests, in the past tense. Mapped to contracts in adapters/event_mapping.py.

Every event carries RequestFacts: what a message about the request needs (reference, service, duration,
both zones, staff, description, and once approved the technician and final time), so the notification
service renders it from the event alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class OptionFact:
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class RequestFacts:
    reference: str
    service_id: uuid.UUID
    service_name: str
    duration_minutes: int
    client_timezone: str
    business_timezone: str
    preferred_staff_id: uuid.UUID | None
    preferred_staff_name: str
    description: str
    channel: str
    technician_id: uuid.UUID | None
    technician_name: str
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class RequestSubmitted:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    facts: RequestFacts
    options: tuple[OptionFact, ...]
    timezone: str
    occurred_at: datetime


@dataclass(frozen=True)
class RequestUpdated:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    facts: RequestFacts
    options: tuple[OptionFact, ...]
    changed: tuple[str, ...]
    version: int
    occurred_at: datetime


@dataclass(frozen=True)
class RequestApproved:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    facts: RequestFacts
    appointment_id: uuid.UUID
    approved_by: str
    occurred_at: datetime


@dataclass(frozen=True)
class RequestDeclined:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    facts: RequestFacts
    reason: str
    declined_by: str
    occurred_at: datetime


@dataclass(frozen=True)
class RequestCancelled:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    facts: RequestFacts
    cancelled_by: str
    was_approved: bool
    appointment_id: uuid.UUID | None
    occurred_at: datetime


@dataclass(frozen=True)
class RequestExpired:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    facts: RequestFacts
    occurred_at: datetime


@dataclass(frozen=True)
class RequestAlternativesProposed:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    facts: RequestFacts
    alternatives: tuple[datetime, ...]
    hold_until: datetime
    proposed_by: str
    technician_id: uuid.UUID | None
    technician_name: str
    note: str
    occurred_at: datetime


@dataclass(frozen=True)
class RequestAlternativeAccepted:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    facts: RequestFacts
    appointment_id: uuid.UUID
    occurred_at: datetime
