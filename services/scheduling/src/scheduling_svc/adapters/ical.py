"""Appointments as iCalendar (RFC 5545), built with the icalendar library.

Times are UTC ("Z"): every calendar program converts them to its own timezone, with no VTIMEZONE to get
wrong. Each appointment is one VEVENT whose UID (``<id>@atrium``) never changes, with SEQUENCE = the
appointment's version and DTSTAMP = when it last changed, so a calendar that re-reads the feed updates
the event in place. What an event says is kept to what its owner should see: the services (and, for a
client, who performs them) — never notes, prices or, in a staff member's calendar, anything about the client
beyond that there is an appointment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

from scheduling_svc.domain.appointments import Appointment, Segment, Status

PRODID = "-//Atrium//Scheduling//EN"
UID_DOMAIN = "atrium"
REFRESH = timedelta(hours=1)
CONTENT_TYPE = "text/calendar; charset=utf-8"


def uid_of(appointment_id: uuid.UUID) -> str:
    return f"{appointment_id}@{UID_DOMAIN}"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _services(segments: Iterable[Segment]) -> str:
    return " + ".join(dict.fromkeys(s.service_name for s in segments)) or "Appointment"


def _minutes(segment: Segment) -> int:
    return int((segment.end - segment.start).total_seconds() // 60)


def appointment_event(
    appointment: Appointment, *, staff_id: uuid.UUID | None, staff_names: Mapping[uuid.UUID, str]
) -> Event | None:
    """The VEVENT of one appointment as a client sees it (``staff_id`` None: every service, and with whom) or
    as one staff member sees it (only the services they perform, from their first start to their last end).
    None when the staff member performs nothing in it."""
    if staff_id is None:
        segments = list(appointment.segments)
        lines = [
            f"{s.service_name} with {staff_names[s.staff_id]}" if staff_names.get(s.staff_id) else s.service_name
            for s in segments
        ]
    else:
        segments = [s for s in appointment.segments if s.staff_id == staff_id]
        lines = [f"{s.service_name}, {_minutes(s)} min" for s in segments]
    if not segments:
        return None
    summary = _services(segments)
    if staff_id is not None and any(s.capacity > 1 for s in segments):
        summary += " (group session)"
    event = Event()
    event.add("uid", uid_of(appointment.id))
    event.add("dtstamp", _utc(appointment.updated_at))
    event.add("created", _utc(appointment.created_at))
    event.add("last-modified", _utc(appointment.updated_at))
    event.add("sequence", appointment.version)
    event.add("dtstart", _utc(min(s.start for s in segments)))
    event.add("dtend", _utc(max(s.end for s in segments)))
    event.add("summary", summary)
    event.add("description", "\n".join(lines))
    event.add("status", "CANCELLED" if appointment.status == Status.CANCELLED else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if appointment.status == Status.CANCELLED else "OPAQUE")
    return event


def calendar(
    appointments: Iterable[Appointment],
    *,
    name: str,
    staff_id: uuid.UUID | None,
    staff_names: Mapping[uuid.UUID, str],
    feed: bool,
) -> bytes:
    """A VCALENDAR of the appointments, earliest first; ``feed``: tells subscribers how often to re-read it."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if name:
        cal.add("name", name)
        cal.add("x-wr-calname", name)
    if feed:
        cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", REFRESH)
    for appointment in sorted(appointments, key=lambda a: (a.starts_at, a.id)):
        event = appointment_event(appointment, staff_id=staff_id, staff_names=staff_names)
        if event is not None:
            cal.add_component(event)
    return bytes(cal.to_ical())
