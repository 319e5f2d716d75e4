"""Recurring series over gRPC, against real PostgreSQL: preview and decisions, edits and cancellations by scope,
the rolling horizon (in the background and by concurrent extenders), and never a duplicate or an overlap."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.common.v1 import events_pb2, types_pb2
from atrium.scheduling.v1 import appointments_pb2 as apb
from atrium.scheduling.v1 import appointments_pb2_grpc as apb_grpc
from atrium.scheduling.v1 import catalogue_pb2 as cat
from atrium.scheduling.v1 import catalogue_pb2_grpc as cat_grpc
from atrium.scheduling.v1 import events_pb2 as scheduling_events
from atrium.scheduling.v1 import series_pb2 as pb
from atrium.scheduling.v1 import series_pb2_grpc as pb_grpc
from platform_core.db import create_engine, session_factory
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.errors import from_rpc_error
from platform_dev.testing.plugin import wait_until
from scheduling_svc.adapters.client_directory import GrpcClientDirectory
from scheduling_svc.adapters.client_facts import ProjectedClientDirectory
from scheduling_svc.config import SchedulingServiceSettings
from scheduling_svc.domain.commands import ExtendDueSeries, ExtendSeries
from scheduling_svc.domain.recurrence import parse_rule
from scheduling_svc.domain.series import Horizon
from scheduling_svc.service_layer import series_handlers
from scheduling_svc.service_layer.unit_of_work import SqlAlchemySchedulingUnitOfWork

BERLIN = ZoneInfo("Europe/Berlin")
ALL_WEEK_9_TO_17 = [cat.DayHours(weekday=d, ranges=[cat.TimeRange(start="09:00", end="17:00")]) for d in range(7)]
FAR = datetime(2100, 1, 1, tzinfo=UTC)
LONG = Horizon(days=400, batch=200)

UowFactory = Callable[[], SqlAlchemySchedulingUnitOfWork]


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


def when(t: Timestamp) -> datetime:
    return t.ToDatetime(tzinfo=UTC)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def wall(instant: datetime) -> str:
    return instant.astimezone(BERLIN).strftime("%H:%M")


@dataclass
class Business:
    tenant: uuid.UUID
    staff_ids: list[str]
    service_id: str
    client_ids: list[str]
    first_day: date  # a week from today

    def staff_context(self) -> CallContext:
        return CallContext(self.tenant, Principal("staff", self.staff_ids[0], "owner"))

    def definition(
        self, rrule: str, hour: int = 10, *, day: date | None = None, client: int = 0
    ) -> pb.SeriesDefinition:
        start = day or self.first_day
        return pb.SeriesDefinition(
            client_id=self.client_ids[client],
            segments=[apb.SegmentRequest(service_id=self.service_id, staff_id=self.staff_ids[0])],
            rrule=rrule,
            dtstart=f"{start.isoformat()}T{hour:02d}:00",
            timezone="Europe/Berlin",
            notes="weekly physio",
        )


@pytest.fixture
def series_stub(scheduling_channel: grpc.aio.Channel) -> pb_grpc.RecurringSeriesServiceStub:
    return pb_grpc.RecurringSeriesServiceStub(scheduling_channel)


@pytest.fixture
def appointments(scheduling_channel: grpc.aio.Channel) -> apb_grpc.AppointmentServiceStub:
    return apb_grpc.AppointmentServiceStub(scheduling_channel)


@pytest.fixture
async def business(scheduling_channel: grpc.aio.Channel, client_channel: grpc.aio.Channel) -> Business:
    catalogue = cat_grpc.CatalogueServiceStub(scheduling_channel)
    clients = client_grpc.ClientRecordsStub(client_channel)
    tenant = uuid.uuid4()
    staff_ids = [str(uuid.uuid4())]
    with bind_call_context(CallContext(tenant, Principal("staff", staff_ids[0], "owner"))):
        await catalogue.UpdateSchedulingSettings(
            cat.SchedulingSettings(
                timezone="Europe/Berlin",
                slot_rules=cat.SlotRules(granularity_minutes=30, min_notice_minutes=60, horizon_days=60),
            )
        )
        await catalogue.PutStaffMember(
            cat.StaffMember(
                staff_id=staff_ids[0],
                display_name="Physio",
                timezone="Europe/Berlin",
                weekly_hours=ALL_WEEK_9_TO_17,
                active=True,
            )
        )
        service = await catalogue.CreateService(
            cat.ServiceInput(
                name="Physiotherapy",
                duration_minutes=60,
                price=types_pb2.Money(amount_minor=6000, currency="EUR"),
                capacity=1,
                staff_ids=staff_ids,
            )
        )
        client_ids = [
            (await clients.CreateClient(client_pb.CreateClientRequest(first_name=f"Client {i}"))).id for i in range(3)
        ]
    first_day = (datetime.now(BERLIN) + timedelta(days=7)).date()
    return Business(tenant, staff_ids, service.id, client_ids, first_day)


@pytest.fixture(scope="session")
async def engine(scheduling_settings: SchedulingServiceSettings, scheduling_channel: Any) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(scheduling_settings.database_url("scheduling"))
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def uow_factory(
    engine: AsyncEngine, scheduling_settings: SchedulingServiceSettings, client_channel: grpc.aio.Channel
) -> UowFactory:
    """Units of work on the service's database, to drive the extender as if time had passed."""
    sessions = session_factory(engine)
    directory = ProjectedClientDirectory(engine, GrpcClientDirectory(client_grpc.ClientRecordsStub(client_channel)))
    return lambda: SqlAlchemySchedulingUnitOfWork(
        sessions, nats_prefix=scheduling_settings.nats_prefix, client_directory=directory
    )


