"""Attachments over gRPC: streamed upload and download, limits, portal visibility, events, no leftovers."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import nats
import pytest

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import events_pb2
from atrium.common.v1 import events_pb2 as envelope_pb2
from client_svc.config import ClientSettings
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.errors import from_rpc_error
from platform_core.messaging.envelope import stream_name

from ..conftest import ATTACHMENT_MAX_BYTES
from .stubs import ClientStubs

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 100  # past the sniffed head, several chunks


def staff(tenant: uuid.UUID) -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))


@pytest.fixture
def stub(client_channel: grpc.aio.Channel) -> ClientStubs:
    return ClientStubs(client_channel)


async def upload(
    stub: ClientStubs,
    client_id: str,
    data: bytes,
    *,
    filename: str = "scan.pdf",
    declared: str = "application/pdf",
    shared: bool = False,
) -> record_pb.Attachment:
    async def parts() -> AsyncIterator[record_pb.UploadAttachmentRequest]:
        yield record_pb.UploadAttachmentRequest(
            header=record_pb.AttachmentHeader(
                client_id=client_id, filename=filename, declared_content_type=declared, shared_with_client=shared
            )
        )
        for start in range(0, len(data), 4096):
            yield record_pb.UploadAttachmentRequest(chunk=data[start : start + 4096])

    return await stub.UploadAttachment(parts())


async def download(stub: ClientStubs, client_id: str, attachment_id: str) -> tuple[record_pb.Attachment, bytes]:
    meta, body = None, b""
    async for part in stub.DownloadAttachment(record_pb.GetAttachmentRequest(client_id=client_id, id=attachment_id)):
        if part.HasField("attachment"):
            meta = part.attachment
        else:
            body += part.chunk
    assert meta is not None
    return meta, body


def blobs(settings: ClientSettings) -> set[Path]:
    return {p for p in Path(settings.blob_dir).rglob("*") if p.is_file()}


async def test_upload_list_download_share_and_delete(stub: ClientStubs, client_settings: ClientSettings) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        client = await stub.CreateClient(pb.CreateClientRequest(first_name="Ada"))
        stored = await upload(stub, client.id, PDF, filename="C:\\scans\\intake.pdf")
        assert (stored.filename, stored.content_type, stored.size_bytes) == ("intake.pdf", "application/pdf", len(PDF))
        assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
        meta, body = await download(stub, client.id, stored.id)
        assert (meta, body) == (stored, PDF)
        listed = await stub.ListAttachments(record_pb.ListAttachmentsRequest(client_id=client.id))
        assert [a.id for a in listed.attachments] == [stored.id]

    portal = CallContext(tenant, Principal("portal", str(uuid.uuid4()), client_id=client.id))
    with bind_call_context(portal):
        assert not (await stub.ListAttachments(record_pb.ListAttachmentsRequest(client_id=client.id))).attachments
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await download(stub, client.id, stored.id)
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    with bind_call_context(staff(tenant)):
        shared = await stub.UpdateAttachment(
            record_pb.UpdateAttachmentRequest(client_id=client.id, id=stored.id, shared_with_client=True)
        )
        assert shared.shared_with_client
    with bind_call_context(portal):
        assert [
            a.id
            for a in (await stub.ListAttachments(record_pb.ListAttachmentsRequest(client_id=client.id))).attachments
        ] == [stored.id]
        assert (await download(stub, client.id, stored.id))[1] == PDF
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await upload(stub, client.id, PDF)
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with bind_call_context(staff(uuid.uuid4())), pytest.raises(grpc.aio.AioRpcError) as exc:
        await download(stub, client.id, stored.id)
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    with bind_call_context(staff(tenant)):
        await stub.DeleteAttachment(record_pb.DeleteAttachmentRequest(client_id=client.id, id=stored.id))
        assert not (await stub.ListAttachments(record_pb.ListAttachmentsRequest(client_id=client.id))).attachments
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await download(stub, client.id, stored.id)
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("data", "declared", "code", "reason"),
    [
        (
            PDF + b"x" * ATTACHMENT_MAX_BYTES,
            "application/pdf",
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "ATTACHMENT_TOO_LARGE",
        ),
        (b"MZ\x90\x00" * 10, "application/pdf", grpc.StatusCode.INVALID_ARGUMENT, "UNSUPPORTED_MEDIA_TYPE"),
        (PDF, "image/png", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        (b"", "text/plain", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
    ],
)
async def test_refused_uploads_leave_no_bytes_and_no_record(
    stub: ClientStubs,
    client_settings: ClientSettings,
    data: bytes,
    declared: str,
    code: grpc.StatusCode,
    reason: str,
) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        client = await stub.CreateClient(pb.CreateClientRequest(first_name="Ada"))
        before = blobs(client_settings)
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await upload(stub, client.id, data, declared=declared)
        error = from_rpc_error(exc.value)
        assert (error.code, error.reason) == (code, reason)
        assert not (await stub.ListAttachments(record_pb.ListAttachmentsRequest(client_id=client.id))).attachments
    assert blobs(client_settings) - before == set()


async def test_attachment_events_leave_through_the_outbox(stub: ClientStubs, client_settings: ClientSettings) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        client = await stub.CreateClient(pb.CreateClientRequest(first_name="Ada"))
        stored = await upload(stub, client.id, b"plain text notes\n", filename="notes.txt", declared="text/plain")
    nc = await nats.connect(client_settings.nats_url)
    try:
        js = nc.jetstream()
        subject = f"{client_settings.nats_prefix}.client.v1.ClientAttachmentAdded"
        sub = await js.pull_subscribe(subject, stream=stream_name(client_settings.nats_prefix, "client"))
        payload = None
        while payload is None:
            for msg in await sub.fetch(100, timeout=5):
                await msg.ack()
                envelope = envelope_pb2.EventEnvelope.FromString(msg.data)
                if envelope.aggregate_id == client.id:
                    payload = events_pb2.ClientAttachmentAdded()
                    envelope.payload.Unpack(payload)
        assert (payload.attachment_id, payload.filename, payload.content_type) == (stored.id, "notes.txt", "text/plain")
    finally:
        await nc.close()
