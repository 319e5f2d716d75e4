"""The availability engine: which start times a client can book, and with whom.

Pure functions over data the caller has already read (schedules, existing bookings, resources); no I/O. The rules
below are the contract the booking path relies on; each one has a test with fixed dates.

Time
- Instants are timezone-aware datetimes, normalised to UTC (a naive instant is a ValueError). Wall-clock times
  ("labels") are naive datetimes in the schedule owner's zone.
- A local range [start, end) on a date means: from the first moment the owner's clock reads `start` to the last
  moment it reads `end`. So a start in a non-existent local time (spring forward) and an end in one both move to
  the instant the clock jumps; in an ambiguous local time (fall back) a start takes the first occurrence and an end
  the second. 09:00-17:00 is therefore always 09:00-17:00 on the clock, and a night shift 00:00-06:00 lasts 5 hours
  on the March change day and 7 hours on the October one. An end of time(0) means midnight at the end of the day.

Working time (per staff member, in the staff member's zone)
- A date's ranges are the weekly ranges of its weekday; an exception with available=False and no ranges removes
  them (day off); exceptions with available=True add their ranges (so "day off" + "extra hours" replaces a day's
  hours); exceptions with available=False and ranges take those ranges off, winning over everything else.
- Tenant business hours (with holidays as its exceptions) are built the same way in their own zone, and staff
  working time is intersected with them instant by instant.

Slots
- Grid: each working range of a date (a date's ranges merged where they overlap or touch) offers its start label,
  then every `granularity` on the wall clock, while the label is before the range's end label. Labels are never
  re-anchored by time off, business hours or bookings: they only filter. A label that does not exist on the clock
  is not offered; one that exists twice is offered once, at its first occurrence.
- The whole occupied span, buffer_before + services + buffer_after, must lie in working time (and business hours):
  buffers are the staff member's and the room's time too, so they never fall outside hours. With a buffer
  before, a range's first label is therefore offered only where working time runs on before it (e.g. overnight).
- Window: start >= now + min_notice, start <= now + horizon, and the start's date in the client's zone
  (query.timezone) within [start_day, end_day]. Days are cut in the client's zone, grids in the staff member's.
- Bookings: the occupied span may not overlap any Busy of the staff member (Busy already includes the other
  bookings' buffers; touching is fine), except when joining a group session: a service with capacity > 1 can be
  joined at an existing session's start when every overlapping Busy is that session (same service_id and
  session_start) and the seats taken + seats wanted <= capacity. An existing session can be joined even if its
  start is off the grid (a staff member may have placed it there), provided it lies in working time.
  Slot.seats_left is the seats still free before this booking (minimum over what is offered).
- Resources: each required resource needs one free unit over the span of every segment that requires it.
  Busy.seats of a resource are units taken; Busy entries of one group session count once (the largest), since a
  session holds its room once however many attend, and a booking joining a session needs no unit besides the
  session's. A required resource that the caller does not pass is unavailable.
- Several services: booked back to back in the given order with no gap, so the client sees one continuous
  appointment. Buffers sit at the edges of each staff member's stretch: buffer_before of the first service and
  buffer_after of the last, and where the staff member changes, the outgoing one keeps the buffer_after of their
  last service and the incoming one the buffer_before of their first (staff continuing to the next service have no
  buffer in between). `plan_segments` computes this, with each segment's occupied span.
- The slot start is on the grid of the staff member taking the first service; later segments' staff only need to
  be working and free. Options: every staff member who can take all services alone (sorted by id), then, for each
  staff member who can take the first service but not all, one assignment that changes staff the fewest times
  (ties: by staff ids). Resources are checked on each whole option; an option failing them is dropped.
- Per-service overrides of SlotRules (ServiceSpec.rules) combine as: the first service's granularity, the longest
  notice and the shortest horizon (see `effective_rules`).

`is_bookable` answers for one start with exactly these rules (the booking path's check).

Cost: per staff member the busy intervals are sorted once and merged, as integer microseconds since the epoch
(BusyMicros already sorted by start, as the database hands them over, are merged straight from their integer
columns, without a sort, a datetime or an object per booking). With one service, staff sharing a set of hours
share its grid: the grid starts where the span fits working time are found once for them, each busy interval takes
its range of grid starts off a staff member's bitmask (two binary searches), and the staff at each start are read
off the group's masks as one strided slice of a byte table, all in integer instants (the wall-clock work, zones and
DST included, stays on datetimes and is converted once per grid and per set of hours; only the starts found become
datetimes), O(working * log grid + busy * log grid) per staff member plus O(grid) per set of hours (only a start
that may join a group session is checked on its own). With several
services each candidate start is a few binary searches, so a query costs O(candidates * log busy + busy * log busy)
per staff member and resource. Staff with the same schedule share its expansion within a query. A one-service
slot builds its options (a Segment per staff member) only when they are read: an availability answer reads only
starts and staff ids.
Zones come from zoneinfo: the system tz database, or the `tzdata` package where there is none.
"""

from __future__ import annotations

import uuid
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache, reduce
from itertools import compress, islice, repeat
from operator import le, lt, or_, sub
from typing import NamedTuple, TypeVar, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "Busy",
    "BusyColumns",
    "BusyMicros",
    "LocalRange",
    "OneServiceOptions",
    "ResourceAvailability",
    "ScheduleException",
    "Segment",
    "ServiceSpec",
    "Slot",
    "SlotQuery",
    "SlotRules",
    "StaffAvailability",
    "WeeklySchedule",
    "available_time",
    "effective_rules",
    "find_available_slots",
    "is_bookable",
    "plan_segments",
    "working_time",
]

_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- The interface ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalRange:
    """Wall-clock range within one day, start < end; end may be time(0), meaning midnight at the end of the day."""

    start: time
    end: time


@dataclass(frozen=True)
class ScheduleException:
    """A dated change, in the schedule owner's zone: time off (available=False) or extra hours (available=True)."""

    day: date
    available: bool
    ranges: tuple[LocalRange, ...] = ()  # empty with available=False: the whole day off


@dataclass(frozen=True)
class WeeklySchedule:
    timezone: str  # IANA name
    weekly: dict[int, tuple[LocalRange, ...]]  # weekday 0=Monday .. 6=Sunday
    exceptions: tuple[ScheduleException, ...] = ()


@dataclass(frozen=True, init=False)
class Busy:
    """An existing booking's occupied time, UTC aware datetimes, buffers already included."""

    start: datetime
    end: datetime
    service_id: uuid.UUID | None = None  # group sessions: joining an existing session of the same service
    session_start: datetime | None = None  # the session's actual start (without buffer), for joining it
    seats: int = 1

    def __init__(
        self,
        start: datetime,
        end: datetime,
        service_id: uuid.UUID | None = None,
        session_start: datetime | None = None,
        seats: int = 1,
    ) -> None:
        # Every availability answer builds one per booking read (thousands for a month): filling __dict__ at once
        # costs half the generated frozen __init__ (one object.__setattr__ per field). Fields, equality, hash,
        # repr and dataclasses.replace stay the dataclass's own.
        self.__dict__.update(start=start, end=end, service_id=service_id, session_start=session_start, seats=seats)


