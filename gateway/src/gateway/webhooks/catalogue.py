"""The events a business may subscribe a webhook endpoint to, and the JSON a delivery carries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from atrium.client.v1 import events_pb2 as client_events
from atrium.membership_billing.v1 import events_pb2 as billing_events
from atrium.portal_requests.v1 import events_pb2 as request_events
from atrium.scheduling.v1 import events_pb2 as scheduling_events

# What happens to clients, appointments, requests, invoices and payments. Left out: events that carry a
# secret meant for one person (portal invitation links, verification codes) and the retired RequestWithdrawn.
EVENT_MESSAGES: tuple[type[Message], ...] = (
    client_events.ClientCreated,
    client_events.ClientUpdated,
    client_events.ClientDeleted,
    client_events.ClientRestored,
    client_events.ClientBookingBlocked,
    client_events.ClientBookingUnblocked,
    client_events.ClientStatusChanged,
    client_events.ClientAttachmentAdded,
    client_events.ClientAttachmentChanged,
    client_events.ClientAttachmentDeleted,
    client_events.PortalAccessGranted,
    client_events.PortalAccessRevoked,
    client_events.ClientsMerged,
    client_events.ClientsUnmerged,
    client_events.ClientErased,
    scheduling_events.AppointmentBooked,
    scheduling_events.AppointmentRescheduled,
    scheduling_events.AppointmentCancelled,
    scheduling_events.AppointmentCompleted,
    scheduling_events.AppointmentNoShow,
    scheduling_events.RecurringSeriesCreated,
    request_events.RequestSubmitted,
    request_events.RequestUpdated,
    request_events.RequestApproved,
    request_events.RequestDeclined,
    request_events.RequestCancelled,
    request_events.RequestExpired,
    request_events.RequestAlternativesProposed,
    request_events.RequestAlternativeAccepted,
    request_events.WaitlistJoined,
    request_events.WaitlistOfferMade,
    request_events.WaitlistOfferAccepted,
    request_events.WaitlistOfferExpired,
    billing_events.InvoiceIssued,
    billing_events.InvoiceVoided,
    billing_events.InvoicePaid,
    billing_events.PaymentRecorded,
    billing_events.PaymentRefunded,
)

# A webhook event type is the message's name: "AppointmentBooked".
EVENT_TYPES: tuple[str, ...] = tuple(m.DESCRIPTOR.name for m in EVENT_MESSAGES)
TEST_EVENT_TYPE = "WebhookTest"


def event_body(
    event_id: uuid.UUID, event_type: str, tenant_id: uuid.UUID, occurred_at: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    """The JSON of a delivery: the event id (a receiver's deduplication key), its type, time and data."""
    return {
        "id": str(event_id),
        "type": event_type,
        "timestamp": occurred_at.isoformat().replace("+00:00", "Z"),
        "business_id": str(tenant_id),
        "data": data,
    }


def payload_data(payload: Message) -> dict[str, Any]:
    return MessageToDict(payload, preserving_proto_field_name=True)
