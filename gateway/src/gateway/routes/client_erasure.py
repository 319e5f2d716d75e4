"""The right to erasure: a client's personal data anonymized everywhere, for good."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium.client.v1 import client_service_pb2 as client_pb
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.merge_schemas import EraseClientBody
from gateway.routes.clients import client_id_of, client_json
from gateway.routes.registry import api
from gateway.schemas import ClientOut


@api.route(
    "POST",
    "/api/v1/clients/{client_id}/erase",
    summary="Erase a client's personal data (irreversible)",
    tag="privacy",
    body=EraseClientBody,
    response=ClientOut,
    permission="clients.erase",
    errors=(409,),
    description="Names become 'Erased client'; contact details, address, birth date, notes (every revision), "
    "tags, groups and the client's portal login are removed, and every service anonymizes what it holds "
    "(ClientErased). The record and its id stay, with what the law requires (financial records stay with "
    "billing). Clients merged into this one are erased with it. Erasing again changes nothing. "
    "409 CLIENT_MERGED for a merged-away id: erase the client it was merged into.",
)
async def erase_client(request: web.Request, body: EraseClientBody, account: Account) -> dict[str, Any]:
    # The gateway's own personal data about the client (its portal login and invitations) goes when the gateway
    # worker consumes ClientErased, as every service's does.
    client = await request.app[BACKENDS].clients.EraseClient(
        client_pb.EraseClientRequest(id=client_id_of(request), confirm=body.confirm)
    )
    return client_json(client)
