"""Campaigns in the database; the state change draft -> sending is decided by the database (sent once)."""

from __future__ import annotations

import abc
import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from notification_svc.domain.campaigns import CampaignDraft


class AbstractCampaignStore(abc.ABC):
    @abc.abstractmethod
    async def add(self, campaign_id: uuid.UUID, draft: CampaignDraft, now: datetime) -> None: ...

    @abc.abstractmethod
    async def start(self, tenant_id: uuid.UUID, campaign_id: uuid.UUID, recipients: int, now: datetime) -> bool:
        """Draft -> sending; False when it is not a draft (already sent, or unknown)."""

    @abc.abstractmethod
    async def sources(self, tenant_id: uuid.UUID, campaign_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Each campaign's Jinja blocks (what its messages are rendered with)."""


class SqlAlchemyCampaignStore(AbstractCampaignStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, campaign_id: uuid.UUID, draft: CampaignDraft, now: datetime) -> None:
        await self.session.execute(
            text(
                "INSERT INTO campaigns (tenant_id, id, name, channel, group_id, status_id, tag, source, "
                "rate_per_minute, status, created_by, created_at) VALUES (:t, :id, :name, :channel, :group_id, "
                ":status_id, :tag, :source, :rate, 'draft', :by, :now)"
            ),
            {
                "t": draft.tenant_id,
                "id": campaign_id,
                "name": draft.name,
                "channel": draft.channel,
                "group_id": draft.segment.group_id,
                "status_id": draft.segment.status_id,
                "tag": draft.segment.tag,
                "source": draft.source,
                "rate": draft.rate_per_minute,
                "by": draft.created_by,
                "now": now,
            },
        )

    async def start(self, tenant_id: uuid.UUID, campaign_id: uuid.UUID, recipients: int, now: datetime) -> bool:
        started = await self.session.execute(
            text(
                "UPDATE campaigns SET status = 'sending', started_at = :now, recipients = :n "
                "WHERE tenant_id = :t AND id = :id AND status = 'draft'"
            ),
            {"t": tenant_id, "id": campaign_id, "n": recipients, "now": now},
        )
        return bool(started.rowcount)  # type: ignore[attr-defined]

    async def sources(self, tenant_id: uuid.UUID, campaign_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not campaign_ids:
            return {}
        rows = await self.session.execute(
            text("SELECT id, source FROM campaigns WHERE tenant_id = :t AND id = ANY(:ids)"),
            {"t": tenant_id, "ids": list(campaign_ids)},
        )
        return {r.id: r.source for r in rows}
