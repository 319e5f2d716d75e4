"""Domain events -> integration events (contracts in proto/atrium/portal_requests/v1/events.proto)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.portal_requests.v1 import events_pb2
from atrium.portal_requests.v1 import portal_requests_pb2 as pb
from platform_core.grpc.values import timestamp
from platform_core.messaging.envelope import build_envelope
from portal_requests_svc.domain import events

PRODUCER = "portal_requests"
AGGREGATE = "appointment_request"


def option_messages(options: Sequence[events.OptionFact]) -> list[pb.TimeOption]:
    return [
        pb.TimeOption(start=timestamp(o.start), end=timestamp(o.end))
        if o.end
        else pb.TimeOption(start=timestamp(o.start))
        for o in options
    ]


def _payload(event: Any) -> Any:
    match event:
        case events.RequestSubmitted():
            return events_pb2.RequestSubmitted(
                request_id=str(event.request_id),
                client_id=str(event.client_id),
                service_id=str(event.service_id),
                preferred_staff_id=str(event.preferred_staff_id or ""),
                options=option_messages(event.options),
                timezone=event.timezone,
            )
        case events.RequestApproved():
            return events_pb2.RequestApproved(
                request_id=str(event.request_id),
                client_id=str(event.client_id),
                appointment_id=str(event.appointment_id),
                start=timestamp(event.start),
                approved_by=event.approved_by,
            )
        case events.RequestDeclined():
            return events_pb2.RequestDeclined(
                request_id=str(event.request_id),
                client_id=str(event.client_id),
                reason=event.reason,
                declined_by=event.declined_by,
            )
        case events.RequestWithdrawn():
            return events_pb2.RequestWithdrawn(request_id=str(event.request_id), client_id=str(event.client_id))
        case events.RequestExpired():
            return events_pb2.RequestExpired(request_id=str(event.request_id), client_id=str(event.client_id))
    raise TypeError(f"no integration event for {type(event).__name__}")


def to_envelope(event: Any) -> EventEnvelope:
    return build_envelope(
        _payload(event),
        tenant_id=event.tenant_id,
        aggregate_type=AGGREGATE,
        aggregate_id=event.request_id,
        producer=PRODUCER,
        occurred_at=event.occurred_at,
    )
