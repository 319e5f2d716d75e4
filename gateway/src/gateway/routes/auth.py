"""Sign-up, sign-in, tokens and the signed-in account."""

from __future__ import annotations

from aiohttp import web

from gateway.dependencies import IDENTITY, SETTINGS
from gateway.identity.model import Account
from gateway.identity.tokens import TokenPair
from gateway.routes.registry import api
from gateway.schemas import (
    AddStaffBody,
    MeOut,
    PortalLoginBody,
    RefreshBody,
    SignUpBody,
    SignUpOut,
    StaffLoginBody,
    StaffOut,
    TenantOut,
    Tokens,
)
from platform_core.errors import PermissionDenied


def tokens_out(pair: TokenPair) -> Tokens:
    return Tokens(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


@api.route(
    "POST",
    "/api/v1/signup",
    summary="Create a business (tenant) with its owner",
    tag="auth",
    auth="public",
    body=SignUpBody,
    response=SignUpOut,
    status=201,
    errors=(403, 409),
    description="Switched off by ATRIUM_SIGNUP_ENABLED=false for closed deployments (then 403).",
)
async def sign_up(request: web.Request, body: SignUpBody) -> SignUpOut:
    if not request.app[SETTINGS].signup_enabled:
        raise PermissionDenied("sign-up is disabled on this deployment", reason="SIGNUP_DISABLED")
    tenant, owner, pair = await request.app[IDENTITY].sign_up(
        business_name=body.business_name,
        country=body.country,
        timezone_name=body.timezone,
        email=body.owner_email,
        password=body.owner_password,
    )
    return SignUpOut(
        tenant=TenantOut(
            id=str(tenant.id), name=tenant.name, slug=tenant.slug, country=tenant.country, timezone=tenant.timezone
        ),
        owner=StaffOut(id=str(owner.id), email=body.owner_email, role="owner"),
        tokens=tokens_out(pair),
    )


@api.route(
    "POST",
    "/api/v1/auth/staff/login",
    summary="Staff sign-in with email and password",
    tag="auth",
    auth="public",
    body=StaffLoginBody,
    response=Tokens,
    errors=(401, 429),
    description="Repeated failures lock the email for a while (429 with Retry-After), whether or not "
    "an account exists. An account with two-factor sign-in also sends `code` (401 TWO_FACTOR_CODE_REQUIRED "
    "without it, TWO_FACTOR_CODE_WRONG for a wrong or reused one).",
)
async def staff_login(request: web.Request, body: StaffLoginBody) -> Tokens:
    return tokens_out(await request.app[IDENTITY].staff_login(body.email, body.password, body.code))


@api.route(
    "POST",
    "/api/v1/auth/portal/login",
    summary="Client portal sign-in",
    tag="auth",
    auth="public",
    body=PortalLoginBody,
    response=Tokens,
    errors=(401, 429),
)
async def portal_login(request: web.Request, body: PortalLoginBody) -> Tokens:
    return tokens_out(await request.app[IDENTITY].portal_login(body.tenant, body.email, body.password))


@api.route(
    "POST",
    "/api/v1/auth/refresh",
    summary="Exchange a refresh token for new tokens (rotation)",
    tag="auth",
    auth="public",
    body=RefreshBody,
    response=Tokens,
    errors=(401,),
    description="The presented token is spent. Presented again within ATRIUM_REFRESH_TOKEN_GRACE_SECONDS of its "
    "rotation while its successor is live (a concurrent refresh of the same session), it answers the same new "
    "tokens; later, it is taken for reuse and the whole family is revoked (401).",
)
async def refresh(request: web.Request, body: RefreshBody) -> Tokens:
    return tokens_out(await request.app[IDENTITY].refresh(body.refresh_token))


@api.route(
    "POST",
    "/api/v1/auth/logout",
    summary="Revoke a refresh token (and every token rotated from it)",
    tag="auth",
    auth="public",
    body=RefreshBody,
    status=204,
)
async def logout(request: web.Request, body: RefreshBody) -> None:
    await request.app[IDENTITY].logout(body.refresh_token)


@api.route(
    "GET",
    "/api/v1/me",
    summary="The signed-in account (staff or portal) and its business",
    tag="auth",
    auth="any",
    response=MeOut,
)
async def me(request: web.Request, account: Account) -> MeOut:
    return MeOut.model_validate(await request.app[IDENTITY].describe(account))


@api.route(
    "POST",
    "/api/v1/staff",
    summary="Add a staff member (owners add admins and staff; admins add staff)",
    tag="auth",
    body=AddStaffBody,
    response=StaffOut,
    status=201,
    permission="staff.manage",
    errors=(409,),
)
async def add_staff(request: web.Request, body: AddStaffBody, account: Account) -> StaffOut:
    created = await request.app[IDENTITY].add_staff(account, email=body.email, password=body.password, role=body.role)
    return StaffOut.model_validate(created)
