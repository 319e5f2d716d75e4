"""Integration events in: each becomes a command for this service, inside the consumer's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1 import events_pb2 as client_events
from atrium.membership_billing.v1 import events_pb2 as billing_events
from atrium.portal_requests.v1 import events_pb2 as request_events
from atrium.scheduling.v1 import events_pb2 as scheduling_events
from notification_svc.domain import appointment_activity as activity
from notification_svc.domain import credit_activity as credits
from notification_svc.domain import request_activity as requests
from notification_svc.domain.commands import RecordActivities, RecordActivity, SendPortalInvitation
from notification_svc.domain.model import (
    attachment_changed_summary,
    attachment_summary,
    booking_blocked_summary,
    client_created_summary,
    client_updated_summary,
    invoice_issued_summary,
    invoice_voided_summary,
    payment_recorded_summary,
    payment_refunded_summary,
    requests_need_approval_summary,
    status_changed_summary,
)
from notification_svc.service_layer import handlers
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork
from platform_core.messaging.consumer import ReceivedEvent, Subscription
from platform_core.money import format_minor

UowFactory = Callable[[AsyncSession], NotificationUnitOfWork]
# Payload type -> (entry kind, summary of the payload), for one producer's events.
Timeline = dict[type[Message], tuple[str, Callable[[Any], str]]]

# Client events on the timeline.
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

# Billing events on the timeline, the same way (amounts shown in their currency's minor unit).
BILLING_TIMELINE: Timeline = {
    billing_events.InvoiceIssued: (
        "billing.invoice_issued",
        lambda p: invoice_issued_summary(p.number, p.kind, format_minor(p.total_minor, p.currency), p.due_date),
    ),
    billing_events.InvoiceVoided: ("billing.invoice_voided", lambda p: invoice_voided_summary(p.number, p.reason)),
    billing_events.PaymentRecorded: (
        "billing.payment_recorded",
        lambda p: payment_recorded_summary(format_minor(p.amount_minor, p.currency), p.method),
    ),
    billing_events.PaymentRefunded: (
        "billing.payment_refunded",
        lambda p: payment_refunded_summary(format_minor(p.amount_minor, p.currency), p.reason),
    ),
    billing_events.CreditsCharged: (
        "billing.credits_charged",
        lambda p: credits.charged_summary(p.amount, p.unit, p.credit_type_name),
    ),
    billing_events.CreditsUsed: (
        "billing.credits_used",
        lambda p: credits.used_summary(p.amount, p.unit, p.credit_type_name, p.balance_after),
    ),
    billing_events.CreditsExpired: (
        "billing.credits_expired",
        lambda p: credits.expired_summary(p.amount, p.unit, p.credit_type_name),
    ),
    billing_events.CreditsRestored: (
        "billing.credits_restored",
        lambda p: credits.restored_summary(p.amount, p.unit, p.credit_type_name),
    ),
    billing_events.CheckedIn: (
        "billing.checked_in",
        lambda p: credits.checked_in_summary(p.method, p.units_used, for_appointment=bool(p.appointment_id)),
    ),
    billing_events.ClientRequestsNeedApproval: (
        "billing.requests_need_approval",
        lambda p: requests_need_approval_summary(p.reason, p.until.ToDatetime(tzinfo=UTC)),
    ),
}


def _start(segments: Any) -> datetime | None:
    return min((s.start.ToDatetime(tzinfo=UTC) for s in segments), default=None)


def _service_names(segments: Any) -> list[str]:
    return [s.service_name for s in segments]


# Scheduling events on the timeline, the same way.
SCHEDULING_TIMELINE: Timeline = {
    scheduling_events.AppointmentBooked: (
        "appointment.booked",
        lambda p: activity.booked_summary(
            _service_names(p.segments), p.start.ToDatetime(tzinfo=UTC), p.timezone, source=p.source
        ),
    ),
    scheduling_events.AppointmentRescheduled: (
        "appointment.rescheduled",
        lambda p: activity.rescheduled_summary(
            _service_names(p.segments),
            p.previous_start.ToDatetime(tzinfo=UTC),
            p.start.ToDatetime(tzinfo=UTC),
            p.timezone,
        ),
    ),
    scheduling_events.AppointmentCancelled: (
        "appointment.cancelled",
        lambda p: activity.cancelled_summary(
            p.start.ToDatetime(tzinfo=UTC), p.timezone, cancelled_by=p.cancelled_by, reason=p.reason
        ),
    ),
    scheduling_events.AppointmentCompleted: (
        "appointment.completed",
        lambda p: activity.completed_summary(_service_names(p.segments), _start(p.segments), p.timezone),
    ),
    scheduling_events.AppointmentNoShow: (
        "appointment.no_show",
        lambda p: activity.no_show_summary(p.start.ToDatetime(tzinfo=UTC), p.timezone),
    ),
    scheduling_events.RecurringSeriesCreated: (
        "appointment.series_created",
        lambda p: activity.series_created_summary(p.occurrences_booked),
    ),
}


def _instant(timestamp: Any) -> datetime:
    moment: datetime = timestamp.ToDatetime(tzinfo=UTC)
    return moment


def _held(p: Any) -> datetime | None:
    return _instant(p.hold_until) if p.HasField("hold_until") else None


# Appointment requests and the waitlist (portal-requests events) on the client's timeline, on the business's
# clock.
REQUEST_TIMELINE: Timeline = {
    request_events.RequestSubmitted: ("request.submitted", lambda p: requests.submitted_summary(len(p.options))),
    request_events.RequestUpdated: (
        "request.updated",
        lambda p: requests.updated_summary(p.facts.reference, len(p.options)),
    ),
    request_events.RequestApproved: (
        "request.approved",
        lambda p: requests.approved_summary(
            p.facts.reference,
            p.facts.service_name,
            _instant(p.start) if p.HasField("start") else None,
            p.facts.business_timezone,
            p.technician_name,
        ),
    ),
    request_events.RequestDeclined: ("request.declined", lambda p: requests.declined_summary(p.reason)),
    request_events.RequestAlternativesProposed: (
        "request.alternatives_proposed",
        lambda p: requests.alternatives_summary(
            p.facts.reference, [_instant(o.start) for o in p.alternatives], _held(p), p.facts.business_timezone
        ),
    ),
    request_events.RequestAlternativeAccepted: (
        "request.alternative_accepted",
        lambda p: requests.alternative_accepted_summary(
            p.facts.service_name, _instant(p.start), p.facts.business_timezone, p.technician_name
        ),
    ),
    request_events.RequestCancelled: (
        "request.cancelled",
        lambda p: requests.cancelled_summary(
            p.facts.reference, cancelled_by=p.cancelled_by, was_approved=p.was_approved
        ),
    ),
    # No longer emitted; what older streams still hold decodes and lands on the timeline.
    request_events.RequestWithdrawn: ("request.withdrawn", lambda p: "Appointment request withdrawn by the client"),
    request_events.RequestExpired: ("request.expired", lambda p: requests.expired_summary(p.facts.reference)),
    request_events.WaitlistJoined: (
        "waitlist.joined",
        lambda p: requests.waitlist_joined_summary(
            p.facts.service_name, p.from_date, p.to_date, (p.window_start, p.window_end)
        ),
    ),
    request_events.WaitlistOfferMade: (
        "waitlist.offer_made",
        lambda p: requests.offer_made_summary(
            p.facts.service_name, _instant(p.start), _held(p), p.facts.business_timezone
        ),
    ),
    request_events.WaitlistOfferExpired: (
        "waitlist.offer_expired",
        lambda p: requests.offer_expired_summary(p.facts.service_name),
    ),
    request_events.WaitlistOfferAccepted: (
        "waitlist.offer_accepted",
        lambda p: requests.offer_accepted_summary(p.facts.service_name, _instant(p.start), p.facts.business_timezone),
    ),
}


def timeline_subscriptions(uow_within: UowFactory, timeline: Timeline) -> list[Subscription]:
    """An entry on the client's timeline for each event of ``timeline`` (one producer's events)."""

    def timeline_entries(
        kind: str, summary: Callable[[Any], str]
    ) -> Callable[[AsyncSession, Sequence[ReceivedEvent]], Any]:
        async def record(session: AsyncSession, events: Sequence[ReceivedEvent]) -> None:
            entries = tuple(
                RecordActivity(
                    tenant_id=event.tenant_id,
                    client_id=uuid.UUID(event.payload.client_id),
                    kind=kind,
                    summary=summary(event.payload),
                    occurred_at=event.envelope.occurred_at.ToDatetime(tzinfo=UTC),
                    source_event_id=event.event_id,
                    source_event_type=event.envelope.event_type,
                )
                for event in events
            )
            await handlers.record_activities(RecordActivities(events[0].tenant_id, entries), uow_within(session))

        return record

    return [
        Subscription.batched(payload_type, timeline_entries(kind, summary))
        for payload_type, (kind, summary) in timeline.items()
    ]


def email_subscriptions(uow_within: UowFactory) -> list[Subscription]:
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
        )

    return [Subscription(client_events.PortalInvitationIssued, portal_invitation)]
