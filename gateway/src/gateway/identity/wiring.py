"""The account and integration services of a running gateway: built once its database engine exists,
torn down with it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.api import CHANGE_RECORDER
from gateway.audit import AuditTrail
from gateway.dependencies import (
    API_KEYS,
    AUDIT,
    BUSINESS,
    IDENTITY,
    PASSWORD_RESETS,
    PRINCIPALS,
    PUBLIC_BOOKING,
    ROLES,
    SETTINGS,
    STAFF_ACCOUNTS,
    TWO_FACTOR,
    WEBHOOKS,
)
from gateway.identity.api_keys import ApiKeys, RateLimits, is_api_key, secret_hash
from gateway.identity.business import BusinessProfile
from gateway.identity.model import Account
from gateway.identity.passwords_reset import PasswordResets
from gateway.identity.principals import Principals
from gateway.identity.roles import Roles
from gateway.identity.service import ThrottlePolicy
from gateway.identity.staff import StaffAccounts
from gateway.identity.tokens import AccessTokens, InvalidToken
from gateway.identity.two_factor import TwoFactor
from gateway.public_booking import PublicBookingLimits, PublicBookingPages
from gateway.routes.registry import api
from gateway.webhooks.endpoints import WebhookEndpoints


@contextlib.asynccontextmanager
async def account_services(app: web.Application, engine: AsyncEngine) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    principals = Principals(engine)
    app[PRINCIPALS] = principals
    app[STAFF_ACCOUNTS] = StaffAccounts(
        engine,
        app[IDENTITY],
        principals,
        events_prefix=settings.nats_prefix,
        base_url=settings.base_url(),
        invitation_ttl_seconds=settings.staff_invitation_ttl_seconds,
    )
    app[PASSWORD_RESETS] = PasswordResets(
        engine,
        app[IDENTITY],
        principals,
        events_prefix=settings.nats_prefix,
        base_url=settings.base_url(),
        ttl_seconds=settings.password_reset_ttl_seconds,
        # Each request counts; past the limit the address is refused for one window.
        throttle=ThrottlePolicy(
            settings.password_reset_max_requests,
            settings.password_reset_window_seconds,
            settings.password_reset_window_seconds,
        ),
    )
    app[API_KEYS] = ApiKeys(
        engine,
        principals,
        RateLimits(settings.api_key_rate_limit, settings.api_key_ip_rate_limit, settings.rate_limit_window_seconds),
    )
    app[ROLES] = Roles(engine, principals, events_prefix=settings.nats_prefix)
    app[BUSINESS] = BusinessProfile(engine, principals, events_prefix=settings.nats_prefix)
    app[TWO_FACTOR] = TwoFactor(engine, principals)
    app[PUBLIC_BOOKING] = PublicBookingPages(
        engine,
        app[IDENTITY],
        PublicBookingLimits(
            requests_per_email=settings.public_booking_requests_per_email,
            requests_per_ip=settings.public_booking_requests_per_ip,
            codes_per_ip=settings.public_booking_codes_per_ip,
            window_seconds=settings.public_booking_window_seconds,
        ),
    )
    app[AUDIT] = AuditTrail(engine, api)
    app[CHANGE_RECORDER] = app[AUDIT]
    app[WEBHOOKS] = WebhookEndpoints(engine, allow_insecure_targets=settings.webhook_allow_insecure_targets)
    stop = asyncio.Event()
    listener = asyncio.create_task(principals.listen(stop), name="principals-listen")
    try:
        yield
    finally:
        stop.set()
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


async def account_for_bearer(request: web.Request, tokens: AccessTokens, bearer: str) -> Account:
    """The account a bearer token (an access token or an API key) stands for, as it is now.

    A valid signature is not enough: the account must still be active and its sessions unrevoked, the key
    unrevoked. A call with a key counts against its rate limits (429 past them).
    """
    principals = request.app[PRINCIPALS]
    if is_api_key(bearer):
        account = await principals.api_key(secret_hash(bearer))
        if account is None:
            raise InvalidToken("unknown or revoked API key")
        await request.app[API_KEYS].count_call(account, request.remote or "unknown")
        return account
    current = await principals.current(tokens.verify(bearer))
    if current is None:
        raise InvalidToken("the account was deactivated or its sessions revoked")
    return current
