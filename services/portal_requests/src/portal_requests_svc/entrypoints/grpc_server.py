"""gRPC servicer of appointment requests. A portal principal submits, sees and withdraws its own client's
requests only (anything else looks missing); staff see every request of the tenant and decide them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import grpc
from google.protobuf import json_format
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.portal_requests.v1 import portal_requests_pb2 as pb
from atrium.portal_requests.v1 import portal_requests_pb2_grpc as pb_grpc
from platform_core.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied
from platform_core.grpc.context import CallContext, current_context
from platform_core.grpc.values import aware, record_id, reference_id, require_staff, timestamp
from platform_core.ids import parse_uuid
from portal_requests_svc import views
from portal_requests_svc.adapters.remote import AbstractCatalogue, AbstractClientDirectory, AbstractScheduler
from portal_requests_svc.domain.requests import AppointmentRequest, HistoryEntry, TimeOption
from portal_requests_svc.service_layer import handlers

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["PortalRequestService"].full_name
MAX_SUBMISSION_ID = 200


def request_message(request: AppointmentRequest, history: Sequence[HistoryEntry] = ()) -> pb.AppointmentRequest:
    message = pb.AppointmentRequest(
        id=str(request.id),
        client_id=str(request.client_id),
        service_id=str(request.service_id),
        preferred_staff_id=str(request.preferred_staff_id or ""),
        options=[
            pb.TimeOption(start=timestamp(o.start), end=timestamp(o.end))
            if o.end
            else pb.TimeOption(start=timestamp(o.start))
            for o in request.options
        ],
        message=request.message,
        timezone=request.timezone,
        status=request.status.value,
        appointment_id=str(request.appointment_id or ""),
        decline_reason=request.decline_reason,
        created_at=timestamp(request.created_at),
        updated_at=timestamp(request.updated_at),
        decided_by=request.decided_by,
        version=request.version,
        history=[
            pb.HistoryEntry(at=timestamp(h.at), actor=h.actor, action=h.action, details_json=json.dumps(h.details))
            for h in history
        ],
    )
    if request.decided_at is not None:
        message.decided_at.CopyFrom(timestamp(request.decided_at))
    return message


def _own_client(call: CallContext) -> uuid.UUID | None:
    """The client a portal principal acts for; None for staff and services."""
    if not call.principal.is_portal:
        return None
    client_id = parse_uuid(call.principal.client_id)
    if client_id is None:
        raise NotFound("appointment request not found")
    return client_id


def _portal_client(call: CallContext) -> uuid.UUID:
    own = _own_client(call)
    if own is None:
        raise PermissionDenied("only a client in the portal makes or withdraws its requests")
    return own


def _staff_actor() -> str:
    principal = require_staff().principal
    return f"{principal.kind}:{principal.id}"


def _options(raw: Sequence[pb.TimeOption]) -> list[TimeOption]:
    violations = [
        FieldViolation(f"options[{i}].start", "is required") for i, o in enumerate(raw) if not o.HasField("start")
    ]
    if violations:
        raise InvalidArgument(violations)
    return [TimeOption(aware(o.start), aware(o.end) if o.HasField("end") else None) for o in raw]


class PortalRequestServicer(pb_grpc.PortalRequestServiceServicer):
    def __init__(
        self,
        *,
        uow_factory: handlers.UowFactory,
        engine: AsyncEngine,
        directory: AbstractClientDirectory,
        catalogue: AbstractCatalogue,
        scheduler: AbstractScheduler,
        limits: handlers.RequestLimits,
    ) -> None:
        self._uow_factory = uow_factory
        self._engine = engine
        self._directory = directory
        self._catalogue = catalogue
        self._scheduler = scheduler
        self._limits = limits

    async def _visible(self, call: CallContext, raw_id: str) -> AppointmentRequest:
        request_id = record_id(raw_id, "appointment request")
        request = await views.get_request(self._engine, call.tenant_id, request_id)
        own = _own_client(call)
        if request is None or (own is not None and request.client_id != own):
            raise NotFound("appointment request not found")
        return request

    async def SubmitRequest(
        self, request: pb.SubmitRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentRequest:
        call = current_context()
        client_id = _portal_client(call)
        if len(request.submission_id) > MAX_SUBMISSION_ID:
            raise InvalidArgument.single("submission_id", f"must be at most {MAX_SUBMISSION_ID} characters")
        submitted = await handlers.submit_request(
            self._uow_factory,
            self._directory,
            self._catalogue,
            handlers.SubmitRequest(
                tenant_id=call.tenant_id,
                client_id=client_id,
                service_id=reference_id(request.service_id, "service_id", "service"),
                preferred_staff_id=(
                    reference_id(request.preferred_staff_id, "preferred_staff_id", "staff member")
                    if request.preferred_staff_id
                    else None
                ),
                options=_options(request.options),
                message=request.message,
                timezone=request.timezone,
                submission_id=request.submission_id or None,
                answers={key: json_format.MessageToDict(value) for key, value in request.answers.items()},
            ),
            self._limits,
            datetime.now(UTC),
        )
        return request_message(submitted)

    async def GetRequest(
        self, request: pb.GetRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentRequest:
        call = current_context()
        found = await self._visible(call, request.request_id)
        return request_message(found, await views.history(self._engine, call.tenant_id, found.id))

    async def ListRequests(
        self, request: pb.ListRequestsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRequestsResponse:
        call = current_context()
        own = _own_client(call)
        if own is not None:
            client_id: uuid.UUID | None = own
        else:
            require_staff()
            client_id = reference_id(request.client_id, "client_id", "client") if request.client_id else None
        found, token = await views.list_requests(
            self._engine,
            call.tenant_id,
            views.RequestFilter(views.status_of(request.status), client_id),
            request.page.page_size,
            request.page.page_token,
        )
        return pb.ListRequestsResponse(requests=[request_message(r) for r in found], page={"next_page_token": token})

    async def ApproveRequest(
        self, request: pb.ApproveRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentRequest:
        call = current_context()
        actor = _staff_actor()
        request_id = record_id(request.request_id, "appointment request")
        if not request.HasField("start"):
            raise InvalidArgument.single("start", "is required")
        approved = await handlers.approve_request(
            self._uow_factory,
            self._scheduler,
            handlers.ApproveRequest(
                tenant_id=call.tenant_id,
                request_id=request_id,
                start=aware(request.start),
                staff_id=reference_id(request.staff_id, "staff_id", "staff member") if request.staff_id else None,
                override_availability=request.override_availability,
                actor=actor,
            ),
            datetime.now(UTC),
        )
        return request_message(approved)

    async def DeclineRequest(
        self, request: pb.DeclineRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentRequest:
        call = current_context()
        actor = _staff_actor()
        declined = await handlers.decline_request(
            self._uow_factory,
            call.tenant_id,
            record_id(request.request_id, "appointment request"),
            request.reason,
            actor,
            datetime.now(UTC),
        )
        return request_message(declined)

    async def WithdrawRequest(
        self, request: pb.WithdrawRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentRequest:
        call = current_context()
        client_id = _portal_client(call)
        withdrawn = await handlers.withdraw_request(
            self._uow_factory,
            call.tenant_id,
            client_id,
            record_id(request.request_id, "appointment request"),
            datetime.now(UTC),
        )
        return request_message(withdrawn)

    async def GetClientRequestSummary(
        self, request: pb.GetClientRequestSummaryRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientRequestSummary:
        call = require_staff()
        client_id = reference_id(request.client_id, "client_id", "client")
        count, oldest = await views.client_summary(self._engine, call.tenant_id, client_id)
        summary = pb.ClientRequestSummary(open_count=count)
        if oldest is not None:
            summary.oldest.CopyFrom(request_message(oldest))
        return summary
