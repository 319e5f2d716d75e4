"""Domain events -> integration events (contracts in proto/atrium/client/v1/events.proto)."""

from __future__ import annotations

from typing import Any

from atrium.client.v1 import events_pb2
from atrium.common.v1.events_pb2 import EventEnvelope
from client_svc.domain import events
from platform_core.messaging.envelope import build_envelope

PRODUCER = "client"


def to_envelope(event: Any) -> EventEnvelope:
    if isinstance(event, events.ClientCreated):
        payload = events_pb2.ClientCreated(
            client_id=str(event.client_id),
            first_name=event.first_name,
            last_name=event.last_name,
            email=event.email or "",
            phone=event.phone or "",
        )
        return build_envelope(
            payload,
            tenant_id=event.tenant_id,
            aggregate_type="client",
            aggregate_id=event.client_id,
            producer=PRODUCER,
            occurred_at=event.occurred_at,
        )
    raise TypeError(f"no integration event for {type(event).__name__}")
