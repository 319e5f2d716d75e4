"""The thin slice across every layer: HTTP -> gateway -> gRPC -> client service -> its database ->
outbox -> NATS JetStream -> notification consumer -> timeline, read back through the gateway."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sys
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from platform_core.config import PlatformSettings
from platform_core.db import create_engine
from platform_dev.devstack import EmbeddedNats
from platform_dev.testing.plugin import wait_until

from .conftest import Api, Stack
from .otlp import SpanCollector


async def timeline(api: Api, token: str, client_id: str) -> list[dict]:
    status, body, _ = await api.call("GET", f"/api/v1/clients/{client_id}/activity", token=token)
    assert status == 200, body
    return body["items"]


async def test_staff_login_create_get_and_timeline_shows_client_created_within_a_second(api: Api) -> None:
    tenant = await api.sign_up()
    status, tokens, _ = await api.call(
        "POST",
        "/api/v1/auth/staff/login",
        json={"email": tenant["owner_email"], "password": "correct horse battery"},
    )
    assert status == 200, tokens
    token = tokens["access_token"]

    created = await api.create_client(token, first_name="Grace", last_name="Hopper", phone="(212) 555-0142")
    committed_at = time.monotonic()
    assert created["phone"] == "+12125550142"  # read in the tenant's country (US)

    status, fetched, _ = await api.call("GET", f"/api/v1/clients/{created['id']}", token=token)
    assert (status, fetched) == (200, created)

    entries = await wait_until(lambda: timeline(api, token, created["id"]), timeout=1.0, interval=0.01)
    print(f"timeline entry visible {1000 * (time.monotonic() - committed_at):.1f} ms after the create returned")
    assert [(e["kind"], e["source_event_type"]) for e in entries] == [
        ("client.created", "atrium.client.v1.ClientCreated")
    ]
    assert "Grace Hopper" in entries[0]["summary"]

    status, page, _ = await api.call("GET", "/api/v1/clients", token=token)
    assert status == 200
    assert [c["id"] for c in page["items"]] == [created["id"]]


async def test_one_trace_spans_gateway_client_service_outbox_publish_and_consumer(
    api: Api, stack: Stack, span_collector: SpanCollector
) -> None:
    tenant = await api.sign_up()
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    created = await api.call(
        "POST",
        "/api/v1/clients",
        token=tenant["token"],
        json={"first_name": "Traced"},
        headers={"traceparent": traceparent},
    )
    assert created[0] == 201

    def complete() -> bool:
        spans = span_collector.in_trace(trace_id)
        names = {(s.service, s.name) for s in spans}
        return (
            any(s == "atrium-gateway" for s, _ in names)
            and any(s == "atrium-client" and "CreateClient" in n for s, n in names)
            and any(s == "atrium-client" and n.endswith("ClientCreated publish") for s, n in names)
            and any(s == "atrium-notification" and n.endswith("ClientCreated process") for s, n in names)
        )

    try:
        # Generous: spans reach the collector in batches, and a loaded machine slows every hop.
        await wait_until(complete, timeout=30)
    except AssertionError:
        seen = sorted({(s.service, s.name) for s in span_collector.in_trace(trace_id)})
        raise AssertionError(f"incomplete trace {trace_id}: {seen}") from None
    spans = span_collector.in_trace(trace_id)
    by_id = {s.span_id: s for s in spans}
    process = next(s for s in spans if s.name.endswith("ClientCreated process"))
    publish = by_id[process.parent_span_id]  # the consumer's span is a child of the publish span
    assert publish.name.endswith("ClientCreated publish") and publish.service == "atrium-client"
    # SQL runs inside the same trace, in the client service and in the consumer's transaction.
    sql_services = {s.service for s in spans if s.name.split(" ")[0] in {"INSERT", "SELECT"}}
    assert sql_services >= {"atrium-client", "atrium-notification"}


async def unpublished_events(stack: Stack) -> int:
    engine = create_engine(
        PlatformSettings(
            **{"postgres_url": stack.env["ATRIUM_POSTGRES_URL"], "database_prefix": stack.env["ATRIUM_DATABASE_PREFIX"]}
        ).database_url("client"),
        pool_size=1,
        max_overflow=0,
    )
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text("SELECT count(*) FROM outbox WHERE published_at IS NULL")) or 0)
    finally:
        await engine.dispose()


async def test_stopping_nats_during_creation_loses_no_event_and_duplicates_none(
    api: Api, stack: Stack, embedded_nats: EmbeddedNats
) -> None:
    tenant = await api.sign_up()
    token = tenant["token"]
    embedded_nats.stop()
    try:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", embedded_nats.port), timeout=1).close()
        # Creation keeps working: the events wait in the outbox until NATS is back.
        created = [await api.create_client(token, first_name=f"Offline{i}") for i in range(10)]
        assert await unpublished_events(stack) >= 10
        # Meanwhile the gateway says it is not ready, and keeps answering.
        await wait_until(lambda: readiness(api, 503, "unavailable"), timeout=15, interval=0.1)
    finally:
        embedded_nats.start()
    await wait_until(lambda: readiness(api, 200, "serving"), timeout=30, interval=0.1)
    created += [await api.create_client(token, first_name=f"Back{i}") for i in range(3)]

    async def every_client_has_exactly_one_entry() -> bool:
        counts = await asyncio.gather(*(timeline(api, token, c["id"]) for c in created))
        assert all(len(entries) <= 1 for entries in counts), "an event was handled twice"
        return all(len(entries) == 1 for entries in counts)

    await wait_until(every_client_has_exactly_one_entry, timeout=60, interval=0.2)


async def readiness(api: Api, status: int, bus: str) -> bool:
    answered, body, _ = await api.call("GET", "/readyz")
    return answered == status and body["checks"]["message_bus"] == bus


async def test_health_endpoints(api: Api) -> None:
    status, body, _ = await api.call("GET", "/healthz")
    assert (status, body["status"]) == (200, "ok")
    status, body, _ = await api.call("GET", "/readyz")
    assert status == 200
    assert body["checks"] == {
        "client": "serving",
        "scheduling": "serving",
        "membership_billing": "serving",
        "portal_requests": "serving",
        "notification": "serving",
        "identity_database": "serving",
        "message_bus": "serving",
    }


def test_the_stack_runs_with_the_environment_make_run_gives(stack) -> None:  # type: ignore[no-untyped-def]
    assert set(stack.processes) == {
        "client",
        "scheduling",
        "portal_requests",
        "membership_billing",
        "notification",
        "gateway",
        "gateway-worker",
        "web",
    }
    assert all(p.poll() is None for p in stack.processes.values())
    assert "ATRIUM_JWT_SECRET" in stack.env and "ATRIUM_POSTGRES_URL" in stack.env
    # The web unit is pointed at this stack's gateway, on a port of its own.
    assert stack.env["ATRIUM_WEB_GATEWAY_URL"] == stack.base_url
    assert stack.env["ATRIUM_WEB_PORT"] != stack.env["ATRIUM_GATEWAY_PORT"]
    assert os.path.isdir(stack.log_dir)


async def test_the_demo_owner_that_make_run_seeds_can_sign_in(api: Api, stack: Stack) -> None:
    env = stack.env | {
        "ATRIUM_DEMO_OWNER_EMAIL": "Owner@Demo.Example.com",
        "ATRIUM_DEMO_OWNER_PASSWORD": "seeded pass 123",
    }
    for _ in range(2):  # idempotent: the second run finds the tenant already there
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway", "seed-demo", env=env, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await process.communicate()
        assert process.returncode == 0
        assert "owner@demo.example.com / seeded pass 123" in out.decode()
    status, tokens, _ = await api.call(
        "POST", "/api/v1/auth/staff/login", json={"email": "owner@demo.example.com", "password": "seeded pass 123"}
    )
    assert status == 200, tokens
    token = tokens["access_token"]
    status, me, _ = await api.call("GET", "/api/v1/me", token=token)
    assert (me["role"], me["tenant"]["country"]) == ("owner", "US")
    for _ in range(2):  # once the platform is up: working hours and a service, only what is missing
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway", "seed-demo-schedule", env=env, stdout=asyncio.subprocess.PIPE
        )
        await process.communicate()
        assert process.returncode == 0
    status, services, _ = await api.call("GET", "/api/v1/services", token=token)
    assert [s["name"] for s in services["items"]] == ["Consultation"]
    monday = date.today() + timedelta(days=7 - date.today().weekday() + 7)
    status, slots, _ = await api.call(
        "GET",
        "/api/v1/availability",
        token=token,
        params={"service_ids": services["items"][0]["id"], "from": monday.isoformat(), "to": monday.isoformat()},
    )
    assert status == 200 and slots["timezone"] == "America/New_York"
    # 60 minutes plus a 15-minute buffer inside 09:00-17:00, every 30 minutes.
    assert [s["local_start"][11:16] for s in slots["slots"]][0::13] == ["09:00", "15:30"]
