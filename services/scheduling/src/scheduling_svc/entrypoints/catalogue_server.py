"""gRPC servicer of the catalogue: protobuf in, validated definitions to the store, protobuf out."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import grpc

from atrium.common.v1 import types_pb2
from atrium.scheduling.v1 import catalogue_pb2 as pb
from atrium.scheduling.v1 import catalogue_pb2_grpc as pb_grpc
from platform_core.errors import NotFound
from platform_core.grpc.context import current_context
from platform_core.grpc.values import record_id, require_staff
from scheduling_svc.domain import catalogue
from scheduling_svc.domain.availability import LocalRange
from scheduling_svc.domain.catalogue import BookableService, SchedulingSettings, StaffSchedule, clock_text
from scheduling_svc.service_layer.unit_of_work import SqlAlchemySchedulingUnitOfWork

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


def resource_message(row: Any) -> pb.Resource:
    return pb.Resource(
        id=str(row.id),
        definition=pb.ResourceInput(name=row.name, kind=row.kind, capacity=row.capacity),
        archived=row.archived,
    )


def _service_definition(message: pb.ServiceInput) -> catalogue.ServiceDefinition:
    rules = None
    if message.HasField("slot_rules"):
        r = message.slot_rules
        rules = (r.granularity_minutes, r.min_notice_minutes, r.horizon_days)
    return catalogue.check_service(
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
    # Edits the catalogue on the store itself; the use cases read it through AbstractCatalogueStore.
    def __init__(self, *, uow_factory: Callable[[], SqlAlchemySchedulingUnitOfWork]) -> None:
        self._uow_factory = uow_factory

    async def GetSchedulingSettings(
        self, request: pb.GetSchedulingSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SchedulingSettings:
        tenant_id = current_context().tenant_id
        async with self._uow_factory() as uow:
            return settings_message(await uow.catalogue.settings(tenant_id))

    async def UpdateSchedulingSettings(
        self, request: pb.SchedulingSettings, context: grpc.aio.ServicerContext
    ) -> pb.SchedulingSettings:
        tenant_id = require_staff().tenant_id
        settings = catalogue.check_settings(
            timezone=request.timezone,
            granularity_minutes=request.slot_rules.granularity_minutes,
            min_notice_minutes=request.slot_rules.min_notice_minutes,
            horizon_days=request.slot_rules.horizon_days,
            business_hours=_weekly_input(request.business_hours),
            cancellation_notice_minutes=request.cancellation_notice_minutes,
            max_active_bookings_per_client=request.max_active_bookings_per_client,
            follow_up_actions=list(request.follow_up_actions),
            version=request.version,
        )
        async with self._uow_factory() as uow:
            saved = await uow.catalogue.save_settings(tenant_id, settings)
            await uow.commit()
            return settings_message(saved)

    async def CreateService(self, request: pb.ServiceInput, context: grpc.aio.ServicerContext) -> pb.Service:
        tenant_id = require_staff().tenant_id
        definition = _service_definition(request)
        async with self._uow_factory() as uow:
            service = await uow.catalogue.save_service(tenant_id, None, definition, 0, datetime.now(UTC))
            await uow.commit()
            return service_message(service)

    async def UpdateService(self, request: pb.UpdateServiceRequest, context: grpc.aio.ServicerContext) -> pb.Service:
        tenant_id = require_staff().tenant_id
        service_id = record_id(request.service_id, "service")
        definition = _service_definition(request.definition)
        async with self._uow_factory() as uow:
            service = await uow.catalogue.save_service(
                tenant_id, service_id, definition, request.version, datetime.now(UTC)
            )
            await uow.commit()
            return service_message(service)

    async def ArchiveService(self, request: pb.ArchiveServiceRequest, context: grpc.aio.ServicerContext) -> pb.Service:
        tenant_id = require_staff().tenant_id
        service_id = record_id(request.service_id, "service")
        async with self._uow_factory() as uow:
            service = await uow.catalogue.archive_service(tenant_id, service_id)
            await uow.commit()
            return service_message(service)

    async def GetService(self, request: pb.GetServiceRequest, context: grpc.aio.ServicerContext) -> pb.Service:
        call = current_context()
        service_id = record_id(request.service_id, "service")
        async with self._uow_factory() as uow:
            service = await uow.catalogue.service(call.tenant_id, service_id)
        if call.principal.is_portal and (service.archived or not service.definition.bookable_online):
            raise NotFound("service not found")
        return service_message(service)

    async def ListServices(
        self, request: pb.ListServicesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListServicesResponse:
        call = current_context()
        online_only = request.bookable_online_only or call.principal.is_portal
        async with self._uow_factory() as uow:
            found = await uow.catalogue.services(
                call.tenant_id, include_archived=request.include_archived and not call.principal.is_portal
            )
        if online_only:
            found = [s for s in found if s.definition.bookable_online]
        return pb.ListServicesResponse(services=[service_message(s) for s in found])

    async def PutStaffMember(self, request: pb.StaffMember, context: grpc.aio.ServicerContext) -> pb.StaffMember:
        tenant_id = require_staff().tenant_id
        schedule = catalogue.check_staff_member(
            staff_id=request.staff_id,
            display_name=request.display_name,
            timezone=request.timezone,
            weekly=_weekly_input(request.weekly_hours),
            active=request.active,
            version=request.version,
        )
        async with self._uow_factory() as uow:
            saved, services = await uow.catalogue.put_staff(tenant_id, schedule)
            await uow.commit()
            return staff_message(saved, services)

    async def GetStaffMember(
        self, request: pb.GetStaffMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.StaffMember:
        tenant_id = current_context().tenant_id
        staff_id = record_id(request.staff_id, "staff member")
        async with self._uow_factory() as uow:
            schedule, services = await uow.catalogue.staff_member(tenant_id, staff_id)
        return staff_message(schedule, services)

    async def ListStaffMembers(
        self, request: pb.ListStaffMembersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStaffMembersResponse:
        tenant_id = current_context().tenant_id
        async with self._uow_factory() as uow:
            found = await uow.catalogue.staff(tenant_id, include_inactive=request.include_inactive)
        return pb.ListStaffMembersResponse(staff=[staff_message(s, services) for s, services in found])

    async def AddScheduleException(
        self, request: pb.ScheduleException, context: grpc.aio.ServicerContext
    ) -> pb.ScheduleException:
        tenant_id = require_staff().tenant_id
        definition = catalogue.check_exception(
            staff_id=request.staff_id,
            day=request.day,
            available=request.available,
            ranges=[(r.start, r.end) for r in request.ranges],
            label=request.label,
        )
        async with self._uow_factory() as uow:
            exception_id = await uow.catalogue.add_exception(tenant_id, definition)
            await uow.commit()
        return pb.ScheduleException(
            id=str(exception_id),
            staff_id=str(definition.staff_id or ""),
            day=definition.exception.day.isoformat(),
            available=definition.exception.available,
            ranges=_ranges_message(definition.exception.ranges),
            label=definition.label,
        )

    async def RemoveScheduleException(
        self, request: pb.RemoveScheduleExceptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveScheduleExceptionResponse:
        tenant_id = require_staff().tenant_id
        exception_id = record_id(request.exception_id, "schedule exception")
        async with self._uow_factory() as uow:
            await uow.catalogue.remove_exception(tenant_id, exception_id)
            await uow.commit()
        return pb.RemoveScheduleExceptionResponse()

    async def ListScheduleExceptions(
        self, request: pb.ListScheduleExceptionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListScheduleExceptionsResponse:
        tenant_id = require_staff().tenant_id
        checked = catalogue.Checked()
        from_day = checked.day(request.from_day, "from_day") if request.from_day else date.min
        to_day = checked.day(request.to_day, "to_day") if request.to_day else date.max
        owners: list[uuid.UUID | None] = []
        if request.staff_id:
            owners.append(checked.identifier(request.staff_id, "staff_id"))
        if request.business or not request.staff_id:
            owners.append(None)
        checked.raise_if_any()
        async with self._uow_factory() as uow:
            found = await uow.catalogue.exceptions(tenant_id, owners, from_day or date.min, to_day or date.max)
        return pb.ListScheduleExceptionsResponse(
            exceptions=[
                pb.ScheduleException(
                    id=str(exception_id),
                    staff_id=str(staff_id or ""),
                    day=exception.day.isoformat(),
                    available=exception.available,
                    ranges=_ranges_message(exception.ranges),
                    label=label,
                )
                for exception_id, staff_id, exception, label in found
            ]
        )

    async def CreateResource(self, request: pb.ResourceInput, context: grpc.aio.ServicerContext) -> pb.Resource:
        tenant_id = require_staff().tenant_id
        definition = catalogue.check_resource(name=request.name, kind=request.kind, capacity=request.capacity or 1)
        async with self._uow_factory() as uow:
            row = await uow.catalogue.save_resource(tenant_id, None, definition, archived=False)
            await uow.commit()
            return resource_message(row)

    async def UpdateResource(self, request: pb.UpdateResourceRequest, context: grpc.aio.ServicerContext) -> pb.Resource:
        tenant_id = require_staff().tenant_id
        resource_id = record_id(request.resource_id, "resource")
        d = request.definition
        definition = catalogue.check_resource(name=d.name, kind=d.kind, capacity=d.capacity or 1)
        async with self._uow_factory() as uow:
            row = await uow.catalogue.save_resource(tenant_id, resource_id, definition, archived=request.archived)
            await uow.commit()
            return resource_message(row)

    async def ListResources(
        self, request: pb.ListResourcesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListResourcesResponse:
        tenant_id = require_staff().tenant_id
        async with self._uow_factory() as uow:
            rows = await uow.catalogue.resources(tenant_id)
        return pb.ListResourcesResponse(resources=[resource_message(r) for r in rows])
