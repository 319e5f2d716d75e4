"""gRPC servicer of ClientAttachments: files kept with a client.

Bytes stream both ways in chunks: an upload is a header then chunks, a download the record then chunks,
so neither side holds a whole file in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import grpc

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import client_service_pb2_grpc as pb_grpc
from client_svc.domain import commands_attachments as commands
from client_svc.domain.attachments import Attachment
from client_svc.entrypoints.access import record_id, require_staff, timestamp, utc_now
from client_svc.service_layer import attachment_handlers as handlers
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.errors import InvalidArgument, NotFound
from platform_core.grpc.context import current_context

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ClientAttachments"].full_name


def attachment_message(attachment: Attachment) -> record_pb.Attachment:
    return record_pb.Attachment(
        id=str(attachment.id),
        client_id=str(attachment.client_id),
        filename=attachment.filename,
        content_type=attachment.content_type,
        size_bytes=attachment.size_bytes,
        sha256=attachment.sha256,
        shared_with_client=attachment.shared_with_client,
        uploaded_by=attachment.uploaded_by,
        uploaded_at=timestamp(attachment.uploaded_at),
    )


def _portal_client() -> str | None:
    """The portal principal's own client id, or None for staff (anyone else is refused)."""
    call = current_context()
    if call.principal.is_portal:
        return call.principal.client_id
    require_staff()
    return None


class ClientAttachmentsServicer(pb_grpc.ClientAttachmentsServicer):
    def __init__(self, *, uow_factory: Callable[[], ClientUnitOfWork]) -> None:
        self._uow_factory = uow_factory

    async def UploadAttachment(
        self, request_iterator: AsyncIterator[record_pb.UploadAttachmentRequest], context: grpc.aio.ServicerContext
    ) -> record_pb.Attachment:
        tenant_id = require_staff()
        first = await anext(aiter(request_iterator), None)
        if first is None or not first.HasField("header"):
            raise InvalidArgument.single("header", "an upload starts with its header")
        header = first.header

        async def chunks() -> AsyncIterator[bytes]:
            async for part in request_iterator:
                if part.HasField("header"):
                    raise InvalidArgument.single("header", "only the first message is a header")
                yield part.chunk

        command = commands.UploadAttachment(
            tenant_id=tenant_id,
            client_id=record_id(header.client_id, "client"),
            filename=header.filename,
            declared_content_type=header.declared_content_type,
            shared_with_client=header.shared_with_client,
            uploaded_by=current_context().principal.id,
            content=chunks(),
            now=utc_now(),
        )
        return attachment_message(await handlers.upload_attachment(command, self._uow_factory()))

    async def ListAttachments(
        self, request: record_pb.ListAttachmentsRequest, context: grpc.aio.ServicerContext
    ) -> record_pb.ListAttachmentsResponse:
        portal_client = _portal_client()
        client_id = record_id(request.client_id, "client")
        if portal_client is not None and portal_client != str(client_id):
            raise NotFound("client not found")
        command = commands.ListAttachments(current_context().tenant_id, client_id, portal_client_id=portal_client)
        attachments = await handlers.list_attachments(command, self._uow_factory())
        return record_pb.ListAttachmentsResponse(attachments=[attachment_message(a) for a in attachments])

    async def DownloadAttachment(
        self, request: record_pb.GetAttachmentRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[record_pb.AttachmentContent]:
        command = commands.DownloadAttachment(
            current_context().tenant_id,
            record_id(request.client_id, "client"),
            record_id(request.id, "attachment"),
            portal_client_id=_portal_client(),
        )
        download = await handlers.download_attachment(command, self._uow_factory())
        # The first chunk is read before anything is sent: missing bytes fail the call, not half a download.
        first = await anext(download.content, b"")
        yield record_pb.AttachmentContent(attachment=attachment_message(download.attachment))
        if first:
            yield record_pb.AttachmentContent(chunk=first)
        async for chunk in download.content:
            yield record_pb.AttachmentContent(chunk=chunk)

    async def UpdateAttachment(
        self, request: record_pb.UpdateAttachmentRequest, context: grpc.aio.ServicerContext
    ) -> record_pb.Attachment:
        command = commands.UpdateAttachment(
            require_staff(),
            record_id(request.client_id, "client"),
            record_id(request.id, "attachment"),
            filename=request.filename if request.HasField("filename") else None,
            shared_with_client=request.shared_with_client if request.HasField("shared_with_client") else None,
            now=utc_now(),
        )
        return attachment_message(await handlers.update_attachment(command, self._uow_factory()))

    async def DeleteAttachment(
        self, request: record_pb.DeleteAttachmentRequest, context: grpc.aio.ServicerContext
    ) -> record_pb.Attachment:
        command = commands.DeleteAttachment(
            require_staff(), record_id(request.client_id, "client"), record_id(request.id, "attachment"), now=utc_now()
        )
        return attachment_message(await handlers.delete_attachment(command, self._uow_factory()))
