"""The business's roles: built-in ones and its own, made from the permission list."""

from __future__ import annotations

import uuid

from aiohttp import web

from gateway.account_schemas import ChangeRoleBody, RoleBody, RoleList, RoleOut
from gateway.api import path_id
from gateway.dependencies import ROLES
from gateway.identity.model import Account
from gateway.routes.registry import api
from platform_core.ids import parse_uuid

TAG = "staff"


def _role_id(request: web.Request) -> uuid.UUID:
    role_id = parse_uuid(path_id(request, "role_id", "role"))
    assert role_id is not None  # path_id answered 404 for anything else
    return role_id


@api.route(
    "GET",
    "/api/v1/roles",
    summary="The roles of the business (built-in and its own), their permissions and active members",
    tag=TAG,
    permission="staff.manage",
    response=RoleList,
)
async def list_roles(request: web.Request, account: Account) -> RoleList:
    return RoleList(items=[RoleOut.model_validate(r) for r in await request.app[ROLES].all_of(account.tenant_id)])


@api.route(
    "POST",
    "/api/v1/roles",
    summary="Define a role from the permission list (e.g. front desk: clients and schedule, no billing)",
    tag=TAG,
    permission="staff.manage",
    body=RoleBody,
    response=RoleOut,
    status=201,
    errors=(409,),
    description="Give it to a member by name (invitation or PATCH /api/v1/staff/{id}). 409 ROLE_NAME_TAKEN.",
)
async def create_role(request: web.Request, body: RoleBody, account: Account) -> RoleOut:
    role = await request.app[ROLES].create(account.tenant_id, name=body.name, permissions=body.permissions)
    return RoleOut.model_validate(role)


@api.route(
    "PATCH",
    "/api/v1/roles/{role_id}",
    summary="Rename a role or change its permissions (its members' next requests use them)",
    tag=TAG,
    permission="staff.manage",
    body=ChangeRoleBody,
    response=RoleOut,
    errors=(409,),
)
async def change_role(request: web.Request, body: ChangeRoleBody, account: Account) -> RoleOut:
    role = await request.app[ROLES].change(
        account.tenant_id, _role_id(request), name=body.name, permissions=body.permissions
    )
    return RoleOut.model_validate(role)


@api.route(
    "DELETE",
    "/api/v1/roles/{role_id}",
    summary="Delete a role no member has",
    tag=TAG,
    permission="staff.manage",
    status=204,
    errors=(409,),
    description="409 ROLE_IN_USE while a member (active or not) has it.",
)
async def delete_role(request: web.Request, account: Account) -> None:
    await request.app[ROLES].delete(account.tenant_id, _role_id(request))
