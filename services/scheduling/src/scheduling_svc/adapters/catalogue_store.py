"""The catalogue in PostgreSQL: settings, services, staff schedules, exceptions, resources; and the
few set-based reads that give the availability engine everything it needs for a date range.

Given a CatalogueCache, the reads booking and availability make (settings, the services booked, the static
availability inputs) come from memory under the business's catalogue version, read once per unit of work;
a request then reads only the version and the bookings. A unit that changes the catalogue reads around the
cache (its own changes belong to no version yet).
"""

from __future__ import annotations

import abc
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast

import asyncpg
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from platform_core.errors import Conflict, InvalidArgument, NotFound
from platform_core.ids import new_id
from scheduling_svc.adapters.catalogue_cache import CatalogueCache
from scheduling_svc.adapters.repository import constraint_of
from scheduling_svc.adapters.tables import (
    resources,
    schedule_exceptions,
    scheduling_settings,
    service_resources,
    service_staff,
    services,
    staff_members,
)
from scheduling_svc.domain.availability import (
    Busy,
    BusyMicros,
    ResourceAvailability,
    ScheduleException,
    SlotRules,
    StaffAvailability,
    WeeklySchedule,
)
from scheduling_svc.domain.catalogue import (
    DEFAULT_RULES,
    BookableService,
    ExceptionDefinition,
    Resource,
    ResourceDefinition,
    SchedulingSettings,
    ServiceDefinition,
    StaffSchedule,
    ranges_from_json,
    ranges_to_json,
    weekly_from_json,
    weekly_to_json,
)

STALE = "CONCURRENT_CHANGE"
# Staff time taken within ($3, $4): one row per staff member, their bookings as parallel arrays sorted by start
# (BusyMicros), so that thousands of bookings cost no row or object each on the way in. The spans as int8
# microseconds since the epoch (exact: extract gives numeric): the engine works on integer instants, and decoding
# thousands of timestamps into datetimes was a fifth of the request. The spans only, unless a group service is asked
# for: only joining a session reads the bookings' sessions and seats.
_BY_START = "ORDER BY lower(occupied), id"
_STAFF_TIME = (
    " FROM time_blocks"
    " WHERE tenant_id = $1 AND staff_id = ANY($2::uuid[]) AND NOT released AND occupied && tstzrange($3, $4)"
    " GROUP BY staff_id"
)
_SPANS = (
    f"array_agg((extract(epoch FROM lower(occupied)) * 1000000)::int8 {_BY_START}),"
    f" array_agg((extract(epoch FROM upper(occupied)) * 1000000)::int8 {_BY_START})"
)
STAFF_BUSY = f"SELECT staff_id, {_SPANS}" + _STAFF_TIME
STAFF_BUSY_WITH_SESSIONS = (
    f"SELECT staff_id, {_SPANS},"
    f" array_agg(service_id {_BY_START}), array_agg(session_start {_BY_START}), array_agg(seats_taken {_BY_START})"
    + _STAFF_TIME
)
# Resource units taken within ($3, $4): each row (resource, start, end).
_RESOURCE_BUSY = (
    "SELECT resource_id, lower(occupied), upper(occupied) FROM resource_blocks"
    " WHERE tenant_id = $1 AND resource_id = ANY($2::uuid[]) AND NOT released AND occupied && tstzrange($3, $4)"
)
_VERSION = "SELECT version FROM catalogue_versions WHERE tenant_id = $1"
T = TypeVar("T")


def _stale(what: str) -> Conflict:
    return Conflict(f"the {what} was changed by someone else; reload it and try again", reason=STALE)


def _resource(row: Any) -> Resource:
    return Resource(row.id, row.name, row.kind, row.capacity, row.archived)


