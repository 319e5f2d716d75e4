"""Recurring appointment series: the RecurringSeries aggregate and the plan of its occurrences.

A series is a rule (domain/recurrence.py) plus what each occurrence books (services, staff, seats, notes). Its
occurrences are materialized as ordinary appointments (source "series", linked by series id and the occurrence's
rule-given start), so they take staff time like any booking and can never double-book. The rule keeps generating
occurrences over a rolling horizon; ``materialized_until`` says up to which instant every occurrence has been dealt
with (booked, skipped, or recorded as an exception), so nothing before it is ever generated again.

Changes to a series follow calendar practice: one occurrence changes only that appointment (it keeps its occurrence
start, so it is never re-created); "this and following" ends the series before the occurrence and, for an edit,
continues in a successor series; "all" does that from the first occurrence that has not started. Past occurrences
are never changed.

``plan_occurrences`` is the preview: for each occurrence, whether it can be booked at its time or clashes (with a
holiday, time off, the working hours or another booking), the nearest free start the same day, and what will be
booked once the user has decided (book, skip, or shift to another start).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument
from scheduling_svc.domain import availability, events
from scheduling_svc.domain.availability import (
    Busy,
    ResourceAvailability,
    ScheduleException,
    ServiceSpec,
    SlotQuery,
    SlotRules,
    StaffAvailability,
    WeeklySchedule,
)
from scheduling_svc.domain.recurrence import Recurrence, local_text

MAX_NOTES_LENGTH = 4000
MAX_REASON_LENGTH = 500


class SeriesStatus(StrEnum):
    ACTIVE = "active"  # the rule may still generate occurrences
    ENDED = "ended"  # the rule has no occurrence left to materialize (it ran out, or was cut)
    CANCELLED = "cancelled"  # cancelled as a whole: no occurrence from then on


class ExceptionKind(StrEnum):
    SKIPPED = "skipped"  # not booked: the user chose so, or it clashed when the horizon was extended
    SHIFTED = "shifted"  # booked at another time than the rule says
    CANCELLED = "cancelled"  # this occurrence alone was cancelled


class Action(StrEnum):
    BOOK = "book"
    SKIP = "skip"
    SHIFT = "shift"


class Reason(StrEnum):
    HOLIDAY = "holiday"
    TIME_OFF = "time_off"
    OUTSIDE_HOURS = "outside_hours"
    BOOKED = "booked"
    UNAVAILABLE = "unavailable"  # a room or piece of equipment, the slot grid, or a service no longer offered
    PAST = "past"


REASON_TEXT = {
    Reason.HOLIDAY: "the business is closed (holiday)",
    Reason.TIME_OFF: "the staff member is off",
    Reason.OUTSIDE_HOURS: "outside working hours",
    Reason.BOOKED: "the staff member is already booked",
    Reason.UNAVAILABLE: "not bookable (a resource is taken, or the time is off the booking grid)",
    Reason.PAST: "in the past",
}


class Scope(StrEnum):
    """Which occurrences an edit or a cancellation applies to."""

    ONE = "one"
    THIS_AND_FOLLOWING = "this_and_following"
    ALL = "all"


@dataclass(frozen=True)
class Horizon:
    """How far ahead occurrences are booked, and how many at most in one go."""

    days: int = 180
    batch: int = 200

    @property
    def span(self) -> timedelta:
        return timedelta(days=self.days)


@dataclass(frozen=True)
class SeriesSegment:
    position: int
    service_id: uuid.UUID
    staff_id: uuid.UUID | None  # None: any qualified staff member free at each occurrence


@dataclass(frozen=True)
class OccurrenceException:
    occurrence_start: datetime
    kind: ExceptionKind
    moved_to: datetime | None
    reason: str
    actor: str
    at: datetime


@dataclass(eq=False)
class RecurringSeries:
    tenant_id: uuid.UUID
    id: uuid.UUID
    client_id: uuid.UUID
    recurrence: Recurrence
    segments: tuple[SeriesSegment, ...]
    seats: int
    notes: str
    availability_overridden: bool
    status: SeriesStatus
    materialized_until: datetime
    created_by: str
    created_at: datetime
    updated_at: datetime
    parent_id: uuid.UUID | None = None
    successor_id: uuid.UUID | None = None
    request_id: str | None = None
    version: int = 1
    exceptions: dict[datetime, OccurrenceException] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)
    # Unsaved changes: exceptions written or removed since loading, and whether the series row changed.
    changed_exceptions: set[datetime] = field(default_factory=set)
    is_new: bool = False
    dirty: bool = False

    @property
    def timezone(self) -> str:
        return self.recurrence.timezone

    @classmethod
    def start(
        cls,
        *,
        tenant_id: uuid.UUID,
        series_id: uuid.UUID,
        client_id: uuid.UUID,
        recurrence: Recurrence,
        segments: Sequence[SeriesSegment],
        seats: int,
        notes: str,
        availability_overridden: bool,
        actor: str,
        now: datetime,
        parent_id: uuid.UUID | None = None,
        request_id: str | None = None,
    ) -> RecurringSeries:
        notes = notes.strip()
        if len(notes) > MAX_NOTES_LENGTH:
            raise InvalidArgument.single("notes", f"must be at most {MAX_NOTES_LENGTH} characters")
        return cls(
            tenant_id=tenant_id,
            id=series_id,
            client_id=client_id,
            recurrence=recurrence,
            segments=tuple(segments),
            seats=seats,
            notes=notes,
            availability_overridden=availability_overridden,
            status=SeriesStatus.ACTIVE,
            materialized_until=now,
            created_by=actor,
            created_at=now,
            updated_at=now,
            parent_id=parent_id,
            request_id=request_id,
            is_new=True,
        )

    def announce(self, occurrences_booked: int, now: datetime) -> None:
        self.events.append(
            events.RecurringSeriesCreated(
                tenant_id=self.tenant_id,
                series_id=self.id,
                client_id=self.client_id,
                rrule=self.recurrence.rule,
                occurrences_booked=occurrences_booked,
                occurred_at=now,
            )
        )

    def check_version(self, expected: int) -> None:
        if expected and expected != self.version:
            raise Conflict(
                f"the series was changed (version {self.version}, not {expected}); reload it and try again",
                reason="CONCURRENT_CHANGE",
            )

    def require_live(self) -> None:
        if self.status == SeriesStatus.CANCELLED:
            raise FailedPrecondition("the series is cancelled", reason="SERIES_CANCELLED")

    def _touch(self, now: datetime) -> None:
        self.updated_at = now
        self.dirty = True

    # --- occurrences -------------------------------------------------------------------------

    def record(
        self,
        occurrence: datetime,
        kind: ExceptionKind,
        *,
        actor: str,
        now: datetime,
        moved_to: datetime | None = None,
        reason: str = "",
    ) -> None:
        reason = reason.strip()
        if len(reason) > MAX_REASON_LENGTH:
            raise InvalidArgument.single("reason", f"must be at most {MAX_REASON_LENGTH} characters")
        self.exceptions[occurrence] = OccurrenceException(occurrence, kind, moved_to, reason, actor, now)
        self.changed_exceptions.add(occurrence)
        self._touch(now)

    def forget(self, occurrence: datetime, now: datetime) -> None:
        """The occurrence is back to the rule's time (an exception no longer applies)."""
        if self.exceptions.pop(occurrence, None) is not None:
            self.changed_exceptions.add(occurrence)
            self._touch(now)

    def is_excluded(self, occurrence: datetime) -> bool:
        """Skipped or cancelled: never to be booked by the rule again."""
        found = self.exceptions.get(occurrence)
        return found is not None and found.kind in (ExceptionKind.SKIPPED, ExceptionKind.CANCELLED)

    def materialized(self, until: datetime, now: datetime) -> None:
        """Every occurrence before ``until`` has been dealt with; the series ends when the rule has no more."""
        self.materialized_until = max(self.materialized_until, until)
        if self.status == SeriesStatus.ACTIVE and self.recurrence.next_at_or_after(self.materialized_until) is None:
            self.status = SeriesStatus.ENDED
        self._touch(now)

    def end_before(self, occurrence: datetime, now: datetime) -> None:
        """The rule stops before ``occurrence``: it and every later one are no longer part of this series."""
        self.recurrence = self.recurrence.ending_before(occurrence)
        if self.status == SeriesStatus.ACTIVE and self.recurrence.next_at_or_after(self.materialized_until) is None:
            self.status = SeriesStatus.ENDED
        self._touch(now)

    def continue_in(self, successor_id: uuid.UUID, now: datetime) -> None:
        """From the occurrence where this series was cut (end_before), the successor carries on."""
        self.successor_id = successor_id
        self._touch(now)

    def cancel(self, now: datetime) -> None:
        self.status = SeriesStatus.CANCELLED
        self._touch(now)