class _BusyTable(Sequence[Busy]):
    """Busy entries held as parallel columns, a Busy built only when an entry is read. Reads, equality and hashing
    behave as the tuple of entries they stand for."""

    __slots__ = ("ends", "seats", "service_ids", "session_starts", "starts")

    def __init__(
        self,
        starts: Sequence[datetime] | Sequence[int],
        ends: Sequence[datetime] | Sequence[int],
        service_ids: Sequence[uuid.UUID | None],
        session_starts: Sequence[datetime | None],
        seats: Sequence[int],
    ) -> None:
        if not len(starts) == len(ends) == len(service_ids) == len(session_starts) == len(seats):
            raise ValueError("busy columns of different lengths")
        self.starts = starts
        self.ends = ends
        self.service_ids = service_ids
        self.session_starts = session_starts
        self.seats = seats

    def _entry(self, i: int) -> Busy:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, index: int) -> Busy: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Busy]: ...

    def __getitem__(self, index: int | slice) -> Busy | Sequence[Busy]:
        if isinstance(index, slice):
            return tuple(self._entry(i) for i in range(len(self))[index])
        return self._entry(range(len(self))[index])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _BusyTable):
            other = tuple(other)
        return tuple(self) == other if isinstance(other, tuple) else NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({tuple(self)!r})"


class BusyColumns(_BusyTable):
    """A staff member's Busy entries as parallel columns (the i-th entry is starts[i], ends[i], ...), the shape a
    database hands them over in as arrays; a Busy is built only when an entry is read.

    An availability answer reads thousands of bookings and the engine needs only their spans (and, for group
    services, their sessions): it reads the columns, so no object is built per booking."""

    __slots__ = ()
    starts: Sequence[datetime]
    ends: Sequence[datetime]

    def __init__(
        self,
        starts: Sequence[datetime],
        ends: Sequence[datetime],
        service_ids: Sequence[uuid.UUID | None],
        session_starts: Sequence[datetime | None],
        seats: Sequence[int],
    ) -> None:
        super().__init__(starts, ends, service_ids, session_starts, seats)

    def _entry(self, i: int) -> Busy:
        return Busy(self.starts[i], self.ends[i], self.service_ids[i], self.session_starts[i], self.seats[i])

    def __iter__(self) -> Iterator[Busy]:
        return map(Busy, self.starts, self.ends, self.service_ids, self.session_starts, self.seats)


class BusyMicros(_BusyTable):
    """BusyColumns whose spans are integers: microseconds since the Unix epoch (UTC), as the database can hand
    them over (int8 arrays); a Busy (UTC datetimes) is built only when an entry is read.

    The engine works on integer instants from here on: decoding thousands of timestamps into datetimes was a fifth
    of an availability answer's time, and comparing integers is cheaper than comparing datetimes. Sorted by start,
    the engine merges them without a sort."""

    __slots__ = ()
    starts: Sequence[int]
    ends: Sequence[int]

    def __init__(
        self,
        starts: Sequence[int],
        ends: Sequence[int],
        service_ids: Sequence[uuid.UUID | None] | None = None,
        session_starts: Sequence[datetime | None] | None = None,
        seats: Sequence[int] | None = None,
    ) -> None:
        """Without service_ids, session_starts and seats the entries are one-to-one bookings (no session, 1 seat)."""
        count = len(starts)
        super().__init__(
            starts,
            ends,
            [None] * count if service_ids is None else service_ids,
            [None] * count if session_starts is None else session_starts,
            [1] * count if seats is None else seats,
        )

    def _entry(self, i: int) -> Busy:
        return Busy(
            _instant(self.starts[i]),
            _instant(self.ends[i]),
            self.service_ids[i],
            self.session_starts[i],
            self.seats[i],
        )

    def __iter__(self) -> Iterator[Busy]:
        return map(self._entry, range(len(self.starts)))


@dataclass(frozen=True)
class StaffAvailability:
    staff_id: uuid.UUID
    schedule: WeeklySchedule
    busy: Sequence[Busy]  # a tuple, or BusyColumns / BusyMicros for many
    service_ids: frozenset[uuid.UUID]  # services this staff member performs


@dataclass(frozen=True)
class ResourceAvailability:
    resource_id: uuid.UUID
    capacity: int  # units usable at once
    busy: tuple[Busy, ...]  # each Busy.seats = units taken


@dataclass(frozen=True)
class SlotRules:
    granularity: timedelta  # e.g. 15/30/60 minutes
    min_notice: timedelta
    horizon: timedelta  # how far ahead from `now` a slot may start


@dataclass(frozen=True)
class ServiceSpec:
    service_id: uuid.UUID
    duration: timedelta
    buffer_before: timedelta
    buffer_after: timedelta
    capacity: int  # 1 = one-to-one; >1 = group session with seats
    resource_ids: tuple[uuid.UUID, ...]  # each required resource needs 1 free unit for the whole occupied span
    rules: SlotRules | None = None  # per-service override of the query's rules (see effective_rules)


@dataclass(frozen=True)
class SlotQuery:
    services: tuple[ServiceSpec, ...]  # 1..n, booked back to back in this order
    start_day: date  # inclusive, in `timezone`
    end_day: date  # inclusive, in `timezone`
    timezone: str  # the viewer's (client's) timezone: days are cut in this zone
    now: datetime  # UTC aware
    rules: SlotRules
    staff_ids: frozenset[uuid.UUID] | None = None  # restrict to these staff (None = anyone qualified)
    seats: int = 1  # seats wanted (group sessions)


@dataclass(frozen=True)
class Segment:
    """One service of the booking. occupied_* is the staff member's span including the buffers that apply to it
    (see plan_segments): what the booking path stores as this segment's Busy."""

    service_id: uuid.UUID
    staff_id: uuid.UUID
    start: datetime  # UTC
    end: datetime  # UTC (without buffers)
    occupied_start: datetime | None = None
    occupied_end: datetime | None = None


@dataclass(frozen=True)
class Slot:
    start: datetime  # UTC, start of the first service
    staff_ids: tuple[uuid.UUID, ...]  # single service: every staff member who can take it (sorted); else all in options
    # Feasible assignments; single service: one per staff member (then built only when read, see OneServiceOptions).
    options: Sequence[tuple[Segment, ...]]
    seats_left: int | None = None  # group sessions: seats still free (min over what is offered), else None


