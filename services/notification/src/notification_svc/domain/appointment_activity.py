"""Timeline summaries of a client's appointments, in the appointment's own wall-clock time.

The scheduling events carry instants (UTC) and the zone the appointment is shown in; a summary is written once,
when the event arrives, so it reads as the business saw it then ("Tue 31 Mar 2026, 10:00 Europe/Berlin").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

APPOINTMENT_KINDS = {
    "appointment.booked": "Appointment booked",
    "appointment.rescheduled": "Appointment moved",
    "appointment.cancelled": "Appointment cancelled",
    "appointment.completed": "Appointment completed",
    "appointment.no_show": "Appointment missed",
    "appointment.series_created": "Recurring appointments booked",
}


def wall_clock(instant: datetime, zone: str) -> str:
    """``instant`` on the clock of ``zone`` (UTC when the zone is unknown or not given)."""
    try:
        tz = ZoneInfo(zone) if zone else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz, zone = ZoneInfo("UTC"), "UTC"
    local = instant.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {zone or 'UTC'}"


def _services(names: Sequence[str]) -> str:
    unique = list(dict.fromkeys(n for n in names if n))
    return " + ".join(unique) if unique else "appointment"


def booked_summary(service_names: Sequence[str], start: datetime, zone: str, *, source: str) -> str:
    via = {"portal": " (booked online)", "portal_request": " (from a portal request)"}.get(source, "")
    return f"Booked {_services(service_names)} for {wall_clock(start, zone)}{via}"


def rescheduled_summary(service_names: Sequence[str], previous: datetime, start: datetime, zone: str) -> str:
    return f"Moved {_services(service_names)} from {wall_clock(previous, zone)} to {wall_clock(start, zone)}"


def cancelled_summary(start: datetime, zone: str, *, cancelled_by: str, reason: str) -> str:
    by = " by the client" if cancelled_by == "client" else ""
    because = f": {' '.join(reason.split())}" if reason.strip() else ""
    return f"Appointment of {wall_clock(start, zone)} cancelled{by}{because}"


def completed_summary(service_names: Sequence[str], start: datetime | None, zone: str) -> str:
    when = f" of {wall_clock(start, zone)}" if start is not None else ""
    return f"Completed {_services(service_names)}{when}"


def no_show_summary(start: datetime, zone: str) -> str:
    return f"Did not come to the appointment of {wall_clock(start, zone)}"


def series_created_summary(occurrences: int) -> str:
    return f"Recurring appointments booked: {occurrences} " + ("occurrence" if occurrences == 1 else "occurrences")
