"""Portal access: the business's default permissions, and each client's access and overrides."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from aiohttp import web

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as client_pb
from gateway.dependencies import BACKENDS, PORTAL_ACCESS
from gateway.identity.model import Account
from gateway.identity.portal_access import ClientAccess, Permissions
from gateway.routes.clients import client_id_of
from gateway.routes.registry import api
from gateway.schemas import ClientPortalAccessBody, ClientPortalAccessOut, PermissionsBody, PermissionsOut
from platform_core.ids import new_id


def access_json(access: ClientAccess) -> dict[str, Any]:
    return {"enabled": access.enabled, "overrides": access.overrides, "effective": asdict(access.effective)}


@api.route(
    "GET",
    "/api/v1/portal-settings",
    summary="The portal permissions clients get by default",
    tag="portal access",
    permission="clients.read",
    response=PermissionsOut,
)
async def get_portal_defaults(request: web.Request, account: Account) -> dict[str, Any]:
    return asdict(await request.app[PORTAL_ACCESS].defaults(account.tenant_id))


@api.route(
    "PUT",
    "/api/v1/portal-settings",
    summary="Set the portal permissions clients get by default",
    tag="portal access",
    body=PermissionsBody,
    response=PermissionsOut,
    permission="settings.manage",
)
async def set_portal_defaults(request: web.Request, body: PermissionsBody, account: Account) -> dict[str, Any]:
    permissions = Permissions(**body.model_dump())
    return asdict(await request.app[PORTAL_ACCESS].set_defaults(account.tenant_id, permissions))


async def _client_uuid(request: web.Request) -> uuid.UUID:
    """The path's client, proven to be this tenant's by the client service (404 otherwise)."""
    client = await request.app[BACKENDS].clients.GetClient(client_pb.GetClientRequest(id=client_id_of(request)))
    return uuid.UUID(client.id)


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/portal-access",
    summary="A client's portal access and permissions",
    tag="portal access",
    permission="clients.read",
    response=ClientPortalAccessOut,
)
async def get_client_portal_access(request: web.Request, account: Account) -> dict[str, Any]:
    client_id = await _client_uuid(request)
    return access_json(await request.app[PORTAL_ACCESS].client_access(account.tenant_id, client_id))


@api.route(
    "PUT",
    "/api/v1/clients/{client_id}/portal-access",
    summary="Switch a client's portal access on or off and override permissions (null = business default)",
    tag="portal access",
    permission="clients.write",
    body=ClientPortalAccessBody,
    response=ClientPortalAccessOut,
)
async def set_client_portal_access(
    request: web.Request, body: ClientPortalAccessBody, account: Account
) -> dict[str, Any]:
    client_id = await _client_uuid(request)
    store = request.app[PORTAL_ACCESS]
    before = await store.client_access(account.tenant_id, client_id)
    access = await store.set_client_access(
        account.tenant_id, client_id, enabled=body.enabled, overrides=body.permissions.model_dump()
    )
    if access.enabled != before.enabled:
        # PortalAccessGranted / PortalAccessRevoked leave through the client service's outbox (timeline).
        await request.app[BACKENDS].client_portal.RecordPortalAccessChange(
            record_pb.RecordPortalAccessChangeRequest(
                change_id=str(new_id()), client_id=str(client_id), enabled=access.enabled
            )
        )
    return access_json(access)
