"""The catalogue: bookable services, staff schedules, resources and the tenant's scheduling settings.

Inputs arrive as plain values; each ``check_*`` function returns the validated definition or raises
InvalidArgument naming every broken field at once.
"""

from __future__ import annotations

import itertools
import re
import uuid
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from platform_core.money import is_currency
from platform_core.validation import Violations
from scheduling_svc.domain.availability import LocalRange, ScheduleException, SlotRules, WeeklySchedule

MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2000
MAX_RANGES_PER_DAY = 12
RESOURCE_KINDS = ("room", "equipment")
BUILT_IN_FOLLOW_UP_ACTIONS = ("meet", "call", "email", "sms")
_CLOCK = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")
_COLOUR = re.compile(r"^#[0-9a-f]{6}$")

DEFAULT_TIMEZONE = "UTC"
DEFAULT_RULES = SlotRules(granularity=timedelta(minutes=30), min_notice=timedelta(hours=1), horizon=timedelta(days=90))


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class Checked(Violations):
    """The platform's collector of broken rules, with the parsers of the values scheduling's requests carry
    (each records a violation of its field instead of raising, so every broken rule is reported at once)."""

    def whole(self, value: int, field_name: str, low: int, high: int) -> int:
        if not low <= value <= high:
            self.add(field_name, f"must be between {low} and {high}")
        return value

    def timezone(self, value: str, field_name: str) -> str:
        if value not in _timezones():
            self.add(field_name, "is not an IANA timezone, e.g. Europe/Berlin")
        return value

    def identifier(self, value: str, field_name: str) -> uuid.UUID | None:
        try:
            return uuid.UUID(value)
        except ValueError:
            self.add(field_name, "is not a valid id")
            return None

    def uuids(self, values: Sequence[str], field_name: str) -> tuple[uuid.UUID, ...]:
        parsed = [self.identifier(v, f"{field_name}[{i}]") for i, v in enumerate(values)]
        unique = list(dict.fromkeys(p for p in parsed if p is not None))
        return tuple(unique)

    def day(self, value: str, field_name: str) -> date | None:
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.add(field_name, "must be a date, YYYY-MM-DD")
            return None


# --- hours ---------------------------------------------------------------------------------------


def _clock(value: str) -> time | None:
    """'HH:MM' -> time; '24:00' is midnight at the end of the day, time(0) as an end."""
    match = _CLOCK.match(value)
    if not match:
        return None
    hours, minutes = int(match[1]), int(match[2])
    if hours == 24:
        return time(0) if minutes == 0 else None
    return time(hours, minutes)


def _minutes(value: time, *, end: bool) -> int:
    return 24 * 60 if end and value == time(0) else value.hour * 60 + value.minute


def check_ranges(raw: Sequence[tuple[str, str]], field_name: str, checked: Checked) -> tuple[LocalRange, ...]:
    if len(raw) > MAX_RANGES_PER_DAY:
        checked.add(field_name, f"at most {MAX_RANGES_PER_DAY} ranges per day")
        return ()
    ranges: list[LocalRange] = []
    for i, (start_text, end_text) in enumerate(raw):
        start, end = _clock(start_text), _clock(end_text)
        if start is None or (start_text.startswith("24")):
            checked.add(f"{field_name}[{i}].start", "must be a time of day, HH:MM")
            continue
        if end is None:
            checked.add(f"{field_name}[{i}].end", "must be a time of day, HH:MM (24:00 for midnight)")
            continue
        if _minutes(end, end=True) <= _minutes(start, end=False):
            checked.add(f"{field_name}[{i}]", "must end after it starts")
            continue
        ranges.append(LocalRange(start, end))
    ordered = sorted(ranges, key=lambda r: _minutes(r.start, end=False))
    for before, after in itertools.pairwise(ordered):
        if _minutes(after.start, end=False) < _minutes(before.end, end=True):
            checked.add(field_name, "ranges must not overlap")
            break
    return tuple(ordered)


WeeklyInput = Sequence[tuple[int, Sequence[tuple[str, str]]]]


def check_weekly(raw: WeeklyInput, field_name: str, checked: Checked) -> dict[int, tuple[LocalRange, ...]]:
    weekly: dict[int, tuple[LocalRange, ...]] = {}
    for weekday, ranges in raw:
        if not 0 <= weekday <= 6:
            checked.add(f"{field_name}.weekday", "must be 0 (Monday) to 6 (Sunday)")
            continue
        if weekday in weekly:
            checked.add(f"{field_name}.weekday", f"weekday {weekday} is given twice")
            continue
        weekly[weekday] = check_ranges(ranges, f"{field_name}[{weekday}]", checked)
    return {day: ranges for day, ranges in weekly.items() if ranges}


def clock_text(value: time, *, end: bool = False) -> str:
    return "24:00" if end and value == time(0) else value.strftime("%H:%M")


