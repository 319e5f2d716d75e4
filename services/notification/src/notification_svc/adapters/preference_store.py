"""Clients' choices of what they receive, and the one-click unsubscribe links that change them."""

from __future__ import annotations

import abc
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from notification_svc.domain.preferences import Preference, UnsubscribeLink


class AbstractPreferenceStore(abc.ABC):
    @abc.abstractmethod
    async def of_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[Preference]: ...

    @abc.abstractmethod
    async def opted_out(
        self, tenant_id: uuid.UUID, client_ids: Collection[uuid.UUID]
    ) -> set[tuple[uuid.UUID, str, str]]:
        """(client, category, channel) each of these clients switched off."""

    @abc.abstractmethod
    async def choose(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, choices: Sequence[Preference], now: datetime
    ) -> None: ...

    @abc.abstractmethod
    async def preferred_channel(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> str:
        """ "email" unless the client chose "sms"."""

    @abc.abstractmethod
    async def prefer_channel(self, tenant_id: uuid.UUID, client_id: uuid.UUID, channel: str, now: datetime) -> None: ...

    @abc.abstractmethod
    async def issue_links(self, links: Sequence[tuple[UnsubscribeLink, uuid.UUID, str, str]], now: datetime) -> None:
        """Keep (link, client, category, channel) for each link put in an email."""

    @abc.abstractmethod
    async def follow_link(self, link: UnsubscribeLink, now: datetime) -> Preference | None:
        """Switch off what the link names; None for an unknown link."""


class SqlAlchemyPreferenceStore(AbstractPreferenceStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[Preference]:
        rows = await self.session.execute(
            text("SELECT category, channel, allowed FROM message_preferences WHERE tenant_id = :t AND client_id = :c"),
            {"t": tenant_id, "c": client_id},
        )
        return [Preference(*r) for r in rows]

    async def opted_out(
        self, tenant_id: uuid.UUID, client_ids: Collection[uuid.UUID]
    ) -> set[tuple[uuid.UUID, str, str]]:
        if not client_ids:
            return set()
        rows = await self.session.execute(
            text(
                "SELECT client_id, category, channel FROM message_preferences "
                "WHERE tenant_id = :t AND client_id = ANY(:ids) AND NOT allowed"
            ),
            {"t": tenant_id, "ids": list(client_ids)},
        )
        return {(r.client_id, r.category, r.channel) for r in rows}

    async def choose(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, choices: Sequence[Preference], now: datetime
    ) -> None:
        if not choices:
            return
        await self.session.execute(
            text(
                "INSERT INTO message_preferences (tenant_id, client_id, category, channel, allowed, updated_at) "
                "VALUES (:t, :c, :category, :channel, :allowed, :now) "
                "ON CONFLICT (tenant_id, client_id, category, channel) DO UPDATE "
                "SET allowed = excluded.allowed, updated_at = excluded.updated_at"
            ),
            [
                {"t": tenant_id, "c": client_id, "category": p.category, "channel": p.channel, "allowed": p.allowed,
                 "now": now}
                for p in choices
            ],
        )  # fmt: skip

    async def preferred_channel(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> str:
        chosen = await self.session.scalar(
            text("SELECT channel FROM preferred_channels WHERE tenant_id = :t AND client_id = :c"),
            {"t": tenant_id, "c": client_id},
        )
        return str(chosen or "email")

    async def prefer_channel(self, tenant_id: uuid.UUID, client_id: uuid.UUID, channel: str, now: datetime) -> None:
        await self.session.execute(
            text(
                "INSERT INTO preferred_channels (tenant_id, client_id, channel, updated_at) VALUES (:t, :c, :ch, :now) "
                "ON CONFLICT (tenant_id, client_id) DO UPDATE SET channel = excluded.channel, "
                "updated_at = excluded.updated_at"
            ),
            {"t": tenant_id, "c": client_id, "ch": channel, "now": now},
        )

    async def issue_links(self, links: Sequence[tuple[UnsubscribeLink, uuid.UUID, str, str]], now: datetime) -> None:
        if not links:
            return
        await self.session.execute(
            text(
                "INSERT INTO unsubscribe_links (secret_hash, tenant_id, client_id, category, channel, created_at) "
                "VALUES (:h, :t, :c, :category, :channel, :now)"
            ),
            [
                {"h": link.secret_hash, "t": link.tenant_id, "c": client_id, "category": category,
                 "channel": channel, "now": now}
                for link, client_id, category, channel in links
            ],
        )  # fmt: skip

    async def follow_link(self, link: UnsubscribeLink, now: datetime) -> Preference | None:
        row = (
            await self.session.execute(
                text(
                    "SELECT client_id, category, channel FROM unsubscribe_links "
                    "WHERE secret_hash = :h AND tenant_id = :t"
                ),
                {"h": link.secret_hash, "t": link.tenant_id},
            )
        ).first()
        if row is None:
            return None
        switched_off = Preference(row.category, row.channel, allowed=False)
        await self.choose(link.tenant_id, row.client_id, [switched_off], now)
        return switched_off
