"""Portal pages while a service behind the gateway does not answer: what can still be shown is shown."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from atrium_web.app import create_app
from atrium_web.config import WebSettings

from .test_sessions_and_security import FakeGateway, Web


class PortalGateway(FakeGateway):
    """The portal's calls, with the notification and billing services down (the gateway answers 503)."""

    def app(self) -> web.Application:
        app = super().app()

        async def permissions(request: web.Request) -> web.Response:
            return web.json_response(
                {"view_appointments": True, "view_invoices": True, "view_documents": True, "edit_profile": False}
            )

        async def card(request: web.Request) -> web.Response:
            return web.json_response({"client_id": "c1", "token": "card-token-of-c1"})

        async def down(request: web.Request) -> web.Response:
            problem = {"status": 503, "title": "Service Unavailable"}
            return web.json_response(problem, status=503, content_type="application/problem+json")

        app.router.add_get("/api/v1/portal/permissions", permissions)
        app.router.add_get("/api/v1/portal/membership-card", card)
        app.router.add_get("/api/v1/portal/notifications", down)
        app.router.add_get("/api/v1/portal/credits", down)
        return app


@pytest.fixture
async def portal() -> AsyncIterator[Web]:
    fake = PortalGateway()
    gateway = TestServer(fake.app())
    await gateway.start_server()
    settings = WebSettings(web_session_secret="s" * 40, web_gateway_url=str(gateway.make_url("")))
    async with TestClient(TestServer(create_app(settings))) as client:
        site = Web(client, fake)
        token = await site.csrf("/portal/sign-in")
        signed_in = await client.post(
            "/portal/sign-in",
            data={"csrf_token": token, "business": "studio", "email": "mia@example.com", "password": "x"},
            allow_redirects=False,
        )
        assert signed_in.status == 303
        yield site
    await gateway.close()


async def test_the_card_shows_while_billing_and_the_inbox_do_not_answer(portal: Web) -> None:
    response = await portal.client.get("/portal/membership")
    page = await response.text()
    assert response.status == 200, page
    assert 'class="qr"' in page and "data:image/svg+xml" in page
    assert "Your credits cannot be shown right now" in page
    assert "You hold no credits" not in page
    assert re.search(r'href="/portal/notifications"\s*>Notifications</a>', page)  # no unread count, no error
