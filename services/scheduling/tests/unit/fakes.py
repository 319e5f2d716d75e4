"""A unit of work for the scheduling use cases without a database: in-memory repositories and stores over one
shared state, and a fake client directory. Staff time is refused as the database refuses it (a booking or a
hold overlapping another one of the same staff member is SLOT_TAKEN), so the handlers' retries and conflicts
can be driven here; group sessions and resources, which the database shares out, are left to the integration
tests."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from client_contract.lookup import ClientFacts
from platform_core.errors import Conflict, InvalidArgument, NotFound
from scheduling_svc.adapters.catalogue_store import STALE, AbstractCatalogueStore, AvailabilityInputs
from scheduling_svc.adapters.client_directory import AbstractClientDirectory
from scheduling_svc.adapters.feed_store import AbstractFeedStore
from scheduling_svc.adapters.hold_store import AbstractHoldStore, HeldTime
from scheduling_svc.adapters.report_figures import AbstractReportFigures, Revenue, ServiceTotals, StaffTotals
from scheduling_svc.adapters.repository import AbstractAppointmentRepository, slot_taken
from scheduling_svc.adapters.series_repository import AbstractSeriesRepository
from scheduling_svc.domain.appointments import Appointment, StaffBlock, Status, staff_blocks
from scheduling_svc.domain.availability import (
    Busy,
    LocalRange,
    ScheduleException,
    StaffAvailability,
    WeeklySchedule,
)
from scheduling_svc.domain.catalogue import (
    BookableService,
    ExceptionDefinition,
    Resource,
    ResourceDefinition,
    SchedulingSettings,
    ServiceDefinition,
    StaffSchedule,
)
from scheduling_svc.domain.feeds import CalendarFeed, FeedOwner
from scheduling_svc.domain.holds import SlotHold
from scheduling_svc.domain.reports import OCCUPYING, Counts
from scheduling_svc.domain.series import RecurringSeries, SeriesStatus
from scheduling_svc.service_layer.unit_of_work import SchedulingUnitOfWork


@dataclass
class Stored:
    """What the database would hold, shared by every unit of work of one test."""

    settings: SchedulingSettings = field(default_factory=SchedulingSettings)
    services: dict[uuid.UUID, BookableService] = field(default_factory=dict)
    staff: dict[uuid.UUID, StaffSchedule] = field(default_factory=dict)
    appointments: dict[uuid.UUID, Appointment] = field(default_factory=dict)
    series: dict[uuid.UUID, RecurringSeries] = field(default_factory=dict)
    holds: dict[uuid.UUID, HeldTime] = field(default_factory=dict)
    feeds: dict[uuid.UUID, tuple[CalendarFeed, bytes]] = field(default_factory=dict)
    exceptions: dict[uuid.UUID, ExceptionDefinition] = field(default_factory=dict)
    resources: dict[uuid.UUID, Resource] = field(default_factory=dict)

    def busy(self, staff_id: uuid.UUID, *, except_hold: uuid.UUID | None = None) -> list[Busy]:
        """The staff member's taken time: booked appointments and holds, buffers included."""
        taken = [
            Busy(b.start, b.end, b.service_id, b.session_start, b.seats)
            for a in self.appointments.values()
            if a.status == Status.BOOKED
            for b in staff_blocks(a.segments)
            if b.staff_id == staff_id
        ]
        taken += [
            Busy(h.occupied_start, h.occupied_end)
            for h in self.holds.values()
            if h.hold.staff_id == staff_id and h.hold.id != except_hold
        ]
        return taken

    def refuse_overlap(self, block: StaffBlock, timezone: str, *, appointment_id: uuid.UUID | None = None) -> None:
        """As the time_blocks exclusion constraint: nobody else may hold or book the block's time."""
        others = [
            b
            for a in self.appointments.values()
            if a.status == Status.BOOKED and a.id != appointment_id
            for b in staff_blocks(a.segments)
        ]
        held = [(h.hold.staff_id, h.occupied_start, h.occupied_end) for h in self.holds.values()]
        for staff_id, start, end in [(b.staff_id, b.start, b.end) for b in others] + held:
            if staff_id == block.staff_id and start < block.end and block.start < end:
                raise slot_taken(block, timezone)


