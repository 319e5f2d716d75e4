"""gRPC servicer of tentative holds. A portal principal holds and releases for its own client only (another
client's hold looks missing); staff and services for any client; only staff list them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.scheduling.v1 import holds_pb2 as pb
from atrium.scheduling.v1 import holds_pb2_grpc as pb_grpc
from platform_core.errors import NotFound
from platform_core.grpc.context import current_context
from platform_core.grpc.values import aware, record_id, reference_id, require_staff, timestamp
from platform_core.ids import parse_uuid
from scheduling_svc import views
from scheduling_svc.domain import commands
from scheduling_svc.domain.catalogue import Checked
from scheduling_svc.domain.holds import SlotHold
from scheduling_svc.service_layer import hold_handlers
from scheduling_svc.service_layer.unit_of_work import SchedulingUnitOfWork

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SlotHoldService"].full_name


def hold_message(hold: SlotHold) -> pb.SlotHold:
    return pb.SlotHold(
        hold_id=str(hold.id),
        client_id=str(hold.client_id),
        service_id=str(hold.service_id),
        staff_id=str(hold.staff_id),
        start=timestamp(hold.start),
        end=timestamp(hold.end),
        label=hold.label,
        created_at=timestamp(hold.created_at),
    )


def _own_client() -> uuid.UUID | None:
    principal = current_context().principal
    if not principal.is_portal:
        return None
    client_id = parse_uuid(principal.client_id)
    if client_id is None:
        raise NotFound("hold not found")
    return client_id


class SlotHoldServicer(pb_grpc.SlotHoldServiceServicer):
    def __init__(self, *, uow_factory: Callable[[], SchedulingUnitOfWork], engine: AsyncEngine) -> None:
        self._uow_factory = uow_factory
        self._engine = engine

    async def HoldSlot(self, request: pb.HoldSlotRequest, context: grpc.aio.ServicerContext) -> pb.SlotHold:
        call = current_context()
        own = _own_client()
        checked = Checked()
        hold_id = checked.identifier(request.hold_id, "hold_id")
        service_id = checked.identifier(request.service_id, "service_id")
        staff_id = checked.identifier(request.staff_id, "staff_id") if request.staff_id else None
        if not request.HasField("start"):
            checked.add("start", "is required")
        checked.raise_if_any()
        assert hold_id is not None and service_id is not None
        client_id = own if own is not None else reference_id(request.client_id, "client_id", "client")
        if own is not None and request.client_id and request.client_id != str(own):
            raise NotFound("client not found")
        hold = await hold_handlers.hold_slot(
            commands.HoldSlot(
                tenant_id=call.tenant_id,
                hold_id=hold_id,
                client_id=client_id,
                service_id=service_id,
                staff_id=staff_id,
                start=aware(request.start),
                label=request.label,
                online=own is not None,
                now=datetime.now(UTC),
            ),
            self._uow_factory(),
        )
        return hold_message(hold)

    async def ReleaseHold(
        self, request: pb.ReleaseHoldRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReleaseHoldResponse:
        call = current_context()
        released = await hold_handlers.release_hold(
            commands.ReleaseHold(call.tenant_id, record_id(request.hold_id, "hold"), _own_client()),
            self._uow_factory(),
        )
        return pb.ReleaseHoldResponse(released=released)

    async def ListHolds(self, request: pb.ListHoldsRequest, context: grpc.aio.ServicerContext) -> pb.ListHoldsResponse:
        call = require_staff()
        checked = Checked()
        staff_ids = checked.uuids(list(request.staff_ids), "staff_ids")
        for name in ("from", "to"):
            if not request.HasField(name):
                checked.add(name, "is required")
        checked.raise_if_any()
        found = await views.holds_between(
            self._engine, call.tenant_id, aware(getattr(request, "from")), aware(request.to), staff_ids
        )
        return pb.ListHoldsResponse(holds=[hold_message(h) for h in found])
