"""Whether a time a visitor picked is one the business offers online now: scheduling's availability for
that service (its slot rules, working hours and bookings), asked for the picked day alone."""

from __future__ import annotations

import abc
import uuid
from datetime import UTC, datetime

import grpc

from atrium.scheduling.v1 import appointments_pb2 as appointments_pb
from atrium.scheduling.v1.appointments_pb2_grpc import AppointmentServiceStub
from platform_core.grpc.values import aware
from portal_requests_svc.adapters.grpc_errors import domain_error


class AbstractSlotFinder(abc.ABC):
    @abc.abstractmethod
    async def is_offered(self, service_id: uuid.UUID, staff_id: uuid.UUID | None, start: datetime) -> bool:
        """Whether ``start`` is a free online slot of the service (with that staff member, when named)."""


class GrpcSlotFinder(AbstractSlotFinder):
    def __init__(self, stub: AppointmentServiceStub) -> None:
        self._stub = stub

    async def is_offered(self, service_id: uuid.UUID, staff_id: uuid.UUID | None, start: datetime) -> bool:
        day = start.astimezone(UTC).date().isoformat()
        try:
            found = await self._stub.FindAvailableSlots(
                appointments_pb.FindAvailableSlotsRequest(
                    service_ids=[str(service_id)],
                    from_day=day,
                    to_day=day,
                    staff_ids=[str(staff_id)] if staff_id else [],
                    timezone="UTC",
                    online=True,
                )
            )
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "scheduling") from exc
        return any(aware(slot.start) == start for slot in found.slots)