async def series_appointments(engine: AsyncEngine, tenant: uuid.UUID, series_id: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    text(
                        "SELECT id, status, starts_at, occurrence_start, source, availability_overridden"
                        " FROM appointments WHERE tenant_id = :t AND series_id = :s ORDER BY occurrence_start"
                    ),
                    {"t": tenant, "s": uuid.UUID(series_id)},
                )
            ).all()
        )


async def overlaps(engine: AsyncEngine, tenant: uuid.UUID) -> int:
    async with engine.connect() as conn:
        found = await conn.scalar(
            text(
                "SELECT count(*) FROM time_blocks a JOIN time_blocks b ON a.staff_id = b.staff_id AND a.id < b.id"
                " AND a.occupied && b.occupied WHERE NOT a.released AND NOT b.released AND a.tenant_id = :t"
            ),
            {"t": tenant},
        )
    return int(found or 0)


def booked(rows: list[Any]) -> list[Any]:
    return [r for r in rows if r.status == "booked"]


def rule_occurrences(rrule: str, day: date, hour: int = 10) -> list[datetime]:
    return parse_rule(rrule, datetime(day.year, day.month, day.day, hour), "Europe/Berlin").occurrences(None, FAR, 1000)


async def test_preview_marks_clashes_and_creating_books_what_was_decided(
    business: Business,
    series_stub: pb_grpc.RecurringSeriesServiceStub,
    appointments: apb_grpc.AppointmentServiceStub,
    scheduling_channel: grpc.aio.Channel,
    engine: AsyncEngine,
) -> None:
    rrule = "FREQ=WEEKLY;COUNT=6"
    occurrences = rule_occurrences(rrule, business.first_day)
    days = [o.astimezone(BERLIN).date() for o in occurrences]
    catalogue = cat_grpc.CatalogueServiceStub(scheduling_channel)
    with bind_call_context(business.staff_context()):
        await catalogue.AddScheduleException(cat.ScheduleException(day=days[1].isoformat(), label="Holiday"))
        await catalogue.AddScheduleException(
            cat.ScheduleException(staff_id=business.staff_ids[0], day=days[2].isoformat(), label="Off")
        )
        other = await appointments.BookAppointment(
            apb.BookAppointmentRequest(
                client_id=business.client_ids[1],
                segments=[apb.SegmentRequest(service_id=business.service_id)],
                start=ts(local(days[3], 10)),
            )
        )
        preview = await series_stub.PreviewSeries(pb.PreviewSeriesRequest(definition=business.definition(rrule)))
        assert [o.status for o in preview.occurrences] == ["ok", "clash", "clash", "clash", "ok", "ok"]
        assert [o.reason for o in preview.occurrences] == ["", "holiday", "time_off", "booked", "", ""]
        assert [when(o.occurrence_start) for o in preview.occurrences] == occurrences
        # 09:00 and 11:00 are both an hour away from the taken 10:00: the earlier is proposed.
        assert when(preview.occurrences[3].proposed_start) == local(days[3], 9)
        assert preview.occurrences[3].proposed_local_start[11:16] == "09:00"
        assert not preview.occurrences[1].HasField("proposed_start")  # closed all day
        assert preview.occurrences[0].staff_ids == [business.staff_ids[0]] and not preview.continues

        with pytest.raises(grpc.aio.AioRpcError) as undecided:
            await series_stub.CreateSeries(pb.CreateSeriesRequest(definition=business.definition(rrule)))
        assert undecided.value.code() == grpc.StatusCode.ABORTED
        assert from_rpc_error(undecided.value).reason == "SLOT_UNAVAILABLE"
        assert days[1].isoformat() in (undecided.value.details() or "")

        shift_to = when(preview.occurrences[3].proposed_start)
        created = await series_stub.CreateSeries(
            pb.CreateSeriesRequest(
                definition=business.definition(rrule),
                decisions=[
                    pb.OccurrenceDecision(occurrence_start=ts(occurrences[1]), action="skip"),
                    pb.OccurrenceDecision(occurrence_start=ts(occurrences[2]), action="skip"),
                    pb.OccurrenceDecision(occurrence_start=ts(occurrences[3]), action="shift", shift_to=ts(shift_to)),
                ],
            )
        )
        listed = await series_stub.ListSeriesOccurrences(pb.ListSeriesOccurrencesRequest(series_id=created.series.id))
    series = created.series
    assert series.status == "ended" and series.rrule == rrule and series.dtstart.endswith("T10:00")
    assert [when(a.start) for a in created.booked] == [occurrences[0], shift_to, occurrences[4], occurrences[5]]
    assert all(a.source == "series" and a.series_id == series.id for a in created.booked)
    assert {(e.kind, when(e.occurrence_start)) for e in series.exceptions} == {
        ("skipped", occurrences[1]),
        ("skipped", occurrences[2]),
        ("shifted", occurrences[3]),
    }
    assert [o.state for o in listed.occurrences] == ["booked", "skipped", "skipped", "booked", "booked", "booked"]
    assert when(listed.occurrences[3].appointment.start) == shift_to
    assert other.status == "booked" and await overlaps(engine, business.tenant) == 0
    # The series' creation goes out as RecurringSeriesCreated through the outbox.
    async with engine.connect() as conn:
        envelopes = (
            await conn.scalars(
                text("SELECT envelope FROM outbox WHERE tenant_id = :t AND subject LIKE '%RecurringSeriesCreated'"),
                {"t": business.tenant},
            )
        ).all()
    assert len(envelopes) == 1
    envelope = events_pb2.EventEnvelope.FromString(envelopes[0])
    event = scheduling_events.RecurringSeriesCreated()
    envelope.payload.Unpack(event)
    assert (event.series_id, event.client_id, event.rrule, event.occurrences_booked) == (
        series.id,
        business.client_ids[0],
        rrule,
        4,
    )


