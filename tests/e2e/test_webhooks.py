"""Webhooks end to end: a local HTTP receiver subscribed to a business's events gets each one signed per
Standard Webhooks (verified here with the standardwebhooks library), retried until it answers 2xx; a
receiver that never does is disabled after the configured attempts and the owners are told."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook

from atrium.gateway.v1 import events_pb2 as ev
from platform_dev import devstack
from platform_dev.testing.plugin import wait_until

from .conftest import E2E_WEBHOOK_RETRY_DELAYS, Api
from .gateway_events import published


@dataclass
class Receiver:
    """Answers 500 to the first ``failures`` calls (all of them when None), then 204; keeps every call."""

    failures: int | None
    url: str = ""
    calls: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        failing = self.failures is None or len(self.calls) < self.failures
        status = 500 if failing else 204
        self.calls.append((dict(request.headers), await request.read(), status))
        return web.Response(status=status, text="try later" if failing else "")

    def accepted(self) -> list[tuple[dict[str, str], bytes]]:
        return [(headers, body) for headers, body, status in self.calls if status == 204]


@contextlib.asynccontextmanager
async def receiver(failures: int | None) -> AsyncIterator[Receiver]:
    hook = Receiver(failures)
    app = web.Application()
    app.router.add_post("/hooks", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = devstack.free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    hook.url = f"http://127.0.0.1:{port}/hooks"
    try:
        yield hook
    finally:
        await runner.cleanup()


async def subscribe(api: Api, token: str, url: str, event_types: list[str]) -> dict[str, Any]:
    status, endpoint, _ = await api.call(
        "POST", "/api/v1/webhook-endpoints", token=token, json={"url": url, "event_types": event_types}
    )
    assert status == 201, endpoint
    assert endpoint["secret"].startswith("whsec_")
    return endpoint


async def test_a_receiver_failing_twice_gets_the_event_once_signed_and_the_log_shows_every_attempt(api: Api) -> None:
    tenant, other = await api.sign_up(), await api.sign_up()
    token = tenant["token"]
    async with receiver(failures=2) as hook:
        endpoint = await subscribe(api, token, hook.url, ["ClientCreated", "AppointmentBooked"])
        await api.create_client(other["token"], first_name="Not Yours")
        client = await api.create_client(token, first_name="Hooked")

        accepted = await wait_until(hook.accepted, timeout=30)
        assert len(hook.calls) == 3
        headers, body = accepted[0]
        payload = Webhook(endpoint["secret"]).verify(body, headers)
        assert (payload["type"], payload["data"]["client_id"], payload["data"]["first_name"]) == (
            "ClientCreated",
            client["id"],
            "Hooked",
        )
        assert payload["business_id"] == tenant["tenant"]["id"]
        # Every attempt carries the same id (the event's): a receiver deduplicates retries by it.
        assert {h["webhook-id"] for h, _, _ in hook.calls} == {payload["id"]}

        async def logged() -> list[dict[str, Any]] | None:
            _, log, _ = await api.call("GET", f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries", token=token)
            items = log["items"]
            return items if items and items[0]["status"] == "succeeded" else None

        (delivery,) = await wait_until(logged, timeout=10)
        assert delivery["event_id"] == payload["id"]
        assert [a["response_status"] for a in delivery["attempts"]] == [500, 500, 204]
        assert delivery["attempts"][0]["response_body"] == "try later"
        # Nothing more arrives for this event, and nothing of the other business.
        _, current, _ = await api.call("GET", f"/api/v1/webhook-endpoints/{endpoint['id']}", token=token)
        assert (current["enabled"], current["consecutive_failures"]) == (True, 0)
        assert len(hook.accepted()) == 1


async def test_a_receiver_that_always_fails_is_disabled_and_the_owners_are_told(api: Api) -> None:
    tenant = await api.sign_up()
    token = tenant["token"]
    async with receiver(failures=None) as hook:
        endpoint = await subscribe(api, token, hook.url, ["ClientCreated"])
        await api.create_client(token, first_name="Nobody Home")

        disabled = await published(
            api.stack, ev.WebhookEndpointDisabled, lambda e: e.endpoint_id == endpoint["id"], timeout=30
        )
        attempts = len(E2E_WEBHOOK_RETRY_DELAYS) + 1
        assert len(hook.calls) == attempts
        assert (list(disabled.owner_emails), disabled.url, disabled.consecutive_failures) == (
            [tenant["owner_email"]],
            hook.url,
            attempts,
        )
        assert "HTTP 500" in disabled.last_error
        _, current, _ = await api.call("GET", f"/api/v1/webhook-endpoints/{endpoint['id']}", token=token)
        assert current["enabled"] is False and current["disabled_reason"]
        _, log, _ = await api.call("GET", f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries", token=token)
        assert [(d["status"], len(d["attempts"])) for d in log["items"]] == [("failed", attempts)]

        # A disabled endpoint receives nothing more until it is enabled again.
        await api.create_client(token, first_name="Still Nobody")
        status, test, _ = await api.call("POST", f"/api/v1/webhook-endpoints/{endpoint['id']}/test", token=token)
        assert (status, test["status"]) == (202, "pending")
        hook.failures = len(hook.calls)  # the receiver recovers
        status, enabled, _ = await api.call(
            "PATCH", f"/api/v1/webhook-endpoints/{endpoint['id']}", token=token, json={"enabled": True}
        )
        assert (status, enabled["enabled"], enabled["consecutive_failures"]) == (200, True, 0)
        await api.create_client(token, first_name="Back Home")
        received = await wait_until(
            lambda: len(hook.accepted()) == 2 and sorted((json.loads(b)["type"], b) for _, b in hook.accepted()),
            timeout=30,
        )
        assert [kind for kind, _ in received] == ["ClientCreated", "WebhookTest"]
        assert json.loads(received[0][1])["data"]["first_name"] == "Back Home"


async def test_endpoints_belong_to_their_business_and_need_the_integrations_permission(api: Api) -> None:
    tenant, other = await api.sign_up(), await api.sign_up()
    endpoint = await subscribe(api, tenant["token"], "https://hooks.example.com/atrium", ["InvoicePaid"])
    for method, path in (
        ("GET", f"/api/v1/webhook-endpoints/{endpoint['id']}"),
        ("GET", f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries"),
        ("POST", f"/api/v1/webhook-endpoints/{endpoint['id']}/test"),
        ("DELETE", f"/api/v1/webhook-endpoints/{endpoint['id']}"),
    ):
        assert (await api.call(method, path, token=other["token"]))[0] == 404, (method, path)
    status, problem, _ = await api.call(
        "POST",
        "/api/v1/webhook-endpoints",
        token=tenant["token"],
        json={"url": "https://hooks.example.com/x", "event_types": ["ClientCreated", "SomethingElse"]},
    )
    assert (status, [e["field"] for e in problem["errors"]]) == (422, ["event_types.1"])
    status, types, _ = await api.call("GET", "/api/v1/webhook-event-types", token=tenant["token"])
    assert status == 200 and {"AppointmentBooked", "InvoicePaid", "RequestSubmitted"} <= set(types["items"])
    assert "PortalInvitationIssued" not in types["items"]  # carries a personal link
