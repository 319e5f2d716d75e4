"""Attachment use cases through the fake unit of work: bytes to its storage port, records with their events."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from client_svc.domain import commands, commands_attachments, commands_merges
from client_svc.domain.attachments import AttachmentAdded, AttachmentChanged, AttachmentDeleted
from client_svc.service_layer import attachment_handlers, erasure_handlers, handlers
from platform_core.errors import FailedPrecondition, InvalidArgument, NotFound

from .fakes import FakeClientUnitOfWork

TENANT = uuid.uuid4()
NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
PDF = b"%PDF-1.7\n" + b"0" * 100


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def upload(client_id: uuid.UUID, *parts: bytes, shared: bool = False) -> commands_attachments.UploadAttachment:
    return commands_attachments.UploadAttachment(
        TENANT,
        client_id,
        filename="scan.pdf",
        declared_content_type="application/pdf",
        shared_with_client=shared,
        uploaded_by="staff-1",
        content=chunks(*parts),
        now=NOW,
    )


async def a_client(uow: FakeClientUnitOfWork) -> uuid.UUID:
    return (await handlers.create_client(commands.CreateClient(TENANT, first_name="Ada", now=NOW), uow)).client.id


async def test_an_upload_stores_its_bytes_and_records_the_attachment(uow: FakeClientUnitOfWork) -> None:
    client_id = await a_client(uow)
    attachment = await attachment_handlers.upload_attachment(upload(client_id, PDF[:10], PDF[10:]), uow)
    assert (attachment.content_type, attachment.size_bytes, attachment.uploaded_at) == (
        "application/pdf",
        len(PDF),
        NOW,
    )
    assert uow.storage.blobs[attachment.storage_key] == PDF
    assert isinstance(uow.published[-1], AttachmentAdded)

    download = await attachment_handlers.download_attachment(
        commands_attachments.DownloadAttachment(TENANT, client_id, attachment.id), uow
    )
    assert b"".join([chunk async for chunk in download.content]) == PDF
    listed = await attachment_handlers.list_attachments(commands_attachments.ListAttachments(TENANT, client_id), uow)
    assert [a.id for a in listed] == [attachment.id]


async def test_a_refused_upload_leaves_no_bytes_and_no_record(uow: FakeClientUnitOfWork) -> None:
    client_id = await a_client(uow)
    with pytest.raises(InvalidArgument):
        await attachment_handlers.upload_attachment(upload(client_id, b"MZ" + b"\x00" * 100), uow)
    assert uow.storage.blobs == {} and uow.attachments.rows == {}
    with pytest.raises(NotFound):
        await attachment_handlers.upload_attachment(upload(uuid.uuid4(), PDF), uow)
    await handlers.delete_client(commands.DeleteClient(TENANT, client_id, now=NOW), uow)
    with pytest.raises(FailedPrecondition):
        await attachment_handlers.upload_attachment(upload(client_id, PDF), uow)
    assert uow.storage.blobs == {}


async def test_a_portal_client_reads_only_what_is_shared_with_it(uow: FakeClientUnitOfWork) -> None:
    client_id = await a_client(uow)
    private = await attachment_handlers.upload_attachment(upload(client_id, PDF), uow)
    shared = await attachment_handlers.upload_attachment(upload(client_id, PDF, shared=True), uow)
    listed = await attachment_handlers.list_attachments(
        commands_attachments.ListAttachments(TENANT, client_id, portal_client_id=str(client_id)), uow
    )
    assert [a.id for a in listed] == [shared.id]
    with pytest.raises(NotFound):
        await attachment_handlers.download_attachment(
            commands_attachments.DownloadAttachment(TENANT, client_id, private.id, portal_client_id=str(client_id)),
            uow,
        )


async def test_changes_and_deletion_raise_their_events_and_a_deleted_file_is_gone(uow: FakeClientUnitOfWork) -> None:
    client_id = await a_client(uow)
    attachment = await attachment_handlers.upload_attachment(upload(client_id, PDF), uow)
    changed = await attachment_handlers.update_attachment(
        commands_attachments.UpdateAttachment(TENANT, client_id, attachment.id, filename="id card.pdf", now=NOW), uow
    )
    assert changed.filename == "id card.pdf" and isinstance(uow.published[-1], AttachmentChanged)
    delete = commands_attachments.DeleteAttachment(TENANT, client_id, attachment.id, now=NOW)
    await attachment_handlers.delete_attachment(delete, uow)
    assert isinstance(uow.published[-1], AttachmentDeleted)
    with pytest.raises(NotFound):
        await attachment_handlers.delete_attachment(delete, uow)


async def test_erasing_a_client_removes_its_files_bytes(uow: FakeClientUnitOfWork) -> None:
    client_id = await a_client(uow)
    await attachment_handlers.upload_attachment(upload(client_id, PDF), uow)
    assert uow.storage.blobs
    await erasure_handlers.erase_client(commands_merges.EraseClient(TENANT, client_id, confirm=True, now=NOW), uow)
    assert uow.storage.blobs == {}
