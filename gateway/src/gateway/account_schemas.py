"""Bodies of the account routes: staff members, invitations, passwords."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from gateway.identity.permissions import PERMISSIONS
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


def _known_permission(value: str) -> str:
    if value not in PERMISSIONS:
        raise ValueError(f"is not a permission; one of {', '.join(PERMISSIONS)}")
    return value


Permission = Annotated[str, AfterValidator(_known_permission), Field(json_schema_extra={"enum": list(PERMISSIONS)})]


class CreateApiKeyBody(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    scopes: list[Permission] = Field(min_length=1, max_length=len(PERMISSIONS), description="The key's permissions.")


class ApiKeyOut(Out):
    id: str
    name: str
    prefix: str = Field(description="The secret's first characters, to recognise the key.")
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class CreatedApiKeyOut(ApiKeyOut):
    secret: str = Field(description="The key itself, shown this once: send it as `Authorization: Bearer <secret>`.")


class ApiKeyList(Out):
    items: list[ApiKeyOut]
