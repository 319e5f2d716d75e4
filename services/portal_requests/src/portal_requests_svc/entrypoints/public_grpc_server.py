"""gRPC servicer of public booking page requests (called by the gateway for a business's public page)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import grpc
from google.protobuf import json_format

from atrium.portal_requests.v1 import public_requests_pb2 as pb
from atrium.portal_requests.v1 import public_requests_pb2_grpc as pb_grpc
from platform_core.errors import InvalidArgument
from platform_core.grpc.values import aware, record_id, reference_id, require_staff, timestamp
from portal_requests_svc.domain import commands
from portal_requests_svc.domain.public_requests import NewClientTerms
from portal_requests_svc.service_layer import public_request_handlers
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["PublicRequestService"].full_name


class PublicRequestServicer(pb_grpc.PublicRequestServiceServicer):
    def __init__(self, *, new_uow: Callable[[], PortalRequestsUnitOfWork]) -> None:
        # A unit of work per call: calls run concurrently, each in its own transactions.
        self._uow = new_uow

    async def StartPublicRequest(
        self, request: pb.StartPublicRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.PublicRequestVerification:
        # The gateway speaks for a visitor as a service principal; a portal client asks through its own flow.
        call = require_staff()
        if not request.HasField("start"):
            raise InvalidArgument.single("start", "is required")
        verification = await public_request_handlers.start_public_request(
            commands.StartPublicRequest(
                tenant_id=call.tenant_id,
                service_id=reference_id(request.service_id, "service_id", "service"),
                preferred_staff_id=reference_id(request.preferred_staff_id, "preferred_staff_id", "staff member")
                if request.preferred_staff_id
                else None,
                start=aware(request.start),
                name=request.name,
                email=request.email,
                phone=request.phone,
                message=request.message,
                timezone=request.timezone,
                language=request.language or "en",
                business_name=request.business_name,
                answers={key: json_format.MessageToDict(value) for key, value in request.answers.items()},
                region=request.default_region,
                now=datetime.now(UTC),
            ),
            self._uow(),
        )
        return pb.PublicRequestVerification(
            verification_id=str(verification.id),
            email=verification.visitor.email,
            expires_at=timestamp(verification.expires_at),
        )

    async def ConfirmPublicRequest(
        self, request: pb.ConfirmPublicRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.PublicRequestConfirmed:
        call = require_staff()
        if not request.code:
            raise InvalidArgument.single("code", "is required")
        confirmed = await public_request_handlers.confirm_public_request(
            commands.ConfirmPublicRequest(
                tenant_id=call.tenant_id,
                verification_id=record_id(request.verification_id, "public request"),
                code=request.code,
                new_client=NewClientTerms(request.default_region, request.max_clients),
                now=datetime.now(UTC),
            ),
            self._uow(),
        )
        option = confirmed.options[0]
        return pb.PublicRequestConfirmed(
            request_id=str(confirmed.id),
            reference=confirmed.reference,
            status=confirmed.status.value,
            service_name=confirmed.service_name,
            duration_minutes=confirmed.duration_minutes,
            start=timestamp(option.start),
            timezone=confirmed.timezone,
        )
