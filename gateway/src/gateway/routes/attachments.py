"""Files kept with a client. Bytes stream through (never held whole): request body -> gRPC chunks -> blob
storage on upload, and back on download. The client service enforces the limits: 413 past the size limit,
415 for a type the business does not accept, 422 when the bytes contradict the declared Content-Type."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

from aiohttp import web
from pydantic import Field, StringConstraints

from atrium.client.v1 import client_record_pb2 as record_pb
from gateway.api import path_id
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.clients import client_id_of
from gateway.routes.portal import require_portal_view
from gateway.routes.registry import api
from gateway.schemas import Body, Out

CHUNK = 64 * 1024
# Files take longer than the default deadline of a call.
TRANSFER_TIMEOUT_SECONDS = 600.0


class AttachmentOut(Out):
    id: str
    client_id: str
    filename: str
    content_type: str = Field(description="Sniffed from the bytes.")
    size_bytes: int
    sha256: str = Field(description="Hex SHA-256 of the bytes.")
    shared_with_client: bool = Field(description="Visible to the client in the portal.")
    uploaded_by: str
    uploaded_at: str


class AttachmentList(Out):
    items: list[AttachmentOut]


class UploadQuery(Body):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    shared_with_client: bool = False


class AttachmentChangeBody(Body):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    shared_with_client: bool | None = None


def attachment_json(attachment: record_pb.Attachment) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "client_id": attachment.client_id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size_bytes": attachment.size_bytes,
        "sha256": attachment.sha256,
        "shared_with_client": attachment.shared_with_client,
        "uploaded_by": attachment.uploaded_by,
        "uploaded_at": attachment.uploaded_at.ToJsonString(),
    }


def _attachment_id(request: web.Request) -> str:
    return path_id(request, "attachment_id", "attachment")


async def _list(request: web.Request, client_id: str) -> dict[str, Any]:
    reply = await request.app[BACKENDS].client_attachments.ListAttachments(
        record_pb.ListAttachmentsRequest(client_id=client_id)
    )
    return {"items": [attachment_json(a) for a in reply.attachments]}


async def _download(request: web.Request, client_id: str, attachment_id: str) -> web.StreamResponse:
    call = request.app[BACKENDS].client_attachments.DownloadAttachment(
        record_pb.GetAttachmentRequest(client_id=client_id, id=attachment_id), timeout=TRANSFER_TIMEOUT_SECONDS
    )
    parts = aiter(call)
    first = await anext(parts)  # the record, or the error as problem details (nothing sent yet)
    meta = first.attachment
    ascii_name = meta.filename.encode("ascii", "replace").decode().replace('"', "'")
    response = web.StreamResponse(
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(meta.filename)}",
            "ETag": f'"{meta.sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        }
    )
    response.content_type = meta.content_type
    response.content_length = meta.size_bytes
    await response.prepare(request)
    async for part in parts:
        await response.write(part.chunk)
    await response.write_eof()
    return response


@api.route(
    "POST",
    "/api/v1/clients/{client_id}/attachments",
    summary="Upload a file to a client (the body is the file; its type is checked against the bytes)",
    tag="attachments",
    permission="clients.write",
    query=UploadQuery,
    response=AttachmentOut,
    status=201,
    errors=(409, 413, 415),
    upload=("application/octet-stream",),
    description="Send the file as the body with its Content-Type. 413 past the size limit, 415 for a type "
    "that is not accepted, 422 when the bytes are not what the Content-Type says.",
)
async def upload_attachment(request: web.Request, query: UploadQuery, account: Account) -> dict[str, Any]:
    client_id = client_id_of(request)

    async def parts() -> AsyncIterator[record_pb.UploadAttachmentRequest]:
        yield record_pb.UploadAttachmentRequest(
            header=record_pb.AttachmentHeader(
                client_id=client_id,
                filename=query.filename,
                declared_content_type=request.headers.get("Content-Type", ""),
                shared_with_client=query.shared_with_client,
            )
        )
        async for chunk in request.content.iter_chunked(CHUNK):
            yield record_pb.UploadAttachmentRequest(chunk=chunk)

    stored = await request.app[BACKENDS].client_attachments.UploadAttachment(parts(), timeout=TRANSFER_TIMEOUT_SECONDS)
    return attachment_json(stored)


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/attachments",
    summary="A client's attachments, newest first",
    tag="attachments",
    permission="clients.read",
    response=AttachmentList,
)
async def list_attachments(request: web.Request, account: Account) -> dict[str, Any]:
    return await _list(request, client_id_of(request))


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/attachments/{attachment_id}/content",
    summary="Download an attachment",
    tag="attachments",
    permission="clients.read",
    produces=("application/octet-stream",),
)
async def download_attachment(request: web.Request, account: Account) -> web.StreamResponse:
    return await _download(request, client_id_of(request), _attachment_id(request))


@api.route(
    "PATCH",
    "/api/v1/clients/{client_id}/attachments/{attachment_id}",
    summary="Rename an attachment, or share it with the client (or stop sharing)",
    tag="attachments",
    permission="clients.write",
    body=AttachmentChangeBody,
    response=AttachmentOut,
    errors=(409,),
)
async def change_attachment(request: web.Request, body: AttachmentChangeBody, account: Account) -> dict[str, Any]:
    changed = await request.app[BACKENDS].client_attachments.UpdateAttachment(
        record_pb.UpdateAttachmentRequest(
            client_id=client_id_of(request), id=_attachment_id(request), **body.model_dump(exclude_none=True)
        )
    )
    return attachment_json(changed)


@api.route(
    "DELETE",
    "/api/v1/clients/{client_id}/attachments/{attachment_id}",
    summary="Delete an attachment (soft: hidden from everyone)",
    tag="attachments",
    permission="clients.write",
    response=AttachmentOut,
)
async def delete_attachment(request: web.Request, account: Account) -> dict[str, Any]:
    deleted = await request.app[BACKENDS].client_attachments.DeleteAttachment(
        record_pb.DeleteAttachmentRequest(client_id=client_id_of(request), id=_attachment_id(request))
    )
    return attachment_json(deleted)


async def _documents_allowed(request: web.Request, account: Account) -> str:
    await require_portal_view(request, account, "view_documents")
    return str(account.client_id)


@api.route(
    "GET",
    "/api/v1/portal/attachments",
    summary="The documents the business shared with you",
    tag="portal",
    auth="portal",
    response=AttachmentList,
)
async def portal_attachments(request: web.Request, account: Account) -> dict[str, Any]:
    return await _list(request, await _documents_allowed(request, account))


@api.route(
    "GET",
    "/api/v1/portal/attachments/{attachment_id}/content",
    summary="Download a document shared with you",
    tag="portal",
    auth="portal",
    produces=("application/octet-stream",),
)
async def portal_download_attachment(request: web.Request, account: Account) -> web.StreamResponse:
    client_id = await _documents_allowed(request, account)
    return await _download(request, client_id, _attachment_id(request))
