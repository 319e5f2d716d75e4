"""Calendar feeds through the fake unit of work: issuing rotates an owner's feed, who may manage which feed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from platform_core.errors import NotFound, PermissionDenied
from scheduling_svc.domain import commands
from scheduling_svc.domain.feeds import FeedOwner, Viewer, parse_token
from scheduling_svc.service_layer import feed_handlers

from .fakes import ANNA, CLIENT, TENANT, a_business

NOW = datetime(2030, 3, 4, 7, 0, tzinfo=UTC)
FRONT_DESK = Viewer("staff", str(uuid.uuid4()), "staff")
OWNER = Viewer("staff", str(uuid.uuid4()), "owner")
THE_CLIENT = FeedOwner("client", CLIENT)


def issue(owner: FeedOwner, viewer: Viewer = FRONT_DESK, now: datetime = NOW) -> commands.IssueFeed:
    return commands.IssueFeed(TENANT, viewer, owner, include_cancelled=False, actor="staff:x", now=now)


async def test_issuing_a_feed_gives_a_token_for_it_and_revokes_the_owners_previous_feed() -> None:
    uow = a_business()

    first, token = await feed_handlers.issue_feed(issue(THE_CLIENT), uow)
    second, _ = await feed_handlers.issue_feed(issue(THE_CLIENT, now=NOW + timedelta(minutes=1)), uow)

    parsed = parse_token(token)
    assert (parsed.tenant_id, parsed.feed_id) == (TENANT, first.id)
    assert uow.client_directory.asked == [CLIENT, CLIENT]  # type: ignore[attr-defined]
    listed = await feed_handlers.list_feeds(commands.ListFeeds(TENANT, FRONT_DESK, THE_CLIENT), uow)
    assert [(f.id, f.live) for f in listed] == [(second.id, True), (first.id, False)]


async def test_a_feed_is_issued_only_for_a_client_or_a_staff_member_that_exists() -> None:
    uow = a_business()
    with pytest.raises(NotFound):
        await feed_handlers.issue_feed(issue(FeedOwner("client", uuid.uuid4())), uow)
    with pytest.raises(NotFound):
        await feed_handlers.issue_feed(issue(FeedOwner("staff", uuid.uuid4()), OWNER), uow)
    assert uow.stored.feeds == {}


async def test_only_owners_admins_and_the_staff_member_manage_a_staff_feed() -> None:
    uow = a_business()
    anna = FeedOwner("staff", ANNA)
    with pytest.raises(PermissionDenied):
        await feed_handlers.issue_feed(issue(anna, FRONT_DESK), uow)

    feed, _ = await feed_handlers.issue_feed(issue(anna, Viewer("staff", str(ANNA), "staff")), uow)
    with pytest.raises(PermissionDenied):
        await feed_handlers.revoke_feed(commands.RevokeFeed(TENANT, FRONT_DESK, anna, feed.id, "staff:x", NOW), uow)
    revoked = await feed_handlers.revoke_feed(commands.RevokeFeed(TENANT, OWNER, anna, feed.id, "staff:y", NOW), uow)

    assert revoked.revoked_at == NOW and not revoked.live


async def test_a_portal_client_manages_its_own_feed_and_finds_no_other() -> None:
    uow = a_business()
    me = Viewer("portal", str(CLIENT), client_id=str(CLIENT))
    feed, _ = await feed_handlers.issue_feed(issue(THE_CLIENT, me), uow)
    other = FeedOwner("client", uuid.uuid4())
    with pytest.raises(NotFound):
        await feed_handlers.list_feeds(commands.ListFeeds(TENANT, me, other), uow)
    with pytest.raises(NotFound):
        await feed_handlers.revoke_feed(commands.RevokeFeed(TENANT, me, other, feed.id, "client:x", NOW), uow)
    assert [f.id for f in await feed_handlers.list_feeds(commands.ListFeeds(TENANT, me, THE_CLIENT), uow)] == [feed.id]