@pytest.mark.parametrize("booked_ahead", [True, False], ids=["all-52-booked-first", "cut-before-they-are-booked"])
async def test_52_weekly_occurrences_one_edited_and_this_and_following_cancelled_from_the_30th(
    booked_ahead: bool,
    business: Business,
    series_stub: pb_grpc.RecurringSeriesServiceStub,
    engine: AsyncEngine,
    uow_factory: UowFactory,
) -> None:
    rrule = "FREQ=WEEKLY;COUNT=52"
    occurrences = rule_occurrences(rrule, business.first_day)
    assert len(occurrences) == 52
    with bind_call_context(business.staff_context()):
        created = await series_stub.CreateSeries(pb.CreateSeriesRequest(definition=business.definition(rrule)))
    series_id = created.series.id
    # Only the rolling horizon (180 days) is booked at first; the series stays active for the rest.
    within = [o for o in occurrences if o < datetime.now(UTC) + timedelta(days=179)]
    assert [when(a.start) for a in created.booked] == within and created.series.status == "active"
    if booked_ahead:
        await series_handlers.extend_series(
            ExtendSeries(business.tenant, uuid.UUID(series_id), datetime.now(UTC), LONG), uow_factory()
        )
        assert len(booked(await series_appointments(engine, business.tenant, series_id))) == 52

    tenth = occurrences[9]
    edited_start = local(tenth.astimezone(BERLIN).date(), 14)
    thirtieth = occurrences[29]
    with bind_call_context(business.staff_context()):
        edited = await series_stub.EditOccurrence(
            pb.EditOccurrenceRequest(
                series_id=series_id, occurrence_start=ts(tenth), scope=pb.EDIT_SCOPE_ONE, start=ts(edited_start)
            )
        )
        # Edited twice: still the same appointment, linked to the same occurrence.
        again = await series_stub.EditOccurrence(
            pb.EditOccurrenceRequest(
                series_id=series_id,
                occurrence_start=ts(tenth),
                scope=pb.EDIT_SCOPE_ONE,
                start=ts(edited_start),
                version=edited.changed[0].version,
            )
        )
        cancelled = await series_stub.CancelOccurrence(
            pb.CancelOccurrenceRequest(
                series_id=series_id,
                occurrence_start=ts(thirtieth),
                scope=pb.EDIT_SCOPE_THIS_AND_FOLLOWING,
                reason="moving abroad",
                version=again.series.version,
            )
        )
    assert edited.changed[0].id == again.changed[0].id
    assert len(cancelled.changed) == (23 if booked_ahead else 0)
    assert all(a.status == "cancelled" and a.cancellation_reason == "moving abroad" for a in cancelled.changed)
    # Time passes: the extender books the rest of the (now shorter) series, and running it again adds nothing.
    for _ in range(2):
        await series_handlers.extend_series(
            ExtendSeries(business.tenant, uuid.UUID(series_id), datetime.now(UTC), LONG), uow_factory()
        )

    rows = await series_appointments(engine, business.tenant, series_id)
    live = booked(rows)
    assert len(live) == 29
    assert [r.occurrence_start for r in live] == occurrences[:29]
    assert Counter(r.occurrence_start for r in rows).most_common(1)[0][1] == 1  # one appointment per occurrence
    edited_row = next(r for r in live if r.occurrence_start == tenth)
    assert edited_row.id == uuid.UUID(edited.changed[0].id) and edited_row.starts_at == edited_start
    # Every other occurrence is at 10:00 on the Berlin clock, summer and winter alike.
    assert {wall(r.starts_at) for r in live if r.occurrence_start != tenth} == {"10:00"}
    assert all(r.source == "series" and not r.availability_overridden for r in rows)
    tail = [r for r in rows if r.occurrence_start >= thirtieth]
    assert [r.status for r in tail] == (["cancelled"] * 23 if booked_ahead else [])
    assert await overlaps(engine, business.tenant) == 0
    with bind_call_context(business.staff_context()):
        final = await series_stub.GetSeries(pb.GetSeriesRequest(series_id=series_id))
        pages, token = [], ""
        while True:
            page = await series_stub.ListSeriesOccurrences(
                pb.ListSeriesOccurrencesRequest(
                    series_id=series_id, page=types_pb2.PageRequest(page_size=20, page_token=token)
                )
            )
            pages.extend(page.occurrences)
            token = page.page.next_page_token
            if not token:
                break
    assert final.status == "ended" and "UNTIL=" in final.rrule and "COUNT" not in final.rrule
    assert {(e.kind, when(e.occurrence_start)) for e in final.exceptions} == {("shifted", tenth)}
    assert Counter(o.state for o in pages) == Counter({"booked": 29, **({"cancelled": 23} if booked_ahead else {})})


