"""Use cases over attachments: bytes to blob storage, the record (and its event) to the database."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from client_svc.adapters.storage import AbstractBlobStorage
from client_svc.domain.attachments import Attachment, AttachmentPolicy, Receipt, clean_filename, storage_key
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.errors import NotFound
from platform_core.ids import new_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UploadHeader:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    filename: str
    declared_content_type: str
    shared_with_client: bool
    uploaded_by: str


async def _live_client(uow: ClientUnitOfWork, tenant_id: uuid.UUID, client_id: uuid.UUID) -> None:
    client = await uow.clients.get(tenant_id, client_id)
    if client is None:
        raise NotFound("client not found")
    client.require_live()


async def upload_attachment(
    header: UploadHeader,
    chunks: AsyncIterator[bytes],
    uow: ClientUnitOfWork,
    storage: AbstractBlobStorage,
    policy: AttachmentPolicy,
) -> Attachment:
    """Check the bytes as they stream into storage (size as they come, type from the first bytes, before
    anything is stored), then record the attachment. A failure anywhere leaves no bytes behind."""
    clean_filename(header.filename)  # a bad name is refused before any byte is read
    async with uow:
        await _live_client(uow, header.tenant_id, header.client_id)
    attachment_id = new_id()
    key = storage_key(header.tenant_id, header.client_id, attachment_id)
    receipt = Receipt(policy, header.declared_content_type)

    async def checked() -> AsyncIterator[bytes]:
        held: list[bytes] | None = []
        async for chunk in chunks:
            receipt.take(chunk)
            if held is None:
                yield chunk
                continue
            held.append(chunk)
            if receipt.sniffable:
                receipt.content_type()
                for early in held:
                    yield early
                held = None
        if held is not None:
            receipt.finish()  # a small file: empty, or of a type not accepted, is refused here
            for early in held:
                yield early

    try:
        await storage.put(key, checked())
        async with uow:
            await _live_client(uow, header.tenant_id, header.client_id)
            attachment = Attachment.record(
                tenant_id=header.tenant_id,
                attachment_id=attachment_id,
                client_id=header.client_id,
                filename=header.filename,
                receipt=receipt,
                shared_with_client=header.shared_with_client,
                uploaded_by=header.uploaded_by,
                now=datetime.now(UTC),
            )
            uow.attachments.add(attachment)
            await uow.commit()
    except BaseException:
        with contextlib.suppress(Exception):
            await storage.delete(key)
        raise
    return attachment


async def readable_attachment(
    tenant_id: uuid.UUID,
    client_id: uuid.UUID,
    attachment_id: uuid.UUID,
    uow: ClientUnitOfWork,
    *,
    portal_client_id: str | None,
) -> Attachment:
    async with uow:
        attachment = await uow.attachments.get(tenant_id, client_id, attachment_id)
    if attachment is None or not attachment.visible_to(portal_client_id=portal_client_id):
        raise NotFound("attachment not found")
    return attachment


async def list_attachments(
    tenant_id: uuid.UUID, client_id: uuid.UUID, uow: ClientUnitOfWork, *, portal_client_id: str | None
) -> list[Attachment]:
    async with uow:
        if portal_client_id is None and await uow.clients.get(tenant_id, client_id) is None:
            raise NotFound("client not found")
        attachments = await uow.attachments.of_client(tenant_id, client_id)
    return [a for a in attachments if a.visible_to(portal_client_id=portal_client_id)]


async def change_attachment(
    tenant_id: uuid.UUID,
    client_id: uuid.UUID,
    attachment_id: uuid.UUID,
    uow: ClientUnitOfWork,
    *,
    filename: str | None,
    shared_with_client: bool | None,
) -> Attachment:
    async with uow:
        attachment = await uow.attachments.get(tenant_id, client_id, attachment_id)
        if attachment is None or attachment.deleted:
            raise NotFound("attachment not found")
        attachment.change(filename=filename, shared_with_client=shared_with_client, now=datetime.now(UTC))
        await uow.commit()
        return attachment


async def delete_attachment(
    tenant_id: uuid.UUID, client_id: uuid.UUID, attachment_id: uuid.UUID, uow: ClientUnitOfWork
) -> Attachment:
    async with uow:
        attachment = await uow.attachments.get(tenant_id, client_id, attachment_id)
        if attachment is None or attachment.deleted:
            raise NotFound("attachment not found")
        attachment.delete(now=datetime.now(UTC))
        await uow.commit()
        return attachment
