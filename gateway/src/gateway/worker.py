"""`python -m gateway worker`: the gateway unit's background process.

Kept apart from the HTTP processes so they never do background work inside a request: it relays the
gateway's outbox to JetStream (stream of producer "gateway"), turns the services' events into webhook
deliveries and delivers them, suspends a deleted client's portal login (resumed on restore), and drops old
rate limit counters and idempotency keys. Any number of replicas may run: the relay drains under an advisory
lock, consumers share durable JetStream consumers, deliveries are claimed with SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from nats.aio.client import Client as NATS

from gateway.config import GatewaySettings
from gateway.idempotency import IdempotencyStore
from gateway.identity.api_keys import purge_rate_limit_windows
from gateway.identity.client_lifecycle import portal_login_consumer
from gateway.identity.events import PRODUCER
from gateway.webhooks.delivery import Deliverer, DeliveryPolicy, consumers
from platform_core.db import create_engine, session_factory
from platform_core.messaging.bus import connect, ensure_stream
from platform_core.messaging.outbox import OutboxRelay
from platform_core.observability import instrument_engine
from platform_core.service import run_periodically

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 5.0
IDEMPOTENCY_PURGE_SECONDS = 3600


async def run_worker(settings: GatewaySettings, stop: asyncio.Event) -> None:
    engine = create_engine(
        settings.database_url("gateway"), pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    instrument_engine(engine)
    nc: NATS | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        nc = await connect(settings.nats_url, name="atrium-gateway-worker", stop=stop)
        js = nc.jetstream()
        await ensure_stream(js, settings.nats_prefix, PRODUCER)
        relay = OutboxRelay(engine, js, batch_size=settings.outbox_batch_size)
        tasks.append(asyncio.create_task(relay.run(stop), name="outbox-relay"))
        window = settings.rate_limit_window_seconds
        tasks.append(
            asyncio.create_task(
                run_periodically(
                    stop, window, lambda: purge_rate_limit_windows(engine, window), what="rate limit window purge"
                ),
                name="rate-limit-purge",
            )
        )
        idempotency_keys = IdempotencyStore(engine)
        tasks.append(
            asyncio.create_task(
                run_periodically(stop, IDEMPOTENCY_PURGE_SECONDS, idempotency_keys.purge, what="idempotency purge"),
                name="idempotency-purge",
            )
        )
        sessions = session_factory(engine)
        for consumer in [
            *consumers(js, settings.nats_prefix, sessions),
            portal_login_consumer(js, settings.nats_prefix, sessions),
        ]:
            tasks.append(asyncio.create_task(consumer.run(stop), name=f"consumer-{consumer.durable}"))
        deliverer = Deliverer(
            engine,
            DeliveryPolicy(
                tuple(settings.webhook_retry_delays_seconds),
                settings.webhook_timeout_seconds,
                settings.webhook_allow_insecure_targets,
            ),
            events_prefix=settings.nats_prefix,
        )
        tasks.append(asyncio.create_task(deliverer.run(stop), name="webhook-deliveries"))
        log.info("gateway worker running")
        await stop.wait()
    finally:
        stop.set()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if nc is not None and nc.is_connected:
            await nc.drain()
        await engine.dispose()


async def worker_main(settings: GatewaySettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_worker(settings, stop)