class OneServiceOptions(Sequence[tuple[Segment, ...]]):
    """A one-service slot's options, one segment per staff member, built on first read.

    A month of one service offers thousands of (start, staff member) pairs, and an availability answer reads only
    the starts and staff ids: building a Segment for each pair was half the engine's time. Reads, equality and
    hashing behave as the tuple of options they stand for."""

    __slots__ = ("_built", "_service", "_staff_ids", "_start")

    def __init__(self, service: ServiceSpec, start: datetime, staff_ids: tuple[uuid.UUID, ...]) -> None:
        self._service = service
        self._start = start
        self._staff_ids = staff_ids
        self._built: tuple[tuple[Segment, ...], ...] | None = None

    def _options(self) -> tuple[tuple[Segment, ...], ...]:
        if self._built is None:
            service, start = self._service, self._start
            end = start + service.duration
            occupied = (start - service.buffer_before, end + service.buffer_after)
            self._built = tuple(
                [(_segment(service.service_id, staff_id, start, end, *occupied),) for staff_id in self._staff_ids]
            )
        return self._built

    @overload
    def __getitem__(self, index: int) -> tuple[Segment, ...]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[Segment, ...]]: ...

    def __getitem__(self, index: int | slice) -> tuple[Segment, ...] | Sequence[tuple[Segment, ...]]:
        return self._options()[index]

    def __len__(self) -> int:
        return len(self._staff_ids)

    def __iter__(self) -> Iterator[tuple[Segment, ...]]:
        return iter(self._options())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OneServiceOptions):
            other = other._options()
        return self._options() == other if isinstance(other, tuple) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._options())

    def __repr__(self) -> str:
        return repr(self._options())


def find_available_slots(
    query: SlotQuery,
    staff: Sequence[StaffAvailability],
    resources: Sequence[ResourceAvailability],
    business_hours: WeeklySchedule | None = None,
) -> list[Slot]:
    """Every bookable start in the query's days, sorted by start (see the module docstring for the rules)."""
    return _Engine(query, staff, resources, business_hours, only=None).slots()


def is_bookable(
    query: SlotQuery,
    start: datetime,
    staff: Sequence[StaffAvailability],
    resources: Sequence[ResourceAvailability],
    business_hours: WeeklySchedule | None = None,
) -> Slot | None:
    """The slot availability would offer at `start` (query.staff_ids restricts the staff), or None.

    Runs exactly the rules of find_available_slots, for one instant: the query's days are ignored (the start's own
    day is used) so that the answer never depends on which page of days a client happened to look at."""
    start = _utc(start, "start")
    day = start.astimezone(_zone(query.timezone)).date()
    engine = _Engine(replace(query, start_day=day, end_day=day), staff, resources, business_hours, only=start)
    found = engine.slots()
    return found[0] if found else None


def effective_rules(query: SlotQuery) -> SlotRules:
    """The query's rules with per-service overrides: the first service's granularity, the longest notice and the
    shortest horizon among the services (a service without an override uses the query's rules)."""
    per_service = [service.rules or query.rules for service in query.services]
    return SlotRules(
        granularity=per_service[0].granularity,
        min_notice=max(rules.min_notice for rules in per_service),
        horizon=min(rules.horizon for rules in per_service),
    )


def plan_segments(
    services: Sequence[ServiceSpec], start: datetime, staff_ids: Sequence[uuid.UUID]
) -> tuple[Segment, ...]:
    """The segments of a booking of `services` back to back from `start`, staff_ids[i] taking services[i].

    Buffers apply at the edges of each staff member's run of consecutive segments (module docstring), and each
    segment's occupied span says which buffers it carries. Also for the booking path when staff override
    availability."""
    if len(services) != len(staff_ids) or not services:
        raise ValueError("one staff member per service, at least one service")
    start = _utc(start, "start")
    segments: list[Segment] = []
    at = start
    last = len(services) - 1
    for i, (service, staff_id) in enumerate(zip(services, staff_ids, strict=True)):
        end = at + service.duration
        opens = i == 0 or staff_ids[i - 1] != staff_id
        closes = i == last or staff_ids[i + 1] != staff_id
        segments.append(
            Segment(
                service_id=service.service_id,
                staff_id=staff_id,
                start=at,
                end=end,
                occupied_start=at - service.buffer_before if opens else at,
                occupied_end=end + service.buffer_after if closes else end,
            )
        )
        at = end
    return tuple(segments)


def working_time(schedule: WeeklySchedule, first_day: date, last_day: date) -> list[tuple[datetime, datetime]]:
    """The schedule's working time for local dates first_day..last_day as sorted, disjoint UTC intervals."""
    return _schedule_intervals(schedule, first_day, last_day)[0]


def available_time(
    schedule: WeeklySchedule, business: WeeklySchedule | None, start: datetime, end: datetime
) -> timedelta:
    """How much of [start, end) is the schedule's working time (exceptions applied), within the business's
    hours and holidays when it has them: the time a staff member could be booked."""
    window = (_utc(start, "start"), _utc(end, "end"))
    if window[1] <= window[0]:
        return timedelta(0)
    working = _schedule_intervals(schedule, *_days_around(*window, _zone(schedule.timezone)))[0]
    if business is not None:
        working = _intersect(
            working, _schedule_intervals(business, *_days_around(*window, _zone(business.timezone)))[0]
        )
    return sum((e - s for s, e in _intersect(working, [window])), timedelta(0))


def _segment(
    service_id: uuid.UUID,
    staff_id: uuid.UUID,
    start: datetime,
    end: datetime,
    occupied_start: datetime,
    occupied_end: datetime,
) -> Segment:
    """Segment(...) for the thousands a month of slots holds: a frozen dataclass's __init__ sets each field through
    object.__setattr__, the largest single cost of a one-service query; filling the instance's __dict__ gives the
    same object (fields, equality, hash, repr, pickling) in well under half the time. Segment has no __post_init__
    or slots for this to skip; the fast-path cross-check compares these with Segment(...) built ones."""
    segment = object.__new__(Segment)
    segment.__dict__.update(
        service_id=service_id,
        staff_id=staff_id,
        start=start,
        end=end,
        occupied_start=occupied_start,
        occupied_end=occupied_end,
    )
    return segment


def _slot(
    start: datetime, staff_ids: tuple[uuid.UUID, ...], options: Sequence[tuple[Segment, ...]], seats_left: int | None
) -> Slot:
    """Slot(...) for the hundreds a month holds, built as _segment builds a Segment (Slot has no __post_init__ or
    slots either); the fast-path cross-check compares these with Slot(...) built ones."""
    slot = object.__new__(Slot)
    slot.__dict__.update(start=start, staff_ids=staff_ids, options=options, seats_left=seats_left)
    return slot


# --- Wall clock <-> instants ------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown timezone {name!r}") from error


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is UTC:  # the common case, and what astimezone(UTC) would return
        return moment
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(UTC)


def _micros(instant: datetime) -> int:
    """An aware instant as integer microseconds since the Unix epoch (exact, unlike timestamp())."""
    return (instant - _EPOCH) // _TICK