async def test_this_and_following_continues_in_a_successor_and_all_moves_every_upcoming_one(
    business: Business,
    series_stub: pb_grpc.RecurringSeriesServiceStub,
    engine: AsyncEngine,
) -> None:
    rrule = "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=10"
    first_tuesday = business.first_day + timedelta(days=(1 - business.first_day.weekday()) % 7)
    occurrences = rule_occurrences(rrule, first_tuesday)
    with bind_call_context(business.staff_context()):
        created = await series_stub.CreateSeries(
            pb.CreateSeriesRequest(definition=business.definition(rrule, day=first_tuesday))
        )
        old_id = created.series.id
        fourth = occurrences[3]
        changed = await series_stub.EditOccurrence(
            pb.EditOccurrenceRequest(
                series_id=old_id,
                occurrence_start=ts(fourth),
                scope=pb.EDIT_SCOPE_THIS_AND_FOLLOWING,
                start=ts(fourth + timedelta(hours=1)),
                notes="later from now on",
                version=created.series.version,
            )
        )
        with pytest.raises(grpc.aio.AioRpcError) as stale:
            await series_stub.EditOccurrence(
                pb.EditOccurrenceRequest(
                    series_id=old_id,
                    occurrence_start=ts(occurrences[1]),
                    scope=pb.EDIT_SCOPE_THIS_AND_FOLLOWING,
                    version=created.series.version,
                )
            )
        assert stale.value.code() == grpc.StatusCode.ABORTED
        successor = changed.successor
        moved_all = await series_stub.EditOccurrence(
            pb.EditOccurrenceRequest(
                series_id=successor.id,
                occurrence_start=ts(fourth + timedelta(hours=1)),
                scope=pb.EDIT_SCOPE_ALL,
                start=ts(fourth + timedelta(hours=5)),
            )
        )
    assert changed.series.successor_series_id == successor.id and successor.parent_series_id == old_id
    assert successor.rrule == "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=7" and successor.notes == "later from now on"
    assert [a.status for a in changed.changed] == ["cancelled"] * 7
    assert [when(a.start) for a in changed.booked] == [o + timedelta(hours=1) for o in occurrences[3:]]
    # ALL on the successor: every upcoming occurrence (all of them here) moves to 15:00, in a third series.
    third = moved_all.successor
    assert [when(a.start) for a in moved_all.booked] == [o + timedelta(hours=5) for o in occurrences[3:]]
    assert third.rrule == "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=7" and moved_all.series.status == "ended"
    old_rows = booked(await series_appointments(engine, business.tenant, old_id))
    assert [r.occurrence_start for r in old_rows] == occurrences[:3]
    assert booked(await series_appointments(engine, business.tenant, successor.id)) == []
    assert len(booked(await series_appointments(engine, business.tenant, third.id))) == 7
    assert await overlaps(engine, business.tenant) == 0


