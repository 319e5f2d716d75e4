"""Use cases of the catalogue: the business's scheduling settings, services, staff schedules, schedule
exceptions and resources. Each change is checked against the catalogue's rules first (every broken field at
once), then written in one unit of work; the store refuses stale versions and taken names."""

from __future__ import annotations

import uuid

from platform_core.errors import NotFound
from scheduling_svc.domain import catalogue
from scheduling_svc.domain import commands_catalogue as commands
from scheduling_svc.domain.availability import ScheduleException
from scheduling_svc.domain.catalogue import (
    BookableService,
    ExceptionDefinition,
    Resource,
    SchedulingSettings,
    StaffSchedule,
)
from scheduling_svc.service_layer.unit_of_work import SchedulingUnitOfWork

StaffMember = tuple[StaffSchedule, list[uuid.UUID]]  # a schedule and the services its staff member performs


def _service_definition(given: commands.ServiceInput) -> catalogue.ServiceDefinition:
    return catalogue.check_service(
        name=given.name,
        description=given.description,
        duration_minutes=given.duration_minutes,
        buffer_before_minutes=given.buffer_before_minutes,
        buffer_after_minutes=given.buffer_after_minutes,
        price_minor=given.price_minor,
        currency=given.currency,
        capacity=given.capacity,
        bookable_online=given.bookable_online,
        staff_ids=list(given.staff_ids),
        resource_ids=list(given.resource_ids),
        category=given.category,
        colour=given.colour,
        rules=given.rules,
    )


# --- settings ------------------------------------------------------------------------------------


async def get_scheduling_settings(cmd: commands.GetSchedulingSettings, uow: SchedulingUnitOfWork) -> SchedulingSettings:
    async with uow:
        return await uow.catalogue.settings(cmd.tenant_id)


async def update_scheduling_settings(
    cmd: commands.UpdateSchedulingSettings, uow: SchedulingUnitOfWork
) -> SchedulingSettings:
    settings = catalogue.check_settings(
        timezone=cmd.timezone,
        granularity_minutes=cmd.granularity_minutes,
        min_notice_minutes=cmd.min_notice_minutes,
        horizon_days=cmd.horizon_days,
        business_hours=cmd.business_hours,
        cancellation_notice_minutes=cmd.cancellation_notice_minutes,
        max_active_bookings_per_client=cmd.max_active_bookings_per_client,
        follow_up_actions=list(cmd.follow_up_actions),
        version=cmd.version,
    )
    async with uow:
        saved = await uow.catalogue.save_settings(cmd.tenant_id, settings)
        await uow.commit()
        return saved


# --- services ------------------------------------------------------------------------------------


async def create_service(cmd: commands.CreateService, uow: SchedulingUnitOfWork) -> BookableService:
    definition = _service_definition(cmd.definition)
    async with uow:
        service = await uow.catalogue.save_service(cmd.tenant_id, None, definition, 0, cmd.now)
        await uow.commit()
        return service


async def update_service(cmd: commands.UpdateService, uow: SchedulingUnitOfWork) -> BookableService:
    definition = _service_definition(cmd.definition)
    async with uow:
        service = await uow.catalogue.save_service(cmd.tenant_id, cmd.service_id, definition, cmd.version, cmd.now)
        await uow.commit()
        return service


async def archive_service(cmd: commands.ArchiveService, uow: SchedulingUnitOfWork) -> BookableService:
    async with uow:
        service = await uow.catalogue.archive_service(cmd.tenant_id, cmd.service_id)
        await uow.commit()
        return service


async def get_service(cmd: commands.GetService, uow: SchedulingUnitOfWork) -> BookableService:
    async with uow:
        service = await uow.catalogue.service(cmd.tenant_id, cmd.service_id)
    if cmd.for_client and (service.archived or not service.definition.bookable_online):
        raise NotFound("service not found")
    return service


async def list_services(cmd: commands.ListServices, uow: SchedulingUnitOfWork) -> list[BookableService]:
    async with uow:
        found = await uow.catalogue.services(
            cmd.tenant_id, include_archived=cmd.include_archived and not cmd.for_client
        )
    if cmd.bookable_online_only or cmd.for_client:
        found = [s for s in found if s.definition.bookable_online]
    return found


# --- staff ---------------------------------------------------------------------------------------


async def put_staff_member(cmd: commands.PutStaffMember, uow: SchedulingUnitOfWork) -> StaffMember:
    schedule = catalogue.check_staff_member(
        staff_id=cmd.staff_id,
        display_name=cmd.display_name,
        timezone=cmd.timezone,
        weekly=cmd.weekly,
        active=cmd.active,
        version=cmd.version,
    )
    async with uow:
        saved = await uow.catalogue.put_staff(cmd.tenant_id, schedule)
        await uow.commit()
        return saved


async def get_staff_member(cmd: commands.GetStaffMember, uow: SchedulingUnitOfWork) -> StaffMember:
    async with uow:
        return await uow.catalogue.staff_member(cmd.tenant_id, cmd.staff_id)


async def list_staff_members(cmd: commands.ListStaffMembers, uow: SchedulingUnitOfWork) -> list[StaffMember]:
    async with uow:
        return await uow.catalogue.staff(cmd.tenant_id, include_inactive=cmd.include_inactive)


# --- schedule exceptions -------------------------------------------------------------------------


async def add_schedule_exception(
    cmd: commands.AddScheduleException, uow: SchedulingUnitOfWork
) -> tuple[uuid.UUID, ExceptionDefinition]:
    definition = catalogue.check_exception(
        staff_id=cmd.staff_id, day=cmd.day, available=cmd.available, ranges=list(cmd.ranges), label=cmd.label
    )
    async with uow:
        exception_id = await uow.catalogue.add_exception(cmd.tenant_id, definition)
        await uow.commit()
    return exception_id, definition


async def remove_schedule_exception(cmd: commands.RemoveScheduleException, uow: SchedulingUnitOfWork) -> None:
    async with uow:
        await uow.catalogue.remove_exception(cmd.tenant_id, cmd.exception_id)
        await uow.commit()


async def list_schedule_exceptions(
    cmd: commands.ListScheduleExceptions, uow: SchedulingUnitOfWork
) -> list[tuple[uuid.UUID, uuid.UUID | None, ScheduleException, str]]:
    async with uow:
        return await uow.catalogue.exceptions(cmd.tenant_id, cmd.owners, cmd.from_day, cmd.to_day)


# --- resources -----------------------------------------------------------------------------------


async def create_resource(cmd: commands.CreateResource, uow: SchedulingUnitOfWork) -> Resource:
    definition = catalogue.check_resource(name=cmd.name, kind=cmd.kind, capacity=cmd.capacity)
    async with uow:
        resource = await uow.catalogue.save_resource(cmd.tenant_id, None, definition, archived=False)
        await uow.commit()
        return resource


async def update_resource(cmd: commands.UpdateResource, uow: SchedulingUnitOfWork) -> Resource:
    definition = catalogue.check_resource(name=cmd.name, kind=cmd.kind, capacity=cmd.capacity)
    async with uow:
        resource = await uow.catalogue.save_resource(cmd.tenant_id, cmd.resource_id, definition, archived=cmd.archived)
        await uow.commit()
        return resource


async def list_resources(cmd: commands.ListResources, uow: SchedulingUnitOfWork) -> list[Resource]:
    async with uow:
        return await uow.catalogue.resources(cmd.tenant_id)
