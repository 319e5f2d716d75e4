"""What the appointment-request flow and the waitlist tell whom (the workflow of each portal-requests event).

The client hears of every step by email (received, approved or an alternative accepted with the final time
and a calendar file, declined with the reason, other times proposed, cancelled while pending, expired; a
waitlist offer made, lapsed or taken) and of every step it did not take itself in its portal inbox (its own
doing is no news there); an approved request's cancellation is told by its appointment's. Staff who may
approve requests, and the technician the request names (preferred, or the one an accepted alternative is
with), hear by email and in their staff inbox of what awaits them or changes their day: a new or edited
pending request, an alternative the client took, an approved request the client cancelled.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notification_svc.domain.audience import StaffMember
from notification_svc.domain.delivery import PlannedMessage, Recipient

APPROVER_PERMISSION = "requests.approve"
CLIENT_CHANNELS = ("email", "in_app")
STAFF_CHANNELS = ("email", "in_app")

# Event -> the notice kind the client gets.
CLIENT_KINDS = {
    "RequestSubmitted": "request.received",
    "RequestApproved": "request.approved",
    "RequestAlternativeAccepted": "request.alternative_accepted",
    "RequestDeclined": "request.declined",
    "RequestAlternativesProposed": "request.alternatives_proposed",
    "RequestCancelled": "request.cancelled",
    "RequestExpired": "request.expired",
    "WaitlistOfferMade": "waitlist.offer_made",
    "WaitlistOfferExpired": "waitlist.offer_expired",
    "WaitlistOfferAccepted": "waitlist.offer_accepted",
}
# Event -> the notice kind staff get (RequestCancelled: only an approved request the client cancelled).
STAFF_KINDS = {
    "RequestSubmitted": "request.awaiting_approval",
    "RequestUpdated": "request.updated",
    "RequestAlternativeAccepted": "request.alternative_accepted_by_client",
    "RequestCancelled": "request.cancelled_by_client",
}
# A confirmed time travels with its calendar file.
CALENDAR_KINDS = frozenset({"request.approved", "request.alternative_accepted", "waitlist.offer_accepted"})
# Where in the portal the client acts on a notice (its accept link), below the public address.
PORTAL_PAGES = {
    "request.alternatives_proposed": "/portal/requests",
    "waitlist.offer_made": "/portal/waitlist",
}


@dataclass(frozen=True)
class RequestStep:
    """One step of a request (or of a waitlist offer), from its event: the facts every message about it
    may show."""

    tenant_id: uuid.UUID
    event: str  # the event's message name, e.g. "RequestApproved"
    subject_id: uuid.UUID  # the request, or the waitlist offer
    client_id: uuid.UUID
    source_event_id: uuid.UUID
    occurred_at: datetime
    variables: dict[str, Any]
    preferred_staff_id: uuid.UUID | None = None
    # The client took this step itself (submitted, edited, accepted, cancelled): no news in its inbox.
    by_client: bool = False
    # The technician the appointment is with, once there is one.
    technician_id: uuid.UUID | None = None


def accept_url(kind: str, public_url: str) -> str:
    """The portal page a notice of ``kind`` asks the client to act on ('' when it asks nothing)."""
    page = PORTAL_PAGES.get(kind)
    return f"{public_url.rstrip('/')}{page}" if page else ""


def client_kind(step: RequestStep) -> str | None:
    """The notice the client gets of this step, if any."""
    if step.event == "RequestCancelled" and step.variables.get("was_approved"):
        # Its appointment's cancellation (scheduling's AppointmentCancelled, always emitted with it) tells the
        # client, with the time: a second email about the same act would only be noise.
        return None
    return CLIENT_KINDS.get(step.event)


def client_notices(step: RequestStep, *, max_attempts: int) -> list[PlannedMessage]:
    """The client's email and in-app notice of what it did not do itself."""
    kind = client_kind(step)
    if kind is None:
        return []
    return [
        PlannedMessage(
            tenant_id=step.tenant_id,
            kind=kind,
            category="transactional",
            channel=channel,
            recipient=Recipient("client", step.client_id),
            client_id=step.client_id,
            rule=f"{kind}:client",
            source_event_id=step.source_event_id,
            variables=step.variables,
            due_at=step.occurred_at,
            max_attempts=max_attempts,
            subject_id=step.subject_id,
        )
        for channel in CLIENT_CHANNELS
        if channel != "in_app" or not step.by_client
    ]


def staff_kind(step: RequestStep) -> str | None:
    """The notice staff get of this step, if any."""
    if step.event == "RequestCancelled" and not (step.by_client and step.variables.get("was_approved")):
        return None  # a pending request withdrawn, or staff's own cancellation: nothing changes for them
    return STAFF_KINDS.get(step.event)


def staff_to_tell(step: RequestStep, staff: Iterable[StaffMember]) -> list[StaffMember]:
    """Active staff who may approve, and the preferred technician and the technician (once each)."""
    named = {step.preferred_staff_id, step.technician_id} - {None}
    chosen: dict[uuid.UUID, StaffMember] = {}
    for member in staff:
        if not member.active:
            continue
        if APPROVER_PERMISSION in member.permissions or member.staff_id in named:
            chosen[member.staff_id] = member
    return list(chosen.values())


def staff_notices(step: RequestStep, staff: Sequence[StaffMember], *, max_attempts: int) -> list[PlannedMessage]:
    kind = staff_kind(step)
    if kind is None:
        return []
    return [
        PlannedMessage(
            tenant_id=step.tenant_id,
            kind=kind,
            category="transactional",
            channel=channel,
            recipient=Recipient("staff", member.staff_id),
            client_id=step.client_id,
            rule=f"{kind}:staff",
            source_event_id=step.source_event_id,
            variables=step.variables,
            due_at=step.occurred_at,
            max_attempts=max_attempts,
            subject_id=step.subject_id,
        )
        for member in staff_to_tell(step, staff)
        for channel in STAFF_CHANNELS
    ]
