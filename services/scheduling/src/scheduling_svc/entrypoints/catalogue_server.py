"""gRPC servicer of the catalogue: protobuf in, commands to the catalogue's use cases, protobuf out."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import grpc

from atrium.common.v1 import types_pb2
from atrium.scheduling.v1 import catalogue_pb2 as pb
from atrium.scheduling.v1 import catalogue_pb2_grpc as pb_grpc
from platform_core.grpc.context import current_context
from platform_core.grpc.values import record_id, require_staff
from scheduling_svc.domain import commands_catalogue as commands
from scheduling_svc.domain.availability import LocalRange, ScheduleException
from scheduling_svc.domain.catalogue import (
    BookableService,
    Checked,
    Resource,
    SchedulingSettings,
    StaffSchedule,
    clock_text,
)
from scheduling_svc.service_layer import catalogue_handlers
from scheduling_svc.service_layer.unit_of_work import SchedulingUnitOfWork

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CatalogueService"].full_name


def _ranges_message(ranges: Sequence[LocalRange]) -> list[pb.TimeRange]:
    return [pb.TimeRange(start=clock_text(r.start), end=clock_text(r.end, end=True)) for r in ranges]


def _weekly_message(weekly: dict[int, tuple[LocalRange, ...]]) -> list[pb.DayHours]:
    return [pb.DayHours(weekday=day, ranges=_ranges_message(ranges)) for day, ranges in sorted(weekly.items())]


def _weekly_input(days: Sequence[pb.DayHours]) -> list[tuple[int, list[tuple[str, str]]]]:
    return [(day.weekday, [(r.start, r.end) for r in day.ranges]) for day in days]


def _minutes(value: Any) -> int:
    return int(value.total_seconds() // 60)


def settings_message(settings: SchedulingSettings) -> pb.SchedulingSettings:
    return pb.SchedulingSettings(
        timezone=settings.timezone,
        slot_rules=pb.SlotRules(
            granularity_minutes=_minutes(settings.rules.granularity),
            min_notice_minutes=_minutes(settings.rules.min_notice),
            horizon_days=settings.rules.horizon.days,
        ),
        business_hours=_weekly_message(settings.business_hours),
        cancellation_notice_minutes=_minutes(settings.cancellation_notice),
        max_active_bookings_per_client=settings.max_active_bookings_per_client,
        version=settings.version,
        follow_up_actions=list(settings.follow_up_actions),
    )


def service_message(service: BookableService) -> pb.Service:
    d = service.definition
    definition = pb.ServiceInput(
        name=d.name,
        description=d.description,
        duration_minutes=_minutes(d.duration),
        buffer_before_minutes=_minutes(d.buffer_before),
        buffer_after_minutes=_minutes(d.buffer_after),
        price=types_pb2.Money(amount_minor=d.price_minor, currency=d.currency),
        capacity=d.capacity,
        bookable_online=d.bookable_online,
        staff_ids=[str(s) for s in d.staff_ids],
        resource_ids=[str(r) for r in d.resource_ids],
        category=d.category,
        colour=d.colour,
    )
    if d.rules is not None:
        definition.slot_rules.CopyFrom(
            pb.SlotRules(
                granularity_minutes=_minutes(d.rules.granularity),
                min_notice_minutes=_minutes(d.rules.min_notice),
                horizon_days=d.rules.horizon.days,
            )
        )
    return pb.Service(id=str(service.id), definition=definition, archived=service.archived, version=service.version)


def staff_message(schedule: StaffSchedule, service_ids: Sequence[uuid.UUID]) -> pb.StaffMember:
    return pb.StaffMember(
        staff_id=str(schedule.staff_id),
        display_name=schedule.display_name,
        timezone=schedule.timezone,
        weekly_hours=_weekly_message(schedule.weekly),
        service_ids=[str(s) for s in service_ids],
        active=schedule.active,
        version=schedule.version,
    )


def resource_message(resource: Resource) -> pb.Resource:
    return pb.Resource(
        id=str(resource.id),
        definition=pb.ResourceInput(name=resource.name, kind=resource.kind, capacity=resource.capacity),
        archived=resource.archived,
    )


def _exception_message(
    exception_id: uuid.UUID, staff_id: uuid.UUID | None, exception: ScheduleException, label: str
) -> pb.ScheduleException:
    return pb.ScheduleException(
        id=str(exception_id),
        staff_id=str(staff_id or ""),
        day=exception.day.isoformat(),
        available=exception.available,
        ranges=_ranges_message(exception.ranges),
        label=label,
    )


def _service_input(message: pb.ServiceInput) -> commands.ServiceInput:
    rules = None
    if message.HasField("slot_rules"):
        r = message.slot_rules
        rules = (r.granularity_minutes, r.min_notice_minutes, r.horizon_days)
    return commands.ServiceInput(
        name=message.name,
        description=message.description,
        duration_minutes=message.duration_minutes,
        buffer_before_minutes=message.buffer_before_minutes,
        buffer_after_minutes=message.buffer_after_minutes,
        price_minor=message.price.amount_minor,
        currency=message.price.currency,
        capacity=message.capacity or 1,
        bookable_online=message.bookable_online,
        staff_ids=list(message.staff_ids),
        resource_ids=list(message.resource_ids),
        category=message.category,
        colour=message.colour,
        rules=rules,
    )


class CatalogueServicer(pb_grpc.CatalogueServiceServicer):
    def __init__(self, *, uow_factory: Callable[[], SchedulingUnitOfWork]) -> None:
        self._uow_factory = uow_factory

    async def GetSchedulingSettings(
        self, request: pb.GetSchedulingSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SchedulingSettings:
        settings = await catalogue_handlers.get_scheduling_settings(
            commands.GetSchedulingSettings(current_context().tenant_id), self._uow_factory()
        )
        return settings_message(settings)

    async def UpdateSchedulingSettings(
        self, request: pb.SchedulingSettings, context: grpc.aio.ServicerContext
    ) -> pb.SchedulingSettings:
        saved = await catalogue_handlers.update_scheduling_settings(
            commands.UpdateSchedulingSettings(
                tenant_id=require_staff().tenant_id,
                timezone=request.timezone,
                granularity_minutes=request.slot_rules.granularity_minutes,
                min_notice_minutes=request.slot_rules.min_notice_minutes,
                horizon_days=request.slot_rules.horizon_days,
                business_hours=_weekly_input(request.business_hours),
                cancellation_notice_minutes=request.cancellation_notice_minutes,
                max_active_bookings_per_client=request.max_active_bookings_per_client,
                follow_up_actions=list(request.follow_up_actions),
                version=request.version,
            ),
            self._uow_factory(),
        )
        return settings_message(saved)

    async def CreateService(self, request: pb.ServiceInput, context: grpc.aio.ServicerContext) -> pb.Service:
        service = await catalogue_handlers.create_service(
            commands.CreateService(require_staff().tenant_id, _service_input(request), datetime.now(UTC)),
            self._uow_factory(),
        )
        return service_message(service)

    async def UpdateService(self, request: pb.UpdateServiceRequest, context: grpc.aio.ServicerContext) -> pb.Service:
        tenant_id = require_staff().tenant_id
        service_id = record_id(request.service_id, "service")
        service = await catalogue_handlers.update_service(
            commands.UpdateService(
                tenant_id, service_id, _service_input(request.definition), request.version, datetime.now(UTC)
            ),
            self._uow_factory(),
        )
        return service_message(service)

    async def ArchiveService(self, request: pb.ArchiveServiceRequest, context: grpc.aio.ServicerContext) -> pb.Service:
        tenant_id = require_staff().tenant_id
        service_id = record_id(request.service_id, "service")
        service = await catalogue_handlers.archive_service(
            commands.ArchiveService(tenant_id, service_id), self._uow_factory()
        )
        return service_message(service)

    async def GetService(self, request: pb.GetServiceRequest, context: grpc.aio.ServicerContext) -> pb.Service:
        call = current_context()
        service_id = record_id(request.service_id, "service")
        service = await catalogue_handlers.get_service(
            commands.GetService(call.tenant_id, service_id, for_client=call.principal.is_portal), self._uow_factory()
        )
        return service_message(service)

    async def ListServices(
        self, request: pb.ListServicesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListServicesResponse:
        call = current_context()
        found = await catalogue_handlers.list_services(
            commands.ListServices(
                call.tenant_id,
                include_archived=request.include_archived,
                bookable_online_only=request.bookable_online_only,
                for_client=call.principal.is_portal,
            ),
            self._uow_factory(),
        )
        return pb.ListServicesResponse(services=[service_message(s) for s in found])

    async def PutStaffMember(self, request: pb.StaffMember, context: grpc.aio.ServicerContext) -> pb.StaffMember:
        saved, services = await catalogue_handlers.put_staff_member(
            commands.PutStaffMember(
                tenant_id=require_staff().tenant_id,
                staff_id=request.staff_id,
                display_name=request.display_name,
                timezone=request.timezone,
                weekly=_weekly_input(request.weekly_hours),
                active=request.active,
                version=request.version,
            ),
            self._uow_factory(),
        )
        return staff_message(saved, services)

    async def GetStaffMember(
        self, request: pb.GetStaffMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.StaffMember:
        tenant_id = current_context().tenant_id
        staff_id = record_id(request.staff_id, "staff member")
        schedule, services = await catalogue_handlers.get_staff_member(
            commands.GetStaffMember(tenant_id, staff_id), self._uow_factory()
        )
        return staff_message(schedule, services)

    async def ListStaffMembers(
        self, request: pb.ListStaffMembersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStaffMembersResponse:
        found = await catalogue_handlers.list_staff_members(
            commands.ListStaffMembers(current_context().tenant_id, request.include_inactive), self._uow_factory()
        )
        return pb.ListStaffMembersResponse(staff=[staff_message(s, services) for s, services in found])

    async def AddScheduleException(
        self, request: pb.ScheduleException, context: grpc.aio.ServicerContext
    ) -> pb.ScheduleException:
        exception_id, definition = await catalogue_handlers.add_schedule_exception(
            commands.AddScheduleException(
                tenant_id=require_staff().tenant_id,
                staff_id=request.staff_id,
                day=request.day,
                available=request.available,
                ranges=[(r.start, r.end) for r in request.ranges],
                label=request.label,
            ),
            self._uow_factory(),
        )
        return _exception_message(exception_id, definition.staff_id, definition.exception, definition.label)

    async def RemoveScheduleException(
        self, request: pb.RemoveScheduleExceptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveScheduleExceptionResponse:
        tenant_id = require_staff().tenant_id
        exception_id = record_id(request.exception_id, "schedule exception")
        await catalogue_handlers.remove_schedule_exception(
            commands.RemoveScheduleException(tenant_id, exception_id), self._uow_factory()
        )
        return pb.RemoveScheduleExceptionResponse()

    async def ListScheduleExceptions(
        self, request: pb.ListScheduleExceptionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListScheduleExceptionsResponse:
        tenant_id = require_staff().tenant_id
        checked = Checked()
        from_day = checked.day(request.from_day, "from_day") if request.from_day else date.min
        to_day = checked.day(request.to_day, "to_day") if request.to_day else date.max
        owners: list[uuid.UUID | None] = []
        if request.staff_id:
            owners.append(checked.identifier(request.staff_id, "staff_id"))
        if request.business or not request.staff_id:
            owners.append(None)
        checked.raise_if_any()
        found = await catalogue_handlers.list_schedule_exceptions(
            commands.ListScheduleExceptions(tenant_id, owners, from_day or date.min, to_day or date.max),
            self._uow_factory(),
        )
        return pb.ListScheduleExceptionsResponse(exceptions=[_exception_message(*found_one) for found_one in found])

    async def CreateResource(self, request: pb.ResourceInput, context: grpc.aio.ServicerContext) -> pb.Resource:
        resource = await catalogue_handlers.create_resource(
            commands.CreateResource(require_staff().tenant_id, request.name, request.kind, request.capacity or 1),
            self._uow_factory(),
        )
        return resource_message(resource)

    async def UpdateResource(self, request: pb.UpdateResourceRequest, context: grpc.aio.ServicerContext) -> pb.Resource:
        tenant_id = require_staff().tenant_id
        resource_id = record_id(request.resource_id, "resource")
        d = request.definition
        resource = await catalogue_handlers.update_resource(
            commands.UpdateResource(tenant_id, resource_id, d.name, d.kind, d.capacity or 1, request.archived),
            self._uow_factory(),
        )
        return resource_message(resource)

    async def ListResources(
        self, request: pb.ListResourcesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListResourcesResponse:
        tenant_id = require_staff().tenant_id
        found = await catalogue_handlers.list_resources(commands.ListResources(tenant_id), self._uow_factory())
        return pb.ListResourcesResponse(resources=[resource_message(r) for r in found])
