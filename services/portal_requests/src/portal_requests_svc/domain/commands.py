"""What callers ask this service to do (imperative), one command per use case; the entrypoint that builds a
command sets ``now`` from its clock. Each has one handler in service_layer/*handlers.py."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from portal_requests_svc.domain.events import FreedSlot
from portal_requests_svc.domain.public_requests import NewClientTerms
from portal_requests_svc.domain.requests import UNCHANGED, TimeOption, Unchanged

# Appointment requests (service_layer/handlers.py)


@dataclass(frozen=True)
class SubmitRequest:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    service_id: uuid.UUID
    preferred_staff_id: uuid.UUID | None
    options: Sequence[TimeOption]
    message: str
    timezone: str
    submission_id: str | None
    now: datetime
    # Custom field values of the booking request form (JSON values by field key), and the business's region to
    # read national phone numbers among them in.
    answers: Mapping[str, Any] = field(default_factory=dict)
    region: str = ""
    # Where it was asked: the portal, the public booking page ("public"), or "staff" (with staff_actor).
    channel: str = "portal"
    # Staff making the request for the client ("staff:<id>"); empty: the client.
    staff_actor: str = ""
    # Staff only: past the client's booking rules (online-booking block, active bookings limit), on record.
    override_booking_rules: bool = False


@dataclass(frozen=True)
class UpdateRequest:
    """The client edits its pending request; None (UNCHANGED for the staff member) leaves a part as it is."""

    tenant_id: uuid.UUID
    client_id: uuid.UUID
    request_id: uuid.UUID
    version: int
    now: datetime
    service_id: uuid.UUID | None = None
    preferred_staff_id: uuid.UUID | Unchanged | None = UNCHANGED
    options: Sequence[TimeOption] | None = None
    message: str | None = None


@dataclass(frozen=True)
class ApproveRequest:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    start: datetime
    technician_id: uuid.UUID
    override_availability: bool
    actor: str
    now: datetime
    internal_notes: str = ""
    ticket: str = ""
    version: int = 0
    # Staff book past the client's booking rules (online-booking block, active bookings limit); kept in the
    # request's history.
    override_booking_rules: bool = False


@dataclass(frozen=True)
class ProposeAlternatives:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    alternatives: Sequence[datetime]
    technician_id: uuid.UUID | None
    note: str
    actor: str
    now: datetime
    version: int = 0


@dataclass(frozen=True)
class AcceptAlternative:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    request_id: uuid.UUID
    alternative: int  # the index of the proposed time
    now: datetime


@dataclass(frozen=True)
class DeclineRequest:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    reason: str
    actor: str
    now: datetime


@dataclass(frozen=True)
class CancelRequest:
    """The client withdraws its request (an approved one with its appointment)."""

    tenant_id: uuid.UUID
    client_id: uuid.UUID
    request_id: uuid.UUID
    now: datetime


@dataclass(frozen=True)
class CancelRequestOfAppointment:
    """Scheduling cancelled an appointment (``by`` the client or staff): the request that booked it follows."""

    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    by: str
    now: datetime


@dataclass(frozen=True)
class ExpireDueRequests:
    """One batch of pending requests (of any business) whose every option has passed."""

    now: datetime
    batch: int


@dataclass(frozen=True)
class UpdateRequestSettings:
    tenant_id: uuid.UUID
    ticket_url_pattern: str
    proposal_hold_minutes: int
    offer_hold_minutes: int
    version: int
    tentative_holds: bool = False


# The waitlist (service_layer/waitlist_handlers.py)


@dataclass(frozen=True)
class JoinWaitlist:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    service_id: uuid.UUID
    staff_id: uuid.UUID | None
    from_date: date
    to_date: date
    window_start: time | None
    window_end: time | None
    timezone: str
    joined_by: str  # "client" or "staff"
    now: datetime
    # Staff only: past the client's booking rules (online-booking block), kept on the entry.
    override_booking_rules: bool = False


@dataclass(frozen=True)
class LeaveWaitlist:
    tenant_id: uuid.UUID
    entry_id: uuid.UUID
    client_id: uuid.UUID | None  # a client leaves its own entry; None: staff, any entry
    now: datetime


@dataclass(frozen=True)
class OfferFreedTime:
    tenant_id: uuid.UUID
    slot: FreedSlot
    now: datetime


@dataclass(frozen=True)
class OfferTimesOfAppointment:
    """A cancelled appointment freed each of its services' staff members' times."""

    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    now: datetime


@dataclass(frozen=True)
class AcceptWaitlistOffer:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    offer_id: uuid.UUID
    now: datetime


@dataclass(frozen=True)
class PassOnExpiredOffers:
    """One batch of offers (of any business) whose hold ran out."""

    now: datetime
    batch: int


# The public booking page (service_layer/public_request_handlers.py)


@dataclass(frozen=True)
class StartPublicRequest:
    tenant_id: uuid.UUID
    service_id: uuid.UUID
    preferred_staff_id: uuid.UUID | None
    start: datetime
    name: str
    email: str
    phone: str
    message: str
    # The visitor's zone (empty: the business's) and language, and the business's name for the email.
    timezone: str
    language: str
    business_name: str
    now: datetime
    # Answers to the booking request form by field key, and the business's region to read phone numbers in.
    answers: Mapping[str, Any] = field(default_factory=dict)
    region: str = ""


@dataclass(frozen=True)
class ConfirmPublicRequest:
    tenant_id: uuid.UUID
    verification_id: uuid.UUID
    code: str
    new_client: NewClientTerms
    now: datetime


@dataclass(frozen=True)
class PurgePublicRequests:
    """One batch of public requests made before ``before`` (confirmed or not)."""

    before: datetime
    batch: int


# Tentative holds (service_layer/hold_handlers.py)


@dataclass(frozen=True)
class ReleaseOrphanHolds:
    """The business's holds, of times from ``now`` to ``now + horizon``, placed before ``now - grace`` that no
    pending request holds."""

    tenant_id: uuid.UUID
    now: datetime
    grace: timedelta
    horizon: timedelta


@dataclass(frozen=True)
class ReconcileHolds:
    """Every business's orphan holds, as ReleaseOrphanHolds says."""

    now: datetime
    grace: timedelta
    horizon: timedelta
