"""The one event envelope (atrium.common.v1.EventEnvelope) and how subjects and streams are named."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from google.protobuf.message import Message
from opentelemetry import propagate

from atrium.common.v1 import events_pb2
from platform_core.ids import new_id

PROTO_ROOT = "atrium."


def subject_for(prefix: str, event_type: str) -> str:
    """``atrium.client.v1.ClientCreated`` -> ``<prefix>.client.v1.ClientCreated``."""
    if not event_type.startswith(PROTO_ROOT):
        raise ValueError(f"event type {event_type!r} is not an Atrium contract")
    return f"{prefix}.{event_type[len(PROTO_ROOT) :]}"


def producer_of(event_type: str) -> str:
    """The producing service of an event type: ``atrium.client.v1.ClientCreated`` -> ``client``."""
    return event_type[len(PROTO_ROOT) :].split(".", 1)[0]


def stream_name(prefix: str, producer: str) -> str:
    """Each producing service has one stream holding all its events."""
    return f"{prefix}_{producer}_events".upper()


def stream_subjects(prefix: str, producer: str) -> list[str]:
    return [f"{prefix}.{producer}.>"]


def build_envelope(
    payload: Message,
    *,
    tenant_id: uuid.UUID,
    aggregate_type: str,
    aggregate_id: uuid.UUID | str,
    producer: str,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> events_pb2.EventEnvelope:
    """Wrap a payload with the metadata every event carries, including the current trace context."""
    envelope = events_pb2.EventEnvelope(
        event_id=str(event_id or new_id()),
        event_type=payload.DESCRIPTOR.full_name,
        tenant_id=str(tenant_id),
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        producer=producer,
    )
    envelope.occurred_at.FromDatetime(occurred_at or datetime.now(UTC))
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    envelope.trace_context.update(carrier)
    envelope.payload.Pack(payload)
    return envelope
