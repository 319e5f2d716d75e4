"""Domain events -> integration events (contracts in proto/atrium/portal_requests/v1/events.proto)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from typing import Any

from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.portal_requests.v1 import events_pb2
from atrium.portal_requests.v1 import portal_requests_pb2 as pb
from platform_core.grpc.values import timestamp
from platform_core.messaging.envelope import build_envelope
from portal_requests_svc.domain import events
from portal_requests_svc.domain.public_requests import PublicRequestVerificationRequested

PRODUCER = "portal_requests"
AGGREGATE = "appointment_request"
WAITLIST_AGGREGATE = "waitlist_entry"
PUBLIC_REQUEST_AGGREGATE = "public_request"
WAITLIST_EVENTS = (
    events.WaitlistJoined,
    events.WaitlistOfferMade,
    events.WaitlistOfferAccepted,
    events.WaitlistOfferExpired,
)


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


def waitlist_facts(facts: events.WaitlistFacts) -> events_pb2.WaitlistFacts:
    return events_pb2.WaitlistFacts(
        service_id=str(facts.service_id),
        service_name=facts.service_name,
        duration_minutes=facts.duration_minutes,
        staff_id=str(facts.staff_id or ""),
        staff_name=facts.staff_name,
        client_timezone=facts.client_timezone,
        business_timezone=facts.business_timezone,
    )


def _clock(t: time | None) -> str:
    return t.strftime("%H:%M") if t is not None else ""


def _payload(event: Any) -> Any:
    match event:
        case events.WaitlistJoined():
            return events_pb2.WaitlistJoined(
                entry_id=str(event.entry_id),
                client_id=str(event.client_id),
                facts=waitlist_facts(event.facts),
                from_date=event.dates.from_date.isoformat(),
                to_date=event.dates.to_date.isoformat(),
                window_start=_clock(event.dates.window_start),
                window_end=_clock(event.dates.window_end),
                joined_by=event.dates.joined_by,
            )
        case events.WaitlistOfferMade():
            return events_pb2.WaitlistOfferMade(
                offer_id=str(event.offer.offer_id),
                entry_id=str(event.entry_id),
                client_id=str(event.client_id),
                facts=waitlist_facts(event.facts),
                start=timestamp(event.offer.slot.start),
                end=timestamp(event.offer.slot.end),
                hold_until=timestamp(event.offer.hold_until),
            )
        case events.WaitlistOfferAccepted():
            return events_pb2.WaitlistOfferAccepted(
                offer_id=str(event.offer.offer_id),
                entry_id=str(event.entry_id),
                client_id=str(event.client_id),
                appointment_id=str(event.offer.appointment_id or ""),
                facts=waitlist_facts(event.facts),
                start=timestamp(event.offer.slot.start),
                end=timestamp(event.offer.slot.end),
            )
        case events.WaitlistOfferExpired():
            return events_pb2.WaitlistOfferExpired(
                offer_id=str(event.offer.offer_id),
                entry_id=str(event.entry_id),
                client_id=str(event.client_id),
                facts=waitlist_facts(event.facts),
            )
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


def _public_request_envelope(event: PublicRequestVerificationRequested) -> EventEnvelope:
    return build_envelope(
        events_pb2.PublicRequestVerificationRequested(
            verification_id=str(event.verification_id),
            email=event.email,
            name=event.name,
            code=event.code,
            expires_at=timestamp(event.expires_at),
            business_name=event.business_name,
            language=event.language,
        ),
        tenant_id=event.tenant_id,
        aggregate_type=PUBLIC_REQUEST_AGGREGATE,
        aggregate_id=event.verification_id,
        producer=PRODUCER,
        occurred_at=event.occurred_at,
    )


def to_envelope(event: Any) -> EventEnvelope:
    if isinstance(event, PublicRequestVerificationRequested):
        return _public_request_envelope(event)
    waitlist = isinstance(event, WAITLIST_EVENTS)
    return build_envelope(
        _payload(event),
        tenant_id=event.tenant_id,
        aggregate_type=WAITLIST_AGGREGATE if waitlist else AGGREGATE,
        aggregate_id=event.entry_id if waitlist else event.request_id,
        producer=PRODUCER,
        occurred_at=event.occurred_at,
    )
