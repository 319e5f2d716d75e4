"""The Appointment aggregate: one booking the client sees as one, made of one or more back-to-back
services (segments), each with its staff member; its lifecycle and its history.

Overlaps are not checked here but by the database (time_blocks); this module decides *which* stretches of
staff time a booking takes (``staff_blocks``), so the schema can refuse the ones that collide.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument
from platform_core.validation import Violations
from scheduling_svc.domain import events
from scheduling_svc.domain.catalogue import BookableService
from scheduling_svc.domain.events import SegmentFact

MAX_NOTES_LENGTH = 4000
MAX_TICKET_LENGTH = 100
MAX_REASON_LENGTH = 500
MAX_SEGMENTS = 6
SOURCES = ("staff", "portal_request", "portal", "series")


class Status(StrEnum):
    BOOKED = "booked"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


# Mirrors the schema's trigger (appointments_status_transition): the domain refuses first, clearly.
ALLOWED_TRANSITIONS = {
    Status.BOOKED: {Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW},
    Status.NO_SHOW: {Status.BOOKED, Status.COMPLETED},
    Status.COMPLETED: set(),
    Status.CANCELLED: set(),
}


@dataclass(frozen=True)
class Segment:
    position: int
    service_id: uuid.UUID
    service_name: str
    staff_id: uuid.UUID
    start: datetime
    end: datetime
    seats: int
    price_minor: int
    currency: str
    buffer_before: timedelta
    buffer_after: timedelta
    capacity: int
    resource_ids: tuple[uuid.UUID, ...]

    def fact(self) -> events.SegmentFact:
        return events.SegmentFact(
            self.service_id, self.service_name, self.staff_id, self.start, self.end, self.price_minor, self.currency
        )


@dataclass(frozen=True)
class StaffBlock:
    """A stretch of one staff member's time taken by a booking, buffers included.

    Consecutive segments with the same staff member are one block (one visit, no buffers in between);
    a group session is one block shared by every attendee, its seats counted against its capacity.
    """

    staff_id: uuid.UUID
    service_id: uuid.UUID
    session_start: datetime
    start: datetime
    end: datetime
    capacity: int
    seats: int
    resource_ids: tuple[uuid.UUID, ...]
    positions: tuple[int, ...]


def plan_back_to_back(
    services: Sequence[BookableService], staff_ids: Sequence[uuid.UUID], start: datetime, seats: int = 1
) -> tuple[Segment, ...]:
    """Segments of a booking starting at ``start``: each service starts when the one before it ends."""
    segments = []
    at = start
    for position, (service, staff_id) in enumerate(zip(services, staff_ids, strict=True)):
        d = service.definition
        segments.append(
            Segment(
                position=position,
                service_id=service.id,
                service_name=d.name,
                staff_id=staff_id,
                start=at,
                end=at + d.duration,
                seats=seats,
                price_minor=d.price_minor * seats,
                currency=d.currency,
                buffer_before=d.buffer_before,
                buffer_after=d.buffer_after,
                capacity=d.capacity,
                resource_ids=d.resource_ids,
            )
        )
        at += d.duration
    return tuple(segments)


def staff_blocks(segments: Sequence[Segment]) -> list[StaffBlock]:
    blocks: list[StaffBlock] = []
    runs: list[list[Segment]] = []
    for segment in segments:
        if runs and runs[-1][-1].staff_id == segment.staff_id and runs[-1][-1].end == segment.start:
            runs[-1].append(segment)
        else:
            runs.append([segment])
    for run in runs:
        first, last = run[0], run[-1]
        # Buffers sit at the edges of each staff member's stretch (as the availability engine places them):
        # whoever starts a stretch prepares, whoever ends one clears up; none between services of one person.
        before, after = first.buffer_before, last.buffer_after
        resources = tuple(dict.fromkeys(r for s in run for r in s.resource_ids))
        blocks.append(
            StaffBlock(
                staff_id=first.staff_id,
                service_id=first.service_id,
                session_start=first.start,
                start=first.start - before,
                end=last.end + after,
                capacity=first.capacity if len(run) == 1 else 1,
                seats=first.seats,
                resource_ids=resources,
                positions=tuple(s.position for s in run),
            )
        )
    return blocks


@dataclass(frozen=True)
class HistoryRecord:
    at: datetime
    actor: str
    action: str
    changes: dict[str, Any]


def check_segments_request(service_ids: Sequence[uuid.UUID], seats: int, capacities: Sequence[int]) -> None:
    violations = Violations()
    if not service_ids:
        violations.add("segments", "name at least one service")
    if len(service_ids) > MAX_SEGMENTS:
        violations.add("segments", f"at most {MAX_SEGMENTS} services in one appointment")
    if seats < 1:
        violations.add("seats", "must be at least 1")
    if len(service_ids) > 1 and any(c > 1 for c in capacities):
        violations.add("segments", "a group session cannot be combined with other services")
    if capacities and len(service_ids) == 1 and seats > capacities[0]:
        violations.add("seats", f"the session has {capacities[0]} seats")
    if capacities and capacities[0] == 1 and seats != 1:
        violations.add("seats", "one-to-one services take exactly one seat")
    violations.raise_if_any()


def check_text(notes: str, field_name: str, max_length: int) -> str:
    notes = notes.strip()
    if len(notes) > max_length:
        raise InvalidArgument.single(field_name, f"must be at most {max_length} characters")
    return notes


@dataclass(eq=False)
class Appointment:
    tenant_id: uuid.UUID
    id: uuid.UUID
    client_id: uuid.UUID
    status: Status
    timezone: str
    segments: tuple[Segment, ...]
    notes: str
    source: str
    availability_overridden: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    cancellation_reason: str = ""
    cancelled_by: str | None = None
    series_id: uuid.UUID | None = None
    occurrence_start: datetime | None = None
    follow_up_of: uuid.UUID | None = None
    follow_up_action: str = ""
    request_id: str | None = None
    version: int = 1
    # For the team only (never shown to the client): notes and a help-desk ticket id.
    staff_notes: str = ""
    ticket: str = ""
    events: list[Any] = field(default_factory=list)
    # Unsaved: history entries to append, and the segments the last change replaced (their time is freed).
    new_history: list[HistoryRecord] = field(default_factory=list)
    replaced_segments: tuple[Segment, ...] | None = None
    is_new: bool = False

    @property
    def starts_at(self) -> datetime:
        return self.segments[0].start

    @property
    def ends_at(self) -> datetime:
        return self.segments[-1].end

    def _facts(self) -> tuple[SegmentFact, ...]:
        return tuple(s.fact() for s in self.segments)

    @classmethod
    def book(
        cls,
        *,
        tenant_id: uuid.UUID,
        appointment_id: uuid.UUID,
        client_id: uuid.UUID,
        segments: tuple[Segment, ...],
        timezone: str,
        notes: str,
        source: str,
        availability_overridden: bool,
        actor: str,
        now: datetime,
        request_id: str | None = None,
        series_id: uuid.UUID | None = None,
        occurrence_start: datetime | None = None,
        follow_up_of: uuid.UUID | None = None,
        follow_up_action: str = "",
        staff_notes: str = "",
        ticket: str = "",
    ) -> Appointment:
        if source not in SOURCES:
            raise InvalidArgument.single("source", f"must be one of: {', '.join(SOURCES)}")
        if (source == "series") != (series_id is not None):
            raise InvalidArgument.single("source", "only the occurrences of a recurring series come from a series")
        appointment = cls(
            tenant_id=tenant_id,
            id=appointment_id,
            client_id=client_id,
            status=Status.BOOKED,
            timezone=timezone,
            segments=segments,
            notes=check_text(notes, "notes", MAX_NOTES_LENGTH),
            source=source,
            availability_overridden=availability_overridden,
            created_by=actor,
            created_at=now,
            updated_at=now,
            series_id=series_id,
            occurrence_start=occurrence_start,
            follow_up_of=follow_up_of,
            follow_up_action=follow_up_action,
            request_id=request_id,
            staff_notes=check_text(staff_notes, "staff_notes", MAX_NOTES_LENGTH),
            ticket=check_text(ticket, "ticket", MAX_TICKET_LENGTH),
            is_new=True,
        )
        changes: dict[str, Any] = {"start": [None, appointment.starts_at.isoformat()]}
        if availability_overridden:
            changes["availability_overridden"] = [None, True]
        appointment._record(now, actor, "booked", changes)
        appointment.events.append(
            events.AppointmentBooked(
                tenant_id=tenant_id,
                appointment_id=appointment_id,
                client_id=client_id,
                start=appointment.starts_at,
                end=appointment.ends_at,
                timezone=timezone,
                segments=appointment._facts(),
                source=source,
                series_id=series_id,
                availability_overridden=availability_overridden,
                occurred_at=now,
                follow_up_of=follow_up_of,
                follow_up_action=follow_up_action,
            )
        )
        return appointment

    def check_version(self, expected: int) -> None:
        if expected and expected != self.version:
            raise Conflict(
                f"the appointment was changed (version {self.version}, not {expected}); reload it and try again",
                reason="CONCURRENT_CHANGE",
            )

    def _record(self, now: datetime, actor: str, action: str, changes: dict[str, Any]) -> None:
        self.new_history.append(HistoryRecord(now, actor, action, changes))
        self.updated_at = now

    def _require_booked(self, doing: str) -> None:
        if self.status != Status.BOOKED:
            raise FailedPrecondition(
                f"a {self.status.value} appointment cannot be {doing}", reason="APPOINTMENT_NOT_BOOKED"
            )

    def move(self, segments: tuple[Segment, ...], *, overridden: bool, actor: str, now: datetime) -> None:
        """Reschedule or reassign: the new segments replace the old ones (whose time is freed)."""
        self._require_booked("changed")
        previous = self.segments
        changes: dict[str, Any] = {}
        if previous[0].start != segments[0].start:
            changes["start"] = [previous[0].start.isoformat(), segments[0].start.isoformat()]
        for old, new in zip(previous, segments, strict=True):
            if old.staff_id != new.staff_id:
                changes[f"segments[{old.position}].staff_id"] = [str(old.staff_id), str(new.staff_id)]
        if not changes:
            return
        if overridden:
            changes["availability_overridden"] = [self.availability_overridden, True]
            self.availability_overridden = True
        self.replaced_segments = self.replaced_segments or previous
        self.segments = segments
        action = "rescheduled" if "start" in changes else "reassigned"
        self._record(now, actor, action, changes)
        self.events.append(
            events.AppointmentRescheduled(
                tenant_id=self.tenant_id,
                appointment_id=self.id,
                client_id=self.client_id,
                previous_start=previous[0].start,
                start=self.starts_at,
                end=self.ends_at,
                segments=self._facts(),
                timezone=self.timezone,
                occurred_at=now,
            )
        )

    def cancel(self, *, reason: str, by: str, actor: str, now: datetime, notice: timedelta) -> None:
        self._require_booked("cancelled")
        reason = check_text(reason, "reason", MAX_REASON_LENGTH)
        if by == "client":
            if not reason:
                reason = "cancelled by the client"
            deadline = self.starts_at - notice
            if now > deadline:
                raise FailedPrecondition(
                    f"appointments can be cancelled online until {deadline.isoformat()}; please contact the business",
                    reason="CANCELLATION_WINDOW_PASSED",
                )
        elif not reason:
            raise InvalidArgument.single("reason", "say why the appointment is cancelled")
        self.status = Status.CANCELLED
        self.cancellation_reason = reason
        self.cancelled_by = by
        self.replaced_segments = self.segments
        self._record(now, actor, "cancelled", {"status": ["booked", "cancelled"], "reason": [None, reason]})
        self.events.append(
            events.AppointmentCancelled(
                self.tenant_id,
                self.id,
                self.client_id,
                self.starts_at,
                reason,
                by,
                self.timezone,
                now,
                segments=self._facts(),
            )
        )

    def complete(self, *, actor: str, now: datetime) -> None:
        self._transition(Status.COMPLETED, actor, now)
        self.events.append(
            events.AppointmentCompleted(self.tenant_id, self.id, self.client_id, self._facts(), self.timezone, now)
        )

    def mark_no_show(self, *, actor: str, now: datetime) -> None:
        self._transition(Status.NO_SHOW, actor, now)
        self.events.append(
            events.AppointmentNoShow(
                self.tenant_id, self.id, self.client_id, self.starts_at, self.timezone, now, segments=self._facts()
            )
        )

    def _transition(self, to: Status, actor: str, now: datetime) -> None:
        if to not in ALLOWED_TRANSITIONS[self.status]:
            raise FailedPrecondition(
                f"a {self.status.value} appointment cannot become {to.value}", reason="APPOINTMENT_NOT_BOOKED"
            )
        if now < self.starts_at:
            raise FailedPrecondition(
                f"the appointment has not started yet; it can be marked {to.value} from its start",
                reason="APPOINTMENT_NOT_STARTED",
            )
        self._record(now, actor, to.value, {"status": [self.status.value, to.value]})
        self.status = to


def with_staff(segments: tuple[Segment, ...], position: int, staff_id: uuid.UUID) -> tuple[Segment, ...]:
    if not 0 <= position < len(segments):
        raise InvalidArgument.single("position", f"the appointment has {len(segments)} service(s)")
    return tuple(replace(s, staff_id=staff_id) if s.position == position else s for s in segments)


def shifted(segments: tuple[Segment, ...], start: datetime) -> tuple[Segment, ...]:
    delta = start - segments[0].start
    return tuple(replace(s, start=s.start + delta, end=s.end + delta) for s in segments)


def check_booking_rules(*, online: bool, blocked: bool, active_bookings: int, max_active: int) -> None:
    """Per-client rules for bookings the client makes (online); staff bookings are not limited by them."""
    if not online:
        return
    if blocked:
        raise FailedPrecondition("this client cannot book online; please contact the business", reason="CLIENT_BLOCKED")
    if max_active and active_bookings >= max_active:
        raise FailedPrecondition(
            f"a client may hold at most {max_active} upcoming booking(s)", reason="MAX_ACTIVE_BOOKINGS"
        )
