"""Errors as RFC 9457 problem details (application/problem+json), mapped in one place.

Domain errors raised in the gateway and gRPC statuses from the services map to HTTP by the same table
(after grpc-gateway's, with INVALID_ARGUMENT as 422 and FAILED_PRECONDITION as 409). Internal errors
never expose details.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from aiohttp import web

from platform_core import errors
from platform_core.grpc.errors import from_rpc_error, status_code_for

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_HTTP_FOR_GRPC = {
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.OUT_OF_RANGE: 422,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.UNIMPLEMENTED: 501,
}

# Reasons that have an HTTP status of their own (the gRPC code alone does not say).
_HTTP_FOR_REASON = {"ATTACHMENT_TOO_LARGE": 413, "UNSUPPORTED_MEDIA_TYPE": 415}

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    499: "Client Closed Request",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# Codes whose message is safe and useful to show a caller.
_DETAILED = {401, 403, 404, 409, 413, 415, 422, 429}


def problem(
    request: web.Request,
    status: int,
    *,
    detail: str = "",
    code: str = "",
    violations: tuple[errors.FieldViolation, ...] = (),
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {
        "type": f"/problems/{(code or _TITLES.get(status, 'error')).lower().replace(' ', '-').replace('_', '-')}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail or _TITLES.get(status, "Error"),
        "instance": request.path,
    }
    if code:
        body["code"] = code
    if violations:
        body["errors"] = [{"field": v.field, "message": v.message} for v in violations]
    return web.Response(status=status, text=json.dumps(body), content_type=PROBLEM_JSON, headers=headers)


def http_status_for_domain_error(error: errors.DomainError) -> int:
    return _HTTP_FOR_REASON.get(error.reason) or _HTTP_FOR_GRPC.get(status_code_for(error), 500)


def _from_domain_error(request: web.Request, error: errors.DomainError) -> web.Response:
    status = http_status_for_domain_error(error)
    violations = error.violations if isinstance(error, errors.InvalidArgument) else ()
    headers = {}
    if error.retry_after:
        headers["Retry-After"] = str(error.retry_after)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="atrium"'
    return problem(request, status, detail=error.message, code=error.reason, violations=violations, headers=headers)


def _from_rpc_error(request: web.Request, exc: grpc.aio.AioRpcError) -> web.Response:
    remote = from_rpc_error(exc)
    status = _HTTP_FOR_REASON.get(remote.reason) or _HTTP_FOR_GRPC.get(remote.code, 500)
    if status == 500:
        log.error("backend call failed: %s %s", remote.code.name, remote.message)
    detail = remote.message if status in _DETAILED else ""
    if status in (503, 504):
        detail = "a backend service is unavailable; try again shortly"
    headers = {"Retry-After": str(remote.retry_after)} if remote.retry_after else None
    return problem(
        request,
        status,
        detail=detail,
        code=remote.reason or remote.code.name,
        violations=remote.violations,
        headers=headers,
    )


def answer_for(request: web.Request, exc: errors.DomainError | grpc.aio.AioRpcError) -> web.Response:
    """The problem answer to a caller's mistake or a backend's refusal."""
    if isinstance(exc, errors.DomainError):
        return _from_domain_error(request, exc)
    return _from_rpc_error(request, exc)


@web.middleware
async def problem_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except (errors.DomainError, grpc.aio.AioRpcError) as exc:
        return answer_for(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        detail = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else ""
        return problem(
            request, exc.status, detail=detail, headers={k: v for k, v in exc.headers.items() if k == "Allow"}
        )
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(request, 500)
