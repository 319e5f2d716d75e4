"""Sent emails: claimed in the consumer's transaction before sending, so a redelivered event sends nothing."""

from __future__ import annotations

import abc
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from notification_svc.domain.emails import SentEmail


class AbstractSentEmailRepository(abc.ABC):
    seen: set[Any] = set()

    @abc.abstractmethod
    async def claim(self, email: SentEmail) -> bool:
        """Record the email; False when one was already recorded for its source event."""


class SqlAlchemySentEmailRepository(AbstractSentEmailRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, email: SentEmail) -> bool:
        inserted = await self.session.scalar(
            text(
                "INSERT INTO sent_emails (tenant_id, id, client_id, kind, to_address, subject, message_id, transport, "
                "source_event_id) VALUES (:tenant_id, :id, :client_id, :kind, :to_address, :subject, :message_id, "
                ":transport, :source_event_id) ON CONFLICT (source_event_id) DO NOTHING RETURNING id"
            ),
            vars(email),
        )
        return inserted is not None
