"""Read side of recurring series: one series, a client's series, and a series' occurrences page by page."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from platform_core.errors import InvalidArgument, NotFound
from scheduling_svc.adapters.series_repository import load_series
from scheduling_svc.adapters.tables import appointments, recurring_series, series_exceptions
from scheduling_svc.domain.appointments import Appointment
from scheduling_svc.domain.series import OccurrenceException, RecurringSeries
from scheduling_svc.views import with_segments

DEFAULT_PAGE = 50
MAX_PAGE = 200


async def get_series(engine: AsyncEngine, tenant_id: uuid.UUID, series_id: uuid.UUID) -> RecurringSeries:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(recurring_series).where(
                    recurring_series.c.tenant_id == tenant_id, recurring_series.c.id == series_id
                )
            )
        ).all()
        found = await load_series(conn, tenant_id, rows)
    if not found:
        raise NotFound("recurring series not found")
    return found[0]


def _token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except ValueError as exc:
        raise InvalidArgument.single("page_token", "is not a token this service gave") from exc


async def client_series(
    engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID, page_size: int, page_token: str
) -> tuple[list[RecurringSeries], str]:
    """A client's series, newest first (ids are time-ordered)."""
    size = min(page_size or DEFAULT_PAGE, MAX_PAGE)
    query = select(recurring_series).where(
        recurring_series.c.tenant_id == tenant_id, recurring_series.c.client_id == client_id
    )
    if page_token:
        try:
            after = uuid.UUID(_untoken(page_token))
        except ValueError as exc:
            raise InvalidArgument.single("page_token", "is not a token this service gave") from exc
        query = query.where(recurring_series.c.id < after)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(recurring_series.c.id.desc()).limit(size + 1))).all()
        found = await load_series(conn, tenant_id, rows[:size])
    return found, _token(str(rows[size - 1].id)) if len(rows) > size else ""


@dataclass(frozen=True)
class Occurrence:
    occurrence_start: datetime
    appointment: Appointment | None
    exception: OccurrenceException | None


async def occurrences(
    engine: AsyncEngine, tenant_id: uuid.UUID, series_id: uuid.UUID, page_size: int, page_token: str
) -> tuple[list[Occurrence], str]:
    """Every occurrence dealt with so far: its appointment (in any status) and/or its exception, by start."""
    series = await get_series(engine, tenant_id, series_id)
    size = min(page_size or DEFAULT_PAGE, MAX_PAGE)
    after: datetime | None = None
    if page_token:
        try:
            after = datetime.fromisoformat(_untoken(page_token))
        except ValueError as exc:
            raise InvalidArgument.single("page_token", "is not a token this service gave") from exc
    query = select(appointments).where(appointments.c.tenant_id == tenant_id, appointments.c.series_id == series_id)
    if after is not None:
        query = query.where(appointments.c.occurrence_start > after)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(appointments.c.occurrence_start).limit(size + 1))).all()
        exception_query = select(series_exceptions.c.occurrence_start).where(
            series_exceptions.c.tenant_id == tenant_id, series_exceptions.c.series_id == series_id
        )
        if after is not None:
            exception_query = exception_query.where(series_exceptions.c.occurrence_start > after)
        exception_starts = (
            await conn.scalars(exception_query.order_by(series_exceptions.c.occurrence_start).limit(size + 1))
        ).all()
        booked = {a.occurrence_start: a for a in await with_segments(conn, rows) if a.occurrence_start is not None}
    starts = sorted(set(booked) | set(exception_starts))
    page = [Occurrence(s, booked.get(s), series.exceptions.get(s)) for s in starts[:size]]
    more = len(starts) > size
    return page, _token(page[-1].occurrence_start.isoformat()) if more else ""


__all__ = ["Occurrence", "client_series", "get_series", "occurrences"]
