"""Domain events -> integration events (contracts in proto/atrium/scheduling/v1/events.proto)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.scheduling.v1 import events_pb2
from platform_core.grpc.values import timestamp
from platform_core.messaging.envelope import build_envelope
from scheduling_svc.domain import events

PRODUCER = "scheduling"


def _segments(facts: Sequence[events.SegmentFact]) -> list[Any]:
    return [
        events_pb2.AppointmentSegmentInfo(
            service_id=str(f.service_id),
            service_name=f.service_name,
            staff_id=str(f.staff_id),
            start=timestamp(f.start),
            end=timestamp(f.end),
            price_minor=f.price_minor,
            currency=f.currency,
        )
        for f in facts
    ]


def _payload(event: Any) -> tuple[Any, str, Any]:
    """(message, aggregate type, aggregate id)"""
    match event:
        case events.AppointmentBooked():
            return (
                events_pb2.AppointmentBooked(
                    appointment_id=str(event.appointment_id),
                    client_id=str(event.client_id),
                    start=timestamp(event.start),
                    end=timestamp(event.end),
                    timezone=event.timezone,
                    segments=_segments(event.segments),
                    source=event.source,
                    series_id=str(event.series_id or ""),
                    availability_overridden=event.availability_overridden,
                    follow_up_of=str(event.follow_up_of or ""),
                    follow_up_action=event.follow_up_action,
                ),
                "appointment",
                event.appointment_id,
            )
        case events.AppointmentRescheduled():
            return (
                events_pb2.AppointmentRescheduled(
                    appointment_id=str(event.appointment_id),
                    client_id=str(event.client_id),
                    previous_start=timestamp(event.previous_start),
                    start=timestamp(event.start),
                    end=timestamp(event.end),
                    segments=_segments(event.segments),
                    timezone=event.timezone,
                ),
                "appointment",
                event.appointment_id,
            )
        case events.AppointmentCancelled():
            return (
                events_pb2.AppointmentCancelled(
                    appointment_id=str(event.appointment_id),
                    client_id=str(event.client_id),
                    start=timestamp(event.start),
                    reason=event.reason,
                    cancelled_by=event.cancelled_by,
                    timezone=event.timezone,
                    segments=_segments(event.segments),
                ),
                "appointment",
                event.appointment_id,
            )
        case events.AppointmentCompleted():
            return (
                events_pb2.AppointmentCompleted(
                    appointment_id=str(event.appointment_id),
                    client_id=str(event.client_id),
                    segments=_segments(event.segments),
                    timezone=event.timezone,
                ),
                "appointment",
                event.appointment_id,
            )
        case events.AppointmentNoShow():
            return (
                events_pb2.AppointmentNoShow(
                    appointment_id=str(event.appointment_id),
                    client_id=str(event.client_id),
                    start=timestamp(event.start),
                    timezone=event.timezone,
                    segments=_segments(event.segments),
                ),
                "appointment",
                event.appointment_id,
            )
        case events.RecurringSeriesCreated():
            return (
                events_pb2.RecurringSeriesCreated(
                    series_id=str(event.series_id),
                    client_id=str(event.client_id),
                    rrule=event.rrule,
                    occurrences_booked=event.occurrences_booked,
                ),
                "series",
                event.series_id,
            )
    raise TypeError(f"no integration event for {type(event).__name__}")


def to_envelope(event: Any) -> EventEnvelope:
    message, aggregate_type, aggregate_id = _payload(event)
    return build_envelope(
        message,
        tenant_id=event.tenant_id,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        producer=PRODUCER,
        occurred_at=event.occurred_at,
    )
