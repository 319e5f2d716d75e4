"""The public booking page asks the gateway for the code email in its visitor's browser language, when the
business's emails come in it, and asks the business's booking form questions, sending their answers."""

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
QUESTIONS = [
    {
        "key": "hair_length",
        "label": "Hair length",
        "type": "single_choice",
        "options": ["Short", "Long"],
        "required": True,
    },
    {"key": "terms", "label": "Terms accepted", "type": "checkbox", "options": [], "required": True},
    {"key": "visits", "label": "Visits so far", "type": "number", "options": [], "required": False},
    {"key": "extras", "label": "Extras", "type": "multiple_choice", "options": ["Wash", "Dry"], "required": False},
]
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
            cut = {"id": "s1", "name": "Cut", "description": "", "duration_minutes": 30, "price_minor": 0}
            return web.json_response({"items": [cut | {"currency": "EUR", "staff": []}]})

        async def availability(request: web.Request) -> web.Response:
            slot = {"start": "2030-01-01T09:00:00Z", "local_start": "2030-01-01T10:00:00+01:00", "staff_ids": []}
            return web.json_response({"timezone": "Europe/Berlin", "slots": [slot]})

        async def form(request: web.Request) -> web.Response:
            return web.json_response({"fields": QUESTIONS})

        async def ask(request: web.Request) -> web.Response:
            asked = await request.json()
            self.asked.append(asked)
            if asked["answers"].get("hair_length") == "Medium":
                problem = {
                    "code": "INVALID_ARGUMENT",
                    "errors": [{"field": "answers.hair_length", "message": "must be one of: Short, Long"}],
                }
                return web.json_response(problem, status=422, content_type="application/problem+json")
            started = {"verification_id": "v1", "email": "ada@example.com", "expires_at": "2030-01-01T10:00:00Z"}
            return web.json_response(started, status=202)

        app.router.add_get(PAGE, business)
        app.router.add_get(PAGE + "/services", services)
        app.router.add_get(PAGE + "/form", form)
        app.router.add_get(PAGE + "/availability", availability)
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


def signed_form(shown: str, **fields: Any) -> list[tuple[str, str]]:
    found = CSRF_HEADER.search(shown)
    assert found, shown
    visitor = {"service_id": "s1", "date": "2030-01-01", "start": "2030-01-01T09:00:00Z", "name": "Ada"}
    visitor["email"] = "ada@example.com"
    return [("csrf_token", found.group(1)), *visitor.items(), *fields.items()]


async def test_the_booking_forms_answers_go_with_the_request_and_a_refused_one_is_named_beside_its_input(
    page: tuple[TestClient[web.Request, web.Application], PublicGateway],
) -> None:
    client, gateway = page
    shown = await (await client.get("/book/salon")).text()
    answered = signed_form(shown, **{"custom.hair_length": "Long", "custom.terms": "on", "custom.visits": "3"})
    answered += [("custom.extras", "Wash"), ("custom.extras", "Dry")]
    sent = await client.post("/book/salon/requests", data=answered, allow_redirects=False)
    assert sent.status == 303, await sent.text()
    assert gateway.asked[-1]["answers"] == {
        "hair_length": "Long",
        "terms": True,
        "visits": 3,
        "extras": ["Wash", "Dry"],
    }

    # Unanswered optional questions and an unticked box are not sent (a client's kept answer is never cleared).
    sent = await client.post(
        "/book/salon/requests", data=signed_form(shown, **{"custom.hair_length": "Long"}), allow_redirects=False
    )
    assert sent.status == 303
    assert gateway.asked[-1]["answers"] == {"hair_length": "Long"}

    # Not a number: said at once, nothing asked; a value the API refuses is named beside its input.
    asked = len(gateway.asked)
    refused = await client.post("/book/salon/requests", data=signed_form(shown, **{"custom.visits": "many"}))
    assert refused.status == 400 and len(gateway.asked) == asked
    assert 'id="custom.visits-error">Enter a number.' in await refused.text()
    refused = await client.post("/book/salon/requests", data=signed_form(shown, **{"custom.hair_length": "Medium"}))
    body = await refused.text()
    assert refused.status == 400
    assert 'id="custom.hair_length-error">must be one of: Short, Long' in body
    assert "Please check the answers marked below." in body