# --- planning ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    action: Action
    shift_to: datetime | None = None


BOOK = Decision(Action.BOOK)


@dataclass(frozen=True)
class Calendar:
    """What the availability engine needs to plan a series' occurrences."""

    services: tuple[ServiceSpec, ...]
    staff: tuple[StaffAvailability, ...]
    resources: tuple[ResourceAvailability, ...]
    business: WeeklySchedule | None
    rules: SlotRules
    timezone: str  # the series' zone: proposals are looked for on the occurrence's local day
    wanted_staff: tuple[uuid.UUID | None, ...]  # per service; None: anyone qualified
    seats: int = 1


@dataclass(frozen=True)
class PlannedOccurrence:
    occurrence_start: datetime  # the rule's start: the occurrence's identity
    action: Action  # what happens to it
    start: datetime  # where it is booked (its own start, or where it was shifted)
    clash: Reason | None  # why ``start`` is not bookable; None: it is
    option: tuple[availability.Segment, ...] | None  # the engine's staff assignment at ``start``, when bookable
    proposed_start: datetime | None = None  # the nearest free start the same day, when the occurrence clashes

    @property
    def books(self) -> bool:
        return self.action != Action.SKIP


def _overlaps(start: datetime, end: datetime, other_start: datetime, other_end: datetime) -> bool:
    return start < other_end and other_start < end


