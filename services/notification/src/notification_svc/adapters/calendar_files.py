"""An appointment as an iCalendar file (RFC 5545) attached to the emails that confirm it."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event

from notification_svc.domain.emails import Attachment


class CalendarFiles:
    """iCalendar files (icalendar), as the handlers reach them through the unit of work."""

    def appointment_ics(
        self,
        *,
        uid: str,
        start: datetime,
        end: datetime,
        summary: str,
        location: str,
        description: str = "",
        sequence: int = 0,
    ) -> Attachment:
        """One VEVENT in UTC with a stable UID, so a later update replaces it in the client's calendar."""
        calendar = Calendar()
        calendar.add("prodid", "-//Atrium//Notifications//EN")
        calendar.add("version", "2.0")
        calendar.add("method", "PUBLISH")
        event = Event()
        event.add("uid", uid)
        event.add("dtstamp", datetime.now(UTC))
        event.add("dtstart", start.astimezone(UTC))
        event.add("dtend", end.astimezone(UTC))
        event.add("summary", summary)
        event.add("sequence", sequence)
        if description:
            event.add("description", description)
        if location:
            event.add("location", location)
        calendar.add_component(event)
        return Attachment("appointment.ics", "text/calendar; method=PUBLISH", calendar.to_ical())
