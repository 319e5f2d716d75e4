"""The gateway application: middlewares, routes, and the resources it holds for its lifetime."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from gateway.api import ACCOUNT_KEY
from gateway.backends import Backends
from gateway.bus_health import BusProbe
from gateway.config import GatewaySettings
from gateway.dependencies import BACKENDS, BUS, ENGINE, IDENTITY, PORTAL_ACCESS, SETTINGS
from gateway.idempotency import IDEMPOTENCY, IdempotencyStore
from gateway.identity.portal_access import PortalAccessStore
from gateway.identity.service import IdentityService, ThrottlePolicy
from gateway.identity.tokens import AccessTokens, InvalidToken
from gateway.identity.wiring import account_for_bearer, account_services
from gateway.portal_survivor import SURVIVORS, SurvivorCache
from gateway.problems import problem_middleware
from gateway.routes import (  # noqa: F401 - importing a route module registers its routes
    api_keys,
    attachments,
    audit_log,
    auth,
    billing,
    billing_reports,
    business,
    calendar_feeds,
    cancellation_policy,
    card,
    client_erasure,
    client_imports,
    client_merges,
    client_statuses,
    clients,
    consumption,
    credit_reports,
    credits,
    custom_fields,
    documents,
    groups,
    membership_expiry_rule,
    membership_reports,
    membership_settings,
    memberships,
    notes,
    notifications,
    operations,
    packages,
    passwords,
    portal,
    portal_access,
    portal_billing,
    portal_requests,
    portal_scheduling,
    privacy,
    public_booking,
    reports,
    roles,
    scheduling,
    scheduling_series,
    staff,
    statements,
    webhooks,
)
from gateway.routes.registry import api
from platform_core.db import create_engine
from platform_core.observability import instrument_engine

MAX_BODY_BYTES = 1024 * 1024
# Every URL the OpenAPI document admits must be readable: a query at each parameter's maxLength, percent-encoded
# (up to 12 bytes a character), exceeded aiohttp's 8190-byte request line and answered an undocumented 400.
# test_request_line holds the route table's longest possible URL under this.
MAX_REQUEST_LINE_BYTES = 32 * 1024
INVALID_TOKEN = object()  # a bearer token was sent but does not verify


def auth_middleware(tokens: AccessTokens) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def authenticate(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        header = request.headers.get("Authorization")
        if header:
            scheme, _, token = header.partition(" ")
            try:
                if scheme.lower() != "bearer" or not token:
                    raise InvalidToken("not a bearer token")
                request[ACCOUNT_KEY] = await account_for_bearer(request, tokens, token.strip())
            except InvalidToken:
                request[ACCOUNT_KEY] = INVALID_TOKEN
        return await handler(request)

    return authenticate


async def _freeze_what_startup_built(_app: web.Application) -> None:
    """Modules, the route table, models and pools live as long as the process: kept out of every later collection,
    a full one no longer walks them all in the middle of a request (as the services do after start-up)."""
    gc.collect()
    gc.freeze()


def create_app(settings: GatewaySettings) -> web.Application:
    tokens = AccessTokens(settings.jwt_secret.get_secret_value(), settings.access_token_ttl_seconds)
    app = web.Application(
        middlewares=[problem_middleware, auth_middleware(tokens)],
        client_max_size=MAX_BODY_BYTES,
        handler_args={"max_line_size": MAX_REQUEST_LINE_BYTES},
    )
    app[SETTINGS] = settings

    async def resources(app: web.Application) -> AsyncIterator[None]:
        engine = create_engine(
            settings.database_url("gateway"), pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
        )
        instrument_engine(engine)
        backends = Backends(settings)
        app[BUS] = BusProbe(settings.nats_url)
        app[BUS].start()
        app[ENGINE] = engine
        app[PORTAL_ACCESS] = PortalAccessStore(engine)
        app[BACKENDS] = backends
        app[IDEMPOTENCY] = IdempotencyStore(engine)
        app[SURVIVORS] = SurvivorCache()
        app[IDENTITY] = IdentityService(
            engine,
            tokens,
            refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
            refresh_grace_seconds=settings.refresh_token_grace_seconds,
            throttle=ThrottlePolicy(
                settings.login_max_failures, settings.login_window_seconds, settings.login_lockout_seconds
            ),
            invitation_ttl_seconds=settings.portal_invitation_ttl_seconds,
            events_prefix=settings.nats_prefix,
            default_max_clients=settings.default_max_clients,
        )
        async with account_services(app, engine):
            yield
        await app[BUS].close()
        await backends.close()
        await engine.dispose()

    app.cleanup_ctx.append(resources)
    app.on_startup.append(_freeze_what_startup_built)  # after the resources: startup handlers run in order
    check_responses = settings.env != "production" if settings.check_responses is None else settings.check_responses
    api.install(app, check_responses=check_responses)
    return app