def _off_overlaps(exceptions: Sequence[ScheduleException], zone: ZoneInfo, start: datetime, end: datetime) -> bool:
    """Does time off (a whole day, or ranges) in these exceptions overlap [start, end)?"""
    for exception in exceptions:
        if exception.available:
            continue
        day = exception.day
        if not exception.ranges:
            day_start = datetime.combine(day, time(0), zone)
            if _overlaps(start, end, day_start, datetime.combine(day + timedelta(days=1), time(0), zone)):
                return True
            continue
        for local in exception.ranges:
            end_day = day + timedelta(days=1) if local.end == time(0) else day
            range_start = datetime.combine(day, local.start, zone)
            if _overlaps(start, end, range_start, datetime.combine(end_day, local.end, zone)):
                return True
    return False


def _days(start: datetime, end: datetime, zone: str) -> tuple[date, date]:
    tz = ZoneInfo(zone)
    return start.astimezone(tz).date() - timedelta(days=1), end.astimezone(tz).date() + timedelta(days=1)


def _covered(intervals: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return any(low <= start and end <= high for low, high in intervals)


def _intersection(
    a: Sequence[tuple[datetime, datetime]], b: Sequence[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    return [(max(s1, s2), min(e1, e2)) for s1, e1 in a for s2, e2 in b if max(s1, s2) < min(e1, e2)]


def clash_reason(calendar: Calendar, start: datetime, now: datetime) -> Reason:
    """Why an occurrence at ``start`` is not bookable, as a person would put it (checked in this order: the past,
    a business holiday, the staff member's time off, another booking, working hours; else "unavailable")."""
    if start < now:
        return Reason.PAST
    services = calendar.services
    span_start = start - services[0].buffer_before
    span_end = start + sum((s.duration for s in services), timedelta(0)) + services[-1].buffer_after
    business = calendar.business
    if business is not None and _off_overlaps(business.exceptions, ZoneInfo(business.timezone), span_start, span_end):
        return Reason.HOLIDAY
    wanted = calendar.wanted_staff[0]
    candidates = [
        member
        for member in calendar.staff
        if services[0].service_id in member.service_ids and (wanted is None or member.staff_id == wanted)
    ]
    if not candidates:
        return Reason.OUTSIDE_HOURS
    reasons: list[Reason] = []
    for member in candidates:
        schedule = member.schedule
        if _off_overlaps(schedule.exceptions, ZoneInfo(schedule.timezone), span_start, span_end):
            reasons.append(Reason.TIME_OFF)
            continue
        if any(_overlaps(span_start, span_end, b.start, b.end) for b in member.busy):
            reasons.append(Reason.BOOKED)
            continue
        working = availability.working_time(schedule, *_days(span_start, span_end, schedule.timezone))
        if business is not None:
            working = _intersection(
                working, availability.working_time(business, *_days(span_start, span_end, business.timezone))
            )
        reasons.append(Reason.UNAVAILABLE if _covered(working, span_start, span_end) else Reason.OUTSIDE_HOURS)
    # "Unavailable" only when every candidate is free and working (a room, the grid); else the plainest reason.
    for reason in (Reason.BOOKED, Reason.TIME_OFF, Reason.OUTSIDE_HOURS):
        if reason in reasons:
            return reason
    return Reason.UNAVAILABLE


def _matching(
    slot: availability.Slot | None, wanted: Sequence[uuid.UUID | None]
) -> tuple[availability.Segment, ...] | None:
    if slot is None:
        return None
    for option in slot.options:
        if all(w is None or w == segment.staff_id for w, segment in zip(wanted, option, strict=True)):
            return option
    return None


class _Planner:
    """Plans occurrences in order; each one planned takes its time, so later ones see it as booked."""

    def __init__(self, calendar: Calendar, now: datetime) -> None:
        self.calendar = calendar
        self.now = now
        self.staff_busy: dict[uuid.UUID, list[Busy]] = {m.staff_id: list(m.busy) for m in calendar.staff}
        self.resource_busy: dict[uuid.UUID, list[Busy]] = {r.resource_id: list(r.busy) for r in calendar.resources}

    def _around(self, start: datetime) -> Calendar:
        """The calendar with what was planned so far, cut to a few days around ``start`` (keeps the engine fast)."""
        low, high = start - timedelta(days=2), start + timedelta(days=3)

        def near(busy: list[Busy]) -> tuple[Busy, ...]:
            return tuple(b for b in busy if b.end > low and b.start < high)

        return replace(
            self.calendar,
            staff=tuple(replace(m, busy=near(self.staff_busy[m.staff_id])) for m in self.calendar.staff),
            resources=tuple(replace(r, busy=near(self.resource_busy[r.resource_id])) for r in self.calendar.resources),
        )

    def _query(self, day: date) -> SlotQuery:
        c = self.calendar
        return SlotQuery(
            services=c.services,
            start_day=day,
            end_day=day,
            timezone=c.timezone,
            now=self.now,
            rules=c.rules,
            staff_ids=frozenset(s for s in c.wanted_staff if s is not None) or None,
            seats=c.seats,
        )

    def check(self, start: datetime) -> tuple[Reason | None, tuple[availability.Segment, ...] | None]:
        calendar = self._around(start)
        day = start.astimezone(ZoneInfo(calendar.timezone)).date()
        slot = availability.is_bookable(self._query(day), start, calendar.staff, calendar.resources, calendar.business)
        option = _matching(slot, calendar.wanted_staff)
        if option is not None:
            return None, option
        return clash_reason(calendar, start, self.now), None

    def nearest(self, occurrence: datetime) -> datetime | None:
        calendar = self._around(occurrence)
        day = occurrence.astimezone(ZoneInfo(calendar.timezone)).date()
        slots = availability.find_available_slots(
            self._query(day), calendar.staff, calendar.resources, calendar.business
        )
        free = [s.start for s in slots if s.start != occurrence and _matching(s, calendar.wanted_staff) is not None]
        return min(free, key=lambda s: (abs(s - occurrence), s)) if free else None

    def take(self, start: datetime, option: tuple[availability.Segment, ...] | None) -> None:
        c = self.calendar
        if option is None:  # overriding availability: every staff member is named
            staff_ids = [s for s in c.wanted_staff if s is not None]
            option = availability.plan_segments(c.services, start, staff_ids)
        for service, segment in zip(c.services, option, strict=True):
            assert segment.occupied_start is not None and segment.occupied_end is not None
            taken = Busy(segment.occupied_start, segment.occupied_end, service.service_id, segment.start, c.seats)
            self.staff_busy.setdefault(segment.staff_id, []).append(taken)
            for resource_id in service.resource_ids:
                if resource_id in self.resource_busy:
                    self.resource_busy[resource_id].append(Busy(segment.occupied_start, segment.occupied_end))


def plan_occurrences(
    occurrences: Sequence[datetime],
    calendar: Calendar,
    now: datetime,
    *,
    decisions: Mapping[datetime, Decision] | None = None,
    override: bool = False,
) -> list[PlannedOccurrence]:
    """The plan of each occurrence, in order (see the module docstring).

    With ``override`` (staff, every staff member named) an occurrence outside hours, on a holiday or in time off is
    booked anyway; one that collides with another booking or lies in the past never is."""
    planner = _Planner(calendar, now)
    planned = []
    for occurrence in occurrences:
        decision = (decisions or {}).get(occurrence, BOOK)
        if decision.action == Action.SKIP:
            planned.append(PlannedOccurrence(occurrence, Action.SKIP, occurrence, None, None))
            continue
        start = decision.shift_to if decision.action == Action.SHIFT and decision.shift_to else occurrence
        clash, option = planner.check(start)
        proposal = planner.nearest(occurrence) if clash is not None and start == occurrence else None
        if override and clash is not None and clash not in (Reason.BOOKED, Reason.PAST):
            planner.take(start, None)
        elif clash is None:
            planner.take(start, option)
        planned.append(PlannedOccurrence(occurrence, decision.action, start, clash, option, proposal))
    return planned


def refuse_clashes(planned: Sequence[PlannedOccurrence], zone: str, *, override: bool) -> None:
    """Booking an occurrence that clashes fails like any booking would (409), naming the occurrence."""
    for plan in planned:
        if not plan.books or plan.clash is None:
            continue
        if override and plan.clash not in (Reason.BOOKED, Reason.PAST):
            continue
        where = local_text(plan.start, zone)
        if plan.clash == Reason.PAST:
            raise FailedPrecondition(f"the occurrence at {where} is in the past", reason="OCCURRENCE_IN_PAST")
        raise Conflict(
            f"the occurrence at {where} cannot be booked: {REASON_TEXT[plan.clash]}; choose skip or shift for it",
            reason="SLOT_UNAVAILABLE",
        )
