"""Staff notes on a client, with their edit history."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.common.v1 import types_pb2
from gateway.api import path_id
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.clients import client_id_of
from gateway.routes.registry import api
from gateway.schemas import NoteBody, NoteHistoryOut, NoteOut, NotePage, PageQuery


def note_json(note: client_pb.ClientNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "body": note.body,
        "author_id": note.author_id,
        "created_at": note.created_at.ToJsonString(),
        "updated_at": note.updated_at.ToJsonString(),
        "revision": note.revision,
    }


def note_id_of(request: web.Request) -> str:
    return path_id(request, "note_id", "note")


@api.route(
    "POST",
    "/api/v1/clients/{client_id}/notes",
    summary="Add a note to a client",
    tag="notes",
    permission="clients.write",
    body=NoteBody,
    response=NoteOut,
    status=201,
    errors=(409,),
)
async def add_note(request: web.Request, body: NoteBody, account: Account) -> dict[str, Any]:
    note = await request.app[BACKENDS].clients.AddClientNote(
        client_pb.AddClientNoteRequest(client_id=client_id_of(request), body=body.body)
    )
    return note_json(note)


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/notes",
    summary="A client's notes, newest first",
    tag="notes",
    permission="clients.read",
    query=PageQuery,
    response=NotePage,
)
async def list_notes(request: web.Request, query: PageQuery, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].clients.ListClientNotes(
        client_pb.ListClientNotesRequest(
            client_id=client_id_of(request),
            page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token),
        )
    )
    return {"items": [note_json(n) for n in reply.notes], "next_page_token": reply.page.next_page_token or None}


@api.route(
    "PATCH",
    "/api/v1/clients/{client_id}/notes/{note_id}",
    summary="Edit a note (its author, an owner or an admin); the previous text is kept in its history",
    tag="notes",
    permission="clients.write",
    body=NoteBody,
    response=NoteOut,
)
async def edit_note(request: web.Request, body: NoteBody, account: Account) -> dict[str, Any]:
    note = await request.app[BACKENDS].clients.EditClientNote(
        client_pb.EditClientNoteRequest(client_id=client_id_of(request), note_id=note_id_of(request), body=body.body)
    )
    return note_json(note)


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/notes/{note_id}/history",
    summary="Every version of a note, oldest first",
    tag="notes",
    permission="clients.read",
    response=NoteHistoryOut,
)
async def note_history(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].clients.GetClientNoteHistory(
        client_pb.GetClientNoteHistoryRequest(client_id=client_id_of(request), note_id=note_id_of(request))
    )
    return {
        "note_id": reply.note_id,
        "revisions": [
            {"revision": r.revision, "body": r.body, "edited_by": r.edited_by, "edited_at": r.edited_at.ToJsonString()}
            for r in reply.revisions
        ],
    }
