"""The client portal: a client's own login sees only that client's data."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aiohttp import web

from atrium.client.v1 import client_service_pb2 as client_pb
from gateway.dependencies import BACKENDS, IDENTITY, PORTAL_ACCESS
from gateway.identity.model import Account
from gateway.identity.portal_access import ClientAccess
from gateway.routes.auth import tokens_out
from gateway.routes.clients import client_json, custom_values
from gateway.routes.registry import api
from gateway.schemas import AcceptInvitationBody, ClientOut, PermissionsOut, PortalProfileBody, Tokens
from platform_core.errors import FieldViolation, InvalidArgument, PermissionDenied


@api.route(
    "POST",
    "/api/v1/portal/invitations/accept",
    summary="Accept a portal invitation and set a password",
    tag="portal",
    auth="public",
    body=AcceptInvitationBody,
    response=Tokens,
    status=201,
    errors=(409,),
    description="409 EMAIL_TAKEN when another client of the business already signs in with the invitation's email.",
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
    await portal_access(request, account)
    client = await request.app[BACKENDS].clients.GetClient(client_pb.GetClientRequest(id=str(account.client_id)))
    return client_json(client)


async def portal_access(request: web.Request, account: Account) -> ClientAccess:
    """The signed-in client's access; refused at once when staff switched it off (tokens still live)."""
    assert account.client_id is not None
    access = await request.app[PORTAL_ACCESS].client_access(account.tenant_id, account.client_id)
    if not access.enabled:
        raise PermissionDenied("portal access is switched off for this account", reason="PORTAL_ACCESS_OFF")
    return access


# What a client is refused when the business keeps a part of the portal hidden: (what, reason).
_HIDDEN = {
    "view_appointments": ("appointments", "APPOINTMENTS_HIDDEN"),
    "view_invoices": ("invoices", "INVOICES_HIDDEN"),
    "view_documents": ("documents", "DOCUMENTS_HIDDEN"),
}


async def require_portal_view(request: web.Request, account: Account, permission: str) -> None:
    """PermissionDenied unless the signed-in client may ``permission`` (a ``view_*`` permission)."""
    access = await portal_access(request, account)
    if not getattr(access.effective, permission):
        what, reason = _HIDDEN[permission]
        raise PermissionDenied(f"this business does not show {what} in the portal", reason=reason)


@api.route(
    "GET",
    "/api/v1/portal/permissions",
    summary="What the signed-in client may see and do",
    tag="portal",
    auth="portal",
    response=PermissionsOut,
)
async def portal_permissions(request: web.Request, account: Account) -> dict[str, Any]:
    return asdict((await portal_access(request, account)).effective)


@api.route(
    "PATCH",
    "/api/v1/portal/me",
    summary="Change your own details (when the business allows it)",
    tag="portal",
    auth="portal",
    body=PortalProfileBody,
    response=ClientOut,
    errors=(409,),
    description="409 when the client record cannot take changes now (deleted, merged into another or erased).",
)
async def portal_update_me(request: web.Request, body: PortalProfileBody, account: Account) -> dict[str, Any]:
    access = await portal_access(request, account)
    if not access.effective.edit_profile:
        raise PermissionDenied("this business does not let clients change their details", reason="PROFILE_LOCKED")
    given = {name: value for name, value in body.model_dump(include=body.model_fields_set).items()}
    nulls = sorted(name for name, value in given.items() if value is None)
    if nulls:
        raise InvalidArgument([FieldViolation(name, "cannot be null; send an empty string to clear") for name in nulls])
    if not given:
        raise InvalidArgument.single("body", "give at least one field to change")
    values = given.pop("custom_fields", None)
    client = await request.app[BACKENDS].clients.UpdateClient(
        client_pb.UpdateClientRequest(
            id=str(account.client_id),
            default_region=account.country,
            custom_fields=custom_values(values) if values else None,
            **given,
        )
    )
    return client_json(client)
