"""The tenant's client statuses, and setting a client's status."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium.client.v1 import client_service_pb2 as client_pb
from gateway.api import path_id
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.clients import client_id_of, client_json
from gateway.routes.registry import api
from gateway.schemas import (
    ClientOut,
    ClientStatusesQuery,
    ClientStatusList,
    ClientStatusOut,
    CreateClientStatusBody,
    ReorderClientStatusesBody,
    SetClientStatusBody,
    UpdateClientStatusBody,
)

# Statuses are the business's settings: owners and admins shape them, every staff member uses them.


def status_json(status: client_pb.ClientStatus) -> dict[str, Any]:
    return {
        "id": status.id,
        "label": status.label,
        "position": status.position,
        "is_default": status.is_default,
        "archived": status.archived,
    }


def status_id_of(request: web.Request) -> str:
    return path_id(request, "status_id", "status")


@api.route(
    "GET",
    "/api/v1/client-statuses",
    summary="The business's client statuses, in order",
    tag="client statuses",
    permission="clients.read",
    query=ClientStatusesQuery,
    response=ClientStatusList,
)
async def list_client_statuses(request: web.Request, query: ClientStatusesQuery, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].clients.ListClientStatuses(
        client_pb.ListClientStatusesRequest(include_archived=query.include_archived)
    )
    return {"items": [status_json(s) for s in reply.statuses]}


@api.route(
    "POST",
    "/api/v1/client-statuses",
    summary="Add a client status",
    tag="client statuses",
    body=CreateClientStatusBody,
    response=ClientStatusOut,
    status=201,
    permission="settings.manage",
    errors=(409,),
)
async def create_client_status(request: web.Request, body: CreateClientStatusBody, account: Account) -> dict[str, Any]:
    status = await request.app[BACKENDS].clients.CreateClientStatus(
        client_pb.CreateClientStatusRequest(label=body.label)
    )
    return status_json(status)


@api.route(
    "PUT",
    "/api/v1/client-statuses/order",
    summary="Reorder the client statuses (every live status id, in the wanted order)",
    tag="client statuses",
    body=ReorderClientStatusesBody,
    response=ClientStatusList,
    permission="settings.manage",
)
async def reorder_client_statuses(
    request: web.Request, body: ReorderClientStatusesBody, account: Account
) -> dict[str, Any]:
    reply = await request.app[BACKENDS].clients.ReorderClientStatuses(
        client_pb.ReorderClientStatusesRequest(ids=body.ids)
    )
    return {"items": [status_json(s) for s in reply.statuses]}


@api.route(
    "PATCH",
    "/api/v1/client-statuses/{status_id}",
    summary="Rename a client status or make it the default",
    tag="client statuses",
    body=UpdateClientStatusBody,
    response=ClientStatusOut,
    permission="settings.manage",
    errors=(409,),
)
async def update_client_status(request: web.Request, body: UpdateClientStatusBody, account: Account) -> dict[str, Any]:
    status = await request.app[BACKENDS].clients.UpdateClientStatus(
        client_pb.UpdateClientStatusRequest(
            id=status_id_of(request), label=body.label, make_default=bool(body.make_default)
        )
    )
    return status_json(status)


@api.route(
    "DELETE",
    "/api/v1/client-statuses/{status_id}",
    summary="Archive a client status (clients that have it keep it)",
    tag="client statuses",
    response=ClientStatusOut,
    permission="settings.manage",
    errors=(409,),
)
async def archive_client_status(request: web.Request, account: Account) -> dict[str, Any]:
    status = await request.app[BACKENDS].clients.ArchiveClientStatus(
        client_pb.ArchiveClientStatusRequest(id=status_id_of(request))
    )
    return status_json(status)


@api.route(
    "PUT",
    "/api/v1/clients/{client_id}/status",
    summary="Set a client's status",
    tag="clients",
    permission="clients.write",
    body=SetClientStatusBody,
    response=ClientOut,
    errors=(409,),
)
async def set_client_status(request: web.Request, body: SetClientStatusBody, account: Account) -> dict[str, Any]:
    client = await request.app[BACKENDS].clients.SetClientStatus(
        client_pb.SetClientStatusRequest(id=client_id_of(request), status_id=body.status_id)
    )
    return client_json(client)
