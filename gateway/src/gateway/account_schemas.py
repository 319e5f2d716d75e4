"""Bodies of the account routes: staff members, invitations, passwords."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from gateway.schemas import AccountEmail, Body, Out, Password, Slug

StaffRole = Literal["owner", "admin", "staff"]
StaffName = Annotated[str, StringConstraints(max_length=200)]
OneTimeToken = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class StaffMemberOut(Out):
    id: str
    email: str
    name: str
    role: str
    status: Literal["active", "invited", "deactivated"] = Field(
        description="invited: the invitation is not accepted yet; deactivated: cannot sign in, keeps its records."
    )
    created_at: datetime
    deactivated_at: datetime | None


class StaffList(Out):
    items: list[StaffMemberOut]


class InviteStaffBody(Body):
    email: AccountEmail
    name: StaffName = ""
    role: Literal["admin", "staff"] = Field(
        description="Owners may invite admins and staff; admins invite staff. Make an owner by changing a role."
    )


class ChangeStaffBody(Body):
    role: StaffRole | None = Field(default=None, description="Only an owner makes or unmakes an owner.")
    name: StaffName | None = None


class AcceptStaffInvitationBody(Body):
    token: OneTimeToken
    password: Password


class StaffPasswordResetBody(Body):
    email: AccountEmail


class PortalPasswordResetBody(Body):
    tenant: Slug = Field(description="The business's handle (slug), as in its portal address.")
    email: AccountEmail


class ResetPasswordBody(Body):
    token: OneTimeToken = Field(description="From the emailed link.")
    password: Password


class ChangePasswordBody(Body):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    new_password: Password
