"""Liveness, readiness and the API description."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import text

from gateway.dependencies import BACKENDS, BUS, ENGINE
from gateway.openapi import build_document
from gateway.routes.registry import api
from gateway.schemas import Health

API_TITLE = "Atrium API"
API_VERSION = "1.0.0"


@api.route(
    "GET", "/healthz", summary="Liveness: the gateway process answers", tag="operations", auth="public", response=Health
)
async def healthz(request: web.Request) -> Health:
    return Health(status="ok")


@api.route(
    "GET",
    "/readyz",
    summary="Readiness: the identity database, every backend service and the message bus answer",
    tag="operations",
    auth="public",
    response=Health,
    errors=(503,),
)
async def readyz(request: web.Request) -> web.Response | Health:
    checks = await request.app[BACKENDS].health()
    try:
        async with request.app[ENGINE].connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["identity_database"] = "serving"
    except Exception:
        checks["identity_database"] = "unavailable"
    checks["message_bus"] = "serving" if request.app[BUS].connected else "unavailable"
    ready = all(state == "serving" for state in checks.values())
    result = Health(status="ok" if ready else "unavailable", checks=checks)
    if ready:
        return result
    return web.json_response(result.model_dump(), status=503)


@api.route("GET", "/api/openapi.json", summary="This API's OpenAPI 3.1 document", tag="operations", auth="public")
async def openapi_document(request: web.Request) -> dict[str, Any]:
    return build_document(api, title=API_TITLE, version=API_VERSION)