class FakeAppointmentRepository(AbstractAppointmentRepository):
    def __init__(self, stored: Stored) -> None:
        super().__init__()
        self._stored = stored

    async def _get(self, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> Appointment | None:
        found = self._stored.appointments.get(appointment_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    async def get_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> Appointment | None:
        return next(
            (a for a in self._stored.appointments.values() if a.tenant_id == tenant_id and a.request_id == request_id),
            None,
        )

    async def count_active_for_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID, now: datetime) -> int:
        return sum(
            a.tenant_id == tenant_id and a.client_id == client_id and a.status == Status.BOOKED and a.ends_at > now
            for a in self._stored.appointments.values()
        )

    async def save(self, appointment: Appointment) -> None:
        takes_time = appointment.is_new or appointment.replaced_segments is not None
        if takes_time and appointment.status == Status.BOOKED:
            for block in staff_blocks(appointment.segments):
                self._stored.refuse_overlap(block, appointment.timezone, appointment_id=appointment.id)
        if not appointment.is_new and appointment.new_history:
            appointment.version += 1
        appointment.is_new = False
        appointment.replaced_segments = None
        appointment.new_history.clear()
        self._stored.appointments[appointment.id] = appointment


class FakeSeriesRepository(AbstractSeriesRepository):
    def __init__(self, stored: Stored) -> None:
        super().__init__()
        self._stored = stored

    def _occurrences(self, tenant_id: uuid.UUID, series_id: uuid.UUID) -> list[Appointment]:
        return sorted(
            (
                a
                for a in self._stored.appointments.values()
                if a.tenant_id == tenant_id and a.series_id == series_id and a.occurrence_start is not None
            ),
            key=lambda a: a.occurrence_start or a.starts_at,
        )

    async def _get(self, tenant_id: uuid.UUID, series_id: uuid.UUID) -> RecurringSeries | None:
        found = self._stored.series.get(series_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    async def _claim_due(
        self, due_before: datetime, tenant_id: uuid.UUID | None, passed: Collection[uuid.UUID]
    ) -> RecurringSeries | None:
        due = [
            s
            for s in self._stored.series.values()
            if s.status == SeriesStatus.ACTIVE
            and s.materialized_until < due_before
            and tenant_id in (None, s.tenant_id)
            and s.id not in passed
        ]
        return min(due, key=lambda s: s.materialized_until, default=None)

    async def get_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> RecurringSeries | None:
        return next(
            (s for s in self._stored.series.values() if s.tenant_id == tenant_id and s.request_id == request_id),
            None,
        )

    async def lock_request_id(self, tenant_id: uuid.UUID, request_id: str) -> None:
        return None  # one test task at a time: nothing to wait for

    async def materialized_occurrences(
        self, tenant_id: uuid.UUID, series_id: uuid.UUID, start: datetime, end: datetime
    ) -> set[datetime]:
        return {
            a.occurrence_start
            for a in self._occurrences(tenant_id, series_id)
            if a.occurrence_start is not None and start <= a.occurrence_start < end
        }

    async def appointment_of(
        self, tenant_id: uuid.UUID, series_id: uuid.UUID, occurrence: datetime
    ) -> uuid.UUID | None:
        return next((a.id for a in self._occurrences(tenant_id, series_id) if a.occurrence_start == occurrence), None)

    async def booked_from(self, tenant_id: uuid.UUID, series_id: uuid.UUID, occurrence: datetime) -> list[uuid.UUID]:
        return [
            a.id
            for a in self._occurrences(tenant_id, series_id)
            if a.occurrence_start is not None and a.occurrence_start >= occurrence and a.status == Status.BOOKED
        ]

    async def save(self, series: RecurringSeries) -> None:
        if not series.is_new and series.dirty:
            series.version += 1
        series.is_new = series.dirty = False
        series.changed_exceptions.clear()
        self._stored.series[series.id] = series


class FakeCatalogue(AbstractCatalogueStore):
    """The business's catalogue as the test set it or the handlers changed it, with the store's refusals: stale
    versions, taken names, unknown staff."""

    def __init__(self, stored: Stored) -> None:
        self._stored = stored

    async def settings(self, tenant_id: uuid.UUID) -> SchedulingSettings:
        return self._stored.settings

    async def save_settings(self, tenant_id: uuid.UUID, settings: SchedulingSettings) -> SchedulingSettings:
        if settings.version != self._stored.settings.version:
            raise Conflict("the scheduling settings were changed by someone else", reason=STALE)
        self._stored.settings = replace(settings, version=settings.version + 1)
        return self._stored.settings

    async def services(
        self, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None, *, include_archived: bool = True
    ) -> list[BookableService]:
        return sorted(
            (
                s
                for s in self._stored.services.values()
                if (ids is None or s.id in ids) and (include_archived or not s.archived)
            ),
            key=lambda s: (s.definition.category, s.name.lower()),
        )

    async def service(self, tenant_id: uuid.UUID, service_id: uuid.UUID) -> BookableService:
        found = self._stored.services.get(service_id)
        if found is None:
            raise NotFound("service not found")
        return found

    async def save_service(
        self,
        tenant_id: uuid.UUID,
        service_id: uuid.UUID | None,
        definition: ServiceDefinition,
        version: int,
        now: datetime,
    ) -> BookableService:
        if any(
            s.name == definition.name and not s.archived and s.id != service_id for s in await self.services(tenant_id)
        ):
            raise Conflict("a service with this name already exists", reason="SERVICE_NAME_TAKEN")
        if any(staff_id not in self._stored.staff for staff_id in definition.staff_ids):
            raise InvalidArgument.single("staff_ids", "names a staff member without a schedule")
        if service_id is None:
            saved = BookableService(uuid.uuid4(), definition, archived=False, version=1)
        else:
            current = await self.service(tenant_id, service_id)
            if current.archived or current.version != version:
                raise Conflict("the service was changed by someone else", reason=STALE)
            saved = BookableService(service_id, definition, archived=False, version=version + 1)
        self._stored.services[saved.id] = saved
        return saved

    async def archive_service(self, tenant_id: uuid.UUID, service_id: uuid.UUID) -> BookableService:
        current = await self.service(tenant_id, service_id)
        self._stored.services[service_id] = replace(current, archived=True, version=current.version + 1)
        return self._stored.services[service_id]

    async def ordered_services(self, tenant_id: uuid.UUID, service_ids: Sequence[uuid.UUID]) -> list[BookableService]:
        missing = [str(s) for s in service_ids if s not in self._stored.services]
        if missing:
            raise NotFound(f"service not found: {', '.join(missing)}")
        return [self._stored.services[s] for s in service_ids]

    def _performed(self, staff_id: uuid.UUID) -> list[uuid.UUID]:
        return sorted(
            s.id for s in self._stored.services.values() if staff_id in s.definition.staff_ids and not s.archived
        )

    async def staff(
        self, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None, *, include_inactive: bool = True
    ) -> list[tuple[StaffSchedule, list[uuid.UUID]]]:
        return [
            (schedule, self._performed(schedule.staff_id))
            for schedule in sorted(self._stored.staff.values(), key=lambda s: (s.display_name, s.staff_id))
            if (ids is None or schedule.staff_id in ids) and (include_inactive or schedule.active)
        ]

    async def staff_member(self, tenant_id: uuid.UUID, staff_id: uuid.UUID) -> tuple[StaffSchedule, list[uuid.UUID]]:
        found = await self.staff(tenant_id, [staff_id])
        if not found:
            raise NotFound("staff member has no schedule")
        return found[0]

    async def put_staff(self, tenant_id: uuid.UUID, schedule: StaffSchedule) -> tuple[StaffSchedule, list[uuid.UUID]]:
        current = self._stored.staff.get(schedule.staff_id)
        if (current.version if current is not None else 0) != schedule.version:
            raise Conflict("the staff member's schedule was changed by someone else", reason=STALE)
        self._stored.staff[schedule.staff_id] = replace(schedule, version=schedule.version + 1)
        return await self.staff_member(tenant_id, schedule.staff_id)

    async def add_exception(self, tenant_id: uuid.UUID, definition: ExceptionDefinition) -> uuid.UUID:
        if definition.staff_id is not None and definition.staff_id not in self._stored.staff:
            raise NotFound("staff member has no schedule")
        exception_id = uuid.uuid4()
        self._stored.exceptions[exception_id] = definition
        return exception_id

    async def remove_exception(self, tenant_id: uuid.UUID, exception_id: uuid.UUID) -> None:
        if self._stored.exceptions.pop(exception_id, None) is None:
            raise NotFound("schedule exception not found")

    async def exceptions(
        self, tenant_id: uuid.UUID, owners: Sequence[uuid.UUID | None], from_day: date, to_day: date
    ) -> list[tuple[uuid.UUID, uuid.UUID | None, ScheduleException, str]]:
        return sorted(
            (
                (exception_id, d.staff_id, d.exception, d.label)
                for exception_id, d in self._stored.exceptions.items()
                if d.staff_id in owners and from_day <= d.exception.day <= to_day
            ),
            key=lambda found: found[2].day,
        )

    async def resources(self, tenant_id: uuid.UUID) -> list[Resource]:
        return sorted(self._stored.resources.values(), key=lambda r: r.name.lower())

    async def save_resource(
        self, tenant_id: uuid.UUID, resource_id: uuid.UUID | None, definition: ResourceDefinition, archived: bool
    ) -> Resource:
        if not archived and any(
            r.name == definition.name and not r.archived and r.id != resource_id
            for r in self._stored.resources.values()
        ):
            raise Conflict("a resource with this name already exists", reason="RESOURCE_NAME_TAKEN")
        if resource_id is not None and resource_id not in self._stored.resources:
            raise NotFound("resource not found")
        saved = Resource(resource_id or uuid.uuid4(), definition.name, definition.kind, definition.capacity, archived)
        self._stored.resources[saved.id] = saved
        return saved

    async def availability_inputs(
        self,
        tenant_id: uuid.UUID,
        service_ids: Sequence[uuid.UUID],
        window_start: datetime,
        window_end: datetime,
        *,
        settings: SchedulingSettings | None = None,
    ) -> AvailabilityInputs:
        settings = settings or self._stored.settings
        services = await self.ordered_services(tenant_id, service_ids)
        qualified = {staff_id for s in services for staff_id in s.definition.staff_ids}
        exceptions_of: dict[uuid.UUID | None, list[ScheduleException]] = defaultdict(list)
        for d in self._stored.exceptions.values():
            exceptions_of[d.staff_id].append(d.exception)
        staff = [
            StaffAvailability(
                staff_id=schedule.staff_id,
                schedule=WeeklySchedule(
                    schedule.timezone, dict(schedule.weekly), tuple(exceptions_of[schedule.staff_id])
                ),
                busy=tuple(self._stored.busy(schedule.staff_id)),
                service_ids=frozenset(self._performed(schedule.staff_id)),
            )
            for schedule in self._stored.staff.values()
            if schedule.staff_id in qualified and schedule.active
        ]
        return AvailabilityInputs(settings, services, staff, [], settings.business_schedule(exceptions_of[None]))


class FakeHoldStore(AbstractHoldStore):
    def __init__(self, stored: Stored) -> None:
        self._stored = stored

    async def lock(self, tenant_id: uuid.UUID, hold_id: uuid.UUID) -> None:
        return None

    async def get(self, tenant_id: uuid.UUID, hold_id: uuid.UUID) -> HeldTime | None:
        found = self._stored.holds.get(hold_id)
        return found if found is not None and found.hold.tenant_id == tenant_id else None

    async def take(self, hold: SlotHold, block: StaffBlock, timezone: str) -> None:
        self._stored.refuse_overlap(block, timezone)
        self._stored.holds[hold.id] = HeldTime(hold, block.start, block.end)

    async def release(self, tenant_id: uuid.UUID, hold_id: uuid.UUID, *, client_id: uuid.UUID | None = None) -> bool:
        found = await self.get(tenant_id, hold_id)
        if found is None or client_id not in (None, found.hold.client_id):
            return False
        del self._stored.holds[hold_id]
        return True


class FakeFeedStore(AbstractFeedStore):
    def __init__(self, stored: Stored) -> None:
        self._stored = stored

    async def issue(self, feed: CalendarFeed, token_hash: bytes, actor: str) -> None:
        for old, digest in list(self._stored.feeds.values()):
            if old.tenant_id == feed.tenant_id and old.owner == feed.owner and old.live:
                self._stored.feeds[old.id] = (replace(old, revoked_at=feed.created_at), digest)
        self._stored.feeds[feed.id] = (feed, token_hash)

    async def revoke(
        self, tenant_id: uuid.UUID, owner: FeedOwner, feed_id: uuid.UUID, actor: str, now: datetime
    ) -> CalendarFeed:
        found = self._stored.feeds.get(feed_id)
        if found is None or found[0].tenant_id != tenant_id or found[0].owner != owner:
            raise NotFound("calendar feed not found")
        feed, digest = found
        if feed.live:
            feed = replace(feed, revoked_at=now)
            self._stored.feeds[feed_id] = (feed, digest)
        return feed

    async def of_owner(self, tenant_id: uuid.UUID, owner: FeedOwner) -> list[CalendarFeed]:
        return sorted(
            (f for f, _ in self._stored.feeds.values() if f.tenant_id == tenant_id and f.owner == owner),
            key=lambda f: (f.created_at, f.id),
            reverse=True,
        )


class FakeReportFigures(AbstractReportFigures):
    """The report's breakdowns counted over the stored appointments, as the report's SQL counts them."""

    def __init__(self, stored: Stored) -> None:
        self._stored = stored

    def _starting(self, tenant_id: uuid.UUID, start: datetime, end: datetime) -> list[Appointment]:
        return [
            a for a in self._stored.appointments.values() if a.tenant_id == tenant_id and start <= a.starts_at < end
        ]

    async def status_counts(self, tenant_id: uuid.UUID, start: datetime, end: datetime) -> Counts:
        return Counts.of(Counter(a.status.value for a in self._starting(tenant_id, start, end)))

    async def service_totals(self, tenant_id: uuid.UUID, start: datetime, end: datetime) -> list[ServiceTotals]:
        statuses: dict[uuid.UUID, dict[uuid.UUID, str]] = defaultdict(dict)
        names: dict[uuid.UUID, str] = {}
        booked: dict[uuid.UUID, timedelta] = defaultdict(timedelta)
        for a in self._starting(tenant_id, start, end):
            for s in a.segments:
                statuses[s.service_id][a.id] = a.status.value
                names[s.service_id] = s.service_name
                if a.status in OCCUPYING:
                    booked[s.service_id] += s.end - s.start
        return [
            ServiceTotals(service_id, names[service_id], Counts.of(Counter(of.values())), booked[service_id])
            for service_id, of in statuses.items()
        ]

    async def staff_totals(self, tenant_id: uuid.UUID, start: datetime, end: datetime) -> dict[uuid.UUID, StaffTotals]:
        statuses: dict[uuid.UUID, dict[uuid.UUID, str]] = defaultdict(dict)
        stretches: dict[uuid.UUID, set[tuple[datetime, datetime]]] = defaultdict(set)
        for a in self._starting(tenant_id, start, end):
            for s in a.segments:
                statuses[s.staff_id][a.id] = a.status.value
                if a.status in OCCUPYING:
                    stretches[s.staff_id].add((s.start, s.end))
        return {
            staff_id: StaffTotals(
                staff_id,
                Counts.of(Counter(of.values())),
                sum((e - b for b, e in stretches[staff_id]), timedelta(0)),
            )
            for staff_id, of in statuses.items()
        }

    async def completed_revenue(self, tenant_id: uuid.UUID, start: datetime, end: datetime, *, by: str) -> Revenue:
        sums: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
        for a in self._starting(tenant_id, start, end):
            if a.status == Status.COMPLETED:
                for s in a.segments:
                    sums[getattr(s, by)][s.currency] += s.price_minor
        return {owner: tuple(sorted((c, n) for c, n in amounts.items() if n)) for owner, amounts in sums.items()}


class FakeClientDirectory(AbstractClientDirectory):
    def __init__(self) -> None:
        self.clients: dict[uuid.UUID, ClientFacts] = {}
        self.asked: list[uuid.UUID] = []

    async def lookup(self, client_id: uuid.UUID) -> ClientFacts | None:
        self.asked.append(client_id)
        return self.clients.get(client_id)


class FakeUnitOfWork(SchedulingUnitOfWork):
    def __init__(self, stored: Stored | None = None, directory: FakeClientDirectory | None = None) -> None:
        self.stored = stored or Stored()
        self.client_directory = directory or FakeClientDirectory()
        self.commits = 0
        self.published: list[Any] = []

    async def _start(self) -> None:
        self.appointments = FakeAppointmentRepository(self.stored)
        self.series = FakeSeriesRepository(self.stored)
        self.catalogue = FakeCatalogue(self.stored)
        self.feeds = FakeFeedStore(self.stored)
        self.holds = FakeHoldStore(self.stored)
        self.report_figures = FakeReportFigures(self.stored)
        self.repositories = (self.appointments, self.series)

    async def _commit(self, events: list[Any]) -> None:
        self.commits += 1
        self.published.extend(events)

    async def rollback(self) -> None:
        return None

    async def _close(self) -> None:
        return None


# --- a business to test with ---------------------------------------------------------------------

TENANT = uuid.UUID("00000000-0000-4000-8000-000000000001")
ANNA = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
BEN = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
CUT = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
CLIENT = uuid.UUID("00000000-0000-4000-8000-0000000000d1")
ZONE = "Europe/Berlin"
NINE_TO_FIVE = {day: (LocalRange(time(9), time(17)),) for day in range(7)}


def a_business(*, max_active_bookings: int = 0) -> FakeUnitOfWork:
    """A salon in Berlin open 9 to 5 every day: Anna and Ben both cut (an hour, online too); one client."""
    stored = Stored(
        settings=SchedulingSettings(timezone=ZONE, max_active_bookings_per_client=max_active_bookings, version=1)
    )
    stored.services[CUT] = BookableService(
        CUT,
        ServiceDefinition(
            name="Cut",
            description="",
            duration=timedelta(hours=1),
            buffer_before=timedelta(0),
            buffer_after=timedelta(0),
            price_minor=4500,
            currency="EUR",
            capacity=1,
            bookable_online=True,
            staff_ids=(ANNA, BEN),
            resource_ids=(),
            category="",
            colour="",
            rules=None,
        ),
        archived=False,
        version=1,
    )
    for staff_id, name in ((ANNA, "Anna"), (BEN, "Ben")):
        stored.staff[staff_id] = StaffSchedule(staff_id, name, ZONE, dict(NINE_TO_FIVE), active=True, version=1)
    directory = FakeClientDirectory()
    directory.clients[CLIENT] = ClientFacts(CLIENT, online_booking_blocked=False, deleted=False, timezone=ZONE)
    return FakeUnitOfWork(stored, directory)
