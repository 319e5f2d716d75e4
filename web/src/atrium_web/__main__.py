"""`python -m atrium_web serve`: the web unit has no database, so no migrate step."""

from __future__ import annotations

import argparse
import logging
import sys

import uvloop
from aiohttp import web

from atrium_web.config import WebSettings
from platform_core.observability import setup_telemetry, shutdown_telemetry

log = logging.getLogger("atrium_web")


def serve(settings: WebSettings) -> None:
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor

    # Before the application exists: every page gets a server span, every gateway call a client span.
    AioHttpServerInstrumentor().instrument()
    AioHttpClientInstrumentor().instrument()
    from atrium_web.app import create_app

    log.info("web listening on http://%s:%s", settings.web_host, settings.web_port)
    web.run_app(
        create_app(settings),
        host=settings.web_host,
        port=settings.web_port,
        print=None,
        access_log=None,
        shutdown_timeout=5,
        loop=uvloop.new_event_loop(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m atrium_web")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the staff console and the client portal")
    parser.parse_args(argv)

    settings = WebSettings()  # type: ignore[call-arg]  # required fields come from the environment
    setup_telemetry("web", log_level=settings.log_level)
    try:
        serve(settings)
        return 0
    finally:
        shutdown_telemetry()


if __name__ == "__main__":
    sys.exit(main())
