"""The client portal: a client's own login sees only that client's data."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium.client.v1 import client_service_pb2 as client_pb
from gateway.dependencies import BACKENDS, IDENTITY
from gateway.identity.model import Account
from gateway.routes.auth import tokens_out
from gateway.routes.clients import client_json
from gateway.routes.registry import api
from gateway.schemas import AcceptInvitationBody, ClientOut, Tokens


@api.route(
    "POST",
    "/api/v1/portal/invitations/accept",
    summary="Accept a portal invitation and set a password",
    tag="portal",
    auth="public",
    body=AcceptInvitationBody,
    response=Tokens,
    status=201,
)
async def accept_invitation(request: web.Request, body: AcceptInvitationBody) -> Tokens:
    return tokens_out(await request.app[IDENTITY].accept_invitation(body.token, body.password))


@api.route(
    "GET",
    "/api/v1/portal/me",
    summary="The signed-in client's own record",
    tag="portal",
    auth="portal",
    response=ClientOut,
)
async def portal_me(request: web.Request, account: Account) -> dict[str, Any]:
    client = await request.app[BACKENDS].clients.GetClient(client_pb.GetClientRequest(id=str(account.client_id)))
    return client_json(client)
