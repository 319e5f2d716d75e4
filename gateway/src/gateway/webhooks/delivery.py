"""Webhook deliveries, run by the gateway worker, never inside a request.

Fan-out: idempotent consumers of the services' events (inbox) write one delivery per subscribed, enabled
endpoint of the event's business, in the consumer's transaction. Delivery: every worker replica claims due
deliveries with ``FOR UPDATE SKIP LOCKED`` and a lease (a replica that dies mid-call lets another retry
after the lease), posts them signed per Standard Webhooks (``webhook-id`` = the event id, so receivers
deduplicate retries; ``webhook-timestamp``; ``webhook-signature`` v1 HMAC-SHA256 with the endpoint's
secret), and logs every attempt with its response. A failure is retried after growing delays; when a
delivery has used every attempt the endpoint is disabled and WebhookEndpointDisabled tells the owners.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from atrium.gateway.v1 import events_pb2 as ev
from gateway.identity.events import emit
from gateway.webhooks.catalogue import EVENT_MESSAGES, event_body, payload_data
from platform_core.messaging.consumer import EventConsumer, ReceivedEvent, Subscription
from platform_core.messaging.envelope import producer_of

log = logging.getLogger(__name__)

CONSUMER_NAME = "gateway-webhooks"
RESPONSE_EXCERPT = 2000
BATCH = 20


# One pending delivery per (event, enabled endpoint of the business subscribed to the events' type), for a
# run of events of one type and tenant in one statement.
_FAN_OUT = text(
    "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, payload, next_attempt_at) "
    "SELECT gen_random_uuid(), e.tenant_id, e.id, x.event_id, :type, CAST(x.payload AS jsonb), now() "
    "FROM unnest(CAST(:events AS uuid[]), CAST(:payloads AS text[])) WITH ORDINALITY AS x(event_id, payload, n) "
    "JOIN webhook_endpoints e ON e.tenant_id = :t AND e.enabled AND :type = ANY(e.event_types) "
    "ORDER BY x.n, e.id "
    "ON CONFLICT (endpoint_id, event_id) DO NOTHING"
)


async def fan_out(session: AsyncSession, events: Sequence[ReceivedEvent]) -> None:
    """Deliveries of a run of events of one type and one business."""
    event_type = type(events[0].payload).DESCRIPTOR.name
    bodies = [
        json.dumps(
            event_body(
                event.event_id,
                event_type,
                event.tenant_id,
                event.envelope.occurred_at.ToDatetime(tzinfo=UTC),
                payload_data(event.payload),
            )
        )
        for event in events
    ]
    await session.execute(
        _FAN_OUT,
        {"events": [e.event_id for e in events], "payloads": bodies, "type": event_type, "t": events[0].tenant_id},
    )


def consumers(js: JetStreamContext, prefix: str, sessions: async_sessionmaker[AsyncSession]) -> list[EventConsumer]:
    """One consumer per producing service (each reads one stream)."""
    by_producer: dict[str, list[Subscription]] = {}
    for message in EVENT_MESSAGES:
        producer = producer_of(message.DESCRIPTOR.full_name)
        by_producer.setdefault(producer, []).append(Subscription.batched(message, fan_out))
    return [
        EventConsumer(name=CONSUMER_NAME, js=js, prefix=prefix, sessions=sessions, subscriptions=subscriptions)
        for subscriptions in by_producer.values()
    ]


@dataclass(frozen=True)
class DeliveryPolicy:
    # Seconds to wait before each retry; attempts = len(retry_delays) + 1.
    retry_delays: tuple[float, ...]
    timeout_seconds: float
    allow_insecure_targets: bool

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays) + 1

    def delay_after(self, attempts: int) -> float:
        return self.retry_delays[min(attempts, len(self.retry_delays)) - 1]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    body: str
    error: str
    duration_ms: int


class Deliverer:
    def __init__(self, engine: AsyncEngine, policy: DeliveryPolicy, *, events_prefix: str) -> None:
        self._engine = engine
        self._policy = policy
        self._prefix = events_prefix

    async def run(self, stop: asyncio.Event, *, poll_seconds: float = 0.5) -> None:
        timeout = aiohttp.ClientTimeout(total=self._policy.timeout_seconds)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while not stop.is_set():
                try:
                    if await self.deliver_due(http) >= BATCH:
                        continue
                except Exception:
                    log.exception("webhook delivery round failed")
                try:
                    await asyncio.wait_for(stop.wait(), poll_seconds)
                except TimeoutError:
                    pass

    async def deliver_due(self, http: aiohttp.ClientSession) -> int:
        """Claim a batch of due deliveries, post them, record what happened; returns how many were tried."""
        claimed = await self._claim()
        if claimed:
            outcomes = await asyncio.gather(*(self._post(http, row) for row in claimed))
            for row, outcome in zip(claimed, outcomes, strict=True):
                await self._record(row, outcome)
        return len(claimed)

    async def _claim(self) -> Sequence[Any]:
        lease = self._policy.timeout_seconds + 30
        async with self._engine.begin() as conn:
            return (
                await conn.execute(
                    text(
                        """
                        WITH due AS (
                            SELECT d.id FROM webhook_deliveries d
                            JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled
                            WHERE d.status = 'pending' AND d.next_attempt_at <= now()
                            ORDER BY d.next_attempt_at LIMIT :n
                            FOR UPDATE OF d SKIP LOCKED
                        )
                        UPDATE webhook_deliveries d
                        SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => :lease)
                        FROM due, webhook_endpoints e
                        WHERE d.id = due.id AND e.id = d.endpoint_id
                        RETURNING d.id, d.tenant_id, d.endpoint_id, d.event_id, d.payload, d.attempts,
                                  e.url, e.secret
                        """
                    ),
                    {"n": BATCH, "lease": lease},
                )
            ).all()

    async def _post(self, http: aiohttp.ClientSession, row: Any) -> Outcome:
        body = json.dumps(row.payload, separators=(",", ":"))
        sent_at = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "user-agent": "Atrium-Webhooks/1",
            "webhook-id": str(row.event_id),
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": Webhook(row.secret).sign(str(row.event_id), sent_at, body),
        }
        started = time.monotonic()
        try:
            await self._refuse_private_target(row.url)
            async with http.post(row.url, data=body.encode(), headers=headers, allow_redirects=False) as response:
                excerpt = (await response.content.read(RESPONSE_EXCERPT)).decode(errors="replace")
                ok = 200 <= response.status < 300
                error = "" if ok else f"answered HTTP {response.status}"
                return Outcome(ok, response.status, excerpt, error, _ms_since(started))
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            return Outcome(False, None, "", f"{type(exc).__name__}: {exc}"[:500], _ms_since(started))

    async def _refuse_private_target(self, url: str) -> None:
        if self._policy.allow_insecure_targets:
            return
        host = urlsplit(url).hostname or ""
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
        if any(not ipaddress.ip_address(info[4][0]).is_global for info in infos):
            raise ValueError(f"{host} resolves to a private or local address")

    async def _record(self, row: Any, outcome: Outcome) -> None:
        policy = self._policy
        async with self._engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO webhook_attempts (delivery_id, response_status, response_body, error, duration_ms) "
                    "VALUES (:d, :status, :body, :error, :ms)"
                ),
                {
                    "d": row.id,
                    "status": outcome.status,
                    "body": outcome.body,
                    "error": outcome.error,
                    "ms": outcome.duration_ms,
                },
            )
            if outcome.ok:
                await conn.execute(
                    text(
                        "UPDATE webhook_deliveries SET status = 'succeeded', next_attempt_at = NULL, "
                        "completed_at = now() WHERE id = :d"
                    ),
                    {"d": row.id},
                )
                await conn.execute(
                    text("UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = :e"), {"e": row.endpoint_id}
                )
                return
            failures = await conn.scalar(
                text(
                    "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1 WHERE id = :e "
                    "RETURNING consecutive_failures"
                ),
                {"e": row.endpoint_id},
            )
            if row.attempts < policy.max_attempts:
                await conn.execute(
                    text(
                        "UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => :delay) "
                        "WHERE id = :d"
                    ),
                    {"d": row.id, "delay": policy.delay_after(row.attempts)},
                )
                return
            await conn.execute(
                text(
                    "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, completed_at = now() "
                    "WHERE id = :d"
                ),
                {"d": row.id},
            )
            await self._disable(conn, row, failures or 0, outcome.error)

    async def _disable(self, conn: Any, row: Any, failures: int, last_error: str) -> None:
        """Every attempt of a delivery failed: the endpoint stops receiving and its business's owners are told
        (once: only the transaction that switches it off emits)."""
        switched_off = await conn.scalar(
            text(
                "UPDATE webhook_endpoints SET enabled = false, disabled_at = now(), disabled_reason = :reason "
                "WHERE id = :e AND enabled RETURNING id"
            ),
            {"e": row.endpoint_id, "reason": f"every attempt of a delivery failed; last: {last_error}"[:500]},
        )
        if switched_off is None:
            return
        owners = (
            await conn.scalars(
                text("SELECT email FROM staff_users WHERE tenant_id = :t AND role = 'owner' AND active ORDER BY email"),
                {"t": row.tenant_id},
            )
        ).all()
        disabled = ev.WebhookEndpointDisabled(
            endpoint_id=str(row.endpoint_id),
            url=row.url,
            consecutive_failures=failures,
            last_error=last_error,
            owner_emails=list(owners),
        )
        await emit(
            conn,
            self._prefix,
            disabled,
            tenant_id=row.tenant_id,
            aggregate_type="webhook_endpoint",
            aggregate_id=row.endpoint_id,
        )
        log.warning("webhook endpoint %s disabled after %d failed attempts in a row", row.endpoint_id, failures)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
