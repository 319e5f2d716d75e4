"""gRPC servicer of recurring series (staff only): proto <-> use cases in service_layer/series_handlers.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.common.v1 import types_pb2
from atrium.scheduling.v1 import appointments_pb2 as apb
from atrium.scheduling.v1 import series_pb2 as pb
from atrium.scheduling.v1 import series_pb2_grpc as pb_grpc
from platform_core.errors import InvalidArgument
from platform_core.grpc.values import aware, record_id, reference_id, require_staff, timestamp
from scheduling_svc import series_views
from scheduling_svc.domain import commands
from scheduling_svc.domain.catalogue import Checked
from scheduling_svc.domain.recurrence import local_text, parse_local_start
from scheduling_svc.domain.series import (
    REASON_TEXT,
    Action,
    Decision,
    Horizon,
    OccurrenceException,
    RecurringSeries,
    Scope,
)
from scheduling_svc.entrypoints.appointment_server import actor_of, appointment_message
from scheduling_svc.service_layer import series_handlers
from scheduling_svc.service_layer.unit_of_work import SchedulingUnitOfWork

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["RecurringSeriesService"].full_name

SCOPES = {
    pb.EDIT_SCOPE_ONE: Scope.ONE,
    pb.EDIT_SCOPE_THIS_AND_FOLLOWING: Scope.THIS_AND_FOLLOWING,
    pb.EDIT_SCOPE_ALL: Scope.ALL,
}


def _exception_message(e: OccurrenceException) -> pb.SeriesException:
    message = pb.SeriesException(
        occurrence_start=timestamp(e.occurrence_start),
        kind=e.kind.value,
        reason=e.reason,
        actor=e.actor,
        at=timestamp(e.at),
    )
    if e.moved_to is not None:
        message.moved_to.CopyFrom(timestamp(e.moved_to))
    return message


def series_message(s: RecurringSeries) -> pb.RecurringSeries:
    return pb.RecurringSeries(
        id=str(s.id),
        client_id=str(s.client_id),
        status=s.status.value,
        rrule=s.recurrence.rule,
        dtstart=s.recurrence.dtstart.isoformat(timespec="minutes"),
        timezone=s.timezone,
        segments=[
            pb.SeriesSegment(position=g.position, service_id=str(g.service_id), staff_id=str(g.staff_id or ""))
            for g in s.segments
        ],
        seats=s.seats,
        notes=s.notes,
        availability_overridden=s.availability_overridden,
        materialized_until=timestamp(s.materialized_until),
        parent_series_id=str(s.parent_id or ""),
        successor_series_id=str(s.successor_id or ""),
        exceptions=[_exception_message(e) for _, e in sorted(s.exceptions.items())],
        version=s.version,
        created_by=s.created_by,
        created_at=timestamp(s.created_at),
        updated_at=timestamp(s.updated_at),
    )


def change_message(change: series_handlers.SeriesChange) -> pb.SeriesChange:
    message = pb.SeriesChange(
        series=series_message(change.series),
        booked=[appointment_message(a) for a in sorted(change.booked, key=lambda a: a.starts_at)],
        changed=[appointment_message(a) for a in sorted(change.changed, key=lambda a: a.starts_at)],
    )
    if change.successor is not None:
        message.successor.CopyFrom(series_message(change.successor))
    return message


def _segments(
    raw: Sequence[apb.SegmentRequest], checked: Checked, *, required: bool = True
) -> tuple[commands.SegmentChoice, ...]:
    segments: list[commands.SegmentChoice] = []
    for i, segment in enumerate(raw):
        service_id = checked.identifier(segment.service_id, f"segments[{i}].service_id")
        staff_id = checked.identifier(segment.staff_id, f"segments[{i}].staff_id") if segment.staff_id else None
        if service_id is not None:
            segments.append((service_id, staff_id))
    if required and not raw:
        checked.add("segments", "name at least one service")
    return tuple(segments)


def _definition(raw: pb.SeriesDefinition, checked: Checked) -> commands.SeriesDefinition:
    client_id = checked.identifier(raw.client_id, "client_id") if raw.client_id else None
    if client_id is None and not raw.client_id:
        checked.add("client_id", "is required")
    segments = _segments(raw.segments, checked)
    if raw.timezone:
        checked.timezone(raw.timezone, "timezone")
    dtstart = datetime.min
    if not raw.dtstart:
        checked.add("dtstart", "is required: the first occurrence's local time, YYYY-MM-DDTHH:MM")
    else:
        try:
            dtstart = parse_local_start(raw.dtstart, "dtstart")
        except InvalidArgument as exc:
            checked.found.extend(exc.violations)
    checked.whole(raw.seats or 1, "seats", 1, 1000)
    return commands.SeriesDefinition(
        client_id=client_id or uuid.UUID(int=0),
        segments=segments,
        rrule=raw.rrule,
        dtstart=dtstart,
        timezone=raw.timezone,
        seats=raw.seats or 1,
        notes=raw.notes,
    )


def _decisions(raw: Sequence[pb.OccurrenceDecision], checked: Checked) -> commands.Decisions:
    decisions = []
    actions = {a.value for a in Action}
    for i, decision in enumerate(raw):
        if not decision.HasField("occurrence_start"):
            checked.add(f"decisions[{i}].occurrence_start", "is required")
            continue
        action = decision.action.strip().lower() or Action.BOOK.value
        if action not in actions:
            checked.add(f"decisions[{i}].action", "must be book, skip or shift")
            continue
        shift_to = aware(decision.shift_to) if decision.HasField("shift_to") else None
        if action == Action.SHIFT and shift_to is None:
            checked.add(f"decisions[{i}].shift_to", "a shift says where to")
            continue
        decisions.append((aware(decision.occurrence_start), Decision(Action(action), shift_to)))
    return decisions


def _ts(value: datetime | None) -> Timestamp | None:
    return None if value is None else timestamp(value)


class RecurringSeriesServicer(pb_grpc.RecurringSeriesServiceServicer):
    def __init__(
        self,
        *,
        uow_factory: Callable[[], SchedulingUnitOfWork],
        engine: AsyncEngine,
        horizon: Horizon,
    ) -> None:
        self._uow_factory = uow_factory
        self._engine = engine
        self._horizon = horizon

    async def PreviewSeries(
        self, request: pb.PreviewSeriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.SeriesPreview:
        call = require_staff()
        checked = Checked()
        definition = _definition(request.definition, checked)
        change_of = None
        if request.change_of_series_id:
            series_id = checked.identifier(request.change_of_series_id, "change_of_series_id")
            if not request.HasField("change_from_occurrence"):
                checked.add("change_from_occurrence", "name the occurrence the change starts from")
            elif series_id is not None:
                change_of = (series_id, aware(request.change_from_occurrence))
        checked.raise_if_any()
        preview = await series_handlers.preview_series(
            commands.PreviewSeries(
                tenant_id=call.tenant_id,
                definition=definition,
                override=request.override_availability,
                now=datetime.now(UTC),
                horizon=self._horizon,
                change_of=change_of,
            ),
            self._uow_factory(),
        )
        zone = preview.timezone
        return pb.SeriesPreview(
            timezone=zone,
            occurrences=[
                pb.OccurrencePreview(
                    occurrence_start=timestamp(p.occurrence_start),
                    local_start=local_text(p.occurrence_start, zone),
                    status="ok" if p.clash is None else "clash",
                    reason=p.clash.value if p.clash else "",
                    detail=REASON_TEXT[p.clash] if p.clash else "",
                    proposed_start=_ts(p.proposed_start),
                    proposed_local_start=local_text(p.proposed_start, zone) if p.proposed_start else "",
                    staff_ids=[str(s.staff_id) for s in p.option or ()],
                )
                for p in preview.occurrences
            ],
            until=timestamp(preview.until),
            continues=preview.continues,
        )

    async def CreateSeries(self, request: pb.CreateSeriesRequest, context: grpc.aio.ServicerContext) -> pb.SeriesChange:
        call = require_staff()
        checked = Checked()
        definition = _definition(request.definition, checked)
        decisions = _decisions(request.decisions, checked)
        checked.raise_if_any()
        change = await series_handlers.create_series(
            commands.CreateSeries(
                tenant_id=call.tenant_id,
                definition=definition,
                decisions=decisions,
                override=request.override_availability,
                request_id=request.request_id or None,
                actor=actor_of(call),
                now=datetime.now(UTC),
                horizon=self._horizon,
            ),
            self._uow_factory(),
        )
        return change_message(change)

    async def GetSeries(self, request: pb.GetSeriesRequest, context: grpc.aio.ServicerContext) -> pb.RecurringSeries:
        call = require_staff()
        found = await series_views.get_series(self._engine, call.tenant_id, record_id(request.series_id, "series"))
        return series_message(found)

    async def ListClientSeries(
        self, request: pb.ListClientSeriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSeriesResponse:
        call = require_staff()
        client_id = reference_id(request.client_id, "client_id", "client")
        found, token = await series_views.client_series(
            self._engine, call.tenant_id, client_id, request.page.page_size, request.page.page_token
        )
        return pb.ListSeriesResponse(
            series=[series_message(s) for s in found], page=types_pb2.PageInfo(next_page_token=token)
        )

    async def ListSeriesOccurrences(
        self, request: pb.ListSeriesOccurrencesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSeriesOccurrencesResponse:
        call = require_staff()
        series_id = record_id(request.series_id, "series")
        series = await series_views.get_series(self._engine, call.tenant_id, series_id)
        found, token = await series_views.occurrences(
            self._engine, call.tenant_id, series_id, request.page.page_size, request.page.page_token
        )
        items = []
        for occurrence in found:
            item = pb.SeriesOccurrence(
                occurrence_start=timestamp(occurrence.occurrence_start),
                local_start=local_text(occurrence.occurrence_start, series.timezone),
            )
            if occurrence.appointment is not None:
                item.appointment.CopyFrom(appointment_message(occurrence.appointment))
                item.state = occurrence.appointment.status.value
            elif occurrence.exception is not None:
                item.state = occurrence.exception.kind.value
            if occurrence.exception is not None:
                item.exception.CopyFrom(_exception_message(occurrence.exception))
            items.append(item)
        return pb.ListSeriesOccurrencesResponse(occurrences=items, page=types_pb2.PageInfo(next_page_token=token))

    async def EditOccurrence(
        self, request: pb.EditOccurrenceRequest, context: grpc.aio.ServicerContext
    ) -> pb.SeriesChange:
        call = require_staff()
        series_id = record_id(request.series_id, "series")
        checked = Checked()
        scope = SCOPES.get(request.scope)
        if scope is None:
            checked.add("scope", "must be ONE, THIS_AND_FOLLOWING or ALL")
        segments = _segments(request.segments, checked, required=False)
        decisions = _decisions(request.decisions, checked)
        checked.raise_if_any()
        assert scope is not None
        change = await series_handlers.edit_occurrence(
            commands.EditOccurrence(
                tenant_id=call.tenant_id,
                series_id=series_id,
                occurrence_start=aware(request.occurrence_start) if request.HasField("occurrence_start") else None,
                scope=scope,
                start=aware(request.start) if request.HasField("start") else None,
                segments=segments or None,
                rrule=request.rrule or None,
                notes=request.notes if request.HasField("notes") else None,
                decisions=decisions,
                override=request.override_availability,
                version=request.version,
                actor=actor_of(call),
                now=datetime.now(UTC),
                horizon=self._horizon,
            ),
            self._uow_factory(),
        )
        return change_message(change)

    async def CancelOccurrence(
        self, request: pb.CancelOccurrenceRequest, context: grpc.aio.ServicerContext
    ) -> pb.SeriesChange:
        call = require_staff()
        series_id = record_id(request.series_id, "series")
        scope = SCOPES.get(request.scope)
        if scope is None:
            raise InvalidArgument.single("scope", "must be ONE, THIS_AND_FOLLOWING or ALL")
        change = await series_handlers.cancel_occurrence(
            commands.CancelOccurrence(
                tenant_id=call.tenant_id,
                series_id=series_id,
                occurrence_start=aware(request.occurrence_start) if request.HasField("occurrence_start") else None,
                scope=scope,
                reason=request.reason,
                version=request.version,
                actor=actor_of(call),
                now=datetime.now(UTC),
            ),
            self._uow_factory(),
        )
        return change_message(change)
