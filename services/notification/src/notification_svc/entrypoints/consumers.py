"""Integration events in: each becomes a command for this service, inside the consumer's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC
from typing import Any

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1 import events_pb2 as client_events
from atrium.portal_requests.v1 import events_pb2 as request_events
from notification_svc.adapters.email_sender import AbstractEmailSender
from notification_svc.adapters.email_templates import EmailTemplates
from notification_svc.domain.emails import SendPortalInvitation
from notification_svc.domain.model import (
    RecordActivity,
    attachment_changed_summary,
    attachment_summary,
    booking_blocked_summary,
    client_created_summary,
    client_updated_summary,
    request_declined_summary,
    request_submitted_summary,
    status_changed_summary,
)
from notification_svc.service_layer import handlers
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork
from platform_core.messaging.consumer import ReceivedEvent, Subscription

UowFactory = Callable[[AsyncSession], NotificationUnitOfWork]
Timeline = dict[type[Message], tuple[str, Callable[[Any], str]]]

# Client events on the timeline: payload type -> (entry kind, summary of the payload).
CLIENT_TIMELINE: Timeline = {
    client_events.ClientCreated: ("client.created", lambda p: client_created_summary(p.first_name, p.last_name)),
    client_events.ClientUpdated: ("client.updated", lambda p: client_updated_summary(list(p.changed_fields))),
    client_events.ClientDeleted: ("client.deleted", lambda p: "Client was deleted"),
    client_events.ClientRestored: ("client.restored", lambda p: "Client was restored"),
    client_events.ClientBookingBlocked: ("client.booking_blocked", lambda p: booking_blocked_summary(p.reason)),
    client_events.ClientBookingUnblocked: ("client.booking_unblocked", lambda p: "Online booking unblocked"),
    client_events.ClientStatusChanged: (
        "client.status_changed",
        lambda p: status_changed_summary(p.from_label, p.to_label),
    ),
    client_events.ClientAttachmentAdded: (
        "client.attachment_added",
        lambda p: attachment_summary("added", p.filename, shared=p.shared_with_client),
    ),
    client_events.ClientAttachmentChanged: (
        "client.attachment_changed",
        lambda p: attachment_changed_summary(p.filename, list(p.changed_fields), shared=p.shared_with_client),
    ),
    client_events.PortalInvitationIssued: ("client.portal_invited", lambda p: f"Invited to the portal ({p.email})"),
    client_events.PortalAccessGranted: ("client.portal_access_granted", lambda p: "Portal access switched on"),
    client_events.PortalAccessRevoked: ("client.portal_access_revoked", lambda p: "Portal access switched off"),
    client_events.ClientAttachmentDeleted: (
        "client.attachment_deleted",
        lambda p: attachment_summary("deleted", p.filename),
    ),
}


# Appointment requests (portal-requests events) on the client's timeline.
REQUEST_TIMELINE: Timeline = {
    request_events.RequestSubmitted: ("request.submitted", lambda p: request_submitted_summary(len(p.options))),
    request_events.RequestApproved: ("request.approved", lambda p: "Appointment request approved and booked"),
    request_events.RequestDeclined: ("request.declined", lambda p: request_declined_summary(p.reason)),
    request_events.RequestWithdrawn: ("request.withdrawn", lambda p: "Appointment request withdrawn by the client"),
    request_events.RequestExpired: ("request.expired", lambda p: "Appointment request expired unanswered"),
}


def client_subscriptions(uow_within: UowFactory) -> list[Subscription]:
    return timeline_subscriptions(CLIENT_TIMELINE, uow_within)


def request_subscriptions(uow_within: UowFactory) -> list[Subscription]:
    return timeline_subscriptions(REQUEST_TIMELINE, uow_within)


def timeline_subscriptions(timeline: Timeline, uow_within: UowFactory) -> list[Subscription]:
    """One timeline entry per event, for the client the event names."""

    def timeline_entry(kind: str, summary: Callable[[Any], str]) -> Callable[[AsyncSession, ReceivedEvent], Any]:
        async def record(session: AsyncSession, event: ReceivedEvent) -> None:
            await handlers.record_activity(
                RecordActivity(
                    tenant_id=event.tenant_id,
                    client_id=uuid.UUID(event.payload.client_id),
                    kind=kind,
                    summary=summary(event.payload),
                    occurred_at=event.envelope.occurred_at.ToDatetime(tzinfo=UTC),
                    source_event_id=event.event_id,
                    source_event_type=event.envelope.event_type,
                ),
                uow_within(session),
            )

        return record

    return [
        Subscription(payload_type, timeline_entry(kind, summary)) for payload_type, (kind, summary) in timeline.items()
    ]


def email_subscriptions(
    uow_within: UowFactory, templates: EmailTemplates, sender: AbstractEmailSender
) -> list[Subscription]:
    """Events that send email. Their consumer takes one message per transaction: an email sent cannot be
    rolled back with a batch."""

    async def portal_invitation(session: AsyncSession, event: ReceivedEvent) -> None:
        p = event.payload
        await handlers.send_portal_invitation(
            SendPortalInvitation(
                tenant_id=event.tenant_id,
                client_id=uuid.UUID(p.client_id),
                email=p.email,
                accept_url=p.accept_url,
                expires_at=p.expires_at.ToDatetime(tzinfo=UTC),
                business_name=p.business_name,
                client_first_name=p.client_first_name,
                client_last_name=p.client_last_name,
                source_event_id=event.event_id,
            ),
            uow_within(session),
            templates,
            sender,
        )

    return [Subscription(client_events.PortalInvitationIssued, portal_invitation)]