def _minutes(value: timedelta) -> int:
    return int(value.total_seconds() // 60)


class AvailabilityInputs:
    """Everything the availability engine reads for one query, loaded in a fixed number of queries."""

    def __init__(
        self,
        settings: SchedulingSettings,
        services: list[BookableService],
        staff: list[StaffAvailability],
        resources: list[ResourceAvailability],
        business: WeeklySchedule | None,
    ) -> None:
        self.settings = settings
        self.services = services
        self.staff = staff
        self.resources = resources
        self.business = business


@dataclass(frozen=True)
class _StaticInputs:
    """The availability inputs that are not bookings, for one set of services and range of days."""

    services: tuple[BookableService, ...]
    staff: tuple[tuple[uuid.UUID, WeeklySchedule, frozenset[uuid.UUID]], ...]  # (staff, hours, services)
    resources: tuple[tuple[uuid.UUID, int], ...]  # (resource, units; 0 when archived)
    business: WeeklySchedule | None


class AbstractCatalogueStore(abc.ABC):
    @abc.abstractmethod
    async def settings(self, tenant_id: uuid.UUID) -> SchedulingSettings: ...

    @abc.abstractmethod
    async def save_settings(self, tenant_id: uuid.UUID, settings: SchedulingSettings) -> SchedulingSettings:
        """Save at ``settings.version`` (0: never saved); Conflict when someone saved meanwhile."""

    @abc.abstractmethod
    async def services(
        self, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None, *, include_archived: bool = True
    ) -> list[BookableService]: ...

    @abc.abstractmethod
    async def service(self, tenant_id: uuid.UUID, service_id: uuid.UUID) -> BookableService: ...

    @abc.abstractmethod
    async def save_service(
        self,
        tenant_id: uuid.UUID,
        service_id: uuid.UUID | None,
        definition: ServiceDefinition,
        version: int,
        now: datetime,
    ) -> BookableService:
        """Create (no id) or update a live service at ``version``; a taken name or a stale version is a Conflict."""

    @abc.abstractmethod
    async def archive_service(self, tenant_id: uuid.UUID, service_id: uuid.UUID) -> BookableService: ...

    @abc.abstractmethod
    async def ordered_services(
        self, tenant_id: uuid.UUID, service_ids: Sequence[uuid.UUID]
    ) -> list[BookableService]: ...

    @abc.abstractmethod
    async def staff(
        self, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None, *, include_inactive: bool = True
    ) -> list[tuple[StaffSchedule, list[uuid.UUID]]]: ...

    @abc.abstractmethod
    async def staff_member(
        self, tenant_id: uuid.UUID, staff_id: uuid.UUID
    ) -> tuple[StaffSchedule, list[uuid.UUID]]: ...

    @abc.abstractmethod
    async def put_staff(self, tenant_id: uuid.UUID, schedule: StaffSchedule) -> tuple[StaffSchedule, list[uuid.UUID]]:
        """Create (version 0) or change the schedule at its version; Conflict when someone saved meanwhile."""

    @abc.abstractmethod
    async def add_exception(self, tenant_id: uuid.UUID, definition: ExceptionDefinition) -> uuid.UUID: ...

    @abc.abstractmethod
    async def remove_exception(self, tenant_id: uuid.UUID, exception_id: uuid.UUID) -> None: ...

    @abc.abstractmethod
    async def exceptions(
        self, tenant_id: uuid.UUID, owners: Sequence[uuid.UUID | None], from_day: date, to_day: date
    ) -> list[tuple[uuid.UUID, uuid.UUID | None, ScheduleException, str]]: ...

    @abc.abstractmethod
    async def resources(self, tenant_id: uuid.UUID) -> list[Resource]: ...

    @abc.abstractmethod
    async def save_resource(
        self, tenant_id: uuid.UUID, resource_id: uuid.UUID | None, definition: ResourceDefinition, archived: bool
    ) -> Resource:
        """Create (no id) or change a resource; a name a live resource has is a Conflict."""

    @abc.abstractmethod
    async def availability_inputs(
        self,
        tenant_id: uuid.UUID,
        service_ids: Sequence[uuid.UUID],
        window_start: datetime,
        window_end: datetime,
        *,
        settings: SchedulingSettings | None = None,
    ) -> AvailabilityInputs: ...


class CatalogueStore(AbstractCatalogueStore):
    def __init__(self, session: AsyncSession, cache: CatalogueCache | None = None) -> None:
        self.session = session
        self._cache = cache
        self._versions: dict[uuid.UUID, int] = {}
        self._changed = False

    def _changing(self) -> None:
        self._changed = True

    async def _cached(self, tenant_id: uuid.UUID, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        if self._cache is None or self._changed:
            return await load()
        version = self._versions.get(tenant_id)
        if version is None:
            # On the driver: a unit that then reads only bookings (availability) opens no transaction, so it costs
            # no BEGIN and ROLLBACK round trips (each statement reads committed data, as in READ COMMITTED).
            found = await (await self._driver()).fetchval(_VERSION, tenant_id)
            version = self._versions[tenant_id] = found or 0
        entry = (tenant_id, version, key)
        hit = self._cache.get(entry)
        if hit is not None:
            return cast(T, hit)
        # Read after the version: what is loaded is at least as new as the version it is kept under.
        value = await load()
        self._cache.put(entry, value)
        return value

    # --- settings ----------------------------------------------------------------------------

    async def settings(self, tenant_id: uuid.UUID) -> SchedulingSettings:
        return await self._cached(tenant_id, "settings", lambda: self._settings(tenant_id))

    async def _settings(self, tenant_id: uuid.UUID) -> SchedulingSettings:
        row = (
            await self.session.execute(select(scheduling_settings).where(scheduling_settings.c.tenant_id == tenant_id))
        ).one_or_none()
        if row is None:
            return SchedulingSettings()
        return SchedulingSettings(
            timezone=row.timezone,
            rules=SlotRules(
                timedelta(minutes=row.granularity_minutes),
                timedelta(minutes=row.min_notice_minutes),
                timedelta(days=row.horizon_days),
            ),
            business_hours=weekly_from_json(row.business_hours),
            cancellation_notice=timedelta(minutes=row.cancellation_notice_minutes),
            max_active_bookings_per_client=row.max_active_bookings_per_client,
            follow_up_actions=tuple(row.follow_up_actions),
            version=row.version,
        )

    async def save_settings(self, tenant_id: uuid.UUID, settings: SchedulingSettings) -> SchedulingSettings:
        self._changing()
        values = {
            "timezone": settings.timezone,
            "granularity_minutes": _minutes(settings.rules.granularity),
            "min_notice_minutes": _minutes(settings.rules.min_notice),
            "horizon_days": settings.rules.horizon.days,
            "business_hours": weekly_to_json(settings.business_hours),
            "cancellation_notice_minutes": _minutes(settings.cancellation_notice),
            "max_active_bookings_per_client": settings.max_active_bookings_per_client,
            "follow_up_actions": list(settings.follow_up_actions),
            # A save states the zone too: business-profile events older than it no longer apply (follow_business_zone).
            "zone_followed_at": func.now(),
        }
        if settings.version == NEVER_SAVED:
            # Version 0 is "never saved": no row, or only the zone follow_business_zone took.
            saved = await self.session.scalar(
                pg_insert(scheduling_settings)
                .values(tenant_id=tenant_id, version=1, **values)
                .on_conflict_do_update(
                    index_elements=[scheduling_settings.c.tenant_id],
                    set_={"version": 1, **values},
                    where=scheduling_settings.c.version == NEVER_SAVED,
                )
                .returning(scheduling_settings.c.version)
            )
        else:
            saved = await self.session.scalar(
                update(scheduling_settings)
                .where(scheduling_settings.c.tenant_id == tenant_id, scheduling_settings.c.version == settings.version)
                .values(version=scheduling_settings.c.version + 1, **values)
                .returning(scheduling_settings.c.version)
            )
        if saved is None:
            raise _stale("scheduling settings")
        return await self.settings(tenant_id)

    # --- services ----------------------------------------------------------------------------

    async def services(
        self, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None, *, include_archived: bool = True
    ) -> list[BookableService]:
        query = select(services).where(services.c.tenant_id == tenant_id)
        if ids is not None:
            query = query.where(services.c.id.in_(ids))
        if not include_archived:
            query = query.where(services.c.archived.is_(False))
        rows = (await self.session.execute(query.order_by(services.c.category, func.lower(services.c.name)))).all()
        if not rows:
            return []
        found = [r.id for r in rows]
        staff_of: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for link in await self.session.execute(
            select(service_staff.c.service_id, service_staff.c.staff_id)
            .where(service_staff.c.tenant_id == tenant_id, service_staff.c.service_id.in_(found))
            .order_by(service_staff.c.staff_id)
        ):
            staff_of[link.service_id].append(link.staff_id)
        resources_of: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for link in await self.session.execute(
            select(service_resources.c.service_id, service_resources.c.resource_id)
            .where(service_resources.c.tenant_id == tenant_id, service_resources.c.service_id.in_(found))
            .order_by(service_resources.c.resource_id)
        ):
            resources_of[link.service_id].append(link.resource_id)
        return [self._service(r, staff_of[r.id], resources_of[r.id]) for r in rows]

    @staticmethod
    def _service(row: Any, staff_ids: list[uuid.UUID], resource_ids: list[uuid.UUID]) -> BookableService:
        rules = None
        if row.granularity_minutes is not None:
            rules = SlotRules(
                timedelta(minutes=row.granularity_minutes),
                timedelta(minutes=row.min_notice_minutes),
                timedelta(days=row.horizon_days),
            )
        definition = ServiceDefinition(
            name=row.name,
            description=row.description,
            duration=timedelta(minutes=row.duration_minutes),
            buffer_before=timedelta(minutes=row.buffer_before_minutes),
            buffer_after=timedelta(minutes=row.buffer_after_minutes),
            price_minor=row.price_minor,
            currency=row.currency,
            capacity=row.capacity,
            bookable_online=row.bookable_online,
            staff_ids=tuple(staff_ids),
            resource_ids=tuple(resource_ids),
            category=row.category,
            colour=row.colour,
            rules=rules,
        )
        return BookableService(row.id, definition, row.archived, row.version)

    async def service(self, tenant_id: uuid.UUID, service_id: uuid.UUID) -> BookableService:
        found = await self.services(tenant_id, [service_id])
        if not found:
            raise NotFound("service not found")
        return found[0]

    async def save_service(
        self,
        tenant_id: uuid.UUID,
        service_id: uuid.UUID | None,
        definition: ServiceDefinition,
        version: int,
        now: datetime,
    ) -> BookableService:
        self._changing()
        d = definition
        values = {
            "name": d.name,
            "description": d.description,
            "category": d.category,
            "colour": d.colour,
            "duration_minutes": _minutes(d.duration),
            "buffer_before_minutes": _minutes(d.buffer_before),
            "buffer_after_minutes": _minutes(d.buffer_after),
            "price_minor": d.price_minor,
            "currency": d.currency,
            "capacity": d.capacity,
            "bookable_online": d.bookable_online,
            "granularity_minutes": _minutes(d.rules.granularity) if d.rules else None,
            "min_notice_minutes": _minutes(d.rules.min_notice) if d.rules else None,
            "horizon_days": d.rules.horizon.days if d.rules else None,
        }
        try:
            async with self.session.begin_nested():
                if service_id is None:
                    service_id = new_id()
                    await self.session.execute(
                        insert(services).values(tenant_id=tenant_id, id=service_id, created_at=now, **values)
                    )
                else:
                    updated = await self.session.execute(
                        update(services)
                        .where(
                            services.c.tenant_id == tenant_id,
                            services.c.id == service_id,
                            services.c.archived.is_(False),
                            services.c.version == version,
                        )
                        .values(version=services.c.version + 1, **values)
                    )
                    if updated.rowcount != 1:  # type: ignore[attr-defined]
                        await self.service(tenant_id, service_id)  # 404 when it is not there at all
                        raise _stale("service")
                    for link in (service_staff, service_resources):
                        await self.session.execute(
                            delete(link).where(link.c.tenant_id == tenant_id, link.c.service_id == service_id)
                        )
                if d.staff_ids:
                    await self.session.execute(
                        insert(service_staff),
                        [{"tenant_id": tenant_id, "service_id": service_id, "staff_id": s} for s in d.staff_ids],
                    )
                if d.resource_ids:
                    await self.session.execute(
                        insert(service_resources),
                        [{"tenant_id": tenant_id, "service_id": service_id, "resource_id": r} for r in d.resource_ids],
                    )
        except IntegrityError as exc:
            name = constraint_of(exc)
            if name == "services_live_name":
                raise Conflict("a service with this name already exists", reason="SERVICE_NAME_TAKEN") from exc
            if name.startswith("service_staff"):
                raise InvalidArgument.single("staff_ids", "names a staff member without a schedule") from exc
            if name.startswith("service_resources"):
                raise InvalidArgument.single("resource_ids", "names an unknown resource") from exc
            raise
        return await self.service(tenant_id, service_id)

    async def archive_service(self, tenant_id: uuid.UUID, service_id: uuid.UUID) -> BookableService:
        self._changing()
        await self.session.execute(
            update(services)
            .where(services.c.tenant_id == tenant_id, services.c.id == service_id)
            .values(archived=True, version=services.c.version + 1)
        )
        return await self.service(tenant_id, service_id)

    # --- staff -------------------------------------------------------------------------------

    async def staff(
        self, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None, *, include_inactive: bool = True
    ) -> list[tuple[StaffSchedule, list[uuid.UUID]]]:
        query = select(staff_members).where(staff_members.c.tenant_id == tenant_id)
        if ids is not None:
            query = query.where(staff_members.c.staff_id.in_(ids))
        if not include_inactive:
            query = query.where(staff_members.c.active.is_(True))
        rows = (
            await self.session.execute(query.order_by(staff_members.c.display_name, staff_members.c.staff_id))
        ).all()
        services_of: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        if rows:
            for link in await self.session.execute(
                select(service_staff.c.staff_id, service_staff.c.service_id)
                .join(
                    services,
                    (services.c.tenant_id == service_staff.c.tenant_id) & (services.c.id == service_staff.c.service_id),
                )
                .where(
                    service_staff.c.tenant_id == tenant_id,
                    service_staff.c.staff_id.in_([r.staff_id for r in rows]),
                    services.c.archived.is_(False),
                )
                .order_by(service_staff.c.service_id)
            ):
                services_of[link.staff_id].append(link.service_id)
        return [
            (
                StaffSchedule(
                    r.staff_id, r.display_name, r.timezone, weekly_from_json(r.weekly_hours), r.active, r.version
                ),
                services_of[r.staff_id],
            )
            for r in rows
        ]

    async def staff_member(self, tenant_id: uuid.UUID, staff_id: uuid.UUID) -> tuple[StaffSchedule, list[uuid.UUID]]:
        found = await self.staff(tenant_id, [staff_id])
        if not found:
            raise NotFound("staff member has no schedule")
        return found[0]

    async def put_staff(self, tenant_id: uuid.UUID, schedule: StaffSchedule) -> tuple[StaffSchedule, list[uuid.UUID]]:
        self._changing()
        values = {
            "display_name": schedule.display_name,
            "timezone": schedule.timezone,
            "weekly_hours": weekly_to_json(schedule.weekly),
            "active": schedule.active,
        }
        if schedule.version == 0:
            saved = await self.session.scalar(
                pg_insert(staff_members)
                .values(tenant_id=tenant_id, staff_id=schedule.staff_id, version=1, **values)
                .on_conflict_do_nothing()
                .returning(staff_members.c.version)
            )
        else:
            saved = await self.session.scalar(
                update(staff_members)
                .where(
                    staff_members.c.tenant_id == tenant_id,
                    staff_members.c.staff_id == schedule.staff_id,
                    staff_members.c.version == schedule.version,
                )
                .values(version=staff_members.c.version + 1, **values)
                .returning(staff_members.c.version)
            )
        if saved is None:
            raise _stale("staff member's schedule")
        return await self.staff_member(tenant_id, schedule.staff_id)

    # --- exceptions --------------------------------------------------------------------------

    async def add_exception(self, tenant_id: uuid.UUID, definition: ExceptionDefinition) -> uuid.UUID:
        self._changing()
        exception_id = new_id()
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    insert(schedule_exceptions).values(
                        tenant_id=tenant_id,
                        id=exception_id,
                        staff_id=definition.staff_id,
                        day=definition.exception.day,
                        available=definition.exception.available,
                        ranges=ranges_to_json(definition.exception.ranges),
                        label=definition.label,
                    )
                )
        except IntegrityError as exc:
            if "schedule_exceptions_tenant_id_staff_id_fkey" in constraint_of(exc):
                raise NotFound("staff member has no schedule") from exc
            raise
        return exception_id

    async def remove_exception(self, tenant_id: uuid.UUID, exception_id: uuid.UUID) -> None:
        self._changing()
        removed = await self.session.execute(
            delete(schedule_exceptions).where(
                schedule_exceptions.c.tenant_id == tenant_id, schedule_exceptions.c.id == exception_id
            )
        )
        if removed.rowcount != 1:  # type: ignore[attr-defined]
            raise NotFound("schedule exception not found")

    async def exceptions(
        self, tenant_id: uuid.UUID, owners: Sequence[uuid.UUID | None], from_day: date, to_day: date
    ) -> list[tuple[uuid.UUID, uuid.UUID | None, ScheduleException, str]]:
        staff_ids = [o for o in owners if o is not None]
        owner_clause: ColumnElement[bool] = schedule_exceptions.c.staff_id.in_(staff_ids)
        if None in owners:
            owner_clause = owner_clause | schedule_exceptions.c.staff_id.is_(None)
        rows = await self.session.execute(
            select(schedule_exceptions)
            .where(
                schedule_exceptions.c.tenant_id == tenant_id,
                owner_clause,
                schedule_exceptions.c.day.between(from_day, to_day),
            )
            .order_by(schedule_exceptions.c.day, schedule_exceptions.c.id)
        )
        return [
            (r.id, r.staff_id, ScheduleException(r.day, r.available, ranges_from_json(r.ranges)), r.label) for r in rows
        ]

    # --- resources ---------------------------------------------------------------------------

    async def resources(self, tenant_id: uuid.UUID) -> list[Resource]:
        rows = await self.session.execute(
            select(resources).where(resources.c.tenant_id == tenant_id).order_by(func.lower(resources.c.name))
        )
        return [_resource(row) for row in rows]

    async def save_resource(
        self, tenant_id: uuid.UUID, resource_id: uuid.UUID | None, definition: ResourceDefinition, archived: bool
    ) -> Resource:
        self._changing()
        values = {
            "name": definition.name,
            "kind": definition.kind,
            "capacity": definition.capacity,
            "archived": archived,
        }
        try:
            async with self.session.begin_nested():
                if resource_id is None:
                    resource_id = new_id()
                    await self.session.execute(insert(resources).values(tenant_id=tenant_id, id=resource_id, **values))
                else:
                    updated = await self.session.execute(
                        update(resources)
                        .where(resources.c.tenant_id == tenant_id, resources.c.id == resource_id)
                        .values(**values)
                    )
                    if updated.rowcount != 1:  # type: ignore[attr-defined]
                        raise NotFound("resource not found")
        except IntegrityError as exc:
            if constraint_of(exc) == "resources_live_name":
                raise Conflict("a resource with this name already exists", reason="RESOURCE_NAME_TAKEN") from exc
            raise
        row = (
            await self.session.execute(
                select(resources).where(resources.c.tenant_id == tenant_id, resources.c.id == resource_id)
            )
        ).one()
        return _resource(row)

    async def ordered_services(self, tenant_id: uuid.UUID, service_ids: Sequence[uuid.UUID]) -> list[BookableService]:
        """The services, in the order asked (a booking's order); a missing one is a 404."""
        ordered = await self._cached(
            tenant_id, ("services", tuple(service_ids)), lambda: self._ordered_services(tenant_id, service_ids)
        )
        return list(ordered)

    async def _ordered_services(
        self, tenant_id: uuid.UUID, service_ids: Sequence[uuid.UUID]
    ) -> tuple[BookableService, ...]:
        found = {s.id: s for s in await self.services(tenant_id, service_ids)}
        missing = [str(s) for s in service_ids if s not in found]
        if missing:
            raise NotFound(f"service not found: {', '.join(missing)}")
        return tuple(found[s] for s in service_ids)

    # --- availability inputs -----------------------------------------------------------------

    async def availability_inputs(
        self,
        tenant_id: uuid.UUID,
        service_ids: Sequence[uuid.UUID],
        window_start: datetime,
        window_end: datetime,
        *,
        settings: SchedulingSettings | None = None,
    ) -> AvailabilityInputs:
        """Settings, the services, their qualified active staff with exceptions and busy time, the required
        resources with their busy units, and the business's hours: what is not a booking from the cache (or
        five queries), the bookings in one or two. Unless a service asked for is a group service, the staff's
        bookings carry their spans only (service_id and session_start None, one seat): nothing else is read
        of them for one-to-one services."""
        settings = settings or await self.settings(tenant_id)
        # Local days differ from UTC days by at most a day either way.
        from_day = (window_start - timedelta(days=1)).date()
        to_day = (window_end + timedelta(days=1)).date()
        static = await self._cached(
            tenant_id,
            ("inputs", tuple(service_ids), from_day, to_day),
            lambda: self._static_inputs(tenant_id, service_ids, from_day, to_day, settings),
        )
        span = (window_start - timedelta(days=1), window_end + timedelta(days=1))
        # The bookings, thousands of rows for a month: read on the driver, bounds split in SQL, so that no row
        # or range object is built per booking on the way.
        driver = await self._driver()
        busy_of: dict[uuid.UUID, Sequence[Busy]] = {}
        if static.staff:
            staff_ids = [staff_id for staff_id, _, _ in static.staff]
            if any(service.definition.capacity > 1 for service in static.services):
                for staff_id, *columns in await driver.fetch(STAFF_BUSY_WITH_SESSIONS, tenant_id, staff_ids, *span):
                    busy_of[staff_id] = BusyMicros(*columns)
            else:  # one-to-one services: a booking is its span (no session to join, one seat)
                for staff_id, starts, ends in await driver.fetch(STAFF_BUSY, tenant_id, staff_ids, *span):
                    busy_of[staff_id] = BusyMicros(starts, ends)
        resource_list: list[ResourceAvailability] = []
        if static.resources:
            taken: dict[uuid.UUID, list[Busy]] = defaultdict(list)
            for resource_id, start, end in await driver.fetch(
                _RESOURCE_BUSY, tenant_id, [r for r, _ in static.resources], *span
            ):
                taken[resource_id].append(Busy(start, end))
            resource_list = [ResourceAvailability(r, units, tuple(taken[r])) for r, units in static.resources]
        staff_availability = [
            StaffAvailability(staff_id=staff_id, schedule=hours, busy=busy_of.get(staff_id, ()), service_ids=performed)
            for staff_id, hours, performed in static.staff
        ]
        return AvailabilityInputs(settings, list(static.services), staff_availability, resource_list, static.business)

    async def _driver(self) -> asyncpg.Connection:
        """The asyncpg connection of this unit's transaction."""
        connection = await self.session.connection()
        driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
        return driver

    async def _static_inputs(
        self,
        tenant_id: uuid.UUID,
        service_ids: Sequence[uuid.UUID],
        from_day: date,
        to_day: date,
        settings: SchedulingSettings,
    ) -> _StaticInputs:
        ordered = await self._ordered_services(tenant_id, service_ids)
        staff_ids = sorted({sid for s in ordered for sid in s.definition.staff_ids})
        staff = [(schedule, svc) for schedule, svc in await self.staff(tenant_id, staff_ids) if schedule.active]
        exceptions_of: dict[uuid.UUID | None, list[ScheduleException]] = defaultdict(list)
        for _, owner, exception, _ in await self.exceptions(
            tenant_id, [*(s.staff_id for s, _ in staff), None], from_day, to_day
        ):
            exceptions_of[owner].append(exception)
        resource_ids = sorted({r for s in ordered for r in s.definition.resource_ids})
        resource_rows = (
            (
                await self.session.execute(
                    select(resources).where(resources.c.tenant_id == tenant_id, resources.c.id.in_(resource_ids))
                )
            ).all()
            if resource_ids
            else []
        )
        return _StaticInputs(
            services=ordered,
            staff=tuple(
                (
                    schedule.staff_id,
                    WeeklySchedule(schedule.timezone, dict(schedule.weekly), tuple(exceptions_of[schedule.staff_id])),
                    frozenset(performed),
                )
                for schedule, performed in staff
            ),
            resources=tuple((r.id, r.capacity if not r.archived else 0) for r in resource_rows),
            business=settings.business_schedule(exceptions_of[None]),
        )


NEVER_SAVED = 0


async def follow_business_zone(
    connection: AsyncSession | AsyncConnection, tenant_id: uuid.UUID, zone: str, at: datetime
) -> None:
    """Take the business's ``zone`` as of ``at``, unless a newer zone statement was taken already.

    Scheduling's zone follows the business profile's: one zone per business, set at sign-up and in the business
    profile, which every service reads the same way (scheduling for hours and slots, billing for its midnights,
    notification for its messages).

    A business whose settings were never saved gets a row of the default settings in its zone at version 0 ("never
    saved"), so its first save (version 0) still succeeds. Following a zone does not move the version: an editor's
    next save is not refused for it. ``zone_followed_at`` is the time of the newest zone statement taken (an event's,
    or a save's), so an older event delivered late never turns the zone back.
    """
    settings = scheduling_settings.c
    new_row = pg_insert(scheduling_settings).values(
        tenant_id=tenant_id,
        timezone=zone,
        granularity_minutes=_minutes(DEFAULT_RULES.granularity),
        min_notice_minutes=_minutes(DEFAULT_RULES.min_notice),
        horizon_days=DEFAULT_RULES.horizon.days,
        version=NEVER_SAVED,
        zone_followed_at=at,
    )
    await connection.execute(
        new_row.on_conflict_do_update(
            index_elements=[settings.tenant_id],
            set_={"timezone": zone, "zone_followed_at": at},
            where=or_(settings.zone_followed_at.is_(None), settings.zone_followed_at < at),
        )
    )


__all__ = ["DEFAULT_RULES", "AbstractCatalogueStore", "AvailabilityInputs", "CatalogueStore", "follow_business_zone"]
