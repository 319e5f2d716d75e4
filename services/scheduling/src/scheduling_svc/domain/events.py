"""Facts about appointments, in the past tense. Mapped to contracts in adapters/event_mapping.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SegmentFact:
    service_id: uuid.UUID
    service_name: str
    staff_id: uuid.UUID
    start: datetime
    end: datetime
    price_minor: int
    currency: str


@dataclass(frozen=True)
class AppointmentBooked:
    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    client_id: uuid.UUID
    start: datetime
    end: datetime
    timezone: str
    segments: tuple[SegmentFact, ...]
    source: str
    series_id: uuid.UUID | None
    availability_overridden: bool
    occurred_at: datetime
    follow_up_of: uuid.UUID | None = None
    follow_up_action: str = ""


@dataclass(frozen=True)
class AppointmentRescheduled:
    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    client_id: uuid.UUID
    previous_start: datetime
    start: datetime
    end: datetime
    segments: tuple[SegmentFact, ...]
    timezone: str
    occurred_at: datetime


@dataclass(frozen=True)
class AppointmentCancelled:
    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    client_id: uuid.UUID
    start: datetime
    reason: str
    cancelled_by: str
    timezone: str
    occurred_at: datetime
    # The services it was booked for (billing's cancellation policy applies per service).
    segments: tuple[SegmentFact, ...] = ()


@dataclass(frozen=True)
class AppointmentCompleted:
    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    client_id: uuid.UUID
    segments: tuple[SegmentFact, ...]
    timezone: str
    occurred_at: datetime


@dataclass(frozen=True)
class AppointmentNoShow:
    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    client_id: uuid.UUID
    start: datetime
    timezone: str
    occurred_at: datetime
    segments: tuple[SegmentFact, ...] = ()


@dataclass(frozen=True)
class RecurringSeriesCreated:
    tenant_id: uuid.UUID
    series_id: uuid.UUID
    client_id: uuid.UUID
    rrule: str
    occurrences_booked: int
    occurred_at: datetime
