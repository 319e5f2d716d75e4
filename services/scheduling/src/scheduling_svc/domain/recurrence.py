"""Recurrence rules (RFC 5545 RRULE) of appointment series: parsing, validation and expansion.

A series repeats on the wall clock of its timezone: DTSTART is a local time ("2025-03-04T09:00") plus an IANA zone,
the rule is expanded in local time, and each local occurrence becomes an instant only at the end. So a series at
09:00 stays at 09:00 across daylight-saving changes. A local time the clock skips (spring forward) is read with the
offset before the jump, as RFC 5545 says (02:30 becomes 03:30); an ambiguous one (fall back) is its first occurrence.

Supported: FREQ=DAILY|WEEKLY|MONTHLY|YEARLY with INTERVAL, BYDAY (MO..SU, and with MONTHLY/YEARLY an ordinal such
as +3MO or -1FR), BYMONTHDAY, COUNT and UNTIL. A rule without COUNT or UNTIL is open-ended; such series are
materialized over a rolling horizon. The occurrences are the ones the rule generates from DTSTART (DTSTART itself
only when it matches the rule). Stored rules are canonical: parts in a fixed order, UNTIL in UTC ("...Z").

Every problem is reported as InvalidArgument on the field that carries the rule (``rrule`` by default) or the
start (``dtstart``), naming the rule part at fault.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil.rrule import rrulestr

from platform_core.errors import InvalidArgument
from platform_core.validation import Violations

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
SUPPORTED_PARTS = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL")
MAX_INTERVAL = 99
# A series of more occurrences than this is open-ended in all but name: use UNTIL, or no end at all.
MAX_COUNT = 730
MAX_RULE_LENGTH = 500

_BYDAY = re.compile(r"^([+-]?)([0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL_DATE = re.compile(r"^[0-9]{8}$")
_UNTIL_TIME = re.compile(r"^[0-9]{8}T[0-9]{6}Z?$")
_LOCAL_FORMAT = "%Y%m%dT%H%M%S"


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidArgument.single("timezone", "is not an IANA timezone, e.g. Europe/Berlin") from error


def instant_of(wall: datetime, zone: str) -> datetime:
    """The UTC instant of a local wall time (RFC 5545: a skipped time uses the offset before the jump)."""
    return wall.replace(tzinfo=_zone(zone), fold=0).astimezone(UTC)


def wall_of(instant: datetime, zone: str) -> datetime:
    """The local wall time (naive) of an instant in ``zone``."""
    return instant.astimezone(_zone(zone)).replace(tzinfo=None, fold=0)


def parse_local_start(value: str, field: str = "dtstart") -> datetime:
    """A local wall time "YYYY-MM-DDTHH:MM" (seconds allowed, must be zero); no offset: the zone is separate."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidArgument.single(field, "must be a local date and time, YYYY-MM-DDTHH:MM") from None
    if parsed.tzinfo is not None:
        raise InvalidArgument.single(field, "is a wall-clock time without an offset; give the timezone separately")
    if parsed.second or parsed.microsecond:
        raise InvalidArgument.single(field, "must be a whole minute")
    return parsed


@dataclass(frozen=True)
class ByDay:
    weekday: str  # MO..SU
    ordinal: int | None = None  # +3 (third), -1 (last); None: every such weekday

    def text(self) -> str:
        return f"{self.ordinal:+d}{self.weekday}" if self.ordinal else self.weekday


