"""The business's staff: list, invite, change role or name, deactivate and reactivate."""

from __future__ import annotations

import uuid

from aiohttp import web

from gateway.account_schemas import (
    AcceptStaffInvitationBody,
    ChangeStaffBody,
    InviteStaffBody,
    StaffList,
    StaffMemberOut,
)
from gateway.api import path_id
from gateway.dependencies import STAFF_ACCOUNTS
from gateway.identity.model import Account
from gateway.identity.staff import StaffChange
from gateway.routes.auth import tokens_out
from gateway.routes.registry import api
from gateway.schemas import Tokens
from platform_core.ids import parse_uuid

TAG = "staff"


def _staff_id(request: web.Request) -> uuid.UUID:
    staff_id = parse_uuid(path_id(request, "staff_id", "staff member"))
    assert staff_id is not None  # path_id answered 404 for anything else
    return staff_id


@api.route(
    "GET",
    "/api/v1/staff",
    summary="The business's staff members",
    tag=TAG,
    permission="staff.manage",
    response=StaffList,
)
async def list_staff(request: web.Request, account: Account) -> StaffList:
    members = await request.app[STAFF_ACCOUNTS].list(account.tenant_id)
    return StaffList(items=[StaffMemberOut.model_validate(m) for m in members])


@api.route(
    "GET",
    "/api/v1/staff/{staff_id}",
    summary="One staff member",
    tag=TAG,
    permission="staff.manage",
    response=StaffMemberOut,
)
async def get_staff_member(request: web.Request, account: Account) -> StaffMemberOut:
    member = await request.app[STAFF_ACCOUNTS].get(account.tenant_id, _staff_id(request))
    return StaffMemberOut.model_validate(member)


@api.route(
    "POST",
    "/api/v1/staff/invitations",
    summary="Invite a staff member by email (they choose their password through the emailed link)",
    tag=TAG,
    permission="staff.manage",
    body=InviteStaffBody,
    response=StaffMemberOut,
    status=201,
    errors=(409,),
    description="Emits StaffInvitationIssued with the accept link (valid ATRIUM_STAFF_INVITATION_TTL_SECONDS); "
    "409 EMAIL_TAKEN when the address already has an account.",
)
async def invite_staff(request: web.Request, body: InviteStaffBody, account: Account) -> StaffMemberOut:
    member = await request.app[STAFF_ACCOUNTS].invite(account, email=body.email, name=body.name, role=body.role)
    return StaffMemberOut.model_validate(member)


@api.route(
    "POST",
    "/api/v1/staff/invitations/accept",
    summary="Accept a staff invitation: choose a password and sign in",
    tag=TAG,
    auth="public",
    body=AcceptStaffInvitationBody,
    response=Tokens,
    errors=(409,),
    description="An invitation works once; a used, expired or unknown token answers 422 naming `token`.",
)
async def accept_staff_invitation(request: web.Request, body: AcceptStaffInvitationBody) -> Tokens:
    return tokens_out(await request.app[STAFF_ACCOUNTS].accept_invitation(body.token, body.password))


@api.route(
    "POST",
    "/api/v1/staff/{staff_id}/invitation",
    summary="Send a member who has not joined yet a new invitation (earlier links stop working)",
    tag=TAG,
    permission="staff.manage",
    response=StaffMemberOut,
    errors=(409,),
    description="409 ALREADY_JOINED once the member has accepted an invitation.",
)
async def resend_staff_invitation(request: web.Request, account: Account) -> StaffMemberOut:
    member = await request.app[STAFF_ACCOUNTS].resend_invitation(account, _staff_id(request))
    return StaffMemberOut.model_validate(member)


@api.route(
    "PATCH",
    "/api/v1/staff/{staff_id}",
    summary="Change a staff member's role or name",
    tag=TAG,
    permission="staff.manage",
    body=ChangeStaffBody,
    response=StaffMemberOut,
    errors=(409,),
    description="Only an owner makes, changes or unmakes an owner (403 OWNER_ONLY); the last active owner "
    "keeps the role (409 LAST_OWNER). A new role applies to the member's next request.",
)
async def change_staff_member(request: web.Request, body: ChangeStaffBody, account: Account) -> StaffMemberOut:
    change = StaffChange(role=body.role, name=body.name)
    member = await request.app[STAFF_ACCOUNTS].change(account, _staff_id(request), change)
    return StaffMemberOut.model_validate(member)


@api.route(
    "POST",
    "/api/v1/staff/{staff_id}/deactivate",
    summary="Deactivate a staff member: signed out at once, records kept",
    tag=TAG,
    permission="staff.manage",
    response=StaffMemberOut,
    errors=(409,),
    description="Their access tokens answer 401 from the next request on and their sessions end; their "
    "appointments, clients and notes stay (reassign appointments with .../reassign). 409 LAST_OWNER for the "
    "business's last active owner.",
)
async def deactivate_staff_member(request: web.Request, account: Account) -> StaffMemberOut:
    member = await request.app[STAFF_ACCOUNTS].change(account, _staff_id(request), StaffChange(active=False))
    return StaffMemberOut.model_validate(member)


@api.route(
    "POST",
    "/api/v1/staff/{staff_id}/reactivate",
    summary="Reactivate a staff member (they sign in again with their password)",
    tag=TAG,
    permission="staff.manage",
    response=StaffMemberOut,
)
async def reactivate_staff_member(request: web.Request, account: Account) -> StaffMemberOut:
    member = await request.app[STAFF_ACCOUNTS].change(account, _staff_id(request), StaffChange(active=True))
    return StaffMemberOut.model_validate(member)
