"""Domain events -> integration events (contracts in proto/atrium/client/v1/events.proto)."""

from __future__ import annotations

from typing import Any

from atrium.client.v1 import events_pb2
from atrium.common.v1.events_pb2 import EventEnvelope
from client_svc.domain import erasure, events, merge
from platform_core.messaging.envelope import build_envelope

PRODUCER = "client"


def _payload(event: Any) -> Any:  # a generated message (the contracts are untyped to mypy)
    match event:
        case events.ClientCreated():
            created = events_pb2.ClientCreated(
                client_id=str(event.client_id),
                first_name=event.first_name,
                last_name=event.last_name,
                email=event.email or "",
                phone=event.phone or "",
                kind=event.kind,
                company_name=event.company_name,
                source=event.source,
            )
            if event.opening_balance_currency is not None:
                created.opening_balance.amount_minor = event.opening_balance_minor or 0
                created.opening_balance.currency = event.opening_balance_currency
            return created
        case events.ClientUpdated():
            return events_pb2.ClientUpdated(
                client_id=str(event.client_id),
                changed_fields=list(event.changed_fields),
                first_name=event.first_name,
                last_name=event.last_name,
                email=event.email or "",
                phone=event.phone or "",
            )
        case events.ClientDeleted():
            return events_pb2.ClientDeleted(client_id=str(event.client_id))
        case events.ClientRestored():
            return events_pb2.ClientRestored(client_id=str(event.client_id))
        case events.ClientBookingBlocked():
            return events_pb2.ClientBookingBlocked(client_id=str(event.client_id), reason=event.reason)
        case events.ClientStatusChanged():
            return events_pb2.ClientStatusChanged(
                client_id=str(event.client_id),
                from_status_id=str(event.from_status_id or ""),
                from_label=event.from_label,
                to_status_id=str(event.to_status_id),
                to_label=event.to_label,
            )
        case events.ClientBookingUnblocked():
            return events_pb2.ClientBookingUnblocked(client_id=str(event.client_id))
        case merge.ClientsMerged():
            return events_pb2.ClientsMerged(
                merge_id=str(event.merge_id),
                survivor_id=str(event.survivor_id),
                merged_ids=[str(i) for i in event.merged_ids],
            )
        case merge.ClientsUnmerged():
            return events_pb2.ClientsUnmerged(
                merge_id=str(event.merge_id),
                survivor_id=str(event.survivor_id),
                restored_ids=[str(i) for i in event.restored_ids],
            )
        case erasure.ClientErased():
            return events_pb2.ClientErased(client_id=str(event.client_id))
    raise TypeError(f"no integration event for {type(event).__name__}")


def to_envelope(event: Any) -> EventEnvelope:
    return build_envelope(
        _payload(event),
        tenant_id=event.tenant_id,
        aggregate_type="client",
        aggregate_id=event.client_id,
        producer=PRODUCER,
        occurred_at=event.occurred_at,
    )
