"""Groups of clients, with bulk membership changes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium.client.v1 import client_service_pb2 as client_pb
from gateway.api import path_id
from gateway.dependencies import BACKENDS, IDENTITY
from gateway.identity.model import Account
from gateway.routes.registry import api
from gateway.schemas import GroupBody, GroupList, GroupMembersBody, GroupOut, GroupStaffBody
from platform_core.errors import InvalidArgument


def group_json(group: client_pb.ClientGroup) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "member_count": group.member_count, "staff_ids": list(group.staff_ids)}


def group_id_of(request: web.Request) -> str:
    return path_id(request, "group_id", "group")


@api.route(
    "GET",
    "/api/v1/client-groups",
    summary="The business's client groups",
    permission="clients.read",
    tag="groups",
    response=GroupList,
)
async def list_groups(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].clients.ListClientGroups(client_pb.ListClientGroupsRequest())
    return {"items": [group_json(g) for g in reply.groups]}


@api.route(
    "POST",
    "/api/v1/client-groups",
    summary="Create a group",
    tag="groups",
    permission="clients.write",
    body=GroupBody,
    response=GroupOut,
    status=201,
    errors=(409,),
)
async def create_group(request: web.Request, body: GroupBody, account: Account) -> dict[str, Any]:
    group = await request.app[BACKENDS].clients.CreateClientGroup(client_pb.CreateClientGroupRequest(name=body.name))
    return group_json(group)


@api.route(
    "PATCH",
    "/api/v1/client-groups/{group_id}",
    summary="Rename a group",
    tag="groups",
    permission="clients.write",
    body=GroupBody,
    response=GroupOut,
    errors=(409,),
)
async def rename_group(request: web.Request, body: GroupBody, account: Account) -> dict[str, Any]:
    group = await request.app[BACKENDS].clients.RenameClientGroup(
        client_pb.RenameClientGroupRequest(id=group_id_of(request), name=body.name)
    )
    return group_json(group)


@api.route(
    "DELETE",
    "/api/v1/client-groups/{group_id}",
    summary="Delete a group (its clients stay)",
    tag="groups",
    permission="clients.write",
    status=204,
)
async def delete_group(request: web.Request, account: Account) -> None:
    await request.app[BACKENDS].clients.DeleteClientGroup(client_pb.DeleteClientGroupRequest(id=group_id_of(request)))


@api.route(
    "POST",
    "/api/v1/client-groups/{group_id}/members",
    summary="Add clients to a group (up to 1,000 at once)",
    tag="groups",
    permission="clients.write",
    body=GroupMembersBody,
    response=GroupOut,
)
async def add_members(request: web.Request, body: GroupMembersBody, account: Account) -> dict[str, Any]:
    group = await request.app[BACKENDS].clients.AddClientsToGroup(
        client_pb.GroupMembersRequest(group_id=group_id_of(request), client_ids=body.client_ids)
    )
    return group_json(group)


@api.route(
    "POST",
    "/api/v1/client-groups/{group_id}/members/remove",
    summary="Remove clients from a group (up to 1,000 at once)",
    tag="groups",
    permission="clients.write",
    body=GroupMembersBody,
    response=GroupOut,
)
async def remove_members(request: web.Request, body: GroupMembersBody, account: Account) -> dict[str, Any]:
    group = await request.app[BACKENDS].clients.RemoveClientsFromGroup(
        client_pb.GroupMembersRequest(group_id=group_id_of(request), client_ids=body.client_ids)
    )
    return group_json(group)


@api.route(
    "PUT",
    "/api/v1/client-groups/{group_id}/staff",
    summary="Set the staff members assigned to a group (and so to each of its clients)",
    tag="groups",
    permission="clients.write",
    body=GroupStaffBody,
    response=GroupOut,
)
async def set_group_staff(request: web.Request, body: GroupStaffBody, account: Account) -> dict[str, Any]:
    unknown = await request.app[IDENTITY].unknown_staff(account.tenant_id, body.staff_ids)
    if unknown:
        raise InvalidArgument.single("staff_ids", f"not staff of this business: {', '.join(sorted(unknown))}")
    group = await request.app[BACKENDS].clients.SetClientGroupStaff(
        client_pb.SetClientGroupStaffRequest(group_id=group_id_of(request), staff_ids=body.staff_ids)
    )
    return group_json(group)
