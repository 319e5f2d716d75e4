"""The signed-in user's session: tokens kept server-side of the browser, refreshed transparently.

The session lives in an encrypted, HttpOnly, SameSite=Lax cookie (aiohttp-session's Fernet storage), so the
browser holds only ciphertext and any replica can read it. It carries the CSRF token every form posts back.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

from aiohttp import web
from aiohttp_session import Session, get_session, new_session

from atrium_web.gateway_api import ApiProblem, Gateway, Reply, SignInRequired

ACCOUNT = "account"
CSRF = "csrf"
# Refresh the access token this long before it expires, so a call never races its expiry.
REFRESH_MARGIN_SECONDS = 60
GATEWAY: web.AppKey[Gateway] = web.AppKey("gateway", Gateway)

Kind = Literal["staff", "portal"]


@dataclass
class Account:
    kind: Kind
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds of the access token's expiry
    email: str
    tenant_slug: str
    tenant_name: str
    timezone: str  # staff: the business's zone; clients: their own (else the business's)
    role: str | None = None
    client_id: str | None = None

    def with_tokens(self, tokens: dict[str, Any]) -> Account:
        return Account(**(asdict(self) | token_fields(tokens)))


def token_fields(tokens: dict[str, Any]) -> dict[str, Any]:
    return {
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "expires_at": time.time() + int(tokens["expires_in"]),
    }


def csrf_token(session: Session) -> str:
    token = session.get(CSRF)
    if not token:
        token = session[CSRF] = secrets.token_urlsafe(32)
    return str(token)


def csrf_matches(session: Session, presented: str | None) -> bool:
    expected = session.get(CSRF)
    return bool(expected and presented and hmac.compare_digest(str(expected), presented))


async def current_account(request: web.Request) -> Account | None:
    data = (await get_session(request)).get(ACCOUNT)
    return Account(**data) if data else None


async def start_session(request: web.Request, account: Account) -> None:
    """A fresh session (new id and CSRF token: nothing from before sign-in carries over)."""
    session = await new_session(request)
    session[ACCOUNT] = asdict(account)
    csrf_token(session)


async def end_session(request: web.Request) -> None:
    """Revoke the refresh token family at the gateway, then forget everything."""
    session = await get_session(request)
    data = session.get(ACCOUNT)
    if data:
        await request.app[GATEWAY].request("POST", "/api/v1/auth/logout", json={"refresh_token": data["refresh_token"]})
    session.invalidate()


class UserApi:
    """The gateway as the signed-in user: their bearer token, refreshed before it expires or when refused."""

    def __init__(self, request: web.Request, account: Account) -> None:
        self.request = request
        self.account = account
        self._gateway = request.app[GATEWAY]

    async def _refresh(self) -> None:
        try:
            tokens = await self._gateway.refresh(self.account.refresh_token)
        except SignInRequired:
            (await get_session(self.request)).invalidate()
            raise
        self.account = self.account.with_tokens(tokens)
        (await get_session(self.request))[ACCOUNT] = asdict(self.account)

    async def call(self, method: str, path: str, **kwargs: Any) -> Reply:
        if self.account.expires_at - time.time() < REFRESH_MARGIN_SECONDS:
            await self._refresh()
        reply = await self._gateway.request(method, path, token=self.account.access_token, **kwargs)
        if reply.status == 401:
            await self._refresh()
            reply = await self._gateway.request(method, path, token=self.account.access_token, **kwargs)
            if reply.status == 401:
                (await get_session(self.request)).invalidate()
                raise SignInRequired("the gateway refused the refreshed token")
        return reply

    async def get(self, path: str, **params: Any) -> Any:
        """The body of a successful GET; a problem (4xx) raises ApiProblem."""
        query = {k: str(v) for k, v in params.items() if v not in (None, "")}
        return body_of(await self.call("GET", path, params=query))

    async def send(self, method: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        return body_of(await self.call(method, path, json=json, **kwargs))


def body_of(reply: Reply) -> Any:
    if reply.status >= 400:
        raise ApiProblem.from_body(reply.status, reply.body)
    return reply.body
