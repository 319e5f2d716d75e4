"""Recurring series through the fake unit of work: preview, create, the rolling horizon, edits and cancellations."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from platform_core.errors import Conflict, InvalidArgument
from scheduling_svc.domain import commands, events
from scheduling_svc.domain.appointments import Status
from scheduling_svc.domain.series import Action, Decision, ExceptionKind, Horizon, Scope, SeriesStatus
from scheduling_svc.service_layer import handlers, series_handlers

from .fakes import ANNA, CLIENT, CUT, TENANT, ZONE, FakeUnitOfWork, a_business

NOW = datetime(2030, 3, 4, 7, 0, tzinfo=UTC)  # a Monday, 08:00 in Berlin
TWO_WEEKS = Horizon(days=14, batch=200)
WEEKLY = "FREQ=WEEKLY;COUNT=10"


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


FIRST, SECOND, THIRD = at(date(2030, 3, 5), 10), at(date(2030, 3, 12), 10), at(date(2030, 3, 19), 10)


def definition(client_id: uuid.UUID = CLIENT) -> commands.SeriesDefinition:
    """Tuesdays at 10:00 with Anna, ten times."""
    return commands.SeriesDefinition(
        client_id=client_id,
        segments=((CUT, ANNA),),
        rrule=WEEKLY,
        dtstart=datetime(2030, 3, 5, 10, 0),
        timezone="",
        seats=1,
        notes="",
    )


def create(
    decisions: commands.Decisions = (), request_id: str | None = None, client_id: uuid.UUID = CLIENT
) -> commands.CreateSeries:
    return commands.CreateSeries(
        TENANT, definition(client_id), decisions, False, request_id, "staff:x", now=NOW, horizon=TWO_WEEKS
    )


async def anna_busy_on_the_second_tuesday(uow: FakeUnitOfWork) -> None:
    await handlers.book_appointment(
        commands.BookAppointment(
            TENANT, CLIENT, ((CUT, ANNA),), SECOND, False, "", None, "staff", 1, None, "", "", False, "staff:x", NOW
        ),
        uow,
    )


async def test_the_preview_marks_each_occurrence_within_the_horizon_ok_or_clashing() -> None:
    uow = a_business()
    await anna_busy_on_the_second_tuesday(uow)

    preview = await series_handlers.preview_series(
        commands.PreviewSeries(TENANT, definition(), override=False, now=NOW, horizon=TWO_WEEKS), uow
    )

    assert preview.timezone == ZONE and preview.continues
    assert [(p.occurrence_start, p.clash is None) for p in preview.occurrences] == [(FIRST, True), (SECOND, False)]
    assert uow.commits == 1  # the booking only: a preview writes nothing


async def test_creating_books_the_occurrences_within_the_horizon_once_per_request() -> None:
    uow = a_business()

    change = await series_handlers.create_series(create(request_id="s-1"), uow)
    again = await series_handlers.create_series(create(request_id="s-1"), uow)

    assert [a.starts_at for a in change.booked] == [FIRST, SECOND]
    assert all(a.series_id == change.series.id and a.source == "series" for a in change.booked)
    assert again.series is change.series and again.booked == []
    assert len(uow.stored.series) == 1 and len(uow.stored.appointments) == 2
    announced = [e for e in uow.published if isinstance(e, events.RecurringSeriesCreated)]
    assert [e.occurrences_booked for e in announced] == [2]


async def test_a_clash_nobody_decided_refuses_the_series_and_a_skip_books_around_it() -> None:
    uow = a_business()
    await anna_busy_on_the_second_tuesday(uow)

    with pytest.raises(Conflict):
        await series_handlers.create_series(create(), uow)
    assert uow.stored.series == {}

    change = await series_handlers.create_series(create(decisions=[(SECOND, Decision(Action.SKIP))]), uow)
    assert [a.starts_at for a in change.booked] == [FIRST]
    assert change.series.exceptions[SECOND].kind == ExceptionKind.SKIPPED


async def test_a_client_the_directory_does_not_know_gets_no_series() -> None:
    uow = a_business()
    with pytest.raises(InvalidArgument) as refused:
        await series_handlers.create_series(create(client_id=uuid.uuid4()), uow)
    assert refused.value.violations[0].field == "client_id" and uow.stored.series == {}


async def test_the_extender_books_what_came_within_the_horizon_one_series_at_a_time() -> None:
    uow = a_business()
    created = await series_handlers.create_series(create(), uow)
    a_week_later = NOW + timedelta(days=7)

    extended = await series_handlers.extend_due_series(commands.ExtendDueSeries(a_week_later, TWO_WEEKS), uow)
    nothing_left = await series_handlers.extend_due_series(commands.ExtendDueSeries(a_week_later, TWO_WEEKS), uow)

    assert (extended, nothing_left) == (1, 0)
    starts = sorted(a.starts_at for a in uow.stored.appointments.values() if a.series_id == created.series.id)
    assert starts == [FIRST, SECOND, THIRD]


async def test_extending_one_series_adds_only_the_occurrences_not_booked_yet() -> None:
    uow = a_business()
    created = await series_handlers.create_series(create(), uow)

    change = await series_handlers.extend_series(
        commands.ExtendSeries(TENANT, created.series.id, NOW + timedelta(days=7), TWO_WEEKS), uow
    )

    assert [a.starts_at for a in change.booked] == [THIRD]


async def test_editing_one_occurrence_moves_its_appointment_and_records_the_shift() -> None:
    uow = a_business()
    created = await series_handlers.create_series(create(), uow)
    afternoon = at(date(2030, 3, 12), 14)

    change = await series_handlers.edit_occurrence(
        commands.EditOccurrence(
            TENANT,
            created.series.id,
            occurrence_start=SECOND,
            scope=Scope.ONE,
            start=afternoon,
            segments=None,
            rrule=None,
            notes=None,
            decisions=(),
            override=False,
            version=0,
            actor="staff:x",
            now=NOW,
            horizon=TWO_WEEKS,
        ),
        uow,
    )

    assert [a.starts_at for a in change.changed] == [afternoon]
    shifted = change.series.exceptions[SECOND]
    assert (shifted.kind, shifted.moved_to) == (ExceptionKind.SHIFTED, afternoon)


async def test_cancelling_every_upcoming_occurrence_cancels_their_appointments_and_the_series() -> None:
    uow = a_business()
    created = await series_handlers.create_series(create(), uow)

    change = await series_handlers.cancel_occurrence(
        commands.CancelOccurrence(
            TENANT, created.series.id, None, Scope.ALL, "moving abroad", version=1, actor="staff:x", now=NOW
        ),
        uow,
    )

    assert change.series.status == SeriesStatus.CANCELLED
    assert {a.status for a in change.changed} == {Status.CANCELLED} and len(change.changed) == 2
    with pytest.raises(InvalidArgument):
        await series_handlers.cancel_occurrence(
            commands.CancelOccurrence(TENANT, created.series.id, None, Scope.ALL, " ", 0, "staff:x", NOW), uow
        )
