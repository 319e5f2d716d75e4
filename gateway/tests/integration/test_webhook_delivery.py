"""Webhook fan-out writes a run of events' deliveries at once; deliverers on several replicas share the work: each
delivery is posted once, whichever claims it."""

from __future__ import annotations

import asyncio
import collections
import uuid

from aiohttp import ClientSession, web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import events_pb2 as client_events
from gateway.webhooks.delivery import Deliverer, DeliveryPolicy, fan_out
from gateway.webhooks.endpoints import new_secret
from platform_core.db import session_factory
from platform_core.messaging.consumer import ReceivedEvent
from platform_core.messaging.envelope import build_envelope
from platform_dev import devstack
from platform_dev.testing.plugin import wait_until

DELIVERIES = 40


async def test_two_deliverers_post_every_delivery_exactly_once(engine: AsyncEngine) -> None:
    received: collections.Counter[str] = collections.Counter()

    async def receive(request: web.Request) -> web.Response:
        received[request.headers["webhook-id"]] += 1
        await asyncio.sleep(0.01)  # a receiver takes a moment, so the two deliverers overlap
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    port = devstack.free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    tenant, endpoint = uuid.uuid4(), uuid.uuid4()
    events = [uuid.uuid4() for _ in range(DELIVERIES)]
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO tenants (id, name, slug, country, timezone) VALUES (:t, 'Hooks', :slug, 'US', 'UTC')"),
            {"t": tenant, "slug": f"hooks-{tenant.hex[:8]}"},
        )
        await conn.execute(
            text(
                "INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, secret) "
                "VALUES (:e, :t, :url, ARRAY['ClientCreated'], :secret)"
            ),
            {"e": endpoint, "t": tenant, "url": f"http://127.0.0.1:{port}/hook", "secret": new_secret()},
        )
        await conn.execute(
            text(
                "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, payload, "
                "next_attempt_at) VALUES (:id, :t, :e, :event, 'ClientCreated', '{}', now())"
            ),
            [{"id": uuid.uuid4(), "t": tenant, "e": endpoint, "event": event} for event in events],
        )
    policy = DeliveryPolicy((0.1,), timeout_seconds=5, allow_insecure_targets=True)
    replicas = [Deliverer(engine, policy, events_prefix="test") for _ in range(2)]
    try:
        async with ClientSession() as http:

            async def all_delivered() -> bool:
                await asyncio.gather(*(replica.deliver_due(http) for replica in replicas))
                async with engine.connect() as conn:
                    pending = await conn.scalar(
                        text(
                            "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = :e AND status <> 'succeeded'"
                        ),
                        {"e": endpoint},
                    )
                return pending == 0

            await wait_until(all_delivered, timeout=30)
    finally:
        await runner.cleanup()
    assert received == {str(event): 1 for event in events}
    async with engine.connect() as conn:
        attempts = await conn.scalar(
            text(
                "SELECT count(*) FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id "
                "WHERE d.endpoint_id = :e"
            ),
            {"e": endpoint},
        )
    assert attempts == DELIVERIES


def _client_created(tenant: uuid.UUID, first_name: str) -> ReceivedEvent:
    payload = client_events.ClientCreated(client_id=str(uuid.uuid4()), first_name=first_name)
    envelope = build_envelope(
        payload, tenant_id=tenant, aggregate_type="client", aggregate_id=payload.client_id, producer="client"
    )
    return ReceivedEvent(envelope, payload)


async def test_a_run_of_events_fans_out_in_one_statement_to_each_subscribed_endpoint_once(engine: AsyncEngine) -> None:
    tenant, other_tenant = uuid.uuid4(), uuid.uuid4()
    subscribed, disabled, elsewhere, other_type = (uuid.uuid4() for _ in range(4))
    async with engine.begin() as conn:
        for t in (tenant, other_tenant):
            await conn.execute(
                text("INSERT INTO tenants (id, name, slug, country, timezone) VALUES (:t, 'Fan', :slug, 'US', 'UTC')"),
                {"t": t, "slug": f"fan-{t.hex[:8]}"},
            )
        await conn.execute(
            text(
                "INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, secret, enabled, disabled_at) "
                "VALUES (:e, :t, 'https://hooks.example.com/in', CAST(:types AS text[]), :secret, :enabled, "
                "CASE WHEN :enabled THEN NULL ELSE now() END)"
            ),
            [
                {"e": subscribed, "t": tenant, "types": ["ClientCreated"], "secret": new_secret(), "enabled": True},
                {"e": disabled, "t": tenant, "types": ["ClientCreated"], "secret": new_secret(), "enabled": False},
                {"e": other_type, "t": tenant, "types": ["ClientUpdated"], "secret": new_secret(), "enabled": True},
                {
                    "e": elsewhere,
                    "t": other_tenant,
                    "types": ["ClientCreated"],
                    "secret": new_secret(),
                    "enabled": True,
                },
            ],
        )
    events = [_client_created(tenant, name) for name in ("Ada", "Grace", "Edsger")]
    sessions = session_factory(engine)
    for _ in range(2):  # a redelivered run writes nothing more
        async with sessions() as session, session.begin():
            await fan_out(session, events)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT endpoint_id, event_id, event_type, payload FROM webhook_deliveries "
                    "WHERE tenant_id = ANY(:ts) ORDER BY payload->>'timestamp', payload->'data'->>'first_name'"
                ),
                {"ts": [tenant, other_tenant]},
            )
        ).all()
    assert sorted((r.event_id, r.endpoint_id) for r in rows) == sorted((e.event_id, subscribed) for e in events)
    by_event = {r.event_id: r.payload for r in rows}
    for event in events:
        body = by_event[event.event_id]
        assert body["id"] == str(event.event_id) and body["type"] == "ClientCreated"
        assert body["business_id"] == str(tenant) and body["data"]["first_name"] == event.payload.first_name
