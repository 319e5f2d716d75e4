"""Read side of calendar files: a feed rendered for whoever holds its token, one appointment as an .ics file.
Neither changes anything, so both read the database directly, as the other views do. A feed costs four
queries whatever its size (feed, appointments, their segments, names)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncEngine

from platform_core.errors import NotFound
from scheduling_svc import views
from scheduling_svc.adapters import ical
from scheduling_svc.adapters.feed_store import feed_from_row
from scheduling_svc.adapters.repository import appointment_from_rows
from scheduling_svc.adapters.tables import appointment_segments, appointments, calendar_feeds, staff_members
from scheduling_svc.domain.appointments import Appointment, Status
from scheduling_svc.domain.feeds import (
    MAX_FEED_EVENTS,
    CalendarFeed,
    FeedOwner,
    Viewer,
    hash_secret,
    parse_token,
    secret_matches,
)

FEED_FILENAME = "appointments.ics"
# Compared against when a token names no feed, so an unknown feed costs what a wrong secret does.
_NO_HASH = hash_secret("")


async def feed_with_hash(
    engine: AsyncEngine, tenant_id: uuid.UUID, feed_id: uuid.UUID
) -> tuple[CalendarFeed, bytes] | None:
    """The feed and its stored secret hash; None when the tenant has no such feed."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(calendar_feeds).where(calendar_feeds.c.tenant_id == tenant_id, calendar_feeds.c.id == feed_id)
            )
        ).one_or_none()
    if row is None:
        return None
    return feed_from_row(row), bytes(row.token_hash)


async def owner_appointments(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    owner: FeedOwner,
    start: datetime,
    end: datetime,
    *,
    include_cancelled: bool,
) -> list[Appointment]:
    """The owner's appointments overlapping [start, end), earliest first. A staff member's carry only the
    segments that staff member performs."""
    statuses = [s.value for s in Status if include_cancelled or s != Status.CANCELLED]
    query = select(appointments).where(
        appointments.c.tenant_id == tenant_id,
        appointments.c.starts_at < end,
        appointments.c.ends_at > start,
        appointments.c.status.in_(statuses),
    )
    segments_query = select(appointment_segments).where(appointment_segments.c.tenant_id == tenant_id)
    if owner.kind == "client":
        query = query.where(appointments.c.client_id == owner.id)
    else:
        query = query.where(
            exists().where(
                appointment_segments.c.tenant_id == appointments.c.tenant_id,
                appointment_segments.c.appointment_id == appointments.c.id,
                appointment_segments.c.staff_id == owner.id,
            )
        )
        segments_query = segments_query.where(appointment_segments.c.staff_id == owner.id)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(query.order_by(appointments.c.starts_at, appointments.c.id).limit(MAX_FEED_EVENTS))
        ).all()
        if not rows:
            return []
        segments = (
            await conn.execute(segments_query.where(appointment_segments.c.appointment_id.in_([r.id for r in rows])))
        ).all()
    by_appointment: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for s in segments:
        by_appointment[s.appointment_id].append(s)
    return [appointment_from_rows(r, by_appointment[r.id]) for r in rows if by_appointment[r.id]]


async def staff_names(
    engine: AsyncEngine, tenant_id: uuid.UUID, staff_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    if not staff_ids:
        return {}
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(staff_members.c.staff_id, staff_members.c.display_name).where(
                staff_members.c.tenant_id == tenant_id, staff_members.c.staff_id.in_(list(staff_ids))
            )
        )
        return {r.staff_id: r.display_name for r in rows}


async def render_feed(engine: AsyncEngine, *, tenant_id: uuid.UUID, token: str, now: datetime) -> bytes:
    """The feed's calendar. The token must name a live feed of this tenant and carry its secret; anything
    else is NotFound, the same answer whatever was wrong."""
    parsed = parse_token(token)
    found = None
    if parsed.tenant_id == tenant_id:
        found = await feed_with_hash(engine, tenant_id, parsed.feed_id)
    feed, stored = found if found is not None else (None, _NO_HASH)
    if not secret_matches(stored, parsed.secret) or feed is None or not feed.live:
        raise NotFound("calendar feed not found")
    start, end = feed.window(now)
    appointments = await owner_appointments(
        engine, tenant_id, feed.owner, start, end, include_cancelled=feed.include_cancelled
    )
    if feed.owner.kind == "staff":
        names = await staff_names(engine, tenant_id, {feed.owner.id})
        own = names.get(feed.owner.id, "")
        return ical.calendar(
            appointments,
            name=f"Appointments: {own}" if own else "Appointments",
            staff_id=feed.owner.id,
            staff_names=names,
            feed=True,
        )
    names = await staff_names(engine, tenant_id, {s.staff_id for a in appointments for s in a.segments})
    return ical.calendar(appointments, name="My appointments", staff_id=None, staff_names=names, feed=True)


async def appointment_ics(
    engine: AsyncEngine, *, tenant_id: uuid.UUID, viewer: Viewer, appointment_id: uuid.UUID
) -> tuple[bytes, str]:
    """(the .ics file, a file name) of one appointment; a portal client sees only its own."""
    appointment = await views.get_appointment(engine, tenant_id, appointment_id)
    if viewer.kind == "portal" and viewer.client_id != str(appointment.client_id):
        raise NotFound("appointment not found")
    names = await staff_names(engine, tenant_id, {s.staff_id for s in appointment.segments})
    content = ical.calendar([appointment], name="", staff_id=None, staff_names=names, feed=False)
    day = appointment.starts_at.astimezone(ZoneInfo(appointment.timezone)).date()
    return content, f"appointment-{day.isoformat()}.ics"
