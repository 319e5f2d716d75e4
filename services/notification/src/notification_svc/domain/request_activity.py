"""Timeline summaries of a client's appointment requests and waitlist offers.

Times read on the business's clock (the timeline is staff's view), written once when the event arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from notification_svc.domain.appointment_activity import wall_clock

# What an entry of each kind says once its client's personal data was erased.
REQUEST_KINDS = {
    "request.submitted": "Appointment requested",
    "request.updated": "Appointment request changed",
    "request.approved": "Appointment request approved",
    "request.declined": "Appointment request declined",
    "request.alternatives_proposed": "Other times proposed",
    "request.alternative_accepted": "Proposed time accepted",
    "request.cancelled": "Appointment request cancelled",
    # No longer emitted; older RequestWithdrawn events in the streams still land on the timeline.
    "request.withdrawn": "Appointment request withdrawn",
    "request.expired": "Appointment request expired",
    "waitlist.joined": "Joined the waitlist",
    "waitlist.offer_made": "Waitlist offer made",
    "waitlist.offer_expired": "Waitlist offer lapsed",
    "waitlist.offer_accepted": "Waitlist offer taken",
}


def _times(count: int) -> str:
    return f"{count} preferred time{'s' if count != 1 else ''}"


def _named(reference: str) -> str:
    return f" {reference}" if reference else ""


def submitted_summary(options: int) -> str:
    return f"Appointment requested ({_times(options)})"


def updated_summary(reference: str, options: int) -> str:
    return f"Appointment request{_named(reference)} changed by the client ({_times(options)})"


def approved_summary(reference: str, service_name: str, start: datetime | None, zone: str, technician_name: str) -> str:
    when = f" for {wall_clock(start, zone)}" if start is not None else ""
    with_whom = f" with {technician_name}" if technician_name else ""
    return f"Appointment request{_named(reference)} approved: {service_name or 'appointment'} booked{when}{with_whom}"


def declined_summary(reason: str) -> str:
    return f"Appointment request declined: {reason.strip()}" if reason.strip() else "Appointment request declined"


def alternatives_summary(reference: str, starts: Sequence[datetime], hold_until: datetime | None, zone: str) -> str:
    times = "; ".join(wall_clock(s, zone) for s in starts)
    held = f" (held until {wall_clock(hold_until, zone)})" if hold_until is not None else ""
    return f"Other times proposed for request{_named(reference)}: {times}{held}"


def alternative_accepted_summary(service_name: str, start: datetime, zone: str, technician_name: str) -> str:
    with_whom = f" with {technician_name}" if technician_name else ""
    return f"Proposed time accepted: {service_name or 'appointment'} on {wall_clock(start, zone)}{with_whom}"


def cancelled_summary(reference: str, *, cancelled_by: str, was_approved: bool) -> str:
    by = {"client": " by the client", "staff": " by staff"}.get(cancelled_by, "")
    appointment = " with its appointment" if was_approved else ""
    return f"Appointment request{_named(reference)} cancelled{by}{appointment}"


def expired_summary(reference: str) -> str:
    # Every preferred time passed while pending, or a proposal's hold ran out: either way no time was agreed.
    return f"Appointment request{_named(reference)} expired before a time was agreed"


def waitlist_joined_summary(service_name: str, from_date: str, to_date: str, window: tuple[str, str]) -> str:
    days = f"{from_date} to {to_date}" if to_date and to_date != from_date else from_date
    hours = f", {window[0]}-{window[1]}" if window[0] and window[1] else ""
    return f"Joined the waitlist for {service_name or 'a service'}" + (f": {days}{hours}" if days else hours)


def offer_made_summary(service_name: str, start: datetime, hold_until: datetime | None, zone: str) -> str:
    held = f", held until {wall_clock(hold_until, zone)}" if hold_until is not None else ""
    return f"Waitlist offer: {service_name or 'appointment'} on {wall_clock(start, zone)}{held}"


def offer_expired_summary(service_name: str) -> str:
    return f"Waitlist offer for {service_name or 'an appointment'} lapsed untaken"


def offer_accepted_summary(service_name: str, start: datetime, zone: str) -> str:
    return f"Waitlist offer taken: {service_name or 'appointment'} booked for {wall_clock(start, zone)}"
