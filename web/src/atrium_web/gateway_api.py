"""The gateway's REST API as the web unit sees it: one HTTP client, problems as exceptions.

Everything web/ shows comes through here; it holds no database and no gRPC channel.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

# Statuses that mean "the platform is not answering", not "you asked wrongly".
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})
# A refresh token exchanged by one request is handed to the requests racing it for this long, so a page
# that fires several requests with the same cookie does not present a spent token (which revokes the family).
REFRESH_SHARE_SECONDS = 30.0


class GatewayUnavailable(Exception):
    """The gateway (or a service behind it) did not answer."""


class SignInRequired(Exception):
    """No session, or its tokens can no longer be refreshed."""


@dataclass
class ApiProblem(Exception):
    """A 4xx application/problem+json answer, with its field errors by field name."""

    status: int
    code: str = ""
    detail: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_body(cls, status: int, body: Any) -> ApiProblem:
        if not isinstance(body, dict):
            return cls(status, detail=str(body or ""))
        errors = {str(e.get("field", "")): str(e.get("message", "")) for e in body.get("errors") or []}
        return cls(status, str(body.get("code") or ""), str(body.get("detail") or body.get("title") or ""), errors)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.detail}"


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    content_type: str = ""
    raw: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


class Gateway:
    """One connection pool to the gateway for the process's lifetime."""

    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._refreshes: dict[str, tuple[float, asyncio.Future[dict[str, Any]]]] = {}

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self._timeout, raise_for_status=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        assert self._session is not None, "Gateway.start() first"
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._session.request(
                method, self.base_url + path, json=json, params=params, data=data, headers=all_headers
            ) as response:
                raw = await response.read()
                content_type = response.content_type
                response_headers = response.headers.copy()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GatewayUnavailable(f"{method} {path}: {exc!r}") from exc
        if response.status in UNAVAILABLE_STATUSES:
            raise GatewayUnavailable(f"{method} {path}: {response.status}")
        body: Any = None
        if raw and content_type.endswith("json"):
            body = _json(raw)
        return Reply(response.status, body, content_type, raw, response_headers)

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        """Exchange a refresh token, once per token in this process however many requests ask at a time."""
        now = time.monotonic()
        self._refreshes = {k: v for k, v in self._refreshes.items() if now - v[0] < REFRESH_SHARE_SECONDS}
        if refresh_token in self._refreshes:
            return await asyncio.shield(self._refreshes[refresh_token][1])
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._refreshes[refresh_token] = (now, future)
        try:
            reply = await self.request("POST", "/api/v1/auth/refresh", json={"refresh_token": refresh_token})
            if reply.status != 200:
                raise SignInRequired("the session can no longer be refreshed")
            future.set_result(reply.body)
        except BaseException as exc:
            self._refreshes.pop(refresh_token, None)
            future.set_exception(exc)
            future.exception()  # retrieved: only the racing requests, if any, re-raise it
            raise
        return dict(reply.body)


def _json(raw: bytes) -> Any:
    try:
        return jsonlib.loads(raw)
    except ValueError:
        return None