@lru_cache(maxsize=8192)  # slot starts come back request after request, and building one costs ten lookups
def _instant(micros: int) -> datetime:
    """Microseconds since the Unix epoch as a UTC datetime (the inverse of _micros)."""
    return _EPOCH + timedelta(microseconds=micros)


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None, fold=0)


@lru_cache(maxsize=65536)
def _bounds(wall: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """(first, last) instant at which a clock in `tz` reads `wall`; if it never does, both are the jump over it."""
    # fold=0 reads an ambiguous time as its first occurrence and a non-existent one with the offset before the jump;
    # fold=1 the other way round (PEP 495). Only readings that map back to `wall` exist.
    readings = {wall.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1)}
    real = [instant for instant in readings if _wall(instant, tz) == wall]
    if real:
        return min(real), max(real)
    low, high = min(readings), max(readings)  # the jump lies between the two readings: find it by bisection
    high_offset = high.astimezone(tz).utcoffset()
    while high - low > _TICK:
        middle = low + (high - low) // 2
        if middle.astimezone(tz).utcoffset() == high_offset:
            high = middle
        else:
            low = middle
    return high, high


@lru_cache(maxsize=65536)  # staff with the same hours share their labels
def _grid_instant(wall: datetime, tz: ZoneInfo) -> datetime | None:
    """The first occurrence of a wall-clock label, or None when the clock skips it."""
    instant = wall.replace(tzinfo=tz).astimezone(UTC)  # fold=0: the first occurrence of an ambiguous label
    return instant if _wall(instant, tz) == wall else None


@lru_cache(maxsize=32)  # the same hours give the same grid request after request (at most ~1 MB each)
def _grid_instants(
    tz: ZoneInfo, labels: tuple[tuple[datetime, datetime], ...], step: timedelta
) -> tuple[datetime, ...]:
    """Every grid start of the wall-clock ranges `labels` (each range's start label, then every `step`), sorted."""
    found: set[datetime] = set()
    for start, end in labels:
        label = start
        while label < end:
            instant = _grid_instant(label, tz)
            if instant is not None:
                found.add(instant)
            label += step
    return tuple(sorted(found))


@lru_cache(maxsize=32)
def _grid_micros(tz: ZoneInfo, labels: tuple[tuple[datetime, datetime], ...], step: timedelta) -> tuple[int, ...]:
    """_grid_instants as integer microseconds since the epoch: the wall-clock work stays on datetimes."""
    return tuple([_micros(instant) for instant in _grid_instants(tz, labels, step)])


# --- Interval arithmetic on sorted, disjoint [start, end) lists -------------------------------------------------

_Interval = tuple[datetime, datetime]
_Instant = TypeVar("_Instant", datetime, int)


def _union(intervals: Iterable[_Interval]) -> list[_Interval]:
    merged: list[_Interval] = []
    for start, end in sorted(interval for interval in intervals if interval[0] < interval[1]):
        if merged and start <= merged[-1][1]:  # touching intervals merge: a span may run across them
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _subtract(keep: list[_Interval], remove: list[_Interval]) -> list[_Interval]:
    out: list[_Interval] = []
    j = 0
    for start, end in keep:
        while j < len(remove) and remove[j][1] <= start:
            j += 1
        k = j
        while k < len(remove) and remove[k][0] < end:
            if remove[k][0] > start:
                out.append((start, remove[k][0]))
            start = max(start, remove[k][1])
            k += 1
        if start < end:
            out.append((start, end))
    return out


