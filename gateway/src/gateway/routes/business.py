"""The business's profile and settings, and staff members' two-factor sign-in."""

from __future__ import annotations

from aiohttp import web

from gateway.account_schemas import (
    BusinessOut,
    ChangeBusinessBody,
    TwoFactorCodeBody,
    TwoFactorOffBody,
    TwoFactorSetupOut,
)
from gateway.dependencies import BUSINESS, TWO_FACTOR
from gateway.identity.business import ProfileChange
from gateway.identity.model import Account
from gateway.routes.registry import api


@api.route(
    "GET",
    "/api/v1/business",
    summary="The business's profile and settings",
    tag="business",
    permission="settings.manage",
    response=BusinessOut,
)
async def get_business(request: web.Request, account: Account) -> BusinessOut:
    return BusinessOut.model_validate(await request.app[BUSINESS].get(account.tenant_id))


@api.route(
    "PATCH",
    "/api/v1/business",
    summary="Change the business's name, zone, language or two-factor requirement",
    tag="business",
    permission="settings.manage",
    body=ChangeBusinessBody,
    response=BusinessOut,
    description="Emits BusinessProfileChanged.",
)
async def change_business(request: web.Request, body: ChangeBusinessBody, account: Account) -> BusinessOut:
    change = ProfileChange(
        name=body.name,
        timezone=body.timezone,
        default_language=body.default_language,
        require_two_factor=body.require_two_factor,
    )
    return BusinessOut.model_validate(await request.app[BUSINESS].change(account.tenant_id, change))


@api.route(
    "POST",
    "/api/v1/auth/two-factor",
    summary="Start setting up two-factor sign-in: a secret for an authenticator app",
    tag="auth",
    auth="any",
    response=TwoFactorSetupOut,
    errors=(409,),
    description="Staff only. Sign-in asks for codes once `.../confirm` took a code of this secret.",
)
async def start_two_factor(request: web.Request, account: Account) -> TwoFactorSetupOut:
    return TwoFactorSetupOut.model_validate(await request.app[TWO_FACTOR].start(account))


@api.route(
    "POST",
    "/api/v1/auth/two-factor/confirm",
    summary="Switch two-factor sign-in on with the authenticator's current code",
    tag="auth",
    auth="any",
    body=TwoFactorCodeBody,
    status=204,
    errors=(409,),
)
async def confirm_two_factor(request: web.Request, body: TwoFactorCodeBody, account: Account) -> None:
    await request.app[TWO_FACTOR].confirm(account, body.code)


@api.route(
    "POST",
    "/api/v1/auth/two-factor/disable",
    summary="Switch two-factor sign-in off (with the password; not while the business requires it)",
    tag="auth",
    auth="any",
    body=TwoFactorOffBody,
    status=204,
    errors=(409,),
)
async def disable_two_factor(request: web.Request, body: TwoFactorOffBody, account: Account) -> None:
    await request.app[TWO_FACTOR].switch_off(account, body.password)
