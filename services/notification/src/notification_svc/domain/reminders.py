"""Appointment reminders: when each goes out.

A rule has offsets before the appointment: hours are exact durations ("24h": 24 hours before, whatever
the clock does), days keep the wall-clock time in the recipient's zone ("1d": the same local time the day
before, so a 09:00 appointment the day after a DST change is reminded at 09:00, 23 hours before). Quiet
hours in the recipient's zone move a reminder that would fall inside them to just before they start,
never after the appointment; a reminder whose moment has passed when it is planned goes out at once if
the appointment is still ahead, and not at all otherwise.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from platform_core.validation import Violations

_OFFSET = re.compile(r"^([1-9][0-9]{0,2})([hd])$")
MAX_OFFSETS = 5
AUDIENCES = ("client", "staff")
REMINDER_CHANNELS = ("email", "sms", "in_app")
DEFAULT_SMS_FALLBACK_AFTER = 2


@dataclass(frozen=True)
class Offset:
    amount: int
    unit: str  # "h" or "d"

    @classmethod
    def parse(cls, text: str) -> Offset:
        match = _OFFSET.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not an offset like 24h or 2d")
        amount, unit = int(match.group(1)), match.group(2)
        if (unit == "h" and amount > 24 * 60) or (unit == "d" and amount > 60):
            raise ValueError(f"{text!r} is too far ahead (at most 60 days)")
        return cls(amount, unit)

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


@dataclass(frozen=True)
class QuietHours:
    """A daily window in the recipient's zone, e.g. 21:00-08:00 (may span midnight)."""

    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True)
class ReminderRule:
    """A business's rule (service_id None) or a service's override of it."""

    offsets: tuple[Offset, ...]
    audiences: tuple[str, ...]
    channels: tuple[str, ...]
    quiet_hours: QuietHours | None = None
    service_id: uuid.UUID | None = None
    # Failed SMS attempts before the reminder goes by email instead.
    sms_fallback_after: int = DEFAULT_SMS_FALLBACK_AFTER


# What every business has until it sets its own: the client reminded by email a day ahead.
DEFAULT_RULE = ReminderRule((Offset(1, "d"),), ("client",), ("email",), QuietHours(time(21, 0), time(8, 0)))


def rule_for(rules: Sequence[ReminderRule], service_ids: Sequence[uuid.UUID]) -> ReminderRule:
    """The first service override among the appointment's services, else the business's rule, else the default."""
    by_service = {r.service_id: r for r in rules}
    for service_id in service_ids:
        if service_id in by_service:
            return by_service[service_id]
    return by_service.get(None, DEFAULT_RULE)


def nominal_instant(start: datetime, offset: Offset, zone: ZoneInfo) -> datetime:
    if offset.unit == "h":
        return start - timedelta(hours=offset.amount)
    local = start.astimezone(zone)
    earlier = (local.replace(tzinfo=None) - timedelta(days=offset.amount)).replace(tzinfo=zone, fold=0)
    # A wall-clock time that does not exist that day (skipped by DST) is read as the time after the gap.
    return earlier.astimezone(UTC)


def before_quiet_hours(instant: datetime, quiet: QuietHours, zone: ZoneInfo) -> datetime:
    """``instant``, or the start of the quiet hours it falls in (the evening before when it falls in the
    morning part of a window spanning midnight)."""
    local = instant.astimezone(zone)
    if not quiet.contains(local.time()):
        return instant
    day = local.date()
    if quiet.start > quiet.end and local.time() < quiet.end:
        day -= timedelta(days=1)
    quiet_start = datetime.combine(day, quiet.start).replace(tzinfo=zone, fold=0)
    return (quiet_start - timedelta(minutes=1)).astimezone(UTC)


def reminder_instant(
    start: datetime, offset: Offset, zone: ZoneInfo, quiet: QuietHours | None, *, now: datetime
) -> datetime | None:
    """When the reminder goes out, or None when the appointment is no longer ahead."""
    if start <= now:
        return None
    instant = nominal_instant(start, offset, zone)
    if quiet is not None:
        instant = before_quiet_hours(instant, quiet, zone)
    return max(instant, now)


def _clock_time(value: str) -> time:
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(value)
    return time(int(hours), int(minutes))


def checked_rule(
    service_id: uuid.UUID | None,
    offsets: Sequence[str],
    audiences: Sequence[str],
    channels: Sequence[str],
    quiet_start: str,
    quiet_end: str,
    sms_fallback_after: int = DEFAULT_SMS_FALLBACK_AFTER,
) -> ReminderRule:
    """A rule from what a person typed, or InvalidArgument naming each wrong field."""
    violations = Violations()
    parsed: list[Offset] = []
    if not 1 <= len(offsets) <= MAX_OFFSETS:
        violations.add("offsets", f"must hold 1 to {MAX_OFFSETS} offsets")
    for i, raw in enumerate(offsets):
        try:
            parsed.append(Offset.parse(raw))
        except ValueError as exc:
            violations.add(f"offsets.{i}", str(exc))
    if not audiences or set(audiences) - set(AUDIENCES):
        violations.add("audiences", "must be client and/or staff")
    if not channels or set(channels) - set(REMINDER_CHANNELS):
        violations.add("channels", "must be email, sms and/or in_app")
    if not 1 <= sms_fallback_after <= 10:
        violations.add("sms_fallback_after", "must be between 1 and 10 failed attempts")
    quiet = None
    if quiet_start or quiet_end:
        try:
            quiet = QuietHours(_clock_time(quiet_start), _clock_time(quiet_end))
        except ValueError:
            violations.add("quiet_hours", "must be two times HH:MM, e.g. 21:00 and 08:00")
        if quiet is not None and quiet.start == quiet.end:
            violations.add("quiet_hours", "must not start and end at the same time")
    violations.raise_if_any()
    return ReminderRule(
        tuple(dict.fromkeys(parsed)),
        tuple(dict.fromkeys(audiences)),
        tuple(dict.fromkeys(channels)),
        quiet,
        service_id,
        sms_fallback_after,
    )
