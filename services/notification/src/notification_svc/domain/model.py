"""The activity timeline: every interaction with a client, as one thread."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from notification_svc.domain.appointment_activity import APPOINTMENT_KINDS
from notification_svc.domain.commands import RecordActivity
from notification_svc.domain.credit_activity import CREDIT_KINDS
from notification_svc.domain.request_activity import REQUEST_KINDS
from platform_core.validation import Violations

_KIND = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
MAX_SUMMARY_LENGTH = 500


@dataclass(eq=False)
class ActivityEntry:
    tenant_id: uuid.UUID
    id: uuid.UUID
    client_id: uuid.UUID
    kind: str
    summary: str
    occurred_at: datetime
    source_event_id: uuid.UUID
    source_event_type: str
    # Set once the client's personal data was erased: the summary says only what kind of thing happened.
    anonymized_at: datetime | None = None
    events: list[Any] = field(default_factory=list, repr=False)

    def anonymize(self, *, now: datetime) -> None:
        """Keep the kind and time of what happened, drop the details (names, reasons, labels)."""
        if self.anonymized_at is None:
            self.summary = anonymous_summary(self.kind)
            self.anonymized_at = now

    @classmethod
    def record(cls, cmd: RecordActivity, *, entry_id: uuid.UUID) -> ActivityEntry:
        violations = Violations()
        if not _KIND.match(cmd.kind):
            violations.add("kind", "must be dotted lower-case words, e.g. client.created")
        summary = " ".join(cmd.summary.split())
        if not summary:
            violations.add("summary", "is required")
        if cmd.occurred_at.tzinfo is None:
            violations.add("occurred_at", "must carry a timezone")
        violations.raise_if_any()
        return cls(
            tenant_id=cmd.tenant_id,
            id=entry_id,
            client_id=cmd.client_id,
            kind=cmd.kind,
            summary=summary[:MAX_SUMMARY_LENGTH],
            occurred_at=cmd.occurred_at,
            source_event_id=cmd.source_event_id,
            source_event_type=cmd.source_event_type,
        )


# What an entry of each kind says once its client's personal data was erased.
ANONYMOUS_SUMMARIES = {
    "client.created": "Client was added",
    "client.updated": "Details changed",
    "client.deleted": "Client was deleted",
    "client.restored": "Client was restored",
    "client.booking_blocked": "Online booking blocked",
    "client.booking_unblocked": "Online booking unblocked",
    "billing.requests_need_approval": "Online requests need staff approval",
    "client.status_changed": "Status changed",
    "client.merged": "Duplicate records merged",
    "client.unmerged": "Merge undone",
    "client.erased": "Personal data erased",
    "client.attachment_added": "File added",
    "client.attachment_changed": "File changed",
    "client.attachment_deleted": "File removed",
    "client.portal_invited": "Invited to the portal",
    "client.portal_access_granted": "Portal access switched on",
    "client.portal_access_revoked": "Portal access switched off",
    "billing.invoice_issued": "Invoice issued",
    "billing.invoice_voided": "Invoice voided",
    "billing.payment_recorded": "Payment recorded",
    "billing.payment_refunded": "Payment refunded",
    **CREDIT_KINDS,
    # An appointment's summary may hold a cancellation reason the client gave: erased like the rest.
    **APPOINTMENT_KINDS,
    **REQUEST_KINDS,
}


def anonymous_summary(kind: str) -> str:
    return ANONYMOUS_SUMMARIES.get(kind, "Activity recorded")


def display_name(first_name: str, last_name: str) -> str:
    return " ".join(part for part in (first_name.strip(), last_name.strip()) if part) or "Unnamed client"


def client_created_summary(first_name: str, last_name: str) -> str:
    return f"Client {display_name(first_name, last_name)} was added"


_FIELD_LABELS = {
    "first_name": "first name",
    "last_name": "last name",
    "email": "email",
    "phone": "phone",
    "assigned_staff": "assigned staff",
    "tags": "tags",
    "emails": "emails",
    "phones": "phones",
    "contact_persons": "contact persons",
    "custom_fields": "custom fields",
}


def client_updated_summary(changed_fields: list[str]) -> str:
    labels = [_FIELD_LABELS.get(name, name.replace("_", " ")) for name in changed_fields]
    return f"Details changed: {', '.join(labels)}" if labels else "Details changed"


def booking_blocked_summary(reason: str) -> str:
    return f"Online booking blocked: {reason.strip()}" if reason.strip() else "Online booking blocked"


def requests_need_approval_summary(reason: str, until: datetime) -> str:
    """Billing's repeat no-show rule, outcome require_approval (``until`` in UTC: the timeline has no zone)."""
    why = f" ({reason.strip()})" if reason.strip() else ""
    return f"Online requests need staff approval until {until.astimezone(UTC):%Y-%m-%d %H:%M} UTC{why}"


def status_changed_summary(from_label: str, to_label: str) -> str:
    return f"Status changed from {from_label} to {to_label}" if from_label else f"Status set to {to_label}"


def invoice_issued_summary(number: int, kind: str, amount: str, due_date: str) -> str:
    if kind == "opening_balance":
        return f"Opening balance of {amount} owed"
    return f"Invoice #{number} issued: {amount}, due {due_date}"


def invoice_voided_summary(number: int, reason: str) -> str:
    return f"Invoice #{number} voided: {reason.strip()}" if reason.strip() else f"Invoice #{number} voided"


def payment_recorded_summary(amount: str, method: str) -> str:
    if method == "opening_balance":
        return f"Opening credit of {amount}"
    return f"Payment of {amount} received ({method.replace('_', ' ')})"


def payment_refunded_summary(amount: str, reason: str) -> str:
    return f"Payment of {amount} refunded: {reason.strip()}" if reason.strip() else f"Payment of {amount} refunded"


def attachment_summary(what: str, filename: str, *, shared: bool = False) -> str:
    return f"File {filename} {what}" + (", shared with the client" if shared else "")


def attachment_changed_summary(filename: str, changed_fields: list[str], *, shared: bool) -> str:
    if "shared_with_client" in changed_fields:
        return f"File {filename} " + ("shared with the client" if shared else "no longer shared with the client")
    return f"File renamed to {filename}"