@dataclass(frozen=True)
class Recurrence:
    """A validated rule anchored at a local start in a timezone."""

    freq: str
    dtstart: datetime  # naive local wall time
    timezone: str
    interval: int = 1
    byday: tuple[ByDay, ...] = ()
    bymonthday: tuple[int, ...] = ()
    count: int | None = None
    until: datetime | None = None  # naive local wall time, inclusive

    # --- text ----------------------------------------------------------------------------------

    def _parts(self, until_text: str | None) -> list[str]:
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.byday:
            parts.append("BYDAY=" + ",".join(d.text() for d in self.byday))
        if self.bymonthday:
            parts.append("BYMONTHDAY=" + ",".join(str(d) for d in self.bymonthday))
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if until_text is not None:
            parts.append(f"UNTIL={until_text}")
        return parts

    @property
    def rule(self) -> str:
        """The canonical RRULE value (UNTIL in UTC, as RFC 5545 requires beside a DTSTART with a zone)."""
        until = None
        if self.until is not None:
            until = instant_of(self.until, self.timezone).strftime(_LOCAL_FORMAT) + "Z"
        return ";".join(self._parts(until))

    @property
    def open_ended(self) -> bool:
        return self.count is None and self.until is None

    # --- expansion -----------------------------------------------------------------------------

    def _dateutil(self) -> Any:
        until = self.until.strftime(_LOCAL_FORMAT) if self.until is not None else None
        try:
            return rrulestr(";".join(self._parts(until)), dtstart=self.dtstart)
        except (ValueError, TypeError) as exc:  # the checks below should leave nothing for dateutil to refuse
            raise InvalidArgument.single("rrule", str(exc)) from exc

    def _walls(self, from_wall: datetime) -> Iterator[datetime]:
        rule = self._dateutil()
        for wall in rule.xafter(from_wall, inc=True):
            yield cast(datetime, wall)

    def occurrences(self, start: datetime | None, end: datetime, limit: int) -> list[datetime]:
        """Occurrence instants (UTC) in [start, end), at most ``limit``, in order. ``start`` None: from the first."""
        # Local order is instant order except inside a fall-back hour; a day's margin catches those.
        from_wall = self.dtstart if start is None else max(self.dtstart, wall_of(start, self.timezone) - timedelta(1))
        end_wall = wall_of(end, self.timezone) + timedelta(days=1)
        found: list[datetime] = []
        for wall in self._walls(from_wall):
            if wall > end_wall or len(found) >= limit:
                break
            instant = instant_of(wall, self.timezone)
            if (start is None or instant >= start) and instant < end:
                found.append(instant)
        return found

    def first(self) -> datetime | None:
        found = self.occurrences(None, datetime.max.replace(tzinfo=UTC) - timedelta(days=2), 1)
        return found[0] if found else None

    def next_at_or_after(self, instant: datetime) -> datetime | None:
        found = self.occurrences(instant, datetime.max.replace(tzinfo=UTC) - timedelta(days=2), 1)
        return found[0] if found else None

    def is_occurrence(self, instant: datetime) -> bool:
        return self.next_at_or_after(instant) == instant

    def position(self, occurrence: datetime) -> int:
        """1-based position of an occurrence in the series (what COUNT counts)."""
        found = self.occurrences(None, occurrence + timedelta(microseconds=1), MAX_COUNT * 50)
        if not found or found[-1] != occurrence:
            raise ValueError("not an occurrence of this rule")
        return len(found)

    # --- changes -------------------------------------------------------------------------------

    def ending_before(self, occurrence: datetime) -> Recurrence:
        """This rule cut just before ``occurrence`` (the first occurrence it no longer generates)."""
        last_wall = wall_of(occurrence, self.timezone) - timedelta(seconds=1)
        until = last_wall if self.until is None else min(self.until, last_wall)
        return replace(self, count=None, until=until)

    def continued_from(self, occurrence: datetime, dtstart: datetime) -> Recurrence:
        """The same pattern from ``occurrence`` on, restarted at ``dtstart``: COUNT keeps only what was left."""
        count = None
        if self.count is not None:
            count = self.count - self.position(occurrence) + 1
        return replace(self, dtstart=dtstart, count=count)


def check_timezone(zone: str, field: str = "timezone") -> str:
    if zone not in _timezones():
        raise InvalidArgument.single(field, "is not an IANA timezone, e.g. Europe/Berlin")
    return zone


def _int(value: str, part: str, low: int, high: int, violations: Violations, field: str) -> int | None:
    try:
        number = int(value)
    except ValueError:
        violations.add(field, f"{part} must be a whole number")
        return None
    if not low <= number <= high:
        violations.add(field, f"{part} must be between {low} and {high}")
        return None
    return number


def _until(value: str, zone: str, violations: Violations, field: str) -> datetime | None:
    """UNTIL as a local wall time: a date means through the end of that local day; "...Z" is UTC; else local."""
    try:
        if _UNTIL_DATE.match(value):
            return datetime.combine(datetime.strptime(value, "%Y%m%d").date(), time(23, 59, 59))
        if _UNTIL_TIME.match(value):
            if value.endswith("Z"):
                instant = datetime.strptime(value[:-1], _LOCAL_FORMAT).replace(tzinfo=UTC)
                return wall_of(instant, zone)
            return datetime.strptime(value, _LOCAL_FORMAT)
    except ValueError:
        pass
    violations.add(field, "UNTIL must be a date (YYYYMMDD) or a UTC time (YYYYMMDDTHHMMSSZ)")
    return None


