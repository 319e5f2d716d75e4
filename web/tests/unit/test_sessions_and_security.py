"""Sessions, CSRF and headers of the web unit, against a fake gateway (an aiohttp app on a real socket).

The fake issues access tokens that are about to expire, so every page refreshes them: the test sees the
refresh token rotate through the encrypted cookie, and logout revoke the last one.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from atrium_web.app import COOKIE_NAME, create_app
from atrium_web.config import WebSettings

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class FakeGateway:
    counter: itertools.count[int] = field(default_factory=itertools.count)
    refreshed: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    bearers: list[str] = field(default_factory=list)
    may_read_requests: bool = True

    def tokens(self) -> dict[str, Any]:
        n = next(self.counter)
        # 30 s left: under the web unit's refresh margin, so the next page refreshes first.
        return {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}", "expires_in": 30}

    def app(self) -> web.Application:
        app = web.Application()

        async def staff_login(request: web.Request) -> web.Response:
            body = await request.json()
            if body["password"] != "right":
                return web.json_response({"status": 401, "title": "Unauthorized"}, status=401)
            return web.json_response(self.tokens())

        async def portal_login(request: web.Request) -> web.Response:
            return web.json_response(self.tokens())

        async def refresh(request: web.Request) -> web.Response:
            token = (await request.json())["refresh_token"]
            self.refreshed.append(token)
            if token in self.revoked:
                return web.json_response({"status": 401}, status=401)
            return web.json_response(self.tokens())

        async def logout(request: web.Request) -> web.Response:
            self.revoked.append((await request.json())["refresh_token"])
            return web.Response(status=204)

        async def me(request: web.Request) -> web.Response:
            self.bearers.append(request.headers["Authorization"])
            kind = "portal" if "portal" in request.headers.get("X-Kind", "") else "staff"
            return web.json_response(
                {
                    "kind": kind,
                    "id": "u1",
                    "email": "owner@example.com",
                    "role": "owner",
                    "client_id": None,
                    "tenant": {"id": "t", "name": "Studio", "slug": "studio", "country": "US", "timezone": "UTC"},
                }
            )

        async def settings(request: web.Request) -> web.Response:
            return web.json_response({"timezone": "Europe/Berlin"})

        async def portal_me(request: web.Request) -> web.Response:
            return web.json_response({"profile": {"timezone": "Europe/London"}})

        async def request_counts(request: web.Request) -> web.Response:
            self.bearers.append(request.headers["Authorization"])
            if not self.may_read_requests:
                problem = {"status": 403, "code": "PERMISSION_DENIED", "detail": "needs requests.read"}
                return web.json_response(problem, status=403, content_type="application/problem+json")
            statuses = ("pending", "proposed", "approved", "declined", "cancelled", "expired", "total")
            return web.json_response(dict.fromkeys(statuses, 0))

        async def calendar(request: web.Request) -> web.Response:
            return web.json_response(
                {"view": "day", "timezone": "Europe/Berlin", "start": "2026-12-07T00:00:00+01:00", "staff": []}
            )

        async def services(request: web.Request) -> web.Response:
            return web.json_response({"items": []})

        async def ready(request: web.Request) -> web.Response:
            return web.json_response({"status": "ok"})

        app.router.add_post("/api/v1/auth/staff/login", staff_login)
        app.router.add_post("/api/v1/auth/portal/login", portal_login)
        app.router.add_post("/api/v1/auth/refresh", refresh)
        app.router.add_post("/api/v1/auth/logout", logout)
        app.router.add_get("/api/v1/me", me)
        app.router.add_get("/api/v1/scheduling/settings", settings)
        app.router.add_get("/api/v1/portal/me", portal_me)
        app.router.add_get("/api/v1/appointment-requests/counts", request_counts)
        app.router.add_get("/api/v1/calendar", calendar)
        app.router.add_get("/api/v1/services", services)
        app.router.add_get("/readyz", ready)
        return app


@dataclass
class Web:
    client: TestClient[web.Request, web.Application]
    gateway: FakeGateway

    async def csrf(self, path: str) -> str:
        page = await (await self.client.get(path)).text()
        found = CSRF_FIELD.search(page)
        assert found, page
        return found.group(1)

    async def sign_in(self, password: str = "right") -> web.StreamResponse:
        token = await self.csrf("/sign-in")
        return await self.client.post(
            "/sign-in",
            data={"csrf_token": token, "email": "owner@example.com", "password": password},
            allow_redirects=False,
        )


async def started(secure: bool | None = None) -> AsyncIterator[Web]:
    fake = FakeGateway()
    gateway = TestServer(fake.app())
    await gateway.start_server()
    settings = WebSettings(
        web_session_secret="s" * 40, web_gateway_url=str(gateway.make_url("")), web_secure_cookies=secure
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        yield Web(client, fake)
    await gateway.close()


@pytest.fixture
async def site() -> AsyncIterator[Web]:
    async for w in started():
        yield w


async def test_every_page_carries_the_security_headers(site: Web) -> None:
    for path in ("/sign-in", "/portal/sign-in", "/portal/accept-invitation", "/nowhere"):
        response = await site.client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
    assert (await site.client.get("/nowhere")).status == 404


async def test_a_form_post_without_the_sessions_csrf_token_is_refused(site: Web) -> None:
    for data in ({}, {"csrf_token": "forged"}):
        response = await site.client.post(
            "/sign-in", data=data | {"email": "owner@example.com", "password": "right"}, allow_redirects=False
        )
        assert response.status == 403
        assert "This form has expired" in await response.text()
    assert site.gateway.bearers == [] and next(site.gateway.counter) == 0  # the gateway was never asked


async def test_session_cookie_is_encrypted_httponly_and_samesite() -> None:
    for secure in (False, True):
        async for site in started(secure):
            response = await site.client.get("/sign-in")
            cookie = response.cookies[COOKIE_NAME]
            assert cookie["httponly"] and cookie["samesite"] == "Lax"
            assert bool(cookie["secure"]) is secure
            assert "csrf" not in cookie.value  # ciphertext only


async def test_tokens_are_refreshed_transparently_and_logout_revokes(site: Web) -> None:
    assert (await site.sign_in("wrong")).status == 400
    response = await site.sign_in()
    assert (response.status, response.headers["Location"]) == (303, "/today")
    # Each page finds the access token about to expire and refreshes it first; the rotated tokens are kept.
    for _ in range(2):
        page = await site.client.get("/today")
        assert page.status == 200, await page.text()
        assert "0 pending" in await page.text()
    assert site.gateway.refreshed[:2] == ["refresh-0", "refresh-1"]
    assert site.gateway.bearers[-1].startswith("Bearer access-")
    token = await site.csrf("/today")
    response = await site.client.post("/sign-out", data={"csrf_token": token}, allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/sign-in")
    assert site.gateway.revoked  # the last refresh token, revoked at the gateway
    response = await site.client.get("/today", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/sign-in?next=/today")


async def test_a_portal_session_cannot_open_staff_pages_nor_staff_the_portal(site: Web) -> None:
    token = await site.csrf("/portal/sign-in")
    response = await site.client.post(
        "/portal/sign-in",
        data={"csrf_token": token, "business": "studio", "email": "mia@example.com", "password": "x"},
        allow_redirects=False,
    )
    assert response.status == 303
    for path in ("/today", "/requests", "/clients", "/clients/c1", "/requests/r1"):
        page = await site.client.get(path, allow_redirects=False)
        assert page.status == 403, path
        assert "part of the staff console" in await page.text()


async def test_only_local_paths_are_followed_after_sign_in(site: Web) -> None:
    token = await site.csrf("/sign-in")
    for target, expected in (("/clients", "/clients"), ("//evil.example", "/today"), ("https://evil", "/today")):
        response = await site.client.post(
            "/sign-in",
            data={"csrf_token": token, "email": "a@b.example", "password": "right", "next": target},
            allow_redirects=False,
        )
        assert response.headers["Location"] == expected
        token = await site.csrf("/sign-in")  # a new session has a new token


async def test_staff_whose_role_may_not_read_requests_get_their_pages_without_the_requests_button(site: Web) -> None:
    await site.sign_in()
    assert 'id="requests-button"' in await (await site.client.get("/today")).text()
    site.gateway.may_read_requests = False
    page = await site.client.get("/today")
    assert page.status == 200 and 'id="requests-button"' not in await page.text()
