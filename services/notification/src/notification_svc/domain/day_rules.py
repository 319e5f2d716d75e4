"""What the payment-due and membership-expiry rules share: days relative to one date (negative before,
0 on the day, positive after), the channels, and a local time in the client's zone. A day offset keeps
the local time, so across a DST change it is 23 or 25 hours, as a person expects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from platform_core.validation import Violations

RULE_CHANNELS = ("email", "sms", "in_app")
MAX_RULE_DAYS = 6


def checked_day_rule(
    days: Sequence[int], channels: Sequence[str], send_at: str, *, earliest: int, latest: int
) -> tuple[tuple[int, ...], tuple[str, ...], time]:
    """The days (sorted, once each), the channels (once each, in order) and the local time; every wrong
    field named at once."""
    violations = Violations()
    unique_days = tuple(sorted(set(days)))
    if not 1 <= len(unique_days) <= MAX_RULE_DAYS:
        violations.add("days", f"give 1 to {MAX_RULE_DAYS} different days")
    elif not all(earliest <= d <= latest for d in unique_days):
        violations.add("days", f"each must be between {earliest} and {latest}")
    unique_channels = tuple(dict.fromkeys(channels))
    if not unique_channels or not set(unique_channels) <= set(RULE_CHANNELS):
        violations.add("channels", f"one or more of {', '.join(RULE_CHANNELS)}")
    try:
        at = time.fromisoformat(send_at)
    except ValueError:
        violations.add("send_at", "must be a local time HH:MM")
        at = time(9, 0)
    violations.raise_if_any()
    return unique_days, unique_channels, at.replace(second=0, microsecond=0)


def local_moment(day: date, days: int, at: time, zone: ZoneInfo) -> datetime:
    """``at`` o'clock in ``zone``, ``days`` days from ``day``."""
    return datetime.combine(day + timedelta(days=days), at).replace(tzinfo=zone)
