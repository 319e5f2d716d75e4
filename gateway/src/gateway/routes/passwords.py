"""Forgotten passwords (staff and portal) and password changes."""

from __future__ import annotations

from aiohttp import web

from gateway.account_schemas import (
    ChangePasswordBody,
    PortalPasswordResetBody,
    ResetPasswordBody,
    StaffPasswordResetBody,
)
from gateway.dependencies import PASSWORD_RESETS
from gateway.identity.model import Account
from gateway.routes.auth import tokens_out
from gateway.routes.registry import api
from gateway.schemas import Tokens

SAME_ANSWER = (
    "Answers 202 whether or not the address has an account; an existing one is sent a one-time link "
    "(PasswordResetRequested, valid ATRIUM_PASSWORD_RESET_TTL_SECONDS). Requests per address are limited "
    "(429 with Retry-After), also for unknown addresses."
)


@api.route(
    "POST",
    "/api/v1/auth/staff/password-reset",
    summary="Ask for a staff password reset link",
    tag="auth",
    auth="public",
    body=StaffPasswordResetBody,
    status=202,
    errors=(429,),
    description=SAME_ANSWER,
)
async def request_staff_password_reset(request: web.Request, body: StaffPasswordResetBody) -> web.Response:
    await request.app[PASSWORD_RESETS].request_for_staff(body.email)
    return web.Response(status=202)


@api.route(
    "POST",
    "/api/v1/auth/portal/password-reset",
    summary="Ask for a portal password reset link",
    tag="auth",
    auth="public",
    body=PortalPasswordResetBody,
    status=202,
    errors=(429,),
    description=SAME_ANSWER,
)
async def request_portal_password_reset(request: web.Request, body: PortalPasswordResetBody) -> web.Response:
    await request.app[PASSWORD_RESETS].request_for_portal(body.tenant, body.email)
    return web.Response(status=202)


@api.route(
    "POST",
    "/api/v1/auth/password-reset/confirm",
    summary="Set a new password with a reset link's token",
    tag="auth",
    auth="public",
    body=ResetPasswordBody,
    status=204,
    description="The link works once (a used, expired or unknown token answers 422 naming `token`, saying "
    "which); every session of the account ends and its access tokens stop working.",
)
async def reset_password(request: web.Request, body: ResetPasswordBody) -> None:
    await request.app[PASSWORD_RESETS].reset(body.token, body.password)


@api.route(
    "POST",
    "/api/v1/auth/password",
    summary="Change the signed-in account's password; every other session ends",
    tag="auth",
    auth="any",
    body=ChangePasswordBody,
    response=Tokens,
    description="Answers with new tokens for this caller; all earlier access and refresh tokens stop working.",
)
async def change_password(request: web.Request, body: ChangePasswordBody, account: Account) -> Tokens:
    return tokens_out(await request.app[PASSWORD_RESETS].change(account, body.current_password, body.new_password))
