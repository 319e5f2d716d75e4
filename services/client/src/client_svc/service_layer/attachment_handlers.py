"""Use cases over attachments: bytes to blob storage (the unit of work's ``storage``), the record (and its
event) to the database."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from client_svc.domain import commands_attachments as commands
from client_svc.domain.attachments import Attachment, Receipt, clean_filename, storage_key
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.errors import NotFound
from platform_core.ids import new_id


async def _live_client(uow: ClientUnitOfWork, tenant_id: uuid.UUID, client_id: uuid.UUID) -> None:
    client = await uow.clients.get(tenant_id, client_id)
    if client is None:
        raise NotFound("client not found")
    client.require_live()


async def upload_attachment(cmd: commands.UploadAttachment, uow: ClientUnitOfWork) -> Attachment:
    """Check the bytes as they stream into storage (size as they come, type from the first bytes, before
    anything is stored), then record the attachment. A failure anywhere leaves no bytes behind."""
    clean_filename(cmd.filename)  # a bad name is refused before any byte is read
    async with uow:
        await _live_client(uow, cmd.tenant_id, cmd.client_id)
    attachment_id = new_id()
    key = storage_key(cmd.tenant_id, cmd.client_id, attachment_id)
    receipt = Receipt(uow.attachment_policy, cmd.declared_content_type)

    async def checked() -> AsyncIterator[bytes]:
        held: list[bytes] | None = []
        async for chunk in cmd.content:
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
        await uow.storage.put(key, checked())
        async with uow:
            await _live_client(uow, cmd.tenant_id, cmd.client_id)
            attachment = Attachment.record(
                tenant_id=cmd.tenant_id,
                attachment_id=attachment_id,
                client_id=cmd.client_id,
                filename=cmd.filename,
                receipt=receipt,
                shared_with_client=cmd.shared_with_client,
                uploaded_by=cmd.uploaded_by,
                now=cmd.now,
            )
            uow.attachments.add(attachment)
            await uow.commit()
    except BaseException:
        with contextlib.suppress(Exception):
            await uow.storage.delete(key)
        raise
    return attachment


@dataclass(frozen=True)
class Download:
    attachment: Attachment
    # The bytes, read from storage as they are consumed.
    content: AsyncIterator[bytes]


async def download_attachment(cmd: commands.DownloadAttachment, uow: ClientUnitOfWork) -> Download:
    """An attachment its reader may see (a portal client: its own, shared with it), with its bytes."""
    async with uow:
        attachment = await uow.attachments.get(cmd.tenant_id, cmd.client_id, cmd.attachment_id)
    if attachment is None or not attachment.visible_to(portal_client_id=cmd.portal_client_id):
        raise NotFound("attachment not found")
    return Download(attachment, uow.storage.open(attachment.storage_key))


async def list_attachments(cmd: commands.ListAttachments, uow: ClientUnitOfWork) -> list[Attachment]:
    async with uow:
        if cmd.portal_client_id is None and await uow.clients.get(cmd.tenant_id, cmd.client_id) is None:
            raise NotFound("client not found")
        attachments = await uow.attachments.of_client(cmd.tenant_id, cmd.client_id)
    return [a for a in attachments if a.visible_to(portal_client_id=cmd.portal_client_id)]


async def update_attachment(cmd: commands.UpdateAttachment, uow: ClientUnitOfWork) -> Attachment:
    async with uow:
        attachment = await _live_attachment(uow, cmd.tenant_id, cmd.client_id, cmd.attachment_id)
        attachment.change(filename=cmd.filename, shared_with_client=cmd.shared_with_client, now=cmd.now)
        await uow.commit()
        return attachment


async def delete_attachment(cmd: commands.DeleteAttachment, uow: ClientUnitOfWork) -> Attachment:
    async with uow:
        attachment = await _live_attachment(uow, cmd.tenant_id, cmd.client_id, cmd.attachment_id)
        attachment.delete(now=cmd.now)
        await uow.commit()
        return attachment


async def _live_attachment(
    uow: ClientUnitOfWork, tenant_id: uuid.UUID, client_id: uuid.UUID, attachment_id: uuid.UUID
) -> Attachment:
    attachment = await uow.attachments.get(tenant_id, client_id, attachment_id)
    if attachment is None or attachment.deleted:
        raise NotFound("attachment not found")
    return attachment
