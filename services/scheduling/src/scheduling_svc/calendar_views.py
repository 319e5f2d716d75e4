"""Read side of calendar files: a feed by its id, an owner's appointments in the feed's window, the staff
names events show. A feed costs four queries whatever its size (feed, appointments, their segments, names)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling_svc.adapters.feed_store import feed_from_row
from scheduling_svc.adapters.repository import appointment_from_rows
from scheduling_svc.adapters.tables import appointment_segments, appointments, calendar_feeds, staff_members
from scheduling_svc.domain.appointments import Appointment, Status
from scheduling_svc.domain.feeds import MAX_FEED_EVENTS, CalendarFeed, FeedOwner


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
