"""Use cases of recurring series: preview, create, extend over the rolling horizon, edit and cancel occurrences.

Each runs in one unit of work with the series row locked, so an edit and the extender never work on one series
at once. Occurrences are booked as appointments through the same repository as any booking (the database refuses
overlaps), and the unique (series, occurrence start) index keeps one appointment per occurrence.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound
from platform_core.ids import new_id
from platform_core.validation import Violations
from scheduling_svc.adapters.catalogue_store import AvailabilityInputs
from scheduling_svc.domain import commands
from scheduling_svc.domain.appointments import (
    Appointment,
    check_segments_request,
    plan_back_to_back,
    shifted,
    with_staff,
)
from scheduling_svc.domain.catalogue import SchedulingSettings
from scheduling_svc.domain.recurrence import Recurrence, instant_of, local_text, parse_rule, wall_of
from scheduling_svc.domain.series import (
    REASON_TEXT,
    Action,
    Calendar,
    Decision,
    ExceptionKind,
    Horizon,
    PlannedOccurrence,
    Reason,
    RecurringSeries,
    Scope,
    SeriesSegment,
    SeriesStatus,
    plan_occurrences,
    refuse_clashes,
)
from scheduling_svc.service_layer.handlers import (
    _check_bookable,
    _move_segments,
    _rules,
    _segments_of,
    _specs,
    _without_own_time,
)
from scheduling_svc.service_layer.unit_of_work import DUPLICATE_REQUEST, SchedulingUnitOfWork

log = logging.getLogger(__name__)

SYSTEM = "system"
# A series is extended once its booked occurrences reach less than this short of the horizon, so the extender
# does a day's worth at a time rather than a few minutes' worth at every run.
EXTEND_MARGIN = timedelta(days=1)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Preview:
    timezone: str
    occurrences: list[PlannedOccurrence]
    until: datetime  # the preview covers occurrences before this; later ones are booked as the horizon moves on
    continues: bool  # the rule has occurrences after ``until``


@dataclass
class SeriesChange:
    series: RecurringSeries
    successor: RecurringSeries | None = None
    booked: list[Appointment] = field(default_factory=list)
    changed: list[Appointment] = field(default_factory=list)


# --- shared steps --------------------------------------------------------------------------------


def _series_segments(choices: Sequence[commands.SegmentChoice]) -> tuple[SeriesSegment, ...]:
    return tuple(SeriesSegment(i, service, staff) for i, (service, staff) in enumerate(choices))


def _window(
    recurrence: Recurrence, since: datetime, now: datetime, horizon: Horizon
) -> tuple[list[datetime], datetime]:
    """The occurrences to deal with now (from ``since``, not before now, within the horizon, at most a batch), and
    the instant before which every occurrence is then dealt with."""
    end = now + horizon.span
    found = recurrence.occurrences(max(since, now), end, horizon.batch + 1)
    if len(found) > horizon.batch:
        return found[: horizon.batch], found[horizon.batch]
    return found, end


def _decisions(decisions: commands.Decisions, occurrences: Sequence[datetime], zone: str) -> dict[datetime, Decision]:
    known = set(occurrences)
    violations = Violations()
    chosen: dict[datetime, Decision] = {}
    for i, (occurrence, decision) in enumerate(decisions):
        if occurrence not in known:
            violations.add(
                f"decisions[{i}].occurrence_start",
                f"{local_text(occurrence, zone)} is not an occurrence booked now (see the preview)",
            )
        elif occurrence in chosen:
            violations.add(f"decisions[{i}].occurrence_start", "is decided twice")
        chosen[occurrence] = decision
    violations.raise_if_any()
    return chosen


async def _calendar(
    uow: SchedulingUnitOfWork,
    tenant_id: uuid.UUID,
    segments: Sequence[SeriesSegment],
    seats: int,
    zone: str,
    starts: Sequence[datetime],
    *,
    override: bool,
    settings: SchedulingSettings | None = None,
    freed: Sequence[Appointment] = (),
) -> tuple[Calendar, AvailabilityInputs]:
    """What planning occurrences at ``starts`` needs, after checking the services and staff can be booked."""
    service_ids = [s.service_id for s in segments]
    inputs = await uow.catalogue.availability_inputs(
        tenant_id, service_ids, min(starts) - timedelta(days=1), max(starts) + timedelta(days=2), settings=settings
    )
    _check_bookable(inputs.services, online=False)
    check_segments_request(service_ids, seats, [s.definition.capacity for s in inputs.services])
    violations = Violations()
    for segment, service in zip(segments, inputs.services, strict=True):
        if segment.staff_id is None:
            if override:
                violations.add(f"segments[{segment.position}].staff_id", "is required when overriding availability")
        elif segment.staff_id not in service.definition.staff_ids:
            violations.add(f"segments[{segment.position}].staff_id", f"does not perform {service.name}")
    violations.raise_if_any()
    for appointment in freed:
        inputs = _without_own_time(inputs, appointment)
    calendar = Calendar(
        services=_specs(inputs.services, False),
        staff=tuple(inputs.staff),
        resources=tuple(inputs.resources),
        business=inputs.business,
        rules=_rules(inputs.services, inputs.settings, False),
        timezone=zone,
        wanted_staff=tuple(s.staff_id for s in segments),
        seats=seats,
    )
    return calendar, inputs


def _book(
    uow: SchedulingUnitOfWork,
    series: RecurringSeries,
    inputs: AvailabilityInputs,
    planned: Sequence[PlannedOccurrence],
    segments: Sequence[SeriesSegment],
    *,
    override: bool,
    actor: str,
    now: datetime,
) -> list[Appointment]:
    """Book the planned occurrences; skipped and (for the extender) clashing ones are recorded on the series."""
    booked = []
    for plan in planned:
        occurrence = plan.occurrence_start
        if plan.action == Action.SKIP:
            series.record(occurrence, ExceptionKind.SKIPPED, actor=actor, now=now, reason="skipped by choice")
            continue
        overridden = override and plan.clash is not None and plan.clash not in (Reason.BOOKED, Reason.PAST)
        if plan.clash is not None and not overridden:
            series.record(
                occurrence, ExceptionKind.SKIPPED, actor=actor, now=now, reason=f"not booked: {REASON_TEXT[plan.clash]}"
            )
            continue
        if plan.option is not None:
            appointment_segments = _segments_of(inputs.services, plan.option, series.seats)
        else:
            staff_ids = [s.staff_id for s in segments if s.staff_id is not None]
            appointment_segments = plan_back_to_back(inputs.services, staff_ids, plan.start, series.seats)
        appointment = Appointment.book(
            tenant_id=series.tenant_id,
            appointment_id=new_id(),
            client_id=series.client_id,
            segments=appointment_segments,
            timezone=series.timezone,
            notes=series.notes,
            source="series",
            availability_overridden=overridden,
            actor=actor,
            now=now,
            series_id=series.id,
            occurrence_start=occurrence,
        )
        uow.appointments.add(appointment)
        if plan.start != occurrence:
            series.record(occurrence, ExceptionKind.SHIFTED, actor=actor, now=now, moved_to=plan.start)
        booked.append(appointment)
    return booked


async def _materialize(
    uow: SchedulingUnitOfWork,
    series: RecurringSeries,
    occurrences: Sequence[datetime],
    *,
    decisions: Mapping[datetime, Decision],
    override: bool,
    strict: bool,
    actor: str,
    now: datetime,
    freed: Sequence[Appointment] = (),
) -> list[Appointment]:
    """Plan and book occurrences of ``series``. Strict (a person is saving): a clash the person did not decide
    fails the whole change with 409. Not strict (the extender): clashes are recorded as skipped."""
    starts = [*occurrences, *(d.shift_to for d in decisions.values() if d.shift_to is not None)]
    if not starts:
        return []
    calendar, inputs = await _calendar(
        uow, series.tenant_id, series.segments, series.seats, series.timezone, starts, override=override, freed=freed
    )
    planned = plan_occurrences(occurrences, calendar, now, decisions=decisions, override=override)
    if strict:
        refuse_clashes(planned, series.timezone, override=override)
    return _book(uow, series, inputs, planned, series.segments, override=override, actor=actor, now=now)


def _require_upcoming(occurrence: datetime, now: datetime, zone: str) -> None:
    if occurrence <= now:
        raise FailedPrecondition(
            f"the occurrence at {local_text(occurrence, zone)} has started or is over; past occurrences never change",
            reason="OCCURRENCE_IN_PAST",
        )


def _require_occurrence(series: RecurringSeries, occurrence: datetime) -> None:
    if not series.recurrence.is_occurrence(occurrence):
        raise NotFound(f"{local_text(occurrence, series.timezone)} is not an occurrence of this series")


# --- preview and create --------------------------------------------------------------------------


async def preview_series(cmd: commands.PreviewSeries, uow: SchedulingUnitOfWork) -> Preview:
    """Each occurrence booked on saving, marked ok or clashing (with why, and the nearest free start that day)."""
    tenant_id, definition, now = cmd.tenant_id, cmd.definition, cmd.now
    async with uow:
        settings = await uow.catalogue.settings(tenant_id)
        zone = definition.timezone or settings.timezone
        recurrence = parse_rule(definition.rrule, definition.dtstart, zone)
        occurrences, until = _window(recurrence, now, now, cmd.horizon)
        freed: list[Appointment] = []
        if cmd.change_of is not None:
            changed = await uow.series.get(tenant_id, cmd.change_of[0])
            for appointment_id in await uow.series.booked_from(tenant_id, changed.id, cmd.change_of[1]):
                appointment = await uow.appointments.get(tenant_id, appointment_id)
                if appointment.starts_at > now:
                    freed.append(appointment)
        segments = _series_segments(definition.segments)
        first = recurrence.next_at_or_after(now)
        calendar, _ = await _calendar(
            uow,
            tenant_id,
            segments,
            definition.seats,
            zone,
            occurrences or [first or now],
            override=cmd.override,
            settings=settings,
            freed=freed,
        )
    planned = plan_occurrences(occurrences, calendar, now, override=cmd.override)
    return Preview(zone, planned, until, recurrence.next_at_or_after(until) is not None)


async def create_series(cmd: commands.CreateSeries, uow: SchedulingUnitOfWork) -> SeriesChange:
    """Save a series and book its occurrences within the horizon, as decided, in one transaction."""
    now = cmd.now
    if cmd.request_id:
        async with uow:
            existing = await uow.series.get_by_request_id(cmd.tenant_id, cmd.request_id)
        if existing is not None:
            return SeriesChange(existing)
    definition = cmd.definition
    client = await uow.client_directory.lookup(definition.client_id)
    if client is None or client.deleted:
        raise InvalidArgument.single("client_id", "names no client of this business")
    try:
        async with uow:
            if cmd.request_id:
                # A retry racing the first attempt waits for it here, then finds what it created: without the
                # lock it would try to book the same times and be told they are taken.
                await uow.series.lock_request_id(cmd.tenant_id, cmd.request_id)
                existing = await uow.series.get_by_request_id(cmd.tenant_id, cmd.request_id)
                if existing is not None:
                    return SeriesChange(existing)
            settings = await uow.catalogue.settings(cmd.tenant_id)
            zone = definition.timezone or settings.timezone
            recurrence = parse_rule(definition.rrule, definition.dtstart, zone)
            if recurrence.next_at_or_after(now) is None:
                raise InvalidArgument.single("rrule", "has no occurrence from now on")
            occurrences, until = _window(recurrence, now, now, cmd.horizon)
            series = RecurringSeries.start(
                tenant_id=cmd.tenant_id,
                series_id=new_id(),
                client_id=definition.client_id,
                recurrence=recurrence,
                segments=_series_segments(definition.segments),
                seats=definition.seats,
                notes=definition.notes,
                availability_overridden=cmd.override,
                actor=cmd.actor,
                now=now,
                request_id=cmd.request_id,
            )
            decisions = _decisions(cmd.decisions, occurrences, zone)
            if occurrences:
                booked = await _materialize(
                    uow,
                    series,
                    occurrences,
                    decisions=decisions,
                    override=cmd.override,
                    strict=True,
                    actor=cmd.actor,
                    now=now,
                )
            else:  # the series starts beyond the horizon: check now what it will book
                first = recurrence.next_at_or_after(now)
                assert first is not None
                await _calendar(uow, cmd.tenant_id, series.segments, series.seats, zone, [first], override=cmd.override)
                booked = []
            series.materialized(until, now)
            series.announce(len(booked), now)
            uow.series.add(series)
            await uow.commit()
            return SeriesChange(series, booked=booked)
    except Conflict as exc:
        if exc.reason != DUPLICATE_REQUEST or not cmd.request_id:
            raise
    async with uow:
        existing = await uow.series.get_by_request_id(cmd.tenant_id, cmd.request_id)
    assert existing is not None
    return SeriesChange(existing)


# --- the rolling horizon -------------------------------------------------------------------------


async def _extend(
    uow: SchedulingUnitOfWork, series: RecurringSeries, now: datetime, horizon: Horizon
) -> list[Appointment]:
    if series.status != SeriesStatus.ACTIVE:
        return []
    occurrences, until = _window(series.recurrence, series.materialized_until, now, horizon)
    todo: list[datetime] = []
    if occurrences:
        done = await uow.series.materialized_occurrences(
            series.tenant_id, series.id, occurrences[0], occurrences[-1] + _TICK
        )
        todo = [o for o in occurrences if o not in done and o not in series.exceptions]
    booked: list[Appointment] = []
    if todo:
        try:
            booked = await _materialize(
                uow,
                series,
                todo,
                decisions={},
                override=series.availability_overridden,
                strict=False,
                actor=SYSTEM,
                now=now,
            )
        except InvalidArgument as exc:  # a service no longer offered, or a staff member who stopped performing it
            for occurrence in todo:
                series.record(
                    occurrence, ExceptionKind.SKIPPED, actor=SYSTEM, now=now, reason=f"not booked: {exc.message}"[:500]
                )
    series.materialized(until, now)
    return booked


async def extend_series(cmd: commands.ExtendSeries, uow: SchedulingUnitOfWork) -> SeriesChange:
    """Book the occurrences of one series that have come within the horizon (waits for whoever holds it)."""
    async with uow:
        series = await uow.series.get(cmd.tenant_id, cmd.series_id)
        booked = await _extend(uow, series, cmd.now, cmd.horizon)
        await uow.commit()
        return SeriesChange(series, booked=booked)


async def extend_due_series(cmd: commands.ExtendDueSeries, uow: SchedulingUnitOfWork) -> int:
    """Extend every series whose booked occurrences fall short of the horizon, one transaction per series; series
    another replica is extending are skipped (SKIP LOCKED). Returns how many series were extended."""
    due = cmd.now + cmd.horizon.span - min(EXTEND_MARGIN, cmd.horizon.span / 2)
    extended = 0
    failed: set[uuid.UUID] = set()
    while extended + len(failed) < cmd.limit:
        series_id: uuid.UUID | None = None
        try:
            async with uow:
                series = await uow.series.claim_due(due, tenant_id=cmd.tenant_id, passed=failed)
                if series is None:
                    break
                series_id = series.id
                booked = await _extend(uow, series, cmd.now, cmd.horizon)
                await uow.commit()
            extended += 1
            log.info("series %s extended to %s: %d booked", series_id, series.materialized_until, len(booked))
        except Exception:
            if series_id is None:
                raise
            # A booking taken a moment ago, a change made meanwhile: the next run tries again.
            log.exception("series %s could not be extended", series_id)
            failed.add(series_id)
    return extended


# --- changes -------------------------------------------------------------------------------------


async def edit_occurrence(cmd: commands.EditOccurrence, uow: SchedulingUnitOfWork) -> SeriesChange:
    """Change one occurrence, this and the following ones, or every upcoming one."""
    async with uow:
        series = await uow.series.get(cmd.tenant_id, cmd.series_id)
        series.require_live()
        if cmd.scope == Scope.ONE:
            change = await _edit_one(uow, series, cmd)
        else:
            change = await _edit_following(uow, series, cmd)
        await uow.commit()
        return change


async def _edit_one(uow: SchedulingUnitOfWork, series: RecurringSeries, edit: commands.EditOccurrence) -> SeriesChange:
    """Reschedule or reassign one occurrence; it stays linked to its occurrence start, so it is never re-created."""
    now = edit.now
    occurrence = edit.occurrence_start
    if occurrence is None:
        raise InvalidArgument.single("occurrence_start", "name the occurrence to change")
    if edit.rrule:
        raise InvalidArgument.single("rrule", "one occurrence has no rule of its own; change this and following")
    if edit.notes is not None:
        raise InvalidArgument.single("notes", "notes are the series'; change them for this and following")
    appointment_id = await uow.series.appointment_of(series.tenant_id, series.id, occurrence)
    if appointment_id is not None:
        appointment = await uow.appointments.get(series.tenant_id, appointment_id)
        appointment.check_version(edit.version)
        _require_upcoming(appointment.starts_at, now, series.timezone)
        segments = appointment.segments
        if edit.start is not None:
            segments = shifted(segments, edit.start)
        for i, (service_id, staff_id) in enumerate(edit.segments or ()):
            if i >= len(segments) or segments[i].service_id != service_id:
                raise InvalidArgument.single(
                    f"segments[{i}].service_id", "one occurrence keeps its services; change them for this and following"
                )
            if staff_id is not None and staff_id != segments[i].staff_id:
                segments = with_staff(segments, i, staff_id)
        await _move_segments(
            uow, appointment, segments, override=edit.override, online=False, actor=edit.actor, now=now
        )
        if appointment.starts_at != occurrence:
            series.record(occurrence, ExceptionKind.SHIFTED, actor=edit.actor, now=now, moved_to=appointment.starts_at)
        else:
            series.forget(occurrence, now)
        return SeriesChange(series, changed=[appointment])
    # Not booked yet (beyond the horizon), or skipped or cancelled before it was: book it now, as asked.
    _require_occurrence(series, occurrence)
    _require_upcoming(occurrence, now, series.timezone)
    segments_now = series.segments
    if edit.segments is not None:
        if [s for s, _ in edit.segments] != [s.service_id for s in series.segments]:
            raise InvalidArgument.single(
                "segments", "one occurrence keeps its services; change them for this and following"
            )
        segments_now = _series_segments(edit.segments)
    start = edit.start or occurrence
    series.forget(occurrence, now)
    decisions = {occurrence: Decision(Action.SHIFT, start)} if start != occurrence else {}
    calendar, inputs = await _calendar(
        uow, series.tenant_id, segments_now, series.seats, series.timezone, [start], override=edit.override
    )
    planned = plan_occurrences([occurrence], calendar, now, decisions=decisions, override=edit.override)
    refuse_clashes(planned, series.timezone, override=edit.override)
    booked = _book(uow, series, inputs, planned, segments_now, override=edit.override, actor=edit.actor, now=now)
    return SeriesChange(series, booked=booked)


async def _upcoming_from(
    uow: SchedulingUnitOfWork, series: RecurringSeries, occurrence: datetime, now: datetime
) -> list[Appointment]:
    """The booked appointments of the occurrences from ``occurrence`` on that have not started."""
    found = []
    for appointment_id in await uow.series.booked_from(series.tenant_id, series.id, occurrence):
        appointment = await uow.appointments.get(series.tenant_id, appointment_id)
        if appointment.starts_at > now:
            found.append(appointment)
    return found


def _pivot(series: RecurringSeries, occurrence: datetime | None, scope: Scope, now: datetime) -> datetime:
    """Where a change of this-and-following or all occurrences starts: never before now."""
    if scope == Scope.ALL:
        pivot = series.recurrence.next_at_or_after(now + _TICK)
        if pivot is None:
            raise FailedPrecondition("the series has no upcoming occurrence", reason="SERIES_OVER")
        return pivot
    if occurrence is None:
        raise InvalidArgument.single("occurrence_start", "name the occurrence the change starts from")
    _require_occurrence(series, occurrence)
    _require_upcoming(occurrence, now, series.timezone)
    return occurrence


async def _edit_following(
    uow: SchedulingUnitOfWork, series: RecurringSeries, edit: commands.EditOccurrence
) -> SeriesChange:
    """End the series before the first changed occurrence and continue it, changed, in a successor series; the
    upcoming appointments of the old tail are cancelled and the successor's booked (one transaction)."""
    now = edit.now
    series.check_version(edit.version)
    pivot = _pivot(series, edit.occurrence_start, edit.scope, now)
    zone = series.timezone
    named = edit.occurrence_start or pivot
    if named != pivot:
        _require_occurrence(series, named)
    # The named occurrence moves by some wall-clock amount; every occurrence from the pivot moves by the same.
    shift = wall_of(edit.start, zone) - wall_of(named, zone) if edit.start is not None else timedelta(0)
    dtstart = wall_of(pivot, zone) + shift
    if edit.rrule:
        recurrence = parse_rule(edit.rrule, dtstart, zone)
    else:
        recurrence = series.recurrence.continued_from(pivot, dtstart)
    if recurrence.first() != instant_of(dtstart, zone):
        raise InvalidArgument.single(
            "rrule" if edit.rrule else "start",
            f"the series would not repeat at {dtstart.isoformat(timespec='minutes')};"
            " give the rule it follows from then on",
        )
    segments = _series_segments(edit.segments) if edit.segments is not None else series.segments
    successor = RecurringSeries.start(
        tenant_id=series.tenant_id,
        series_id=new_id(),
        client_id=series.client_id,
        recurrence=recurrence,
        segments=segments,
        seats=series.seats,
        notes=series.notes if edit.notes is None else edit.notes,
        availability_overridden=edit.override,
        actor=edit.actor,
        now=now,
        parent_id=series.id,
    )
    tail = await _upcoming_from(uow, series, pivot, now)
    reason = f"the series changed from {local_text(pivot, zone)}"
    for appointment in tail:
        appointment.cancel(reason=reason, by="staff", actor=edit.actor, now=now, notice=timedelta(0))
    series.end_before(pivot, now)
    series.continue_in(successor.id, now)
    occurrences, until = _window(recurrence, now, now, edit.horizon)
    booked = await _materialize(
        uow,
        successor,
        occurrences,
        decisions=_decisions(edit.decisions, occurrences, zone),
        override=edit.override,
        strict=True,
        actor=edit.actor,
        now=now,
        freed=tail,
    )
    if not occurrences:  # it starts beyond the horizon: check now what it will book
        await _calendar(uow, series.tenant_id, segments, series.seats, zone, [pivot], override=edit.override)
    successor.materialized(until, now)
    successor.announce(len(booked), now)
    uow.series.add(successor)
    return SeriesChange(series, successor, booked=booked, changed=tail)