async def test_one_occurrence_cancelled_then_everything_upcoming(
    business: Business,
    series_stub: pb_grpc.RecurringSeriesServiceStub,
    engine: AsyncEngine,
) -> None:
    rrule = "FREQ=DAILY;INTERVAL=2;COUNT=5"
    occurrences = rule_occurrences(rrule, business.first_day, 9)
    with bind_call_context(business.staff_context()):
        created = await series_stub.CreateSeries(pb.CreateSeriesRequest(definition=business.definition(rrule, 9)))
        series_id = created.series.id
        one = await series_stub.CancelOccurrence(
            pb.CancelOccurrenceRequest(
                series_id=series_id, occurrence_start=ts(occurrences[1]), scope=pb.EDIT_SCOPE_ONE, reason="ill"
            )
        )
        with pytest.raises(grpc.aio.AioRpcError) as no_reason:
            await series_stub.CancelOccurrence(pb.CancelOccurrenceRequest(series_id=series_id, scope=pb.EDIT_SCOPE_ALL))
        every = await series_stub.CancelOccurrence(
            pb.CancelOccurrenceRequest(series_id=series_id, scope=pb.EDIT_SCOPE_ALL, reason="stopped treatment")
        )
        with pytest.raises(grpc.aio.AioRpcError) as over:
            await series_stub.EditOccurrence(
                pb.EditOccurrenceRequest(
                    series_id=series_id,
                    occurrence_start=ts(occurrences[2]),
                    scope=pb.EDIT_SCOPE_ONE,
                    start=ts(occurrences[2]),
                )
            )
    assert [a.status for a in one.changed] == ["cancelled"] and one.series.exceptions[0].kind == "cancelled"
    assert from_rpc_error(no_reason.value).violations[0].field == "reason"
    assert every.series.status == "cancelled" and len(every.changed) == 4
    assert over.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert from_rpc_error(over.value).reason == "SERIES_CANCELLED"
    assert booked(await series_appointments(engine, business.tenant, series_id)) == []


