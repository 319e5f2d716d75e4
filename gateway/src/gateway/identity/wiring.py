"""The account services of a running gateway: built once its database engine exists, torn down with it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.dependencies import IDENTITY, PASSWORD_RESETS, PRINCIPALS, SETTINGS, STAFF_ACCOUNTS
from gateway.identity.passwords_reset import PasswordResets
from gateway.identity.principals import Principals
from gateway.identity.service import ThrottlePolicy
from gateway.identity.staff import StaffAccounts


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
    stop = asyncio.Event()
    listener = asyncio.create_task(principals.listen(stop), name="principals-listen")
    try:
        yield
    finally:
        stop.set()
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
