"""What the appointment-request flow tells whom (the workflow of each portal-requests event).

The client hears of every step by email (received, approved with the final time and a calendar file,
declined with the reason, other times proposed, expired) and of every step it did not take itself in its
portal inbox (its own submission is no news there). A new request goes to every
active staff member who may approve requests and to the technician the client preferred, by email and in
their staff inbox.
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
# What the client did itself: a receipt by email, nothing in its inbox.
CLIENT_OWN_STEPS = frozenset({"RequestSubmitted"})
STAFF_CHANNELS = ("email", "in_app")

# Event -> the notice kind the client gets.
CLIENT_KINDS = {
    "RequestSubmitted": "request.received",
    "RequestApproved": "request.approved",
    "RequestAlternativeAccepted": "request.approved",
    "RequestDeclined": "request.declined",
    "RequestAlternativesProposed": "request.alternatives_proposed",
    "RequestExpired": "request.expired",
}
STAFF_KIND = "request.awaiting_approval"


@dataclass(frozen=True)
class RequestStep:
    """One step of a request, from its event: the facts every message about it may show."""

    tenant_id: uuid.UUID
    event: str  # the event's message name, e.g. "RequestApproved"
    request_id: uuid.UUID
    client_id: uuid.UUID
    source_event_id: uuid.UUID
    occurred_at: datetime
    variables: dict[str, Any]
    preferred_staff_id: uuid.UUID | None = None


def client_notices(step: RequestStep, *, max_attempts: int) -> list[PlannedMessage]:
    kind = CLIENT_KINDS.get(step.event)
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
        )
        for channel in CLIENT_CHANNELS
        if channel != "in_app" or step.event not in CLIENT_OWN_STEPS
    ]


def staff_to_tell(step: RequestStep, staff: Iterable[StaffMember]) -> list[StaffMember]:
    """Active staff who may approve, and the preferred technician (once each)."""
    chosen: dict[uuid.UUID, StaffMember] = {}
    for member in staff:
        if not member.active:
            continue
        if APPROVER_PERMISSION in member.permissions or member.staff_id == step.preferred_staff_id:
            chosen[member.staff_id] = member
    return list(chosen.values())


def staff_notices(step: RequestStep, staff: Sequence[StaffMember], *, max_attempts: int) -> list[PlannedMessage]:
    if step.event != "RequestSubmitted":
        return []
    return [
        PlannedMessage(
            tenant_id=step.tenant_id,
            kind=STAFF_KIND,
            category="transactional",
            channel=channel,
            recipient=Recipient("staff", member.staff_id),
            client_id=step.client_id,
            rule=f"{STAFF_KIND}:staff",
            source_event_id=step.source_event_id,
            variables=step.variables,
            due_at=step.occurred_at,
            max_attempts=max_attempts,
        )
        for member in staff_to_tell(step, staff)
        for channel in STAFF_CHANNELS
    ]