def _intersect(a: Sequence[_Interval], b: Sequence[_Interval]) -> list[_Interval]:
    out: list[_Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _covers(starts: list[datetime], ends: list[datetime], start: datetime, end: datetime) -> bool:
    """Does one interval of a sorted disjoint list contain [start, end]?"""
    i = bisect_right(starts, start) - 1
    return i >= 0 and ends[i] >= end


def _clear(starts: Sequence[_Instant], ends: Sequence[_Instant], start: _Instant, end: _Instant) -> bool:
    """Does [start, end) miss every interval of a sorted disjoint list (datetimes, or integer microseconds)?"""
    i = bisect_right(ends, start)  # the first interval ending after `start`
    return i == len(starts) or starts[i] >= end


def _grid_bits(firsts: Iterable[int], ends: Iterable[int]) -> int:
    """The grid positions in any of the index ranges [first, end) as the bits of an int (bit g: the g-th grid
    start); a range with end <= first adds none."""
    bits = 0
    for first, end in zip(firsts, ends, strict=True):
        if first < end:
            bits |= (1 << end) - (1 << first)
    return bits


def _free_on_grid(grid: Sequence[int], members: Sequence[_Staff], run: _Run) -> list[int]:
    """For staff sharing their hours (and so `grid`, sorted integer instants), the grid starts at which each one
    can take `run` with its span simply free, as a bitmask per staff member.

    A span [s + lead, s + tail) lies in working interval [a, b) exactly when a - lead <= s <= b - tail, and
    overlaps busy interval [c, d) exactly when c - tail < s < d - lead (touching is fine): the working starts are
    the group's, found once, and each busy interval takes its open range off, two binary searches each."""
    lead, tail = run.lead // _TICK, run.tail // _TICK
    hours = members[0].hours
    working = _grid_bits(
        map(bisect_left, repeat(grid), map(sub, hours.work_starts_micros, repeat(lead))),
        map(bisect_right, repeat(grid), map(sub, hours.work_ends_micros, repeat(tail))),
    )
    return [
        working
        & ~_grid_bits(
            map(bisect_right, repeat(grid), map(sub, member.busy_starts, repeat(tail))),
            map(bisect_left, repeat(grid), map(sub, member.busy_ends, repeat(lead))),
        )
        for member in members
    ]


_BIT_BYTES = bytes.maketrans(b"01", b"\x00\x01")


def _columns(
    grid: Sequence[int], masks: Sequence[int], indexes: Sequence[int]
) -> Iterator[tuple[int, tuple[int, ...]]]:
    """(grid start, the indexes whose mask has its bit) for every grid start in any mask, in grid order.

    The masks become one table of 0/1 bytes, a row each; a grid start's column is then one strided slice, and each
    distinct column becomes a tuple of indexes once (itertools.compress), however many starts share it."""
    width = len(grid)
    anyone = reduce(or_, masks, 0)
    if not anyone:
        return
    table = "".join([format(mask, f"0{width}b")[::-1] for mask in masks]).encode().translate(_BIT_BYTES)
    shared: dict[bytes, tuple[int, ...]] = {}
    for position, bit in enumerate(format(anyone, f"0{width}b")[::-1]):
        if bit == "1":
            column = table[position::width]
            taking = shared.get(column)
            if taking is None:
                taking = shared[column] = tuple(compress(indexes, column))
            yield grid[position], taking


# --- Schedules --------------------------------------------------------------------------------------------------


def _walls(day: date, ranges: Iterable[LocalRange]) -> list[tuple[datetime, datetime]]:
    """A date's ranges as merged wall-clock intervals (overlapping or touching ranges are one range)."""
    walls: list[tuple[datetime, datetime]] = []
    for local in ranges:
        start = datetime.combine(day, local.start)
        end = datetime.combine(day + _DAY if local.end == time(0) else day, local.end)
        if not start < end:
            raise ValueError(f"range {local.start}-{local.end} on {day} is empty or reversed")
        walls.append((start, end))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(walls):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _schedule_intervals(
    schedule: WeeklySchedule, first_day: date, last_day: date
) -> tuple[list[_Interval], list[tuple[datetime, datetime]]]:
    """(working time as UTC intervals, the working ranges as wall-clock intervals for the grid) for the dates."""
    tz = _zone(schedule.timezone)
    by_day: dict[date, list[ScheduleException]] = {}
    for exception in schedule.exceptions:
        if first_day <= exception.day <= last_day:
            by_day.setdefault(exception.day, []).append(exception)
    on: list[_Interval] = []
    off: list[_Interval] = []
    labels: list[tuple[datetime, datetime]] = []
    day = first_day
    while day <= last_day:
        exceptions = by_day.get(day, [])
        whole_day_off = any(not e.available and not e.ranges for e in exceptions)
        ranges = [] if whole_day_off else list(schedule.weekly.get(day.weekday(), ()))
        ranges += [local for e in exceptions if e.available for local in e.ranges]
        for start, end in _walls(day, ranges):
            labels.append((start, end))
            on.append((_bounds(start, tz)[0], _bounds(end, tz)[1]))
        for start, end in _walls(day, [local for e in exceptions if not e.available for local in e.ranges]):
            off.append((_bounds(start, tz)[0], _bounds(end, tz)[1]))
        day += _DAY
    return _subtract(_union(on), _union(off)), labels


def _days_around(first: datetime, last: datetime, tz: ZoneInfo) -> tuple[date, date]:
    """Local dates whose ranges can touch [first, last], with a day's margin for ranges running to midnight."""
    return first.astimezone(tz).date() - _DAY, last.astimezone(tz).date() + _DAY


# --- Bookings ---------------------------------------------------------------------------------------------------

_SessionKey = tuple[uuid.UUID, datetime]


class _Entry(NamedTuple):  # one per booking of a room or a session to join: a tuple builds faster than a dataclass
    start: datetime
    end: datetime
    session: _SessionKey | None
    seats: int


def _entries(busy: Iterable[Busy]) -> list[_Entry]:
    out = []
    for item in busy:
        start, end = _utc(item.start, "Busy.start"), _utc(item.end, "Busy.end")
        if start < end:
            session = None
            if item.service_id is not None and item.session_start is not None:
                session = (item.service_id, _utc(item.session_start, "Busy.session_start"))
            out.append(_Entry(start, end, session, item.seats))
    out.sort(key=lambda entry: entry.start)
    return out


class _Overlaps:
    """Entries overlapping a span, found by binary search on starts bounded by the longest entry."""

    def __init__(self, entries: list[_Entry]) -> None:
        self.entries = entries
        self.starts = [entry.start for entry in entries]
        self.longest = max((entry.end - entry.start for entry in entries), default=timedelta(0))

    def between(self, start: datetime, end: datetime) -> list[_Entry]:
        low = bisect_left(self.starts, start - self.longest)
        high = bisect_left(self.starts, end)
        return [entry for entry in self.entries[low:high] if entry.end > start]


@dataclass(frozen=True, slots=True)
class _Block:
    """A staff member can take a run of segments: seats still free (group sessions) and sessions joined."""

    seats_left: int | None
    joined: frozenset[_SessionKey]


class _Hours:
    """A staff schedule expanded over the query's window: working time (within business hours) and grid labels.

    Built once per distinct schedule in a query (`_Staff` looks it up by the schedule's content), since staff
    often share their hours; read-only once built."""

    def __init__(self, key: Hashable, schedule: WeeklySchedule, window: _Interval, business: _Business | None) -> None:
        """`key` is _Hours.key(schedule)."""
        self.tz = _zone(schedule.timezone)
        working: Sequence[_Interval]
        working, self.labels = _expansion(key, schedule, *_days_around(*window, self.tz))
        if business is not None:
            working = _intersect(working, business.working)
        self.work_starts = [start for start, _ in working]
        self.work_ends = [end for _, end in working]
        self.work_starts_micros = [_micros(start) for start in self.work_starts]
        self.work_ends_micros = [_micros(end) for end in self.work_ends]

    @staticmethod
    def key(schedule: WeeklySchedule) -> Hashable:
        """Equal for schedules that expand alike."""
        weekly = tuple(sorted((day, tuple(ranges)) for day, ranges in schedule.weekly.items()))
        exceptions = tuple((e.day, e.available, tuple(e.ranges)) for e in schedule.exceptions)
        return schedule.timezone, weekly, exceptions


_Expansion = tuple[tuple[_Interval, ...], tuple[tuple[datetime, datetime], ...]]
_EXPANSIONS: dict[tuple[Hashable, date, date], _Expansion] = {}
_EXPANSIONS_KEPT = 256


def _expansion(key: Hashable, schedule: WeeklySchedule, first_day: date, last_day: date) -> _Expansion:
    """_schedule_intervals of a schedule whose _Hours.key is `key`, kept across queries (the most recent 256): the
    same hours over the same days come back request after request, and expanding a month of them (zones, DST,
    exceptions) was a tenth of a one-service answer. Keyed by content, so any change of the hours is a new entry."""
    cache_key = (key, first_day, last_day)
    found = _EXPANSIONS.pop(cache_key, None)  # re-inserted below: the dict's order is the order of use
    if found is None:
        working, labels = _schedule_intervals(schedule, first_day, last_day)
        found = (tuple(working), tuple(labels))
        if len(_EXPANSIONS) >= _EXPANSIONS_KEPT:
            del _EXPANSIONS[next(iter(_EXPANSIONS))]
    _EXPANSIONS[cache_key] = found
    return found


class _Staff:
    def __init__(self, availability: StaffAvailability, index: int, hours: _Hours) -> None:
        self.id = availability.staff_id
        self.index = index
        self.service_ids = availability.service_ids
        self.tz = hours.tz
        self.hours = hours
        self.labels = hours.labels
        self.work_starts = hours.work_starts
        self.work_ends = hours.work_ends
        self.busy = availability.busy
        # In integer instants (microseconds since the epoch), as every busy check compares them.
        self.busy_starts, self.busy_ends = _merged_spans(availability.busy)

    @cached_property
    def sessions(self) -> list[_SessionKey]:  # only a group service's starts need them
        return [
            (item.service_id, _utc(item.session_start, "Busy.session_start"))
            for item in self.busy
            if item.service_id is not None and item.session_start is not None and item.start < item.end
        ]

    @cached_property
    def overlaps(self) -> _Overlaps:  # only joining a session needs the entries themselves
        return _Overlaps(_entries(self.busy))


def _merged_spans(busy: Sequence[Busy]) -> tuple[list[int], list[int]]:
    """The entries' spans merged (overlapping ones, and touching ones unless none overlaps) into sorted parallel
    lists of starts and ends, in microseconds since the epoch: merged once, "is the staff member free" is one
    binary search per candidate.
    BusyMicros sorted by start, as read from the database, are merged straight from their columns, with no object
    per entry."""
    if isinstance(busy, BusyMicros):
        merged = _merge_sorted(busy.starts, busy.ends)
        if merged is not None:
            return merged
    spans: list[tuple[int, int]] = []
    for item in busy:
        start, end = _micros(_utc(item.start, "Busy.start")), _micros(_utc(item.end, "Busy.end"))
        if start < end:
            spans.append((start, end))
    spans.sort()
    merged = _merge_sorted([start for start, _ in spans], [end for _, end in spans])
    assert merged is not None
    return merged


def _merge_sorted(starts: Sequence[int], ends: Sequence[int]) -> tuple[list[int], list[int]] | None:
    """Spans sorted by start merged where they overlap or touch (empty ones skipped); None if they are not sorted.

    Spans that neither overlap nor are empty, as one-to-one bookings are, come back as they are, found so by two
    passes in C: touching ones then stay apart, which every reader of the lists allows (sorted starts and ends)."""
    if all(map(lt, starts, ends)) and all(map(le, ends, islice(starts, 1, None))):
        return list(starts), list(ends)
    merged_starts: list[int] = []
    merged_ends: list[int] = []
    last_start: int | None = None
    last_end: int | None = None
    for start, end in zip(starts, ends, strict=True):
        if not start < end:
            continue
        if last_start is not None and start < last_start:
            return None
        last_start = start
        if last_end is not None and start <= last_end:
            if end > last_end:
                merged_ends[-1] = last_end = end
        else:
            merged_starts.append(start)
            merged_ends.append(end)
            last_end = end
    return merged_starts, merged_ends


class _Business:
    def __init__(self, schedule: WeeklySchedule, window: _Interval) -> None:
        first_day, last_day = _days_around(*window, _zone(schedule.timezone))
        self.working = _schedule_intervals(schedule, first_day, last_day)[0]


class _Resource:
    def __init__(self, availability: ResourceAvailability) -> None:
        self.capacity = availability.capacity
        self.overlaps = _Overlaps(_coalesce(_entries(availability.busy)))
        blocked = _saturated(self.overlaps.entries, self.capacity)
        self.blocked_starts = [start for start, _ in blocked]
        self.blocked_ends = [end for _, end in blocked]

    def has_unit(self, start: datetime, end: datetime, joined: frozenset[_SessionKey]) -> bool:
        if _clear(self.blocked_starts, self.blocked_ends, start, end):
            return True
        if not joined:
            return False
        # Joining a session: its own units are not counted against the booking.
        others = [entry for entry in self.overlaps.between(start, end) if entry.session not in joined]
        return not _saturated(others, self.capacity, clip=(start, end))


def _coalesce(entries: list[_Entry]) -> list[_Entry]:
    """One entry per group session (its span, its largest seat count): a session holds its units once."""
    sessions: dict[_SessionKey, _Entry] = {}
    out = []
    for entry in entries:
        if entry.session is None:
            out.append(entry)
            continue
        seen = sessions.get(entry.session)
        sessions[entry.session] = (
            entry
            if seen is None
            else _Entry(
                min(seen.start, entry.start), max(seen.end, entry.end), entry.session, max(seen.seats, entry.seats)
            )
        )
    out.extend(sessions.values())
    out.sort(key=lambda entry: entry.start)
    return out


def _saturated(entries: Iterable[_Entry], capacity: int, clip: _Interval | None = None) -> list[_Interval]:
    """Where the entries use all `capacity` units, by one sweep over their start and end events."""
    if capacity <= 0:
        return [(datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))]
    events: list[tuple[datetime, int]] = []
    for entry in entries:
        start, end = entry.start, entry.end
        if clip is not None:
            start, end = max(start, clip[0]), min(end, clip[1])
        if start < end:
            events += [(start, entry.seats), (end, -entry.seats)]
    events.sort(key=lambda event: (event[0], event[1]))  # ends before starts at one instant: [start, end) touch
    full: list[_Interval] = []
    used = 0
    opened: datetime | None = None
    for at, change in events:
        used += change
        if used >= capacity and opened is None:
            opened = at
        elif used < capacity and opened is not None:
            if opened < at:
                full.append((opened, at))
            opened = None
    return _union(full)