def parse_rule(text: str, dtstart: datetime, zone: str, field: str = "rrule", *, stored: bool = False) -> Recurrence:
    """Validate an RRULE value (a leading "RRULE:" is accepted) anchored at a local ``dtstart`` in ``zone``.

    ``stored``: a rule read back from the database, which may have been cut before its first occurrence."""
    check_timezone(zone)
    raw = text.strip()
    if raw.upper().startswith("RRULE:"):
        raw = raw[len("RRULE:") :]
    if not raw:
        raise InvalidArgument.single(field, "is required, e.g. FREQ=WEEKLY;BYDAY=TU,TH;COUNT=10")
    if len(raw) > MAX_RULE_LENGTH:
        raise InvalidArgument.single(field, f"must be at most {MAX_RULE_LENGTH} characters")
    violations = Violations()
    parts: dict[str, str] = {}
    for chunk in raw.split(";"):
        name, sep, value = chunk.partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if not sep or not name or not value:
            violations.add(field, f"'{chunk}' is not NAME=VALUE")
        elif name in parts:
            violations.add(field, f"{name} is given twice")
        elif name not in SUPPORTED_PARTS:
            violations.add(field, f"{name} is not supported (use {', '.join(SUPPORTED_PARTS)})")
        else:
            parts[name] = value
    freq = parts.get("FREQ", "")
    if freq not in FREQUENCIES:
        violations.add(field, f"FREQ must be one of {', '.join(FREQUENCIES)}")
    interval = 1
    if "INTERVAL" in parts:
        interval = _int(parts["INTERVAL"], "INTERVAL", 1, MAX_INTERVAL, violations, field) or 1
    byday: list[ByDay] = []
    for item in parts["BYDAY"].split(",") if "BYDAY" in parts else []:
        match = _BYDAY.match(item.strip())
        if match is None:
            violations.add(field, f"BYDAY '{item}' is not a weekday such as TU, or +3MO / -1FR")
            continue
        sign, digits, weekday = match.groups()
        ordinal = None
        if digits:
            ordinal = int(digits) * (-1 if sign == "-" else 1)
            limit = 53 if freq == "YEARLY" else 5
            if freq not in ("MONTHLY", "YEARLY"):
                violations.add(field, f"BYDAY '{item}': a numbered weekday needs FREQ=MONTHLY or FREQ=YEARLY")
            elif not 1 <= abs(ordinal) <= limit:
                violations.add(field, f"BYDAY '{item}': the number must be 1 to {limit} (or -1 to -{limit})")
        elif sign:
            violations.add(field, f"BYDAY '{item}': a sign needs a number, e.g. +3MO")
        day = ByDay(weekday, ordinal)
        if day in byday:
            violations.add(field, f"BYDAY names {item} twice")
        byday.append(day)
    bymonthday: list[int] = []
    if "BYMONTHDAY" in parts:
        if freq == "WEEKLY":
            violations.add(field, "BYMONTHDAY cannot be used with FREQ=WEEKLY")
        for item in parts["BYMONTHDAY"].split(","):
            day_number = _int(item.strip(), "BYMONTHDAY", -31, 31, violations, field)
            if day_number == 0:
                violations.add(field, "BYMONTHDAY must not be 0")
            elif day_number is not None and day_number not in bymonthday:
                bymonthday.append(day_number)
    count = None
    if "COUNT" in parts:
        count = _int(parts["COUNT"], "COUNT", 1, MAX_COUNT, violations, field)
    until = _until(parts["UNTIL"], zone, violations, field) if "UNTIL" in parts else None
    if "COUNT" in parts and "UNTIL" in parts:
        violations.add(field, "COUNT and UNTIL cannot both be given")
    if until is not None and until < dtstart and not stored:
        violations.add(field, "UNTIL is before the start")
    violations.raise_if_any()
    recurrence = Recurrence(
        freq=freq,
        dtstart=dtstart,
        timezone=zone,
        interval=interval,
        byday=tuple(byday),
        bymonthday=tuple(bymonthday),
        count=count,
        until=until,
    )
    recurrence._dateutil()  # anything dateutil still refuses is reported on the field too
    return recurrence


def local_day(instant: datetime, zone: str) -> date:
    return wall_of(instant, zone).date()


def local_text(instant: datetime, zone: str) -> str:
    return instant.astimezone(_zone(zone)).isoformat(timespec="minutes")
