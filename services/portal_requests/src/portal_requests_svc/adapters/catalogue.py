"""Scheduling's catalogue, as this service asks it: the services that can be requested (and who performs them),
the staff members' names clients see, and the business's zone and booking limit.

Each call carries the caller's tenant and principal (the channel's interceptor copies them).
"""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass

import grpc

from atrium.scheduling.v1 import catalogue_pb2 as catalogue_pb
from atrium.scheduling.v1.catalogue_pb2_grpc import CatalogueServiceStub
from platform_core import errors
from portal_requests_svc.adapters.grpc_errors import domain_error
from portal_requests_svc.domain.requests import ServiceTerms, Technician


@dataclass(frozen=True)
class OfferedService:
    service_id: uuid.UUID
    bookable_online: bool
    staff_ids: frozenset[uuid.UUID]
    name: str = ""
    duration_minutes: int = 0

    @property
    def terms(self) -> ServiceTerms:
        return ServiceTerms(self.service_id, self.name, self.duration_minutes)


@dataclass(frozen=True)
class BusinessTerms:
    """What the business's scheduling settings say about requests."""

    timezone: str
    # Upcoming bookings (and pending requests) one client may hold; 0: no limit.
    max_active_bookings_per_client: int = 0


class AbstractCatalogue(abc.ABC):
    @abc.abstractmethod
    async def service(self, service_id: uuid.UUID) -> OfferedService | None:
        """The service, or None when the caller's tenant offers no such (unarchived) service."""

    @abc.abstractmethod
    async def business_terms(self) -> BusinessTerms:
        """The business's zone and booking limit."""

    @abc.abstractmethod
    async def staff_member(self, staff_id: uuid.UUID) -> Technician | None:
        """The staff member (with the name clients see), or None when the business has no such one."""


class GrpcCatalogue(AbstractCatalogue):
    def __init__(self, stub: CatalogueServiceStub) -> None:
        self._stub = stub

    async def service(self, service_id: uuid.UUID) -> OfferedService | None:
        try:
            found = await self._stub.GetService(catalogue_pb.GetServiceRequest(service_id=str(service_id)))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise errors.Unavailable(f"the scheduling service could not be asked ({exc.code().name})") from exc
        if found.archived:
            return None
        return OfferedService(
            service_id=uuid.UUID(found.id),
            bookable_online=found.definition.bookable_online,
            staff_ids=frozenset(uuid.UUID(s) for s in found.definition.staff_ids),
            name=found.definition.name,
            duration_minutes=found.definition.duration_minutes,
        )

    async def staff_member(self, staff_id: uuid.UUID) -> Technician | None:
        try:
            found = await self._stub.GetStaffMember(catalogue_pb.GetStaffMemberRequest(staff_id=str(staff_id)))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise errors.Unavailable(f"the scheduling service could not be asked ({exc.code().name})") from exc
        return Technician(staff_id, found.display_name)

    async def business_terms(self) -> BusinessTerms:
        try:
            settings = await self._stub.GetSchedulingSettings(catalogue_pb.GetSchedulingSettingsRequest())
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "scheduling") from exc
        return BusinessTerms(settings.timezone, settings.max_active_bookings_per_client)