def weekly_to_json(weekly: Mapping[int, Sequence[LocalRange]]) -> dict[str, list[list[str]]]:
    return {
        str(day): [[clock_text(r.start), clock_text(r.end, end=True)] for r in ranges]
        for day, ranges in sorted(weekly.items())
    }


def weekly_from_json(data: Mapping[str, Sequence[Sequence[str]]]) -> dict[int, tuple[LocalRange, ...]]:
    weekly: dict[int, tuple[LocalRange, ...]] = {}
    for day, ranges in data.items():
        parsed = tuple(LocalRange(_clock(s) or time(0), _clock(e) or time(0)) for s, e in ranges)
        weekly[int(day)] = parsed
    return weekly


def ranges_to_json(ranges: Sequence[LocalRange]) -> list[list[str]]:
    return [[clock_text(r.start), clock_text(r.end, end=True)] for r in ranges]


def ranges_from_json(data: Sequence[Sequence[str]]) -> tuple[LocalRange, ...]:
    return tuple(LocalRange(_clock(s) or time(0), _clock(e) or time(0)) for s, e in data)


# --- settings ------------------------------------------------------------------------------------


def local_days(first: date, last: date, zone: str) -> tuple[datetime, datetime]:
    """The instants a run of the business's days spans: from the first day's midnight to the midnight ending the
    last, in ``zone``."""
    tz = zoneinfo.ZoneInfo(zone)
    return datetime.combine(first, time(0), tz), datetime.combine(last + timedelta(days=1), time(0), tz)


@dataclass(frozen=True)
class SchedulingSettings:
    timezone: str = DEFAULT_TIMEZONE
    rules: SlotRules = DEFAULT_RULES
    business_hours: dict[int, tuple[LocalRange, ...]] = field(default_factory=dict)
    cancellation_notice: timedelta = timedelta(0)
    max_active_bookings_per_client: int = 0
    follow_up_actions: tuple[str, ...] = ()
    version: int = 0  # 0: never saved (the defaults)

    def business_schedule(self, holidays: Sequence[ScheduleException]) -> WeeklySchedule | None:
        """The business's hours and holidays as a schedule, or None when it is open around the clock."""
        if not self.business_hours and not holidays:
            return None
        weekly = self.business_hours or {day: (LocalRange(time(0), time(0)),) for day in range(7)}
        return WeeklySchedule(self.timezone, dict(weekly), tuple(holidays))

    def allows_follow_up_action(self, action: str) -> bool:
        return action in BUILT_IN_FOLLOW_UP_ACTIONS or action in self.follow_up_actions


def check_settings(
    *,
    timezone: str,
    granularity_minutes: int,
    min_notice_minutes: int,
    horizon_days: int,
    business_hours: WeeklyInput,
    cancellation_notice_minutes: int,
    max_active_bookings_per_client: int,
    follow_up_actions: Sequence[str],
    version: int,
) -> SchedulingSettings:
    checked = Checked()
    checked.timezone(timezone, "timezone")
    rules = check_rules(granularity_minutes, min_notice_minutes, horizon_days, "slot_rules", checked)
    weekly = check_weekly(business_hours, "business_hours", checked)
    checked.whole(cancellation_notice_minutes, "cancellation_notice_minutes", 0, 525_600)
    checked.whole(max_active_bookings_per_client, "max_active_bookings_per_client", 0, 10_000)
    actions = tuple(dict.fromkeys(a.strip().lower() for a in follow_up_actions if a.strip()))
    for i, action in enumerate(actions):
        if len(action) > 40:
            checked.add(f"follow_up_actions[{i}]", "must be at most 40 characters")
    checked.raise_if_any()
    return SchedulingSettings(
        timezone=timezone,
        rules=rules,
        business_hours=weekly,
        cancellation_notice=timedelta(minutes=cancellation_notice_minutes),
        max_active_bookings_per_client=max_active_bookings_per_client,
        follow_up_actions=actions,
        version=version,
    )


def check_rules(granularity: int, notice: int, horizon: int, field_name: str, checked: Checked) -> SlotRules:
    checked.whole(granularity, f"{field_name}.granularity_minutes", 5, 240)
    checked.whole(notice, f"{field_name}.min_notice_minutes", 0, 525_600)
    checked.whole(horizon, f"{field_name}.horizon_days", 1, 730)
    return SlotRules(timedelta(minutes=granularity), timedelta(minutes=notice), timedelta(days=horizon))


# --- services ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    description: str
    duration: timedelta
    buffer_before: timedelta
    buffer_after: timedelta
    price_minor: int
    currency: str
    capacity: int
    bookable_online: bool
    staff_ids: tuple[uuid.UUID, ...]
    resource_ids: tuple[uuid.UUID, ...]
    category: str
    colour: str
    rules: SlotRules | None  # None: the tenant's


