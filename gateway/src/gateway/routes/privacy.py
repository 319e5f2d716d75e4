"""Data portability: everything Atrium holds about one client, as one JSON document."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.common.v1 import types_pb2
from atrium.notification.v1 import notification_service_pb2 as notification_pb
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.attachments import attachment_json
from gateway.routes.clients import activity_json, client_id_of, client_json
from gateway.routes.notes import note_json
from gateway.routes.registry import api

PAGE = 200
EXPORT_FORMAT = "atrium.client-export.v1"


async def _pages(fetch: Callable[[str], Awaitable[Any]], items: Callable[[Any], list[Any]]) -> AsyncIterator[Any]:
    token = ""
    while True:
        reply = await fetch(token)
        for item in items(reply):
            yield item
        token = reply.page.next_page_token
        if not token:
            return


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/export",
    summary="Export everything held about a client (portable JSON)",
    tag="privacy",
    permission="clients.export",
    description="The client record (contact details and custom fields included), every note with its full history, "
    "the attachments' records (download each from its link), and the whole activity timeline. "
    "Owners and admins only: it is a data-subject request, not everyday work.",
)
async def export_client(request: web.Request, account: Account) -> web.Response:
    backends = request.app[BACKENDS]
    client = await backends.clients.GetClient(client_pb.GetClientRequest(id=client_id_of(request)))
    client_id = client.id  # a merged-away id exports the client it was merged into

    async def notes() -> list[dict[str, Any]]:
        collected = [
            note
            async for note in _pages(
                lambda token: backends.clients.ListClientNotes(
                    client_pb.ListClientNotesRequest(
                        client_id=client_id, page=types_pb2.PageRequest(page_size=PAGE, page_token=token)
                    )
                ),
                lambda reply: list(reply.notes),
            )
        ]
        histories = await asyncio.gather(
            *(
                backends.clients.GetClientNoteHistory(
                    client_pb.GetClientNoteHistoryRequest(client_id=client_id, note_id=note.id)
                )
                for note in collected
            )
        )
        return [
            note_json(note)
            | {
                "history": [
                    {
                        "revision": r.revision,
                        "body": r.body,
                        "edited_by": r.edited_by,
                        "edited_at": r.edited_at.ToJsonString(),
                    }
                    for r in history.revisions
                ]
            }
            for note, history in zip(collected, histories, strict=True)
        ]

    async def timeline() -> list[dict[str, Any]]:
        return [
            entry
            async for entry in _pages(
                lambda token: backends.notifications.ListClientActivity(
                    notification_pb.ListClientActivityRequest(
                        client_id=client_id, page=types_pb2.PageRequest(page_size=PAGE, page_token=token)
                    )
                ),
                lambda reply: activity_json(reply)["items"],
            )
        ]

    async def custom_fields() -> list[dict[str, Any]]:
        definitions = await backends.custom_fields.ListCustomFields(
            record_pb.ListCustomFieldsRequest(include_retired=True)
        )
        values = client_json(client)["custom_fields"]
        return [
            {"key": d.key, "label": d.label, "type": d.type, "value": values[d.key]}
            for d in definitions.fields
            if d.key in values
        ]

    async def attachments() -> list[dict[str, Any]]:
        reply = await backends.client_attachments.ListAttachments(record_pb.ListAttachmentsRequest(client_id=client_id))
        return [
            attachment_json(a) | {"download": f"/api/v1/clients/{client_id}/attachments/{a.id}/content"}
            for a in reply.attachments
        ]

    all_notes, all_activity, all_custom, all_attachments = await asyncio.gather(
        notes(), timeline(), custom_fields(), attachments()
    )
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "client": client_json(client),
        "custom_fields": all_custom,
        "attachments": all_attachments,
        "notes": all_notes,
        "activity": all_activity,
    }
    return web.Response(
        text=json.dumps(document, indent=2),
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="client-{client_id}.json"'},
    )