# --- The engine -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Run:
    """Segments first..end-1 taken by one staff member: the span they occupy relative to the booking's start, the
    services they must perform, and the group sessions in it (service id, offset from the start, capacity)."""

    first: int
    end: int
    lead: timedelta  # span start - booking start (negative by the buffer before)
    tail: timedelta  # span end - booking start
    needs: frozenset[uuid.UUID]
    groups: tuple[tuple[uuid.UUID, timedelta, int], ...]


_Assignment = tuple[tuple[_Staff, _Run], ...]
_Found = tuple[_Assignment, tuple[_Block, ...]]


class _Engine:
    def __init__(
        self,
        query: SlotQuery,
        staff: Sequence[StaffAvailability],
        resources: Sequence[ResourceAvailability],
        business_hours: WeeklySchedule | None,
        only: datetime | None,
    ) -> None:
        if not query.services:
            raise ValueError("a query needs at least one service")
        for service in query.services:
            if service.duration <= timedelta(0) or service.capacity < 1:
                raise ValueError("a service needs a positive duration and capacity")
            if service.buffer_before < timedelta(0) or service.buffer_after < timedelta(0):
                raise ValueError("buffers cannot be negative")
        if query.seats < 1:
            raise ValueError("at least one seat")
        self.seats = query.seats
        self.services = query.services
        self.count = len(query.services)
        self.rules = effective_rules(query)
        if self.rules.granularity <= timedelta(0):
            raise ValueError("granularity must be positive")
        now = _utc(query.now, "now")
        client = _zone(query.timezone)
        # The start's date in the client's zone is in [start_day, end_day] exactly when it lies in [low, high).
        low = _bounds(datetime.combine(query.start_day, time(0)), client)[0]
        high = _bounds(datetime.combine(query.end_day + _DAY, time(0)), client)[0]
        self.earliest = max(low, now + self.rules.min_notice)
        self.latest = min(high - _TICK, now + self.rules.horizon)
        if only is not None:
            inside = self.earliest <= only <= self.latest
            self.earliest, self.latest = (only, only) if inside else (only, only - _TICK)
        self.earliest_micros, self.latest_micros = _micros(self.earliest), _micros(self.latest)
        offsets = [timedelta(0)]
        for service in self.services:
            offsets.append(offsets[-1] + service.duration)
        self.offsets = offsets
        self.runs = {
            (first, end): _Run(
                first=first,
                end=end,
                lead=offsets[first] - self.services[first].buffer_before,
                tail=offsets[end] + self.services[end - 1].buffer_after,
                needs=frozenset(service.service_id for service in self.services[first:end]),
                groups=tuple(
                    (service.service_id, offsets[first + i], service.capacity)
                    for i, service in enumerate(self.services[first:end])
                    if service.capacity > 1
                ),
            )
            for first in range(self.count)
            for end in range(first + 1, self.count + 1)
        }
        self.empty = self.earliest > self.latest or query.seats > min(s.capacity for s in self.services)
        if self.empty:
            return
        # Schedules are expanded for the instants a span around a candidate can reach.
        reach = offsets[-1] + max(s.buffer_before + s.buffer_after for s in self.services)
        window = (self.earliest - reach, self.latest + reach)
        business = _Business(business_hours, window) if business_hours is not None else None
        wanted = query.staff_ids
        chosen = sorted((s for s in staff if wanted is None or s.staff_id in wanted), key=lambda s: s.staff_id)
        hours: dict[Hashable, _Hours] = {}
        self.staff = []
        for i, member in enumerate(chosen):
            key = _Hours.key(member.schedule)
            if key not in hours:
                hours[key] = _Hours(key, member.schedule, window, business)
            self.staff.append(_Staff(member, i, hours[key]))
        self.resources = {r.resource_id: _Resource(r) for r in resources}
        self.uses_resources = any(service.resource_ids for service in self.services)
        self.resource_checks: dict[tuple[uuid.UUID, datetime, datetime, frozenset[_SessionKey]], bool] = {}
        self.grid_of_hours: dict[int, tuple[datetime, ...]] = {}  # by id() of an _Hours, alive with the engine
        self.grid_micros_of_hours: dict[int, tuple[int, ...]] = {}  # the same, in microseconds

    # Candidates ---------------------------------------------------------------------------------------------

    def _grid(self, member: _Staff) -> tuple[datetime, ...]:
        """The staff member's grid starts inside the window, sorted; computed once per zone and set of labels, so
        staff with the same hours share it."""
        grid = self.grid_of_hours.get(id(member.hours))  # staff sharing hours: no key to build and hash
        if grid is None:
            every = _grid_instants(member.tz, tuple(member.labels), self.rules.granularity)
            grid = every[bisect_left(every, self.earliest) : bisect_right(every, self.latest)]
            self.grid_of_hours[id(member.hours)] = grid
        return grid

    def _grid_micros(self, member: _Staff) -> tuple[int, ...]:
        """_grid in microseconds since the epoch (for the interval arithmetic of the one-service path)."""
        grid = self.grid_micros_of_hours.get(id(member.hours))
        if grid is None:
            every = _grid_micros(member.tz, tuple(member.labels), self.rules.granularity)
            grid = every[bisect_left(every, self.earliest_micros) : bisect_right(every, self.latest_micros)]
            self.grid_micros_of_hours[id(member.hours)] = grid
        return grid

    def _sessions(self, member: _Staff) -> set[datetime]:
        """Starts of the staff member's existing sessions of the first service inside the window (joinable even
        off the grid); none unless the first service is a group session."""
        first = self.services[0]
        if first.capacity == 1:
            return set()
        return {
            at
            for service_id, at in member.sessions
            if service_id == first.service_id and self.earliest <= at <= self.latest
        }

    def _candidates(self, member: _Staff) -> set[datetime]:
        """Starts on the staff member's grid inside the window (and existing sessions of the first service)."""
        return set(self._grid(member)) | self._sessions(member)

    # Feasibility --------------------------------------------------------------------------------------------

    def _block(self, member: _Staff, start: datetime, run: _Run) -> _Block | None:
        """Can `member` take the run's segments of a booking starting at `start`?"""
        if not run.needs <= member.service_ids:
            return None
        span_start, span_end = start + run.lead, start + run.tail
        if not _covers(member.work_starts, member.work_ends, span_start, span_end):
            return None
        if _clear(member.busy_starts, member.busy_ends, _micros(span_start), _micros(span_end)):
            return _Block(min((capacity for _, _, capacity in run.groups), default=None), frozenset())
        if not run.groups:
            return None
        # Joining: everything overlapping must be one of the run's sessions, each with seats to spare.
        capacity = {(service_id, start + offset): seats for service_id, offset, seats in run.groups}
        taken = dict.fromkeys(capacity, 0)
        for entry in member.overlaps.between(span_start, span_end):
            if entry.session not in taken:
                return None
            taken[entry.session] += entry.seats
        left = [capacity[key] - taken[key] for key in capacity]
        if min(left) < self.seats:
            return None
        return _Block(min(left), frozenset(key for key, seats in taken.items() if seats))

    def _resources_free(self, start: datetime, runs: _Assignment, found: tuple[_Block, ...]) -> bool:
        if not self.uses_resources:
            return True
        joined = frozenset(key for block in found for key in block.joined)
        demands: dict[uuid.UUID, list[_Interval]] = {}
        for service, segment in zip(self.services, self._segments(start, runs), strict=True):
            assert segment.occupied_start is not None and segment.occupied_end is not None
            for resource_id in service.resource_ids:
                demands.setdefault(resource_id, []).append((segment.occupied_start, segment.occupied_end))
        for resource_id, spans in demands.items():
            resource = self.resources.get(resource_id)
            if resource is None:
                return False
            for span_start, span_end in _union(spans):  # one booking takes one unit, however many segments
                key = (resource_id, span_start, span_end, joined)
                free = self.resource_checks.get(key)
                if free is None:
                    free = self.resource_checks[key] = resource.has_unit(span_start, span_end, joined)
                if not free:
                    return False
        return True

    # Assembly -----------------------------------------------------------------------------------------------

    def slots(self) -> list[Slot]:
        if self.empty:
            return []
        return self._single_service_slots() if self.count == 1 else self._general_slots()

    def _single_service_slots(self) -> list[Slot]:
        """The general path's answer for one service, without a feasibility check per (start, staff member).

        Staff sharing their hours share a grid: each one's free starts on it are a bitmask (`_free_on_grid`), and
        the group's masks, written one row each, are read column by column, so that the staff able to start at a
        grid start are one strided slice (the same column, and so the same tuple of staff, comes back throughout
        a month). Only a start joining a group session is checked on its own, and only the starts found become
        datetimes."""
        service = self.services[0]
        run = self.runs[(0, 1)]
        block = _Block(min((capacity for _, _, capacity in run.groups), default=None), frozenset())
        takers: dict[int, list[_Staff]] = {}  # by id() of their hours, sorted by id within each
        for member in self.staff:
            if service.service_id in member.service_ids:
                takers.setdefault(id(member.hours), []).append(member)
        found: dict[int, tuple[int, ...]] = {}  # staff by index, by start in microseconds
        joins: defaultdict[int, list[tuple[int, _Block]]] = defaultdict(list)  # starts joining a session
        for members in takers.values():
            grid = self._grid_micros(members[0])
            masks = _free_on_grid(grid, members, run) if grid else [0] * len(members)
            for start, indexes in _columns(grid, masks, [member.index for member in members]):
                known = found.get(start)
                found[start] = indexes if known is None else tuple(sorted(known + indexes))
            if run.groups:
                # Any other start can only join: everything overlapping its span must be a session of this service
                # starting there (see _block), so only the staff member's session starts, on the grid or not, are
                # tried.
                for member, mask in zip(members, masks, strict=True):
                    for at in self._sessions(member):
                        micros = _micros(at)
                        position = bisect_left(grid, micros)
                        if position < len(grid) and grid[position] == micros and mask >> position & 1:
                            continue
                        joined = self._block(member, at, run)
                        if joined is not None:
                            joins[micros].append((member.index, joined))
        if self.uses_resources and (found or joins):  # then someone takes the service
            # With one service the resources a start needs do not depend on who takes it: checked once per start
            # (and sessions joined), not once per staff member.
            anyone = ((self.staff[0], run),)
            found = {
                start: indexes
                for start, indexes in found.items()
                if self._resources_free(_instant(start), anyone, (block,))
            }
            for micros, entries in joins.items():
                entries[:] = [
                    (index, joined)
                    for index, joined in entries
                    if self._resources_free(_instant(micros), anyone, (joined,))
                ]
        seats_of: dict[int, int] = {}  # starts joining a session: the fewest seats left among the staff offered
        for micros, entries in joins.items():
            if entries:
                indexes = found.get(micros, ())
                seats = [joined.seats_left for _, joined in entries if joined.seats_left is not None]
                if indexes and block.seats_left is not None:
                    seats.append(block.seats_left)
                found[micros] = tuple(sorted((*indexes, *(index for index, _ in entries))))
                seats_of[micros] = min(seats)
        # Slots offering the same staff share one tuple of their ids (a month repeats a few sets thousands of times);
        # neighbouring starts mostly come with the very same tuple of indexes (one column of _columns), so the
        # lookup is skipped for them.
        shared: dict[tuple[int, ...], tuple[uuid.UUID, ...]] = {}
        out = []
        last: tuple[int, ...] = ()
        staff_ids: tuple[uuid.UUID, ...] = ()
        for micros in sorted(found):
            indexes = found[micros]
            if indexes is not last:
                ids = shared.get(indexes)
                if ids is None:
                    ids = shared[indexes] = tuple([self.staff[i].id for i in indexes])
                last, staff_ids = indexes, ids
            at = _instant(micros)
            out.append(
                _slot(at, staff_ids, OneServiceOptions(service, at, staff_ids), seats_of.get(micros, block.seats_left))
            )
        return out

    def _general_slots(self) -> list[Slot]:
        """Every candidate start of every staff member taking the first service, checked start by start."""
        firsts: dict[datetime, list[_Staff]] = {}
        for member in self.staff:  # sorted by id, so each list of firsts is too
            if self.services[0].service_id in member.service_ids:
                for start in self._candidates(member):
                    firsts.setdefault(start, []).append(member)
        out = []
        for start in sorted(firsts):
            slot = self._slot_at(start, firsts[start])
            if slot is not None:
                out.append(slot)
        return out

    def _slot_at(self, start: datetime, firsts: list[_Staff]) -> Slot | None:
        whole = self.runs[(0, self.count)]
        chosen: list[_Found] = []
        mixed: list[_Staff] = []
        for member in firsts:
            found = self._block(member, start, whole)
            runs = ((member, whole),)
            if found is not None and self._resources_free(start, runs, (found,)):
                chosen.append((runs, (found,)))
            elif self.count > 1:
                mixed.append(member)
        if mixed:
            suffix = _Suffix(self, start)
            for member in mixed:
                best = suffix.best(0, None, member)
                if best is not None and self._resources_free(start, *best):
                    chosen.append(best)
        if not chosen:
            return None
        options = tuple(self._segments(start, runs) for runs, _ in chosen)
        if self.count == 1:
            staff_ids = tuple(runs[0][0].id for runs, _ in chosen)
        else:
            staff_ids = tuple(sorted({segment.staff_id for option in options for segment in option}))
        seats = [block.seats_left for _, found in chosen for block in found if block.seats_left is not None]
        return Slot(start=start, staff_ids=staff_ids, options=options, seats_left=min(seats) if seats else None)

    def _segments(self, start: datetime, runs: _Assignment) -> tuple[Segment, ...]:
        if self.count == 1:  # the common case, without the general bookkeeping
            (member, _), service = runs[0], self.services[0]
            end = start + service.duration
            occupied = (start - service.buffer_before, end + service.buffer_after)
            return (Segment(service.service_id, member.id, start, end, *occupied),)
        return plan_segments(
            self.services, start, [member.id for member, run in runs for _ in range(run.first, run.end)]
        )