async def test_the_rolling_horizon_is_extended_and_concurrent_extenders_never_duplicate(
    business: Business,
    series_stub: pb_grpc.RecurringSeriesServiceStub,
    engine: AsyncEngine,
    uow_factory: UowFactory,
) -> None:
    rrule = "FREQ=WEEKLY"  # no end: booked over the horizon, extended as time passes
    ids = []
    with bind_call_context(business.staff_context()):
        for client, hour in ((0, 9), (1, 11), (2, 13)):
            created = await series_stub.CreateSeries(
                pb.CreateSeriesRequest(definition=business.definition(rrule, hour, client=client))
            )
            ids.append(created.series.id)
        occurrences = rule_occurrences(rrule, business.first_day, 9)
        # An occurrence beyond the horizon, moved now: it is booked at once and never again by the extender.
        far = next(o for o in occurrences if o > datetime.now(UTC) + timedelta(days=200))
        early = await series_stub.EditOccurrence(
            pb.EditOccurrenceRequest(
                series_id=ids[0], occurrence_start=ts(far), scope=pb.EDIT_SCOPE_ONE, start=ts(far + timedelta(hours=6))
            )
        )
    assert [when(a.start) for a in early.booked] == [far + timedelta(hours=6)]
    before = {i: len(await series_appointments(engine, business.tenant, i)) for i in ids}

    later = datetime.now(UTC) + timedelta(days=60)  # as if two months had passed
    horizon = Horizon(days=180, batch=200)
    results = await asyncio.gather(
        series_handlers.extend_due_series(ExtendDueSeries(later, horizon, tenant_id=business.tenant), uow_factory()),
        series_handlers.extend_due_series(ExtendDueSeries(later, horizon, tenant_id=business.tenant), uow_factory()),
        series_handlers.extend_series(ExtendSeries(business.tenant, uuid.UUID(ids[0]), later, horizon), uow_factory()),
        series_handlers.extend_series(ExtendSeries(business.tenant, uuid.UUID(ids[0]), later, horizon), uow_factory()),
    )
    # Each due series is claimed by one extender (SKIP LOCKED); the first may have been extended directly first.
    assert results[0] + results[1] in (2, 3)
    horizon_end = later + horizon.span
    for i, series_id in enumerate(ids):
        rows = await series_appointments(engine, business.tenant, series_id)
        assert Counter(r.occurrence_start for r in rows).most_common(1)[0][1] == 1
        expected = [o + timedelta(hours=2 * i) for o in occurrences if o < horizon_end]
        if i == 0:
            assert far < horizon_end
        assert [r.occurrence_start for r in rows] == expected
        assert len(rows) > before[series_id]
    moved = next(r for r in await series_appointments(engine, business.tenant, ids[0]) if r.occurrence_start == far)
    assert moved.starts_at == far + timedelta(hours=6)
    assert await overlaps(engine, business.tenant) == 0
    async with engine.connect() as conn:
        until = await conn.scalar(
            text("SELECT min(materialized_until) FROM recurring_series WHERE tenant_id = :t"), {"t": business.tenant}
        )
    assert until >= horizon_end - timedelta(seconds=1)