async def cancel_occurrence(cmd: commands.CancelOccurrence, uow: SchedulingUnitOfWork) -> SeriesChange:
    """Cancel one occurrence, this and the following ones, or every upcoming one. Past occurrences stay."""
    now = cmd.now
    reason = cmd.reason.strip()
    if not reason:
        raise InvalidArgument.single("reason", "say why the occurrences are cancelled")
    async with uow:
        series = await uow.series.get(cmd.tenant_id, cmd.series_id)
        series.require_live()
        changed: list[Appointment] = []
        if cmd.scope == Scope.ONE:
            occurrence = cmd.occurrence_start
            if occurrence is None:
                raise InvalidArgument.single("occurrence_start", "name the occurrence to cancel")
            appointment_id = await uow.series.appointment_of(series.tenant_id, series.id, occurrence)
            if appointment_id is not None:
                appointment = await uow.appointments.get(series.tenant_id, appointment_id)
                appointment.check_version(cmd.version)
                _require_upcoming(appointment.starts_at, now, series.timezone)
                appointment.cancel(reason=reason, by="staff", actor=cmd.actor, now=now, notice=timedelta(0))
                changed.append(appointment)
            else:
                _require_occurrence(series, occurrence)
                _require_upcoming(occurrence, now, series.timezone)
            series.record(occurrence, ExceptionKind.CANCELLED, actor=cmd.actor, now=now, reason=reason)
        else:
            series.check_version(cmd.version)
            upcoming = series.recurrence.next_at_or_after(now + _TICK)
            if cmd.scope == Scope.THIS_AND_FOLLOWING or upcoming is not None:
                pivot = _pivot(series, cmd.occurrence_start, cmd.scope, now)
                changed = await _upcoming_from(uow, series, pivot, now)
                for appointment in changed:
                    appointment.cancel(reason=reason, by="staff", actor=cmd.actor, now=now, notice=timedelta(0))
                series.end_before(pivot, now)
            if cmd.scope == Scope.ALL or series.recurrence.first() is None:
                series.cancel(now)
        await uow.commit()
        return SeriesChange(series, changed=changed)