class _Suffix:
    """Fewest-changes assignment of segments first..n-1 after a given staff member's run (memoised per start).

    `only` fixes the staff member of the first run (the one whose grid offered the start)."""

    def __init__(self, engine: _Engine, start: datetime) -> None:
        self.engine = engine
        self.start = start
        self.blocks: dict[tuple[int, int, int], _Block | None] = {}
        self.memo: dict[tuple[int, int], _Found | None] = {}

    def _block(self, member: _Staff, run: _Run) -> _Block | None:
        key = (member.index, run.first, run.end)
        if key not in self.blocks:
            self.blocks[key] = self.engine._block(member, self.start, run)
        return self.blocks[key]

    def best(self, first: int, before: _Staff | None, only: _Staff | None = None) -> _Found | None:
        key = (first, -1 if before is None else before.index)
        if only is None and key in self.memo:
            return self.memo[key]
        engine = self.engine
        best: tuple[int, tuple[uuid.UUID, ...], _Found] | None = None
        for member in [only] if only is not None else engine.staff:
            if member is before:  # the same staff member continuing would be one run, not two
                continue
            for end in range(engine.count, first, -1):
                if only is not None and end == engine.count:
                    continue  # alone: already tried
                run = engine.runs[(first, end)]
                found = self._block(member, run)
                if found is None:
                    continue
                rest: _Found | None = ((), ()) if end == engine.count else self.best(end, member)
                if rest is None:
                    continue
                runs: _Assignment = ((member, run), *rest[0])
                ranking = (len(runs), tuple(m.id for m, _ in runs))
                if best is None or ranking < best[:2]:
                    best = (*ranking, (runs, (found, *rest[1])))
        result = None if best is None else best[2]
        if only is None:
            self.memo[key] = result
        return result
