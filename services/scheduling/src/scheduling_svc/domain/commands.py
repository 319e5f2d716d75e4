"""Every use case's input: one frozen dataclass per use case, built by the entrypoints (which set ``now`` from
the clock) and handed to its handler in the service layer with the unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from scheduling_svc.domain.feeds import FeedOwner, Viewer
from scheduling_svc.domain.series import Decision, Horizon, Scope

SegmentChoice = tuple[uuid.UUID, uuid.UUID | None]  # (service, staff or any)
Decisions = Sequence[tuple[datetime, Decision]]  # (occurrence start, what to do with it)

# --- availability and appointments ---------------------------------------------------------------


@dataclass(frozen=True)
class FindSlots:
    tenant_id: uuid.UUID
    service_ids: tuple[uuid.UUID, ...]
    from_day: date
    to_day: date
    staff_ids: frozenset[uuid.UUID] | None
    timezone: str  # empty: the business's
    seats: int
    online: bool  # asked by or for a client: each service's online slot rules apply
    now: datetime


@dataclass(frozen=True)
class BookAppointment:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    segments: tuple[SegmentChoice, ...]
    start: datetime
    override_availability: bool
    notes: str
    request_id: str | None
    source: str
    seats: int
    follow_up_of: uuid.UUID | None
    follow_up_action: str
    timezone: str
    online: bool  # made by the client (portal): online rules apply, no override
    actor: str
    now: datetime
    staff_notes: str = ""
    ticket: str = ""
    # The client's tentative hold this booking replaces (released in its transaction).
    hold_id: uuid.UUID | None = None


@dataclass(frozen=True)
class MoveAppointment:
    """Reschedule (a new start) or reassign (one segment to another staff member)."""

    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    version: int
    override_availability: bool
    actor: str
    online: bool
    now: datetime
    start: datetime | None = None  # reschedule
    position: int | None = None  # reassign this segment...
    staff_id: uuid.UUID | None = None  # ...to this staff member


@dataclass(frozen=True)
class CancelAppointment:
    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    reason: str
    version: int
    by_client: bool
    actor: str
    now: datetime


@dataclass(frozen=True)
class CompleteAppointment:
    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    version: int
    actor: str
    now: datetime


@dataclass(frozen=True)
class MarkNoShow:
    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    version: int
    actor: str
    now: datetime


# --- tentative holds -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldSlot:
    tenant_id: uuid.UUID
    hold_id: uuid.UUID
    client_id: uuid.UUID
    service_id: uuid.UUID
    staff_id: uuid.UUID | None
    start: datetime
    label: str
    online: bool  # asked by the client (portal): the online slot rules apply
    now: datetime


@dataclass(frozen=True)
class ReleaseHold:
    tenant_id: uuid.UUID
    hold_id: uuid.UUID
    client_id: uuid.UUID | None  # a portal client releases only its own holds; None: staff or a service


# --- recurring series ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesDefinition:
    client_id: uuid.UUID
    segments: tuple[SegmentChoice, ...]
    rrule: str
    dtstart: datetime  # local wall time
    timezone: str  # empty: the business's
    seats: int
    notes: str


@dataclass(frozen=True)
class PreviewSeries:
    tenant_id: uuid.UUID
    definition: SeriesDefinition
    override: bool
    now: datetime
    horizon: Horizon
    # (series, occurrence): preview the series as it would continue from that occurrence, whose own upcoming
    # appointments then count as free.
    change_of: tuple[uuid.UUID, datetime] | None = None


@dataclass(frozen=True)
class CreateSeries:
    tenant_id: uuid.UUID
    definition: SeriesDefinition
    decisions: Decisions
    override: bool
    request_id: str | None
    actor: str
    now: datetime
    horizon: Horizon


@dataclass(frozen=True)
class ExtendSeries:
    tenant_id: uuid.UUID
    series_id: uuid.UUID
    now: datetime
    horizon: Horizon


@dataclass(frozen=True)
class ExtendDueSeries:
    now: datetime
    horizon: Horizon
    tenant_id: uuid.UUID | None = None  # None: every business's
    limit: int = 100


@dataclass(frozen=True)
class EditOccurrence:
    tenant_id: uuid.UUID
    series_id: uuid.UUID
    occurrence_start: datetime | None  # the occurrence the user acts on (ALL: optional, to say how times move)
    scope: Scope
    start: datetime | None  # its new start; None: unchanged
    segments: tuple[SegmentChoice, ...] | None  # new services/staff; None: unchanged
    rrule: str | None  # this and following / all: the rule from then on; None: the same pattern
    notes: str | None
    decisions: Decisions
    override: bool
    version: int  # ONE: the appointment's version; else the series'; 0: not checked
    actor: str
    now: datetime
    horizon: Horizon


@dataclass(frozen=True)
class CancelOccurrence:
    tenant_id: uuid.UUID
    series_id: uuid.UUID
    occurrence_start: datetime | None  # ALL: not needed
    scope: Scope
    reason: str
    version: int  # ONE: the appointment's version; else the series'; 0: not checked
    actor: str
    now: datetime


# --- calendar feeds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueFeed:
    tenant_id: uuid.UUID
    viewer: Viewer
    owner: FeedOwner
    include_cancelled: bool
    actor: str
    now: datetime


@dataclass(frozen=True)
class RevokeFeed:
    tenant_id: uuid.UUID
    viewer: Viewer
    owner: FeedOwner
    feed_id: uuid.UUID
    actor: str
    now: datetime


@dataclass(frozen=True)
class ListFeeds:
    tenant_id: uuid.UUID
    viewer: Viewer
    owner: FeedOwner


# --- reports -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GetAppointmentReport:
    tenant_id: uuid.UUID
    from_day: str  # as asked (YYYY-MM-DD), checked by the report's rules
    to_day: str
    now: datetime
