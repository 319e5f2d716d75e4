"""Facts about appointment requests, in the past tense. Mapped to contracts in adapters/event_mapping.py.

Every event carries RequestFacts: what a message about the request needs (reference, service, duration,
both zones, staff, description, and once approved the technician and final time), so the notification
service renders it from the event alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time


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


@dataclass(frozen=True)
class WaitlistFacts:
    service_id: uuid.UUID
    service_name: str
    duration_minutes: int
    staff_id: uuid.UUID | None
    staff_name: str
    client_timezone: str
    business_timezone: str


@dataclass(frozen=True)
class WaitlistDates:
    from_date: date
    to_date: date
    window_start: time | None
    window_end: time | None
    joined_by: str


@dataclass(frozen=True)
class FreedSlot:
    """A staff member's time a cancellation or a reschedule gave back."""

    service_id: uuid.UUID
    staff_id: uuid.UUID
    start: datetime
    end: datetime


@dataclass(frozen=True)
class OfferFact:
    offer_id: uuid.UUID
    slot: FreedSlot
    hold_until: datetime
    appointment_id: uuid.UUID | None = None


@dataclass(frozen=True)
class WaitlistJoined:
    tenant_id: uuid.UUID
    entry_id: uuid.UUID
    client_id: uuid.UUID
    facts: WaitlistFacts
    dates: WaitlistDates
    occurred_at: datetime


@dataclass(frozen=True)
class WaitlistOfferMade:
    tenant_id: uuid.UUID
    entry_id: uuid.UUID
    client_id: uuid.UUID
    facts: WaitlistFacts
    offer: OfferFact
    occurred_at: datetime


@dataclass(frozen=True)
class WaitlistOfferAccepted:
    tenant_id: uuid.UUID
    entry_id: uuid.UUID
    client_id: uuid.UUID
    facts: WaitlistFacts
    offer: OfferFact
    occurred_at: datetime


@dataclass(frozen=True)
class WaitlistOfferExpired:
    tenant_id: uuid.UUID
    entry_id: uuid.UUID
    client_id: uuid.UUID
    facts: WaitlistFacts
    offer: OfferFact
    occurred_at: datetime