async def test_the_service_extends_due_series_in_the_background(
    business: Business,
    series_stub: pb_grpc.RecurringSeriesServiceStub,
    engine: AsyncEngine,
) -> None:
    with bind_call_context(business.staff_context()):
        created = await series_stub.CreateSeries(pb.CreateSeriesRequest(definition=business.definition("FREQ=DAILY")))
    series_id = uuid.UUID(created.series.id)
    count = len(await series_appointments(engine, business.tenant, created.series.id))
    assert count >= 170
    # Pretend the series had only been booked three weeks ahead: the service's extender catches up on its own.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE recurring_series SET materialized_until = now() + interval '21 days' WHERE id = :s"),
            {"s": series_id},
        )

    async def caught_up() -> bool:
        async with engine.connect() as conn:
            until = await conn.scalar(
                text("SELECT materialized_until FROM recurring_series WHERE id = :s"), {"s": series_id}
            )
        return bool(until > datetime.now(UTC) + timedelta(days=170))

    await wait_until(caught_up, timeout=20)
    rows = await series_appointments(engine, business.tenant, created.series.id)
    assert len(rows) == count and len({r.occurrence_start for r in rows}) == count


async def test_bad_requests_name_their_fields_and_portal_clients_cannot_make_series(
    business: Business, series_stub: pb_grpc.RecurringSeriesServiceStub, appointments: apb_grpc.AppointmentServiceStub
) -> None:
    async def violations(request: pb.CreateSeriesRequest) -> set[str]:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await series_stub.CreateSeries(request)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, raised.value.details()
        return {v.field for v in from_rpc_error(raised.value).violations}

    with bind_call_context(business.staff_context()):
        assert await violations(pb.CreateSeriesRequest(definition=business.definition("FREQ=HOURLY"))) == {"rrule"}
        assert await violations(
            pb.CreateSeriesRequest(definition=business.definition("FREQ=WEEKLY;BYDAY=+2TU;COUNT=3"))
        ) == {"rrule"}
        bad_start = business.definition("FREQ=WEEKLY;COUNT=3")
        bad_start.dtstart = "2030-01-01T10:00+01:00"
        bad_start.timezone = "Mars/Olympus"
        assert await violations(pb.CreateSeriesRequest(definition=bad_start)) == {"dtstart", "timezone"}
        unknown_client = business.definition("FREQ=WEEKLY;COUNT=3")
        unknown_client.client_id = str(uuid.uuid4())
        assert await violations(pb.CreateSeriesRequest(definition=unknown_client)) == {"client_id"}
        anyone = business.definition("FREQ=WEEKLY;COUNT=3")
        anyone.segments[0].staff_id = ""
        assert await violations(pb.CreateSeriesRequest(definition=anyone, override_availability=True)) == {
            "segments[0].staff_id"
        }
        stranger = business.definition("FREQ=WEEKLY;COUNT=3")
        stranger.segments[0].staff_id = str(uuid.uuid4())
        assert await violations(pb.CreateSeriesRequest(definition=stranger)) == {"segments[0].staff_id"}
        not_an_occurrence = pb.OccurrenceDecision(occurrence_start=ts(datetime(2030, 1, 1, tzinfo=UTC)), action="skip")
        assert await violations(
            pb.CreateSeriesRequest(definition=business.definition("FREQ=WEEKLY;COUNT=3"), decisions=[not_an_occurrence])
        ) == {"decisions[0].occurrence_start"}
        assert await violations(
            pb.CreateSeriesRequest(
                definition=business.definition("FREQ=WEEKLY;COUNT=3"),
                decisions=[pb.OccurrenceDecision(occurrence_start=ts(datetime(2030, 1, 1, tzinfo=UTC)), action="move")],
            )
        ) == {"decisions[0].action"}
        with pytest.raises(grpc.aio.AioRpcError) as posing:
            await appointments.BookAppointment(
                apb.BookAppointmentRequest(
                    client_id=business.client_ids[0],
                    segments=[apb.SegmentRequest(service_id=business.service_id)],
                    start=ts(local(business.first_day, 12)),
                    source="series",
                )
            )
        assert from_rpc_error(posing.value).violations[0].field == "source"
    portal = CallContext(business.tenant, Principal("portal", str(uuid.uuid4()), "", business.client_ids[0]))
    with bind_call_context(portal), pytest.raises(grpc.aio.AioRpcError) as denied:
        await series_stub.CreateSeries(pb.CreateSeriesRequest(definition=business.definition("FREQ=WEEKLY;COUNT=3")))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_same_request_id_creates_one_series(
    business: Business, series_stub: pb_grpc.RecurringSeriesServiceStub, engine: AsyncEngine
) -> None:
    request = pb.CreateSeriesRequest(definition=business.definition("FREQ=WEEKLY;COUNT=4"), request_id="retry-1")
    with bind_call_context(business.staff_context()):
        results = await asyncio.gather(*(series_stub.CreateSeries(request) for _ in range(3)), return_exceptions=True)
        listed = await series_stub.ListClientSeries(pb.ListClientSeriesRequest(client_id=business.client_ids[0]))
    assert all(isinstance(r, pb.SeriesChange) for r in results), results
    ids = {r.series.id for r in results if isinstance(r, pb.SeriesChange)}
    assert len(ids) == 1 and [s.id for s in listed.series] == list(ids)
    assert len(booked(await series_appointments(engine, business.tenant, ids.pop()))) == 4


