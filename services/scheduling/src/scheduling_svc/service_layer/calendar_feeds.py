"""Use cases of calendar files: issue, revoke and list an owner's feeds; render a feed for whoever holds
its token; one appointment as an .ics file."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from platform_core.errors import NotFound
from platform_core.ids import new_id
from scheduling_svc import calendar_views, views
from scheduling_svc.adapters import ical
from scheduling_svc.adapters.client_directory import AbstractClientDirectory
from scheduling_svc.domain.feeds import (
    CalendarFeed,
    FeedOwner,
    Viewer,
    check_may_manage,
    hash_secret,
    new_secret,
    parse_token,
    secret_matches,
    token_for,
)
from scheduling_svc.service_layer.unit_of_work import SchedulingUnitOfWork

FEED_FILENAME = "appointments.ics"
# Compared against when a token names no feed, so an unknown feed costs what a wrong secret does.
_NO_HASH = hash_secret("")


async def _check_owner_exists(
    uow: SchedulingUnitOfWork, directory: AbstractClientDirectory, tenant_id: uuid.UUID, owner: FeedOwner
) -> None:
    if owner.kind == "client":
        client = await directory.lookup(owner.id)
        if client is None or client.deleted:
            raise NotFound("client not found")
        return
    async with uow:
        if not await uow.catalogue.staff(tenant_id, [owner.id]):
            raise NotFound("staff member has no schedule")


async def issue_feed(
    uow: SchedulingUnitOfWork,
    directory: AbstractClientDirectory,
    *,
    tenant_id: uuid.UUID,
    viewer: Viewer,
    owner: FeedOwner,
    include_cancelled: bool,
    actor: str,
    now: datetime,
) -> tuple[CalendarFeed, str]:
    """A new live feed for the owner and its token; the owner's previous live feed stops working."""
    check_may_manage(viewer, owner)
    await _check_owner_exists(uow, directory, tenant_id, owner)
    secret, digest = new_secret()
    feed = CalendarFeed(tenant_id, new_id(), owner, include_cancelled, now)
    async with uow:
        await uow.feeds.issue(feed, digest, actor)
        await uow.commit()
    return feed, token_for(tenant_id, feed.id, secret)


async def revoke_feed(
    uow: SchedulingUnitOfWork,
    *,
    tenant_id: uuid.UUID,
    viewer: Viewer,
    owner: FeedOwner,
    feed_id: uuid.UUID,
    actor: str,
    now: datetime,
) -> CalendarFeed:
    check_may_manage(viewer, owner)
    async with uow:
        feed = await uow.feeds.revoke(tenant_id, owner, feed_id, actor, now)
        await uow.commit()
    return feed


async def list_feeds(
    uow: SchedulingUnitOfWork, *, tenant_id: uuid.UUID, viewer: Viewer, owner: FeedOwner
) -> list[CalendarFeed]:
    check_may_manage(viewer, owner)
    async with uow:
        return await uow.feeds.of_owner(tenant_id, owner)


async def render_feed(engine: AsyncEngine, *, tenant_id: uuid.UUID, token: str, now: datetime) -> bytes:
    """The feed's calendar. The token must name a live feed of this tenant and carry its secret; anything
    else is NotFound, the same answer whatever was wrong."""
    parsed = parse_token(token)
    found = None
    if parsed.tenant_id == tenant_id:
        found = await calendar_views.feed_with_hash(engine, tenant_id, parsed.feed_id)
    feed, stored = found if found is not None else (None, _NO_HASH)
    if not secret_matches(stored, parsed.secret) or feed is None or not feed.live:
        raise NotFound("calendar feed not found")
    start, end = feed.window(now)
    appointments = await calendar_views.owner_appointments(
        engine, tenant_id, feed.owner, start, end, include_cancelled=feed.include_cancelled
    )
    if feed.owner.kind == "staff":
        names = await calendar_views.staff_names(engine, tenant_id, {feed.owner.id})
        own = names.get(feed.owner.id, "")
        return ical.calendar(
            appointments,
            name=f"Appointments: {own}" if own else "Appointments",
            staff_id=feed.owner.id,
            staff_names=names,
            feed=True,
        )
    names = await calendar_views.staff_names(engine, tenant_id, {s.staff_id for a in appointments for s in a.segments})
    return ical.calendar(appointments, name="My appointments", staff_id=None, staff_names=names, feed=True)


async def appointment_ics(
    engine: AsyncEngine, *, tenant_id: uuid.UUID, viewer: Viewer, appointment_id: uuid.UUID
) -> tuple[bytes, str]:
    """(the .ics file, a file name) of one appointment; a portal client sees only its own."""
    appointment = await views.get_appointment(engine, tenant_id, appointment_id)
    if viewer.kind == "portal" and viewer.client_id != str(appointment.client_id):
        raise NotFound("appointment not found")
    names = await calendar_views.staff_names(engine, tenant_id, {s.staff_id for s in appointment.segments})
    content = ical.calendar([appointment], name="", staff_id=None, staff_names=names, feed=False)
    day = appointment.starts_at.astimezone(ZoneInfo(appointment.timezone)).date()
    return content, f"appointment-{day.isoformat()}.ics"
