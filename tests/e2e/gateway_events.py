"""The gateway's integration events as a test reads them: straight from its JetStream stream."""

from __future__ import annotations

from typing import Any

import nats
from google.protobuf.message import Message

from atrium.common.v1 import events_pb2 as common
from platform_core.messaging.envelope import stream_name, subject_for
from platform_dev.testing.plugin import wait_until

from .conftest import Stack


async def published(stack: Stack, payload_type: type[Message], match: Any, *, timeout: float = 15) -> Any:
    """The first event of this type on the gateway's stream for which ``match(payload)`` holds."""
    prefix = stack.env["ATRIUM_NATS_PREFIX"]
    subject = subject_for(prefix, payload_type.DESCRIPTOR.full_name)
    nc = await nats.connect(stack.env["ATRIUM_NATS_URL"])
    try:
        js = nc.jetstream()

        async def found() -> Any:
            try:
                sub = await js.subscribe(subject, stream=stream_name(prefix, "gateway"), ordered_consumer=True)
            except nats.js.errors.NotFoundError:
                return None  # the stream appears with the worker's first start
            try:
                while True:
                    try:
                        msg = await sub.next_msg(timeout=0.5)
                    except nats.errors.TimeoutError:
                        return None
                    envelope = common.EventEnvelope.FromString(msg.data)
                    event = payload_type()
                    envelope.payload.Unpack(event)
                    if match(event):
                        return event
            finally:
                await sub.unsubscribe()

        return await wait_until(found, timeout=timeout)
    finally:
        await nc.close()
