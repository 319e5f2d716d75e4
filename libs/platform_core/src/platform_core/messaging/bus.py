"""NATS JetStream connection and the streams the services publish to."""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from platform_core.messaging.envelope import stream_name, stream_subjects

log = logging.getLogger(__name__)

STREAM_MAX_AGE_SECONDS = 7 * 24 * 3600
DUPLICATE_WINDOW_SECONDS = 120


async def connect(url: str, *, name: str, stop: asyncio.Event | None = None) -> NATS:
    """Connect, retrying until NATS answers (a service may start before NATS does).

    Once connected, nats-py reconnects by itself for ever; publishes fail while it is away and the
    outbox keeps the events until it is back.
    """

    async def report(exc: Exception) -> None:
        # Disconnections are expected during NATS restarts; the outbox and redelivery cover them.
        log.warning("NATS: %s", exc)

    delay = 0.2
    while True:
        try:
            return await nats.connect(
                url,
                name=name,
                error_cb=report,
                connect_timeout=2,
                reconnect_time_wait=0.5,
                max_reconnect_attempts=-1,
                allow_reconnect=True,
            )
        except (TimeoutError, OSError, nats.errors.NoServersError) as exc:
            if stop is not None and stop.is_set():
                raise
            log.warning("NATS not reachable at %s (%s); retrying in %.1fs", url, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def ensure_stream(js: JetStreamContext, prefix: str, producer: str, *, replicas: int = 1) -> None:
    """Create or update the producer's stream. Producers and consumers both call it, so start order is free."""
    config = StreamConfig(
        name=stream_name(prefix, producer),
        subjects=stream_subjects(prefix, producer),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=STREAM_MAX_AGE_SECONDS,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        # Already there with another config (e.g. an older version): bring it up to date.
        await js.update_stream(config)
