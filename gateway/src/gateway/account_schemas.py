"""Bodies of the account and integration routes: staff, invitations, passwords, API keys, webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from gateway.identity.permissions import PERMISSIONS
from gateway.schemas import AccountEmail, Body, Out, Password, Slug, Timezone
from gateway.webhooks.catalogue import EVENT_TYPES

# "owner", "admin", "staff" or the name of one of the business's own roles.
RoleName = Annotated[str, StringConstraints(min_length=1, max_length=60)]
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
    role: RoleName = Field(
        description="admin, staff or one of the business's own roles (owners may give any of them, admins "
        "all but owner); make an owner by changing a role."
    )


class ChangeStaffBody(Body):
    role: RoleName | None = Field(
        default=None, description="A built-in or the business's own role; only an owner makes or unmakes an owner."
    )
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


# --- webhooks -----------------------------------------------------------------------------------


def _known_event_type(value: str) -> str:
    if value not in EVENT_TYPES:
        raise ValueError("is not a webhook event type; see GET /api/v1/webhook-event-types")
    return value


WebhookEventType = Annotated[
    str, AfterValidator(_known_event_type), Field(json_schema_extra={"enum": list(EVENT_TYPES)})
]
WebhookUrl = Annotated[str, StringConstraints(min_length=8, max_length=2000)]
WebhookDescription = Annotated[str, StringConstraints(max_length=500)]


class WebhookEventTypes(Out):
    items: list[str]


class CreateWebhookEndpointBody(Body):
    url: WebhookUrl = Field(description="An https:// URL of a public host.")
    event_types: list[WebhookEventType] = Field(min_length=1, max_length=len(EVENT_TYPES))
    description: WebhookDescription = ""


class ChangeWebhookEndpointBody(Body):
    url: WebhookUrl | None = None
    event_types: list[WebhookEventType] | None = Field(default=None, min_length=1, max_length=len(EVENT_TYPES))
    description: WebhookDescription | None = None
    enabled: bool | None = Field(default=None, description="true re-enables a disabled endpoint.")


class WebhookEndpointOut(Out):
    id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime


class CreatedWebhookEndpointOut(WebhookEndpointOut):
    secret: str = Field(description="The signing secret (Standard Webhooks, whsec_...), shown this once.")


class WebhookEndpointList(Out):
    items: list[WebhookEndpointOut]


class WebhookAttemptOut(Out):
    at: datetime
    response_status: int | None
    response_body: str = Field(description="The first 2,000 characters of the answer.")
    error: str
    duration_ms: int


class WebhookDeliveryOut(Out):
    id: str
    event_id: str = Field(description="The event's id: the webhook-id header and the payload's id.")
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    next_attempt_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    attempts: list[WebhookAttemptOut]


class WebhookDeliveryList(Out):
    items: list[WebhookDeliveryOut]


# --- roles --------------------------------------------------------------------------------------


class RoleBody(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    permissions: list[Permission] = Field(min_length=1, max_length=len(PERMISSIONS))


class ChangeRoleBody(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=60)] | None = None
    permissions: list[Permission] | None = Field(default=None, min_length=1, max_length=len(PERMISSIONS))


class RoleOut(Out):
    id: str | None = Field(description="None for the built-in roles (owner, admin, staff).")
    name: str
    built_in: bool
    permissions: list[str]
    members: int


class RoleList(Out):
    items: list[RoleOut]


# --- audit log ----------------------------------------------------------------------------------

AuditFilter = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class AuditQuery(Body):
    actor_id: AuditFilter | None = Field(default=None, description="A staff member's, portal account's or key's id.")
    record_id: AuditFilter | None = None
    record_type: AuditFilter | None = Field(default=None, description='e.g. "clients", "appointments", "staff".')
    action: AuditFilter | None = Field(default=None, description="An operationId, e.g. update_client.")
    since: AwareDatetime | None = Field(default=None, alias="from")
    until: AwareDatetime | None = Field(default=None, alias="to")
    page_size: int = Field(default=50, ge=1, le=200)
    page_token: Annotated[str, StringConstraints(max_length=18, pattern=r"^[0-9]{1,18}$")] | None = None
    format: Literal["json", "csv"] = Field(default="json", description="csv: every matching entry as one file.")


class AuditEntryOut(Out):
    id: str
    occurred_at: datetime
    actor_kind: Literal["staff", "portal", "api_key"]
    actor_id: str
    action: str
    method: str
    path: str
    record_type: str
    record_id: str
    status: int
    client_ip: str
    request: Any = Field(description="What was sent (passwords, tokens and secrets removed).")
    before: Any = Field(description="The record before, where the API can read it; else null.")
    after: Any = Field(description="The answer: the record after.")


class AuditPage(Out):
    items: list[AuditEntryOut]
    next_page_token: str | None


# --- the business and two-factor sign-in ----------------------------------------------------------

LanguageTag = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)]


class BusinessOut(Out):
    id: str
    name: str
    slug: str
    country: str
    timezone: str
    default_language: str = Field(description="BCP 47, e.g. en, de, pt-BR.")
    require_two_factor: bool = Field(description="Staff must sign in with a second factor (TOTP).")


class ChangeBusinessBody(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    timezone: Timezone | None = None
    default_language: LanguageTag | None = None
    require_two_factor: bool | None = Field(
        default=None,
        description="true: members without two-factor sign-in may only set it up until they have (403 "
        "TWO_FACTOR_SETUP_REQUIRED elsewhere).",
    )


class TwoFactorSetupOut(Out):
    secret: str = Field(description="Base32, for entering by hand.")
    otpauth_uri: str = Field(description="otpauth:// URI for a QR code in an authenticator app.")


class TwoFactorCodeBody(Body):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class TwoFactorOffBody(Body):
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]