@dataclass(frozen=True)
class BookableService:
    id: uuid.UUID
    definition: ServiceDefinition
    archived: bool
    version: int

    @property
    def name(self) -> str:
        return self.definition.name

    def rules(self, settings: SchedulingSettings) -> SlotRules:
        return self.definition.rules or settings.rules


def check_service(
    *,
    name: str,
    description: str,
    duration_minutes: int,
    buffer_before_minutes: int,
    buffer_after_minutes: int,
    price_minor: int,
    currency: str,
    capacity: int,
    bookable_online: bool,
    staff_ids: Sequence[str],
    resource_ids: Sequence[str],
    category: str,
    colour: str,
    rules: tuple[int, int, int] | None,
) -> ServiceDefinition:
    checked = Checked()
    name = checked.text(name, "name", max_length=MAX_NAME_LENGTH, required=True)
    description = checked.text(description, "description", max_length=MAX_DESCRIPTION_LENGTH)
    category = checked.text(category, "category", max_length=60)
    colour = colour.strip().lower()
    if colour and not _COLOUR.match(colour):
        checked.add("colour", "must be a colour like #1a2b3c")
    checked.whole(duration_minutes, "duration_minutes", 5, 1440)
    checked.whole(buffer_before_minutes, "buffer_before_minutes", 0, 480)
    checked.whole(buffer_after_minutes, "buffer_after_minutes", 0, 480)
    if price_minor < 0:
        checked.add("price.amount_minor", "must not be negative")
    currency = currency.strip().upper()
    if not is_currency(currency):
        checked.add("price.currency", "must be an ISO 4217 currency code, e.g. USD")
    checked.whole(capacity, "capacity", 1, 1000)
    staff = checked.uuids(staff_ids, "staff_ids")
    resources = checked.uuids(resource_ids, "resource_ids")
    slot_rules = check_rules(*rules, "slot_rules", checked) if rules is not None else None
    checked.raise_if_any()
    return ServiceDefinition(
        name=name,
        description=description,
        duration=timedelta(minutes=duration_minutes),
        buffer_before=timedelta(minutes=buffer_before_minutes),
        buffer_after=timedelta(minutes=buffer_after_minutes),
        price_minor=price_minor,
        currency=currency,
        capacity=capacity,
        bookable_online=bookable_online,
        staff_ids=staff,
        resource_ids=resources,
        category=category,
        colour=colour,
        rules=slot_rules,
    )


# --- staff and resources ------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffSchedule:
    staff_id: uuid.UUID
    display_name: str
    timezone: str
    weekly: dict[int, tuple[LocalRange, ...]]
    active: bool
    version: int = 0


def check_staff_member(
    *,
    staff_id: str,
    display_name: str,
    timezone: str,
    weekly: WeeklyInput,
    active: bool,
    version: int,
) -> StaffSchedule:
    checked = Checked()
    staff_uuid = checked.identifier(staff_id, "staff_id")
    display_name = checked.text(display_name, "display_name", max_length=MAX_NAME_LENGTH)
    checked.timezone(timezone, "timezone")
    hours = check_weekly(weekly, "weekly_hours", checked)
    checked.raise_if_any()
    assert staff_uuid is not None
    return StaffSchedule(staff_uuid, display_name, timezone, hours, active, version)


@dataclass(frozen=True)
class ExceptionDefinition:
    staff_id: uuid.UUID | None
    exception: ScheduleException
    label: str


def check_exception(
    *, staff_id: str, day: str, available: bool, ranges: Sequence[tuple[str, str]], label: str
) -> ExceptionDefinition:
    checked = Checked()
    staff_uuid = checked.identifier(staff_id, "staff_id") if staff_id else None
    parsed_day = checked.day(day, "day")
    parsed_ranges = check_ranges(ranges, "ranges", checked)
    if available and not ranges:
        checked.add("ranges", "extra hours must name their hours")
    label = checked.text(label, "label", max_length=100)
    checked.raise_if_any()
    assert parsed_day is not None
    return ExceptionDefinition(staff_uuid, ScheduleException(parsed_day, available, parsed_ranges), label)


@dataclass(frozen=True)
class ResourceDefinition:
    name: str
    kind: str
    capacity: int


@dataclass(frozen=True)
class Resource:
    """A room or piece of equipment services need; archived ones are kept for the bookings that used them."""

    id: uuid.UUID
    name: str
    kind: str
    capacity: int
    archived: bool


def check_resource(*, name: str, kind: str, capacity: int) -> ResourceDefinition:
    checked = Checked()
    name = checked.text(name, "name", max_length=MAX_NAME_LENGTH, required=True)
    kind = kind.strip().lower() or "room"
    if kind not in RESOURCE_KINDS:
        checked.add("kind", f"must be one of: {', '.join(RESOURCE_KINDS)}")
    checked.whole(capacity, "capacity", 1, 999)
    checked.raise_if_any()
    return ResourceDefinition(name, kind, capacity)
