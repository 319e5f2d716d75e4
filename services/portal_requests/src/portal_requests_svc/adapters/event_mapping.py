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


def facts_message(facts: events.RequestFacts) -> events_pb2.RequestFacts:
    return events_pb2.RequestFacts(
        reference=facts.reference,
        service_id=str(facts.service_id),
        service_name=facts.service_name,
        duration_minutes=facts.duration_minutes,
        client_timezone=facts.client_timezone,
        business_timezone=facts.business_timezone,
        preferred_staff_id=str(facts.preferred_staff_id or ""),
        preferred_staff_name=facts.preferred_staff_name,
        description=facts.description,
        channel=facts.channel,
    )


def _payload(event: Any) -> Any:
    match event:
        case events.RequestSubmitted():
            return events_pb2.RequestSubmitted(
                request_id=str(event.request_id),
                client_id=str(event.client_id),
                service_id=str(event.facts.service_id),
                preferred_staff_id=str(event.facts.preferred_staff_id or ""),
                options=option_messages(event.options),
                timezone=event.timezone,
                facts=facts_message(event.facts),
            )
        case events.RequestUpdated():
            return events_pb2.RequestUpdated(
                request_id=str(event.request_id),
                client_id=str(event.client_id),
                options=option_messages(event.options),
                facts=facts_message(event.facts),
                version=event.version,
            )
        case events.RequestApproved():
            facts = event.facts
            assert facts.start is not None and facts.end is not None
            return events_pb2.RequestApproved(
                request_id=str(event.request_id),
                client_id=str(event.client_id),
                appointment_id=str(event.appointment_id),
                start=timestamp(facts.start),
                end=timestamp(facts.end),
                approved_by=event.approved_by,
                technician_id=str(facts.technician_id or ""),
                technician_name=facts.technician_name,
                facts=facts_message(facts),
            )
        case events.RequestDeclined():
            return events_pb2.RequestDeclined(
                request_id=str(event.request_id),
                client_id=str(event.client_id),
                reason=event.reason,
                declined_by=event.declined_by,
                facts=facts_message(event.facts),
            )
        case events.RequestCancelled():
            return events_pb2.RequestCancelled(
                request_id=str(event.request_id),
                client_id=str(event.client_id),
                cancelled_by=event.cancelled_by,
                was_approved=event.was_approved,
                appointment_id=str(event.appointment_id or ""),
                facts=facts_message(event.facts),
            )
        case events.RequestAlternativesProposed():
            return events_pb2.RequestAlternativesProposed(
                request_id=str(event.request_id),
                client_id=str(event.client_id),
                alternatives=[pb.TimeOption(start=timestamp(a)) for a in event.alternatives],
                hold_until=timestamp(event.hold_until),
                proposed_by=event.proposed_by,
                facts=facts_message(event.facts),
                technician_id=str(event.technician_id or ""),
                technician_name=event.technician_name,
                note=event.note,
            )
        case events.RequestAlternativeAccepted():
            facts = event.facts
            assert facts.start is not None and facts.end is not None
            return events_pb2.RequestAlternativeAccepted(
                request_id=str(event.request_id),
                client_id=str(event.client_id),
                appointment_id=str(event.appointment_id),
                start=timestamp(facts.start),
                end=timestamp(facts.end),
                technician_id=str(facts.technician_id or ""),
                technician_name=facts.technician_name,
                facts=facts_message(facts),
            )
        case events.RequestExpired():
            return events_pb2.RequestExpired(
                request_id=str(event.request_id), client_id=str(event.client_id), facts=facts_message(event.facts)
            )
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
