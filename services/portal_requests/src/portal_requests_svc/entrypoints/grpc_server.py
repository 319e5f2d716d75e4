"""gRPC servicer of appointment requests. A portal principal submits, sees, edits and cancels its own client's
requests only (anything else looks missing) and never sees internal notes or tickets; staff see every
request of the tenant and decide them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time

import grpc
from google.protobuf import json_format
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.portal_requests.v1 import portal_requests_pb2 as pb
from atrium.portal_requests.v1 import portal_requests_pb2_grpc as pb_grpc
from platform_core.errors import InvalidArgument, NotFound, PermissionDenied
from platform_core.grpc.context import CallContext, current_context
from platform_core.grpc.values import aware, record_id, reference_id, require_staff, timestamp
from platform_core.ids import parse_uuid
from platform_core.validation import Violations
from portal_requests_svc import views
from portal_requests_svc.adapters.repository import (
    DEFAULT_OFFER_HOLD_MINUTES,
    DEFAULT_PROPOSAL_HOLD_MINUTES,
    RequestSettings,
)
from portal_requests_svc.domain import commands
from portal_requests_svc.domain.requests import (
    UNCHANGED,
    AppointmentRequest,
    HistoryEntry,
    Status,
    TimeOption,
    Unchanged,
    check_timezone,
    ticket_url,
)
from portal_requests_svc.domain.waitlist import WaitlistEntry
from portal_requests_svc.service_layer import handlers, waitlist_handlers
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["PortalRequestService"].full_name
MAX_SUBMISSION_ID = 200


def _option_messages(options: Sequence[TimeOption]) -> list[pb.TimeOption]:
    return [
        pb.TimeOption(start=timestamp(o.start), end=timestamp(o.end))
        if o.end
        else pb.TimeOption(start=timestamp(o.start))
        for o in options
    ]


def request_message(
    view: views.RequestView,
    history: Sequence[HistoryEntry] = (),
    *,
    staff: RequestSettings | None = None,
) -> pb.AppointmentRequest:
    """The request as a caller sees it: staff (with the business's settings) also get the internal notes and
    the ticket; a portal principal never does."""
    request = view.request
    message = pb.AppointmentRequest(
        id=str(request.id),
        client_id=str(request.client_id),
        service_id=str(request.service_id),
        preferred_staff_id=str(request.preferred_staff_id or ""),
        options=_option_messages(request.options),
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
        reference=request.reference,
        client_name=view.client_name,
        client_email=view.client_email,
        client_phone=view.client_phone,
        service_name=request.service_name,
        duration_minutes=request.duration_minutes,
        business_timezone=request.business_timezone,
        preferred_staff_name=request.preferred_staff_name,
        technician_id=str(request.technician_id or ""),
        technician_name=request.technician_name,
        cancelled_by=request.cancelled_by,
        channel=request.channel,
        held_for_approval=request.held_for_approval,
        alternatives=[timestamp(a) for a in request.alternatives],
        proposal_note=request.proposal_note,
        proposed_technician_id=str(request.proposed_technician_id or ""),
        proposed_technician_name=request.proposed_technician_name,
    )
    if request.hold_until is not None:
        message.hold_until.CopyFrom(timestamp(request.hold_until))
    if request.decided_at is not None:
        message.decided_at.CopyFrom(timestamp(request.decided_at))
    if request.start is not None:
        message.start.CopyFrom(timestamp(request.start))
    if request.end is not None:
        message.end.CopyFrom(timestamp(request.end))
    if request.hold is not None:
        message.hold_staff_id = str(request.hold.staff_id)
        message.hold_start.CopyFrom(timestamp(request.hold.start))
        message.hold_end.CopyFrom(timestamp(request.hold.end))
    if staff is not None:
        message.internal_notes = request.internal_notes
        message.ticket = request.ticket
        message.ticket_url = ticket_url(staff.ticket_url_pattern, request.ticket)
    return message


def _settings_message(settings: RequestSettings) -> pb.RequestSettings:
    return pb.RequestSettings(
        ticket_url_pattern=settings.ticket_url_pattern,
        version=settings.version,
        proposal_hold_minutes=settings.proposal_hold_minutes,
        offer_hold_minutes=settings.offer_hold_minutes,
        tentative_holds=settings.tentative_holds,
    )


def _clock(t: time | None) -> str:
    return t.strftime("%H:%M") if t is not None else ""


def waitlist_message(entry: WaitlistEntry) -> pb.WaitlistEntry:
    return pb.WaitlistEntry(
        id=str(entry.id),
        client_id=str(entry.client_id),
        service_id=str(entry.service.service_id),
        service_name=entry.service.name,
        duration_minutes=entry.service.duration_minutes,
        staff_id=str(entry.staff.staff_id) if entry.staff else "",
        staff_name=entry.staff.name if entry.staff else "",
        from_date=entry.from_date.isoformat(),
        to_date=entry.to_date.isoformat(),
        window_start=_clock(entry.window_start),
        window_end=_clock(entry.window_end),
        timezone=entry.timezone,
        status=entry.status.value,
        joined_by=entry.joined_by,
        booking_rules_overridden=entry.booking_rules_overridden,
        created_at=timestamp(entry.created_at),
        version=entry.version,
        offers=[
            pb.WaitlistOffer(
                id=str(o.id),
                staff_id=str(o.slot.staff_id),
                start=timestamp(o.slot.start),
                end=timestamp(o.slot.end),
                hold_until=timestamp(o.hold_until),
                status=o.status.value,
                appointment_id=str(o.appointment_id or ""),
            )
            for o in entry.offers
        ],
    )


def _day(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidArgument.single(name, "must be a date, YYYY-MM-DD") from None


def _time_of_day(raw: str, name: str) -> time | None:
    if not raw:
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise InvalidArgument.single(name, "must be a time of day, HH:MM") from None


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
        raise PermissionDenied("only a client in the portal makes, edits or cancels its requests")
    return own


def _staff_actor() -> str:
    principal = require_staff().principal
    return f"{principal.kind}:{principal.id}"


def _options(raw: Sequence[pb.TimeOption]) -> list[TimeOption]:
    violations = Violations()
    for i, option in enumerate(raw):
        if not option.HasField("start"):
            violations.add(f"options[{i}].start", "is required")
    violations.raise_if_any()
    return [TimeOption(aware(o.start), aware(o.end) if o.HasField("end") else None) for o in raw]


class PortalRequestServicer(pb_grpc.PortalRequestServiceServicer):
    def __init__(self, *, new_uow: Callable[[], PortalRequestsUnitOfWork], engine: AsyncEngine) -> None:
        # A unit of work per call: calls run concurrently, each in its own transactions.
        self._uow = new_uow
        self._engine = engine

    async def _visible(self, call: CallContext, raw_id: str) -> views.RequestView:
        request_id = record_id(raw_id, "appointment request")
        view = await views.get_request(self._engine, call.tenant_id, request_id)
        own = _own_client(call)
        if view is None or (own is not None and view.request.client_id != own):
            raise NotFound("appointment request not found")
        return view

    async def _message(
        self, call: CallContext, request: AppointmentRequest, history: Sequence[HistoryEntry] = ()
    ) -> pb.AppointmentRequest:
        """A request just changed, as this caller sees it (with its client as kept)."""
        view = await views.get_request(self._engine, call.tenant_id, request.id)
        return request_message(view or views.RequestView(request), history, staff=await self._staff_settings(call))

    async def _staff_settings(self, call: CallContext) -> RequestSettings | None:
        """The business's settings when the caller is staff (who see notes and tickets); None for the portal."""
        if call.principal.is_portal:
            return None
        return await views.settings(self._engine, call.tenant_id)

    async def SubmitRequest(
        self, request: pb.SubmitRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentRequest:
        call = current_context()
        own = _own_client(call)
        staff_actor = "" if own is not None else _staff_actor()
        if own is None and not request.client_id:
            raise InvalidArgument.single("client_id", "is required: the client the request is for")
        client_id = own if own is not None else reference_id(request.client_id, "client_id", "client")
        if len(request.submission_id) > MAX_SUBMISSION_ID:
            raise InvalidArgument.single("submission_id", f"must be at most {MAX_SUBMISSION_ID} characters")
        submitted = await handlers.submit_request(
            commands.SubmitRequest(
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
                now=datetime.now(UTC),
                answers={key: json_format.MessageToDict(value) for key, value in request.answers.items()},
                region=request.default_region,
                channel="staff" if staff_actor else "portal",
                staff_actor=staff_actor,
                override_booking_rules=request.override_booking_rules,
            ),
            self._uow(),
        )
        return await self._message(call, submitted)

    async def GetRequest(
        self, request: pb.GetRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentRequest:
        call = current_context()
        found = await self._visible(call, request.request_id)
        return request_message(
            found,
            await views.history(self._engine, call.tenant_id, found.request.id),
            staff=await self._staff_settings(call),
        )

    async def ListRequests(
        self, request: pb.ListRequestsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRequestsResponse:
        call = current_context()
        own = _own_client(call)
        if own is not None:
            client_id: uuid.UUID | None = own
            query = ""
        else:
            require_staff()
            client_id = reference_id(request.client_id, "client_id", "client") if request.client_id else None
            query = request.query
        found, token = await views.list_requests(
            self._engine,
            call.tenant_id,
            views.RequestFilter(views.status_of(request.status), client_id, query),
            request.page.page_size,
            request.page.page_token,
        )
        settings = await self._staff_settings(call)
        return pb.ListRequestsResponse(
            requests=[request_message(r, staff=settings) for r in found], page={"next_page_token": token}
        )

    async def ProposeAlternatives(
        self, request: pb.ProposeAlternativesRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentRequest:
        call = current_context()
        actor = _staff_actor()
        proposed = await handlers.propose_alternatives(
            commands.ProposeAlternatives(
                tenant_id=call.tenant_id,
                request_id=record_id(request.request_id, "appointment request"),
                alternatives=[aware(a) for a in request.alternatives],
                technician_id=(
                    reference_id(request.technician_id, "technician_id", "staff member")
                    if request.technician_id
                    else None
                ),
                note=request.note,
                actor=actor,
                now=datetime.now(UTC),
                version=request.version,
            ),
            self._uow(),
        )
        return await self._message(call, proposed)

    async def AcceptAlternative(
        self, request: pb.AcceptAlternativeRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentRequest:
        call = current_context()
        client_id = _portal_client(call)
        accepted = await handlers.accept_alternative(
            commands.AcceptAlternative(
                call.tenant_id,
                client_id,
                record_id(request.request_id, "appointment request"),
                request.alternative,
                datetime.now(UTC),
            ),
            self._uow(),
        )
        return await self._message(call, accepted)

    async def CountRequestsByStatus(
        self, request: pb.CountRequestsByStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.RequestStatusCounts:
        call = require_staff()
        counts = await views.count_by_status(self._engine, call.tenant_id)
        return pb.RequestStatusCounts(
            pending=counts[Status.PENDING],
            proposed=counts[Status.PROPOSED],
            approved=counts[Status.APPROVED],
            declined=counts[Status.DECLINED],
            cancelled=counts[Status.CANCELLED],
            expired=counts[Status.EXPIRED],
            total=sum(counts.values()),
        )

    async def ApproveRequest(
        self, request: pb.ApproveRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentRequest:
        call = current_context()
        actor = _staff_actor()
        request_id = record_id(request.request_id, "appointment request")
        violations = Violations()
        if not request.HasField("start"):
            violations.add("start", "is required")
        if not request.technician_id:
            violations.add("technician_id", "is required: the staff member who performs it")
        violations.raise_if_any()
        approved = await handlers.approve_request(
            commands.ApproveRequest(
                tenant_id=call.tenant_id,
                request_id=request_id,
                start=aware(request.start),
                technician_id=reference_id(request.technician_id, "technician_id", "staff member"),
                override_availability=request.override_availability,
                actor=actor,
                now=datetime.now(UTC),
                internal_notes=request.internal_notes,
                ticket=request.ticket,
                version=request.version,
                override_booking_rules=request.override_booking_rules,
            ),
            self._uow(),
        )
        return await self._message(call, approved)

    async def DeclineRequest(
        self, request: pb.DeclineRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentRequest:
        call = current_context()
        actor = _staff_actor()
        declined = await handlers.decline_request(
            commands.DeclineRequest(
                call.tenant_id,
                record_id(request.request_id, "appointment request"),
                request.reason,
                actor,
                datetime.now(UTC),
            ),
            self._uow(),
        )
        return await self._message(call, declined)

    async def UpdateRequest(
        self, request: pb.UpdateRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentRequest:
        call = current_context()
        client_id = _portal_client(call)
        request_id = record_id(request.request_id, "appointment request")
        if request.version < 1:
            raise InvalidArgument.single("version", "is required: the version of the request you read")
        preferred: uuid.UUID | Unchanged | None = UNCHANGED
        if request.HasField("preferred_staff_id"):
            preferred = (
                reference_id(request.preferred_staff_id, "preferred_staff_id", "staff member")
                if request.preferred_staff_id
                else None
            )
        updated = await handlers.update_request(
            commands.UpdateRequest(
                tenant_id=call.tenant_id,
                client_id=client_id,
                request_id=request_id,
                version=request.version,
                now=datetime.now(UTC),
                service_id=(
                    reference_id(request.service_id, "service_id", "service")
                    if request.HasField("service_id")
                    else None
                ),
                preferred_staff_id=preferred,
                options=_options(request.options) if request.options else None,
                message=request.message if request.HasField("message") else None,
            ),
            self._uow(),
        )
        return await self._message(call, updated)

    async def CancelRequest(
        self, request: pb.CancelRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentRequest:
        call = current_context()
        client_id = _portal_client(call)
        cancelled = await handlers.cancel_request(
            commands.CancelRequest(
                call.tenant_id, client_id, record_id(request.request_id, "appointment request"), datetime.now(UTC)
            ),
            self._uow(),
        )
        return await self._message(call, cancelled)

    async def GetClientRequestSummary(
        self, request: pb.GetClientRequestSummaryRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientRequestSummary:
        call = require_staff()
        client_id = reference_id(request.client_id, "client_id", "client")
        count, oldest = await views.client_summary(self._engine, call.tenant_id, client_id)
        summary = pb.ClientRequestSummary(open_count=count)
        until = await views.approval_required_until(self._engine, call.tenant_id, client_id, datetime.now(UTC))
        if until is not None:
            summary.approval_required_until.CopyFrom(timestamp(until))
        if oldest is not None:
            summary.oldest.CopyFrom(request_message(oldest, staff=await self._staff_settings(call)))
        return summary

    async def GetRequestSettings(
        self, request: pb.GetRequestSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RequestSettings:
        call = require_staff()
        return _settings_message(await views.settings(self._engine, call.tenant_id))

    async def UpdateRequestSettings(
        self, request: pb.RequestSettings, context: grpc.aio.ServicerContext
    ) -> pb.RequestSettings:
        call = require_staff()
        saved = await handlers.update_request_settings(
            commands.UpdateRequestSettings(
                call.tenant_id,
                request.ticket_url_pattern,
                request.proposal_hold_minutes or DEFAULT_PROPOSAL_HOLD_MINUTES,
                request.offer_hold_minutes or DEFAULT_OFFER_HOLD_MINUTES,
                request.version,
                request.tentative_holds,
            ),
            self._uow(),
        )
        return _settings_message(saved)

    async def JoinWaitlist(
        self, request: pb.JoinWaitlistRequest, context: grpc.aio.ServicerContext
    ) -> pb.WaitlistEntry:
        call = current_context()
        own = _own_client(call)
        if own is None:
            require_staff()
        if request.timezone:
            check_timezone(request.timezone)
        entry = await waitlist_handlers.join_waitlist(
            commands.JoinWaitlist(
                tenant_id=call.tenant_id,
                client_id=own if own is not None else reference_id(request.client_id, "client_id", "client"),
                service_id=reference_id(request.service_id, "service_id", "service"),
                staff_id=reference_id(request.staff_id, "staff_id", "staff member") if request.staff_id else None,
                from_date=_day(request.from_date, "from_date"),
                to_date=_day(request.to_date, "to_date"),
                window_start=_time_of_day(request.window_start, "window_start"),
                window_end=_time_of_day(request.window_end, "window_end"),
                timezone=request.timezone,
                joined_by="client" if own is not None else "staff",
                now=datetime.now(UTC),
                override_booking_rules=request.override_booking_rules,
            ),
            self._uow(),
        )
        return waitlist_message(entry)

    async def LeaveWaitlist(
        self, request: pb.LeaveWaitlistRequest, context: grpc.aio.ServicerContext
    ) -> pb.WaitlistEntry:
        call = current_context()
        own = _own_client(call)
        if own is None:
            require_staff()
        entry = await waitlist_handlers.leave_waitlist(
            commands.LeaveWaitlist(
                call.tenant_id, record_id(request.entry_id, "waitlist entry"), own, datetime.now(UTC)
            ),
            self._uow(),
        )
        return waitlist_message(entry)

    async def ListWaitlist(
        self, request: pb.ListWaitlistRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListWaitlistResponse:
        call = current_context()
        own = _own_client(call)
        if own is None:
            require_staff()
            client_id = reference_id(request.client_id, "client_id", "client") if request.client_id else None
        else:
            client_id = own
        found = await views.waitlist(self._engine, call.tenant_id, client_id, request.status)
        return pb.ListWaitlistResponse(entries=[waitlist_message(e) for e in found])

    async def AcceptWaitlistOffer(
        self, request: pb.AcceptWaitlistOfferRequest, context: grpc.aio.ServicerContext
    ) -> pb.WaitlistEntry:
        call = current_context()
        client_id = _portal_client(call)
        entry = await waitlist_handlers.accept_offer(
            commands.AcceptWaitlistOffer(
                call.tenant_id, client_id, record_id(request.offer_id, "waitlist offer"), datetime.now(UTC)
            ),
            self._uow(),
        )
        return waitlist_message(entry)
