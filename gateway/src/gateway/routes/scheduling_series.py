"""Recurring appointments (staff): preview a series with its clashes, create it with a decision per clashing
occurrence, read it and its occurrences, and edit or cancel one occurrence, this and the following ones, or all.

Times are ISO 8601 instants (with offset or Z), except a series' first start ``dtstart``, which is the local wall
time ("2025-03-04T09:00") in the series' ``timezone``: the series repeats on that clock across DST changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import Field, StringConstraints

from atrium.common.v1 import types_pb2
from atrium.scheduling.v1 import appointments_pb2 as apb
from atrium.scheduling.v1 import series_pb2 as pb
from gateway import idempotency
from gateway.api import path_id
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.clients import for_known_client
from gateway.routes.registry import api
from gateway.routes.scheduling import appointment_json
from gateway.scheduling_schemas import AppointmentOut
from gateway.schemas import Body, Instant, Out, PageQuery, Timezone
from platform_core.grpc.values import timestamp

TAG = "recurring series"
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
LocalStart = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$", min_length=16, max_length=16)
]
Rule = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Scope = Literal["one", "this_and_following", "all"]
SCOPES = {
    "one": pb.EDIT_SCOPE_ONE,
    "this_and_following": pb.EDIT_SCOPE_THIS_AND_FOLLOWING,
    "all": pb.EDIT_SCOPE_ALL,
}

# --- bodies --------------------------------------------------------------------------------------


class SeriesSegmentBody(Body):
    service_id: Id
    staff_id: Id | None = Field(default=None, description="Empty: anyone qualified and free at each occurrence.")


class SeriesDecisionBody(Body):
    occurrence_start: Instant = Field(description="The occurrence, by its start as the preview gave it.")
    action: Literal["book", "skip", "shift"]
    shift_to: Instant | None = Field(default=None, description="For shift: where to book it instead.")


class SeriesDefinitionBody(Body):
    client_id: Id
    segments: list[SeriesSegmentBody] = Field(min_length=1, max_length=6)
    rrule: Rule = Field(
        description="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=TU,TH;COUNT=10 or FREQ=MONTHLY;BYDAY=+3MO;UNTIL=20261231. "
        "Supported: FREQ (DAILY, WEEKLY, MONTHLY, YEARLY), INTERVAL, BYDAY, BYMONTHDAY, COUNT, UNTIL; without COUNT "
        "or UNTIL the series goes on, booked over a rolling horizon."
    )
    dtstart: LocalStart = Field(description="The first occurrence's local wall time, YYYY-MM-DDTHH:MM.")
    timezone: Timezone | None = Field(default=None, description="The series' clock; empty: the business's.")
    seats: int = Field(default=1, ge=1, le=1000)
    notes: Annotated[str, StringConstraints(max_length=4000)] = ""


class PreviewSeriesBody(SeriesDefinitionBody):
    override_availability: bool = False
    change_of_series_id: Id | None = Field(
        default=None, description="Preview a change of this series from change_from_occurrence on."
    )
    change_from_occurrence: Instant | None = None


class CreateSeriesBody(SeriesDefinitionBody):
    decisions: list[SeriesDecisionBody] = Field(default_factory=list, max_length=1000)
    override_availability: bool = Field(
        default=False, description="Book clashing occurrences anyway (not over other bookings); staff named."
    )


class EditOccurrenceBody(Body):
    occurrence_start: Instant | None = Field(
        default=None, description="The occurrence acted on, by its start in the series (scope all: optional)."
    )
    scope: Scope
    start: Instant | None = Field(
        default=None, description="Its new start; following occurrences move by the same wall-clock amount."
    )
    segments: list[SeriesSegmentBody] | None = Field(default=None, min_length=1, max_length=6)
    rrule: Rule | None = Field(default=None, description="this_and_following / all: the rule from then on.")
    notes: Annotated[str, StringConstraints(max_length=4000)] | None = None
    decisions: list[SeriesDecisionBody] = Field(default_factory=list, max_length=1000)
    override_availability: bool = False
    version: int = Field(default=0, ge=0, description="one: the appointment's version; else the series'.")


class CancelOccurrenceBody(Body):
    occurrence_start: Instant | None = None
    scope: Scope
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    version: int = Field(default=0, ge=0, description="one: the appointment's version; else the series'.")


# --- responses -----------------------------------------------------------------------------------


class OccurrencePreviewOut(Out):
    occurrence_start: datetime
    local_start: str
    status: Literal["ok", "clash"]
    reason: Literal["holiday", "time_off", "outside_hours", "booked", "unavailable", "past"] | None
    detail: str
    proposed_start: datetime | None = Field(description="For a clash: the nearest free start that day.")
    proposed_local_start: str | None
    staff_ids: list[str]


class SeriesPreviewOut(Out):
    timezone: str
    occurrences: list[OccurrencePreviewOut]
    until: datetime = Field(description="Occurrences from here on are booked as the horizon moves on.")
    continues: bool


class SeriesSegmentOut(Out):
    position: int
    service_id: str
    staff_id: str | None


class SeriesExceptionOut(Out):
    occurrence_start: datetime
    kind: Literal["skipped", "shifted", "cancelled"]
    moved_to: datetime | None
    reason: str
    actor: str
    at: datetime


class SeriesOut(Out):
    id: str
    client_id: str
    status: Literal["active", "ended", "cancelled"]
    rrule: str
    dtstart: str
    timezone: str
    segments: list[SeriesSegmentOut]
    seats: int
    notes: str
    availability_overridden: bool
    materialized_until: datetime
    parent_series_id: str | None
    successor_series_id: str | None
    exceptions: list[SeriesExceptionOut]
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime


class SeriesChangeOut(Out):
    series: SeriesOut
    successor: SeriesOut | None
    booked: list[AppointmentOut]
    changed: list[AppointmentOut]


class SeriesPageOut(Out):
    items: list[SeriesOut]
    next_page_token: str | None


class SeriesOccurrenceOut(Out):
    occurrence_start: datetime
    local_start: str
    state: str
    appointment: AppointmentOut | None
    exception: SeriesExceptionOut | None


class SeriesOccurrencePageOut(Out):
    items: list[SeriesOccurrenceOut]
    next_page_token: str | None


# --- conversions ---------------------------------------------------------------------------------


def _maybe(t: Timestamp, present: bool) -> str | None:
    return t.ToJsonString() if present else None


def exception_json(e: pb.SeriesException) -> dict[str, Any]:
    return {
        "occurrence_start": e.occurrence_start.ToJsonString(),
        "kind": e.kind,
        "moved_to": _maybe(e.moved_to, e.HasField("moved_to")),
        "reason": e.reason,
        "actor": e.actor,
        "at": e.at.ToJsonString(),
    }


def series_json(s: pb.RecurringSeries) -> dict[str, Any]:
    return {
        "id": s.id,
        "client_id": s.client_id,
        "status": s.status,
        "rrule": s.rrule,
        "dtstart": s.dtstart,
        "timezone": s.timezone,
        "segments": [
            {"position": g.position, "service_id": g.service_id, "staff_id": g.staff_id or None} for g in s.segments
        ],
        "seats": s.seats,
        "notes": s.notes,
        "availability_overridden": s.availability_overridden,
        "materialized_until": s.materialized_until.ToJsonString(),
        "parent_series_id": s.parent_series_id or None,
        "successor_series_id": s.successor_series_id or None,
        "exceptions": [exception_json(e) for e in s.exceptions],
        "version": s.version,
        "created_by": s.created_by,
        "created_at": s.created_at.ToJsonString(),
        "updated_at": s.updated_at.ToJsonString(),
    }


def change_json(change: pb.SeriesChange) -> dict[str, Any]:
    return {
        "series": series_json(change.series),
        "successor": series_json(change.successor) if change.HasField("successor") else None,
        "booked": [appointment_json(a) for a in change.booked],
        "changed": [appointment_json(a) for a in change.changed],
    }


def _segments(body: list[SeriesSegmentBody]) -> list[apb.SegmentRequest]:
    return [apb.SegmentRequest(service_id=s.service_id, staff_id=s.staff_id or "") for s in body]


def _definition(body: SeriesDefinitionBody) -> pb.SeriesDefinition:
    return pb.SeriesDefinition(
        client_id=body.client_id,
        segments=_segments(body.segments),
        rrule=body.rrule,
        dtstart=body.dtstart,
        timezone=body.timezone or "",
        seats=body.seats,
        notes=body.notes,
    )


def _decisions(body: list[SeriesDecisionBody]) -> list[pb.OccurrenceDecision]:
    return [
        pb.OccurrenceDecision(
            occurrence_start=timestamp(d.occurrence_start),
            action=d.action,
            shift_to=timestamp(d.shift_to) if d.shift_to is not None else None,
        )
        for d in body
    ]


def series_id_of(request: web.Request) -> str:
    return path_id(request, "series_id", "recurring series")


# --- routes --------------------------------------------------------------------------------------


@api.route(
    "POST",
    "/api/v1/recurring-series/preview",
    summary="Preview a recurring series: each occurrence booked on saving, ok or clashing (and why)",
    tag=TAG,
    permission="schedule.read",
    body=PreviewSeriesBody,
    response=SeriesPreviewOut,
    description="A clash is a holiday, time off, outside hours or another booking; each has the nearest free start "
    "that day. Nothing is saved.",
)
async def preview_series(request: web.Request, body: PreviewSeriesBody, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].series.PreviewSeries(
        pb.PreviewSeriesRequest(
            definition=_definition(body),
            override_availability=body.override_availability,
            change_of_series_id=body.change_of_series_id or "",
            change_from_occurrence=timestamp(body.change_from_occurrence) if body.change_from_occurrence else None,
        )
    )
    return {
        "timezone": reply.timezone,
        "occurrences": [
            {
                "occurrence_start": o.occurrence_start.ToJsonString(),
                "local_start": o.local_start,
                "status": o.status,
                "reason": o.reason or None,
                "detail": o.detail,
                "proposed_start": _maybe(o.proposed_start, o.HasField("proposed_start")),
                "proposed_local_start": o.proposed_local_start or None,
                "staff_ids": list(o.staff_ids),
            }
            for o in reply.occurrences
        ],
        "until": reply.until.ToJsonString(),
        "continues": reply.continues,
    }


@api.route(
    "POST",
    "/api/v1/recurring-series",
    summary="Create a recurring series and book its occurrences within the horizon",
    tag=TAG,
    permission="schedule.write",
    body=CreateSeriesBody,
    response=SeriesChangeOut,
    status=201,
    errors=(404, 409),
    description="Occurrences not named in decisions are booked at their time; one that clashes fails the whole "
    "request with 409 naming it. An Idempotency-Key header makes retries safe: the same key returns the first series.",
)
async def create_series(request: web.Request, body: CreateSeriesBody, account: Account) -> dict[str, Any]:
    key = idempotency.request_key(request)
    change = await request.app[BACKENDS].series.CreateSeries(
        pb.CreateSeriesRequest(
            definition=_definition(body),
            decisions=_decisions(body.decisions),
            override_availability=body.override_availability,
            request_id=key,
        )
    )
    return change_json(change)


@api.route(
    "GET",
    "/api/v1/recurring-series/{series_id}",
    summary="A recurring series, with its exceptions",
    tag=TAG,
    permission="schedule.read",
    response=SeriesOut,
)
async def get_series(request: web.Request, account: Account) -> dict[str, Any]:
    found = await request.app[BACKENDS].series.GetSeries(pb.GetSeriesRequest(series_id=series_id_of(request)))
    return series_json(found)


@api.route(
    "GET",
    "/api/v1/recurring-series/{series_id}/occurrences",
    summary="The occurrences of a series dealt with so far (booked, moved, skipped, cancelled), by start",
    tag=TAG,
    permission="schedule.read",
    query=PageQuery,
    response=SeriesOccurrencePageOut,
)
async def list_occurrences(request: web.Request, query: PageQuery, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].series.ListSeriesOccurrences(
        pb.ListSeriesOccurrencesRequest(
            series_id=series_id_of(request),
            page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token),
        )
    )
    return {
        "items": [
            {
                "occurrence_start": o.occurrence_start.ToJsonString(),
                "local_start": o.local_start,
                "state": o.state,
                "appointment": appointment_json(o.appointment) if o.HasField("appointment") else None,
                "exception": exception_json(o.exception) if o.HasField("exception") else None,
            }
            for o in reply.occurrences
        ],
        "next_page_token": reply.page.next_page_token or None,
    }


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/recurring-series",
    summary="A client's recurring series, newest first",
    tag=TAG,
    permission="schedule.read",
    query=PageQuery,
    response=SeriesPageOut,
)
async def list_client_series(request: web.Request, query: PageQuery, account: Account) -> dict[str, Any]:
    async def series(client_id: str) -> dict[str, Any]:
        reply = await request.app[BACKENDS].series.ListClientSeries(
            pb.ListClientSeriesRequest(
                client_id=client_id, page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token)
            )
        )
        return {"items": [series_json(s) for s in reply.series], "next_page_token": reply.page.next_page_token or None}

    return await for_known_client(request, series)


@api.route(
    "POST",
    "/api/v1/recurring-series/{series_id}/occurrences/edit",
    summary="Change one occurrence, this and the following ones, or all upcoming ones",
    tag=TAG,
    permission="schedule.write",
    body=EditOccurrenceBody,
    response=SeriesChangeOut,
    errors=(404, 409),
    description="one: the occurrence's appointment moves (it stays linked to the occurrence). this_and_following and "
    "all: the series ends before the first changed occurrence and continues, changed, in a successor series. Past "
    "occurrences never change.",
)
async def edit_occurrence(request: web.Request, body: EditOccurrenceBody, account: Account) -> dict[str, Any]:
    change = await request.app[BACKENDS].series.EditOccurrence(
        pb.EditOccurrenceRequest(
            series_id=series_id_of(request),
            occurrence_start=timestamp(body.occurrence_start) if body.occurrence_start else None,
            scope=SCOPES[body.scope],
            start=timestamp(body.start) if body.start else None,
            segments=_segments(body.segments or []),
            rrule=body.rrule or "",
            notes=body.notes,
            decisions=_decisions(body.decisions),
            override_availability=body.override_availability,
            version=body.version,
        )
    )
    return change_json(change)


@api.route(
    "POST",
    "/api/v1/recurring-series/{series_id}/occurrences/cancel",
    summary="Cancel one occurrence, this and the following ones, or all upcoming ones",
    tag=TAG,
    permission="schedule.write",
    body=CancelOccurrenceBody,
    response=SeriesChangeOut,
    errors=(404, 409),
)
async def cancel_occurrence(request: web.Request, body: CancelOccurrenceBody, account: Account) -> dict[str, Any]:
    change = await request.app[BACKENDS].series.CancelOccurrence(
        pb.CancelOccurrenceRequest(
            series_id=series_id_of(request),
            occurrence_start=timestamp(body.occurrence_start) if body.occurrence_start else None,
            scope=SCOPES[body.scope],
            reason=body.reason,
            version=body.version,
        )
    )
    return change_json(change)
