"""Attachment records (aggregates raising events; the bytes are in blob storage)."""

from __future__ import annotations

import abc
import uuid

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from client_svc.adapters.tables import client_attachments
from client_svc.domain.attachments import Attachment


class AbstractAttachmentRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: set[Attachment] = set()

    def add(self, attachment: Attachment) -> None:
        self._add(attachment)
        self.seen.add(attachment)

    async def get(self, tenant_id: uuid.UUID, client_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment | None:
        attachment = await self._get(tenant_id, attachment_id)
        if attachment is None or attachment.client_id != client_id:
            return None
        self.seen.add(attachment)
        return attachment

    @abc.abstractmethod
    def _add(self, attachment: Attachment) -> None: ...

    @abc.abstractmethod
    async def _get(self, tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment | None: ...

    @abc.abstractmethod
    async def of_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[Attachment]:
        """Live attachments, newest first."""

    @abc.abstractmethod
    async def storage_keys_of(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[str]:
        """Where the bytes of a client's files are kept, and of the clients merged into it (erased with it)."""


class SqlAlchemyAttachmentRepository(AbstractAttachmentRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self.session = session

    def _add(self, attachment: Attachment) -> None:
        self.session.add(attachment)

    async def _get(self, tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment | None:
        return await self.session.get(Attachment, (tenant_id, attachment_id))

    async def of_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[Attachment]:
        t = client_attachments
        result = await self.session.execute(
            select(Attachment)
            .where(t.c.tenant_id == tenant_id, t.c.client_id == client_id, t.c.deleted_at.is_(None))
            .order_by(t.c.uploaded_at.desc(), t.c.id.desc())
        )
        return list(result.scalars())

    async def storage_keys_of(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[str]:
        rows = await self.session.execute(
            text(
                "SELECT a.storage_key FROM client_attachments a JOIN clients c"
                " ON c.tenant_id = a.tenant_id AND c.id = a.client_id"
                " WHERE a.tenant_id = :t AND (c.id = :c OR c.merged_into = :c)"
            ),
            {"t": tenant_id, "c": client_id},
        )
        return [r.storage_key for r in rows]
