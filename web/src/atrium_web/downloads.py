"""Files the gateway writes (PDF documents, CSV exports), handed to the browser as they are: their type, file
name and validator; this site's own security headers are added on the way out."""

from __future__ import annotations

from aiohttp import web

from atrium_web.gateway_api import ApiProblem
from atrium_web.sessions import UserApi

KEPT_HEADERS = ("Content-Type", "Content-Disposition", "ETag")


async def file_from_gateway(api: UserApi, path: str, **params: str) -> web.Response:
    """The gateway's file at ``path``; a problem (4xx) raises ApiProblem, which the error pages answer."""
    reply = await api.call("GET", path, params=params or None)
    if reply.status >= 400:
        raise ApiProblem.from_body(reply.status, reply.body)
    return web.Response(
        body=reply.raw, headers={name: reply.headers[name] for name in KEPT_HEADERS if name in reply.headers}
    )
