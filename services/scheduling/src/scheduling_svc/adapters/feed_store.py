"""Calendar feeds in PostgreSQL: issuing (which revokes the owner's live feed), revoking, listing."""

from __future__ import annotations

import abc
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from platform_core.errors import Conflict, NotFound
from scheduling_svc.adapters.repository import constraint_of
from scheduling_svc.adapters.tables import calendar_feeds
from scheduling_svc.domain.feeds import CalendarFeed, FeedOwner


def feed_from_row(row: Any) -> CalendarFeed:
    return CalendarFeed(
        tenant_id=row.tenant_id,
        id=row.id,
        owner=FeedOwner(row.owner_kind, row.owner_id),
        include_cancelled=row.include_cancelled,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _of_owner(tenant_id: uuid.UUID, owner: FeedOwner) -> tuple[Any, ...]:
    return (
        calendar_feeds.c.tenant_id == tenant_id,
        calendar_feeds.c.owner_kind == owner.kind,
        calendar_feeds.c.owner_id == owner.id,
    )


class AbstractFeedStore(abc.ABC):
    @abc.abstractmethod
    async def issue(self, feed: CalendarFeed, token_hash: bytes, actor: str) -> None:
        """Store a new live feed, revoking the owner's live one: rotation is one transaction."""

    @abc.abstractmethod
    async def revoke(
        self, tenant_id: uuid.UUID, owner: FeedOwner, feed_id: uuid.UUID, actor: str, now: datetime
    ) -> CalendarFeed:
        """Revoke the feed (revoking a revoked feed changes nothing); NotFound unless it is the owner's."""

    @abc.abstractmethod
    async def of_owner(self, tenant_id: uuid.UUID, owner: FeedOwner) -> list[CalendarFeed]:
        """The owner's feeds, newest first."""


class FeedStore(AbstractFeedStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def issue(self, feed: CalendarFeed, token_hash: bytes, actor: str) -> None:
        await self.session.execute(
            update(calendar_feeds)
            .where(*_of_owner(feed.tenant_id, feed.owner), calendar_feeds.c.revoked_at.is_(None))
            .values(revoked_at=feed.created_at, revoked_by=actor)
        )
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    insert(calendar_feeds).values(
                        tenant_id=feed.tenant_id,
                        id=feed.id,
                        owner_kind=feed.owner.kind,
                        owner_id=feed.owner.id,
                        token_hash=token_hash,
                        include_cancelled=feed.include_cancelled,
                        created_at=feed.created_at,
                        created_by=actor,
                    )
                )
        except IntegrityError as exc:
            if constraint_of(exc) != "calendar_feeds_one_live_per_owner":
                raise
            raise Conflict(
                "another calendar feed was issued for this owner at the same moment; try again",
                reason="CONCURRENT_CHANGE",
            ) from exc

    async def revoke(
        self, tenant_id: uuid.UUID, owner: FeedOwner, feed_id: uuid.UUID, actor: str, now: datetime
    ) -> CalendarFeed:
        row = (
            await self.session.execute(
                update(calendar_feeds)
                .where(*_of_owner(tenant_id, owner), calendar_feeds.c.id == feed_id)
                .values(
                    revoked_at=func.coalesce(calendar_feeds.c.revoked_at, now),
                    revoked_by=func.coalesce(calendar_feeds.c.revoked_by, actor),
                )
                .returning(calendar_feeds)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("calendar feed not found")
        return feed_from_row(row)

    async def of_owner(self, tenant_id: uuid.UUID, owner: FeedOwner) -> list[CalendarFeed]:
        rows = await self.session.execute(
            select(calendar_feeds)
            .where(*_of_owner(tenant_id, owner))
            .order_by(calendar_feeds.c.created_at.desc(), calendar_feeds.c.id.desc())
        )
        return [feed_from_row(r) for r in rows]
