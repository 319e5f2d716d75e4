"""What a business may rewrite: the messages its clients and staff read, each with the variables its
templates are given (documented here, checked on save) and sample values for a preview. Account emails
(password resets, codes, invitations) are not overridable: their wording carries security advice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

COMMON_VARIABLES = ("name", "business_name", "client_name", "unsubscribe_url", "when", "on")
_REQUEST = ("reference", "service_name", "duration_minutes", "client_timezone", "business_timezone",
            "preferred_staff_name", "description")  # fmt: skip
_APPOINTMENT = ("appointment_id", "service_name", "start", "timezone", "audience")
_INVOICE = ("invoice_id", "number", "amount", "due_date")
_CONFIRMED = ("appointment_id", "start", "end", "technician_name")
_MEMBERSHIP = ("membership_name", "starts_on", "expires_on", "tolerance_until", "price", "auto_renew")
_WAITLIST = ("offer_id", "service_name", "duration_minutes", "staff_name", "client_timezone", "business_timezone")

KIND_VARIABLES: dict[str, tuple[str, ...]] = {
    "request.received": (*_REQUEST, "options"),
    "request.approved": (*_REQUEST, *_CONFIRMED),
    "request.declined": (*_REQUEST, "reason"),
    "request.alternatives_proposed": (*_REQUEST, "alternatives", "hold_until", "note", "technician_name", "accept_url"),
    "request.alternative_accepted": (*_REQUEST, *_CONFIRMED),
    "request.cancelled": (*_REQUEST, "cancelled_by"),
    "request.expired": _REQUEST,
    "request.awaiting_approval": (*_REQUEST, "options"),
    "request.updated": (*_REQUEST, "options"),
    "request.alternative_accepted_by_client": (*_REQUEST, *_CONFIRMED),
    "request.cancelled_by_client": (*_REQUEST, "appointment_id"),
    "waitlist.offer_made": (*_WAITLIST, "start", "end", "hold_until", "accept_url"),
    "waitlist.offer_expired": _WAITLIST,
    "waitlist.offer_accepted": (*_WAITLIST, "start", "end", "appointment_id"),
    "appointment.booked": _APPOINTMENT,
    "appointment.rescheduled": (*_APPOINTMENT, "previous_start"),
    "appointment.reassigned": (*_APPOINTMENT, "previous_start", "staff_name", "previous_staff_name"),
    "appointment.cancelled": (*_APPOINTMENT, "reason"),
    "appointment.reminder": (*_APPOINTMENT, "offset"),
    "appointment.follow_up_due": (*_APPOINTMENT, "action"),
    "invoice.issued": (*_INVOICE, "pdf_attached"),
    "payment.received": ("amount",),
    "payment.due": (*_INVOICE, "days"),
    "payment.overdue": (*_INVOICE, "days"),
    "membership.activated": _MEMBERSHIP,
    "membership.frozen": (*_MEMBERSHIP, "frozen_from", "frozen_until", "reason"),
    "membership.renewed": (*_MEMBERSHIP, "previous_expires_on"),
    "membership.cancelled": (*_MEMBERSHIP, "reason", "cancelled_by"),
    "membership.expiring": (*_MEMBERSHIP, "days_left"),
    "membership.expired": _MEMBERSHIP,
    "membership.expiry_reminder": (*_MEMBERSHIP, "days", "phase"),
    "credits.low_balance": ("credit_type_name", "balance"),
    "points.earned": ("points", "points_balance"),
    "policy.fee_charged": ("policy_reason", "outcome", "amount", "credits_forfeited", "appointment_id"),
}

_WHEN = "2026-03-30T07:00:00+00:00"
SAMPLE: dict[str, Any] = {
    "name": "Ada Lovelace", "business_name": "Zen Studio", "client_name": "Ada Lovelace",
    "unsubscribe_url": "https://studio.example/unsubscribe/sample", "reference": "REQ-1042",
    "service_name": "Massage", "duration_minutes": 60, "client_timezone": "Europe/Berlin",
    "business_timezone": "Europe/Berlin", "preferred_staff_name": "Maria", "description": "My back hurts",
    "options": [_WHEN], "appointment_id": "01890a5d-ac96-774b-bcce-b302099a8057", "start": _WHEN,
    "end": "2026-03-30T08:00:00+00:00", "technician_name": "Maria", "reason": "We are closed that week",
    "alternatives": [_WHEN], "hold_until": "2026-03-29T18:00:00+00:00", "note": "Mornings are free",
    "timezone": "Europe/Berlin", "audience": "client", "previous_start": "2026-03-27T08:00:00+00:00",
    "offset": "1d", "invoice_id": "01890a5d-ac96-774b-bcce-b302099a8058", "number": 1042,
    "amount": "120.00 EUR", "due_date": "2026-04-15", "days": 3, "cancelled_by": "client",
    "offer_id": "01890a5d-ac96-774b-bcce-b302099a8059", "staff_name": "Maria",
    "accept_url": "https://studio.example/portal/requests",
    "membership_name": "Yoga 10", "starts_on": "2026-03-01", "expires_on": "2026-05-31",
    "tolerance_until": "2026-06-07", "price": "99.00 EUR", "auto_renew": True, "frozen_from": "2026-04-01",
    "frozen_until": "2026-04-14", "previous_expires_on": "2026-02-28", "days_left": 7,
    "credit_type_name": "Yoga sessions", "balance": "1 session", "points": 50, "points_balance": 350,
    "previous_staff_name": "Jonas", "action": "call", "policy_reason": "late_cancellation", "outcome": "fee",
    "credits_forfeited": 0, "pdf_attached": True, "phase": "before",
}  # fmt: skip


def allowed_variables(kind: str) -> frozenset[str]:
    return frozenset(COMMON_VARIABLES) | frozenset(KIND_VARIABLES.get(kind, ()))


@dataclass(frozen=True)
class RenderedMessage:
    """What a message says, by part (those its channel shows)."""

    subject: str = ""
    text: str = ""
    html: str = ""
    sms: str = ""
    inbox: str = ""


@dataclass(frozen=True)
class TemplateKind:
    """A message a business may rewrite: its variables, the languages it is written in, those the business
    rewrote."""

    kind: str
    variables: tuple[str, ...]
    languages: tuple[str, ...]
    overridden: tuple[str, ...]


def template_name(kind: str) -> str:
    """The template file of a kind, e.g. request.approved -> request_approved."""
    return kind.replace(".", "_")
