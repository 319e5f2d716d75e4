"""Read side: calendar windows, a client's appointments, an appointment's history, tentative holds. Two queries
per page, whatever its size (appointments, then all their segments)."""

from __future__ import annotations

import base64
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from platform_core.errors import InvalidArgument, NotFound
from scheduling_svc.adapters.hold_store import hold_from_row
from scheduling_svc.adapters.repository import appointment_from_rows
from scheduling_svc.adapters.tables import appointment_history, appointment_segments, appointments, slot_holds
from scheduling_svc.domain.appointments import Appointment, Status
from scheduling_svc.domain.holds import SlotHold

MAX_WINDOW_DAYS = 42
DEFAULT_PAGE = 50
MAX_PAGE = 200
CLIENT_VIEWS = ("", "upcoming", "past", "cancelled", "no_show")


async def with_segments(conn: AsyncConnection, rows: Sequence[Any]) -> list[Appointment]:
    """The appointments of ``rows`` with all their segments, read on the same connection in one query."""
    if not rows:
        return []
    tenant_id = rows[0].tenant_id
    segments = (
        await conn.execute(
            select(appointment_segments).where(
                appointment_segments.c.tenant_id == tenant_id,
                appointment_segments.c.appointment_id.in_([r.id for r in rows]),
            )
        )
    ).all()
    by_appointment: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for s in segments:
        by_appointment[s.appointment_id].append(s)
    return [appointment_from_rows(r, by_appointment[r.id]) for r in rows]


async def get_appointment(engine: AsyncEngine, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> Appointment:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(appointments).where(appointments.c.tenant_id == tenant_id, appointments.c.id == appointment_id)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("appointment not found")
        return (await with_segments(conn, [row]))[0]


async def appointments_in_window(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    start: datetime,
    end: datetime,
    staff_ids: Sequence[uuid.UUID],
    statuses: Sequence[str],
) -> list[Appointment]:
    """Appointments overlapping [start, end), optionally of some staff members: a day or week calendar."""
    if end <= start:
        raise InvalidArgument.single("to", "must be after from")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise InvalidArgument.single("to", f"a calendar window is at most {MAX_WINDOW_DAYS} days")
    unknown = [s for s in statuses if s not in {x.value for x in Status}]
    if unknown:
        raise InvalidArgument.single("statuses", f"unknown status: {', '.join(unknown)}")
    query = select(appointments).where(
        appointments.c.tenant_id == tenant_id,
        appointments.c.starts_at < end,
        appointments.c.ends_at > start,
    )
    if statuses:
        query = query.where(appointments.c.status.in_(statuses))
    if staff_ids:
        query = query.where(
            exists().where(
                appointment_segments.c.tenant_id == appointments.c.tenant_id,
                appointment_segments.c.appointment_id == appointments.c.id,
                appointment_segments.c.staff_id.in_(staff_ids),
            )
        )
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(appointments.c.starts_at, appointments.c.id).limit(2000))).all()
        return await with_segments(conn, rows)


def _token(starts_at: datetime, appointment_id: uuid.UUID) -> str:
    raw = json.dumps([starts_at.isoformat(), str(appointment_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _untoken(token: str) -> tuple[datetime, uuid.UUID]:
    try:
        starts_at, appointment_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return datetime.fromisoformat(starts_at), uuid.UUID(appointment_id)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument.single("page_token", "is not a token this service gave") from exc


async def count_upcoming(engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID, now: datetime) -> int:
    """How many booked appointments of the client have not ended (the "upcoming" view, counted whole)."""
    async with engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).where(
                appointments.c.tenant_id == tenant_id,
                appointments.c.client_id == client_id,
                appointments.c.status == Status.BOOKED.value,
                appointments.c.ends_at > now,
            )
        )
    return int(count or 0)


async def client_appointments(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    client_id: uuid.UUID,
    view: str,
    now: datetime,
    page_size: int,
    page_token: str,
) -> tuple[list[Appointment], str]:
    """A client's appointments: upcoming soonest first; every other view newest first."""
    if view not in CLIENT_VIEWS:
        raise InvalidArgument.single("view", f"must be one of: {', '.join(v for v in CLIENT_VIEWS if v)}")
    size = min(page_size or DEFAULT_PAGE, MAX_PAGE)
    query = select(appointments).where(appointments.c.tenant_id == tenant_id, appointments.c.client_id == client_id)
    ascending = view == "upcoming"
    if view == "upcoming":
        query = query.where(appointments.c.status == Status.BOOKED.value, appointments.c.ends_at > now)
    elif view == "past":
        query = query.where(
            appointments.c.status.in_([Status.BOOKED.value, Status.COMPLETED.value]), appointments.c.ends_at <= now
        )
    elif view in ("cancelled", "no_show"):
        query = query.where(appointments.c.status == view)
    if page_token:
        after_start, after_id = _untoken(page_token)
        if ascending:
            query = query.where(
                or_(
                    appointments.c.starts_at > after_start,
                    and_(appointments.c.starts_at == after_start, appointments.c.id > after_id),
                )
            )
        else:
            query = query.where(
                or_(
                    appointments.c.starts_at < after_start,
                    and_(appointments.c.starts_at == after_start, appointments.c.id < after_id),
                )
            )
    order = (
        (appointments.c.starts_at, appointments.c.id)
        if ascending
        else (appointments.c.starts_at.desc(), appointments.c.id.desc())
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(*order).limit(size + 1))).all()
        more = len(rows) > size
        rows = rows[:size]
        token = _token(rows[-1].starts_at, rows[-1].id) if more else ""
        return await with_segments(conn, rows), token


async def history(engine: AsyncEngine, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> list[Any]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(appointment_history)
                .where(
                    appointment_history.c.tenant_id == tenant_id,
                    appointment_history.c.appointment_id == appointment_id,
                )
                .order_by(appointment_history.c.seq)
            )
        ).all()
    if not rows:
        raise NotFound("appointment not found")
    return list(rows)


async def holds_between(
    engine: AsyncEngine, tenant_id: uuid.UUID, start: datetime, end: datetime, staff_ids: Sequence[uuid.UUID]
) -> list[SlotHold]:
    """Holds overlapping [start, end), soonest first (staff calendars)."""
    if end <= start:
        raise InvalidArgument.single("to", "must be after from")
    if end - start > timedelta(days=MAX_WINDOW_DAYS):
        raise InvalidArgument.single("to", f"ask for at most {MAX_WINDOW_DAYS} days at a time")
    h = slot_holds.c
    query = select(slot_holds).where(h.tenant_id == tenant_id, h.starts_at < end, h.ends_at > start)
    if staff_ids:
        query = query.where(h.staff_id.in_(staff_ids))
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(h.starts_at, h.id))).all()
    return [hold_from_row(row) for row in rows]
