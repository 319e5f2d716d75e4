"""`python -m gateway serve | migrate | seed-demo | seed-demo-schedule`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

import uvloop
from aiohttp import web

from gateway.config import GatewaySettings
from platform_core import migrations
from platform_core.db import create_engine
from platform_core.observability import setup_telemetry, shutdown_telemetry, tracing_enabled

log = logging.getLogger("gateway")
UNIT_DIR = Path(__file__).resolve().parents[2]


def serve(settings: GatewaySettings) -> None:
    if tracing_enabled():
        from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor

        # Before the application exists: every request then gets a server span.
        AioHttpServerInstrumentor().instrument()
    from gateway.app import create_app

    log.info("gateway listening on http://%s:%s", settings.gateway_host, settings.gateway_port)
    web.run_app(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        print=None,
        access_log=None,
        shutdown_timeout=5,
        loop=uvloop.new_event_loop(),
    )


async def seed_demo(settings: GatewaySettings) -> None:
    from gateway.identity.service import IdentityService, ThrottlePolicy
    from gateway.identity.tokens import AccessTokens
    from gateway.schemas import SignUpBody

    engine = create_engine(settings.database_url("gateway"), pool_size=1, max_overflow=0)
    try:
        identity = IdentityService(
            engine,
            AccessTokens(settings.jwt_secret.get_secret_value(), settings.access_token_ttl_seconds),
            refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
            refresh_grace_seconds=settings.refresh_token_grace_seconds,
            throttle=ThrottlePolicy(1, 1, 1),
            invitation_ttl_seconds=settings.portal_invitation_ttl_seconds,
            events_prefix=settings.nats_prefix,
        )
        # The same rules as a sign-up, so the demo owner can always sign in through the API.
        demo = SignUpBody(
            business_name=settings.demo_business_name,
            country="US",
            timezone="America/New_York",
            owner_email=settings.demo_owner_email,
            owner_password=settings.demo_owner_password.get_secret_value(),
        )
        email = demo.owner_email
        slug, created = await identity.ensure_demo(
            business_name=demo.business_name,
            country=demo.country,
            timezone_name=demo.timezone,
            email=email,
            password=demo.owner_password,
        )
    finally:
        await engine.dispose()
    state = "created" if created else "already there (its password is the one it was created with)"
    print(f"Demo tenant '{slug}' {state}: owner {email} / {settings.demo_owner_password.get_secret_value()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the HTTP gateway")
    commands.add_parser("worker", help="run the background work: outbox relay, webhook deliveries")
    commands.add_parser("migrate", help="apply the identity database migrations")
    commands.add_parser("seed-demo", help="create the demo tenant and owner if missing")
    commands.add_parser("seed-demo-schedule", help="give the demo tenant working hours and a service (platform up)")
    args = parser.parse_args(argv)

    settings = GatewaySettings()  # type: ignore[call-arg]  # required fields come from the environment
    setup_telemetry("gateway", log_level=settings.log_level)
    try:
        if args.command == "migrate":
            migrations.upgrade(
                UNIT_DIR / "alembic.ini", settings.database_url("gateway"), create_database=settings.env != "production"
            )
        elif args.command == "seed-demo":
            asyncio.run(seed_demo(settings))
        elif args.command == "seed-demo-schedule":
            from gateway.demo_schedule import seed_demo_schedule

            asyncio.run(seed_demo_schedule(settings))
        elif args.command == "worker":
            from gateway.worker import worker_main

            uvloop.run(worker_main(settings))
        else:
            serve(settings)
        return 0
    finally:
        shutdown_telemetry()


if __name__ == "__main__":
    sys.exit(main())