async def test_occurrences_that_clash_when_the_horizon_moves_are_recorded_as_skipped_not_booked(
    business: Business,
    series_stub: pb_grpc.RecurringSeriesServiceStub,
    scheduling_channel: grpc.aio.Channel,
    engine: AsyncEngine,
    uow_factory: UowFactory,
) -> None:
    rrule = "FREQ=WEEKLY"
    occurrences = rule_occurrences(rrule, business.first_day)
    with bind_call_context(business.staff_context()):
        created = await series_stub.CreateSeries(pb.CreateSeriesRequest(definition=business.definition(rrule)))
        # A holiday beyond today's horizon: nobody was asked about it, so the extender must not book over it.
        beyond = next(o for o in occurrences if o > datetime.now(UTC) + timedelta(days=190))
        await cat_grpc.CatalogueServiceStub(scheduling_channel).AddScheduleException(
            cat.ScheduleException(day=beyond.astimezone(BERLIN).date().isoformat(), label="Holiday")
        )
    later = datetime.now(UTC) + timedelta(days=30)
    change = await series_handlers.extend_series(
        ExtendSeries(business.tenant, uuid.UUID(created.series.id), later, Horizon(days=180)), uow_factory()
    )
    assert beyond not in {a.occurrence_start for a in change.booked} and len(change.booked) >= 3
    skipped = change.series.exceptions[beyond]
    assert (skipped.kind.value, skipped.actor) == ("skipped", "system") and "holiday" in skipped.reason
    rows = await series_appointments(engine, business.tenant, created.series.id)
    assert beyond not in {r.occurrence_start for r in rows}
    # The business stops offering the service: what comes next is recorded as not booked, and the series goes on.
    with bind_call_context(business.staff_context()):
        await cat_grpc.CatalogueServiceStub(scheduling_channel).ArchiveService(
            cat.ArchiveServiceRequest(service_id=business.service_id)
        )
    stopped = await series_handlers.extend_series(
        ExtendSeries(business.tenant, uuid.UUID(created.series.id), later + timedelta(days=30), Horizon()),
        uow_factory(),
    )
    assert stopped.booked == [] and stopped.series.status.value == "active"
    newly = [e for o, e in stopped.series.exceptions.items() if o > later + timedelta(days=180)]
    assert len(newly) >= 3 and all("no longer offered" in e.reason for e in newly)
