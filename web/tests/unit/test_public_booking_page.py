"""The public booking page asks the gateway for the code email in its visitor's browser language, when the
business's emails come in it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from atrium_web.app import create_app
from atrium_web.config import WebSettings

PAGE = "/api/v1/public/booking/salon"
CSRF_HEADER = re.compile(r'"X-CSRF-Token": "([^"]+)"')  # every page carries the session's token for htmx


class PublicGateway:
    """The public booking API of one open page whose emails come in English (its own) and German."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def app(self) -> web.Application:
        app = web.Application()

        async def business(request: web.Request) -> web.Response:
            facts = {"name": "Salon", "slug": "salon", "timezone": "Europe/Berlin", "language": "en"}
            return web.json_response(facts | {"languages": ["en", "de"]})

        async def services(request: web.Request) -> web.Response:
            return web.json_response({"items": []})

        async def ask(request: web.Request) -> web.Response:
            self.asked.append(await request.json())
            started = {"verification_id": "v1", "email": "ada@example.com", "expires_at": "2030-01-01T10:00:00Z"}
            return web.json_response(started, status=202)

        app.router.add_get(PAGE, business)
        app.router.add_get(PAGE + "/services", services)
        app.router.add_post(PAGE + "/requests", ask)
        return app


@pytest.fixture
async def page() -> AsyncIterator[tuple[TestClient[web.Request, web.Application], PublicGateway]]:
    fake = PublicGateway()
    gateway = TestServer(fake.app())
    await gateway.start_server()
    settings = WebSettings(web_session_secret="s" * 40, web_gateway_url=str(gateway.make_url("")))
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client, fake
    await gateway.close()


@pytest.mark.parametrize(
    ("accept_language", "language"),
    [("de-CH, de;q=0.9, en;q=0.5", "de"), ("fr-FR, en-GB;q=0.4", "en"), ("fr", None), ("", None)],
)
async def test_the_request_names_the_browsers_language_among_the_pages(
    page: tuple[TestClient[web.Request, web.Application], PublicGateway], accept_language: str, language: str | None
) -> None:
    client, gateway = page
    shown = await (await client.get("/book/salon")).text()
    found = CSRF_HEADER.search(shown)
    assert found, shown
    form = {
        "csrf_token": found.group(1),
        "service_id": "s1",
        "start": "2030-01-01T09:00:00Z",
        "name": "Ada",
        "email": "ada@example.com",
    }
    sent = await client.post(
        "/book/salon/requests", data=form, headers={"Accept-Language": accept_language}, allow_redirects=False
    )
    assert sent.status == 303, await sent.text()
    (asked,) = gateway.asked
    assert asked.get("language") == language
