"""What the staff console and the portal share about appointment requests: statuses and wall-clock times."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from atrium_web.formatting import Formatter

# The API's statuses, in the order a request moves through them.
STATUS_LABELS = {
    "pending": "Pending",
    "proposed": "Other times proposed",
    "approved": "Approved",
    "declined": "Declined",
    "cancelled": "Cancelled",
    "expired": "Expired",
}
# Still awaiting a decision or the client's answer: cancellable by the client, declinable by staff.
OPEN_STATUSES = frozenset({"pending", "proposed"})
ISO_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)")


def instants_on_clock(message: str, fmt: Formatter) -> str:
    """An API message's instants (e.g. "cancelled online until 2026-12-16T13:00:00+00:00") in the viewer's
    words and zone."""
    return ISO_INSTANT.sub(lambda m: fmt.datetime(m.group(0).replace("Z", "+00:00"), "full"), message)


def wall_clock(value: str, zone: str) -> str | None:
    """A datetime-local field's value (a wall-clock time in ``zone``) as ISO 8601 with its offset; None if
    it is not a time. A time the zone skips (a DST gap) keeps the offset zoneinfo gives it."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        return None
    return moment.replace(tzinfo=ZoneInfo(zone)).isoformat()


def local_input(value: str | None, zone: str) -> str:
    """An instant as a datetime-local field's value on ``zone``'s wall clock."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")
