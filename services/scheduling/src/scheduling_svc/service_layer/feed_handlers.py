"""Use cases of calendar feeds: issue, revoke and list an owner's feeds. Rendering a feed and one appointment as
an .ics file change nothing and are views (calendar_views.py)."""

from __future__ import annotations

import uuid

from platform_core.errors import NotFound
from platform_core.ids import new_id
from scheduling_svc.domain import commands
from scheduling_svc.domain.feeds import CalendarFeed, FeedOwner, check_may_manage, new_secret, token_for
from scheduling_svc.service_layer.unit_of_work import SchedulingUnitOfWork


async def _check_owner_exists(uow: SchedulingUnitOfWork, tenant_id: uuid.UUID, owner: FeedOwner) -> None:
    if owner.kind == "client":
        client = await uow.client_directory.lookup(owner.id)
        if client is None or client.deleted:
            raise NotFound("client not found")
        return
    async with uow:
        if not await uow.catalogue.staff(tenant_id, [owner.id]):
            raise NotFound("staff member has no schedule")


async def issue_feed(cmd: commands.IssueFeed, uow: SchedulingUnitOfWork) -> tuple[CalendarFeed, str]:
    """A new live feed for the owner and its token; the owner's previous live feed stops working."""
    check_may_manage(cmd.viewer, cmd.owner)
    await _check_owner_exists(uow, cmd.tenant_id, cmd.owner)
    secret, digest = new_secret()
    feed = CalendarFeed(cmd.tenant_id, new_id(), cmd.owner, cmd.include_cancelled, cmd.now)
    async with uow:
        await uow.feeds.issue(feed, digest, cmd.actor)
        await uow.commit()
    return feed, token_for(cmd.tenant_id, feed.id, secret)


async def revoke_feed(cmd: commands.RevokeFeed, uow: SchedulingUnitOfWork) -> CalendarFeed:
    check_may_manage(cmd.viewer, cmd.owner)
    async with uow:
        feed = await uow.feeds.revoke(cmd.tenant_id, cmd.owner, cmd.feed_id, cmd.actor, cmd.now)
        await uow.commit()
    return feed


async def list_feeds(cmd: commands.ListFeeds, uow: SchedulingUnitOfWork) -> list[CalendarFeed]:
    check_may_manage(cmd.viewer, cmd.owner)
    async with uow:
        return await uow.feeds.of_owner(cmd.tenant_id, cmd.owner)
