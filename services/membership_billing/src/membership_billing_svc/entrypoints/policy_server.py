"""gRPC servicer of the cancellation and no-show policy: proto in, command or view, proto out. Staff only,
except the quote a portal client asks about itself."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.membership_billing.v1 import policy_pb2 as pb
from atrium.membership_billing.v1 import policy_pb2_grpc as pb_grpc
from membership_billing_svc import policy_views
from membership_billing_svc.adapters.business_calendar import AbstractBusinessCalendar
from membership_billing_svc.adapters.policy_repository import load_policies
from membership_billing_svc.domain import commands
from membership_billing_svc.domain.cancellation_policy import CancellationPolicy, Outcome, Window, zone_of
from membership_billing_svc.entrypoints.ledger_server import client_asked_about
from membership_billing_svc.service_layer import policy_handlers
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork
from platform_core.errors import InvalidArgument, NotFound
from platform_core.grpc.context import current_context
from platform_core.grpc.values import aware, reference_id, require_staff, timestamp

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CancellationPolicyService"].full_name
MAX_QUOTED_SERVICES = 20


def outcome_message(o: Outcome) -> pb.PolicyOutcome:
    return pb.PolicyOutcome(
        kind=o.kind.value, percent=o.percent or 0, fee_minor=o.fee_minor or 0, currency=o.currency or ""
    )


def window_message(w: Window) -> pb.CancellationWindow:
    return pb.CancellationWindow(
        within_hours=w.within_hours or 0, within_days=w.within_days or 0, outcome=outcome_message(w.outcome)
    )


def policy_message(p: CancellationPolicy) -> pb.CancellationPolicy:
    message = pb.CancellationPolicy(
        service_id=str(p.service_id or ""),
        windows=[window_message(w) for w in p.windows],
        no_show=outcome_message(p.no_show),
        applies_to_staff_cancellations=p.applies_to_staff_cancellations,
        updated_at=timestamp(p.updated_at),
    )
    if p.repeat_no_shows is not None:
        rule = p.repeat_no_shows
        message.repeat_no_shows.CopyFrom(
            pb.RepeatNoShowRule(
                no_shows=rule.no_shows,
                period_days=rule.period_days,
                block_days=rule.block_days,
                outcome=rule.outcome.value,
            )
        )
    return message


def _outcome_input(o: pb.PolicyOutcome) -> commands.OutcomeInput:
    return commands.OutcomeInput(o.kind, o.percent, o.fee_minor, o.currency)


def _service_id(raw: str) -> uuid.UUID | None:
    return reference_id(raw, "service_id", "service") if raw else None


def _set_cost(terms: pb.ServiceCancellationTerms, cost: policy_views.Cost, *, no_show: bool) -> None:
    fee_minor, currency = cost.fee if cost.fee is not None else (0, "")
    type_id, units = cost.forfeit if cost.forfeit is not None else (None, 0)
    if no_show:
        terms.no_show.CopyFrom(outcome_message(cost.outcome))
        terms.no_show_fee_minor, terms.no_show_currency = fee_minor, currency
        terms.no_show_credit_type_id, terms.no_show_credits = str(type_id or ""), units
    else:
        terms.outcome.CopyFrom(outcome_message(cost.outcome))
        terms.fee_minor, terms.currency = fee_minor, currency
        terms.credit_type_id, terms.credits_forfeited = str(type_id or ""), units


class CancellationPolicyServicer(pb_grpc.CancellationPolicyServiceServicer):
    def __init__(
        self,
        *,
        uow_factory: Callable[[], BillingUnitOfWork],
        engine: AsyncEngine,
        calendar: AbstractBusinessCalendar,
    ) -> None:
        self._uow_factory = uow_factory
        self._engine = engine
        self._calendar = calendar

    async def ListCancellationPolicies(
        self, request: pb.ListCancellationPoliciesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCancellationPoliciesResponse:
        call = require_staff()
        async with self._engine.connect() as conn:
            business, services = await load_policies(conn, call.tenant_id)
        reply = pb.ListCancellationPoliciesResponse(
            services=[policy_message(p) for _, p in sorted(services.items(), key=lambda item: str(item[0]))]
        )
        if business is not None:
            reply.business.CopyFrom(policy_message(business))
        return reply

    async def SetCancellationPolicy(
        self, request: pb.CancellationPolicy, context: grpc.aio.ServicerContext
    ) -> pb.CancellationPolicy:
        call = require_staff()
        repeat = request.repeat_no_shows
        policy = await policy_handlers.set_cancellation_policy(
            commands.SetCancellationPolicy(
                tenant_id=call.tenant_id,
                service_id=_service_id(request.service_id),
                windows=tuple(
                    commands.WindowInput(w.within_hours, w.within_days, _outcome_input(w.outcome))
                    for w in request.windows
                ),
                no_show=_outcome_input(request.no_show),
                repeat_no_shows=(
                    (repeat.no_shows, repeat.period_days, repeat.block_days)
                    if request.HasField("repeat_no_shows")
                    else None
                ),
                applies_to_staff_cancellations=request.applies_to_staff_cancellations,
                now=datetime.now(UTC),
                repeat_outcome=repeat.outcome,
            ),
            self._uow_factory(),
        )
        return policy_message(policy)

    async def DeleteCancellationPolicy(
        self, request: pb.DeleteCancellationPolicyRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteCancellationPolicyResponse:
        call = require_staff()
        deleted = await policy_handlers.delete_cancellation_policy(
            commands.DeleteCancellationPolicy(call.tenant_id, _service_id(request.service_id)), self._uow_factory()
        )
        if not deleted:
            raise NotFound("no cancellation policy of this scope")
        return pb.DeleteCancellationPolicyResponse()

    async def QuoteCancellation(
        self, request: pb.QuoteCancellationRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancellationQuote:
        call = current_context()
        client_id = client_asked_about(request.client_id)
        if not request.HasField("start"):
            raise InvalidArgument.single("start", "is required")
        if not 1 <= len(request.services) <= MAX_QUOTED_SERVICES:
            raise InvalidArgument.single("services", f"give 1 to {MAX_QUOTED_SERVICES} services")
        if request.cancelled_by not in ("", "client", "staff"):
            raise InvalidArgument.single("cancelled_by", "must be client or staff")
        at = aware(request.at) if request.HasField("at") else datetime.now(UTC)
        zone = zone_of(request.timezone, await self._calendar.timezone())
        visits = [
            commands.VisitFacts(
                reference_id(s.service_id, f"services[{i}].service_id", "service"), "", s.price_minor, s.currency
            )
            for i, s in enumerate(request.services)
        ]
        terms = await policy_views.quote_cancellation(
            self._engine,
            call.tenant_id,
            client_id,
            start=aware(request.start),
            zone=zone,
            visits=visits,
            cancelled_by=request.cancelled_by or "client",
            at=at,
        )
        reply = pb.CancellationQuote(at=timestamp(at))
        for t in terms:
            message = pb.ServiceCancellationTerms(service_id=str(t.service_id))
            if t.policy is not None:
                message.policy.CopyFrom(policy_message(t.policy))
            if t.window is not None:
                message.window.CopyFrom(window_message(t.window))
            _set_cost(message, t.cancel_now, no_show=False)
            _set_cost(message, t.no_show, no_show=True)
            if t.free_until is not None:
                message.free_until.CopyFrom(timestamp(t.free_until))
            reply.services.append(message)
        free_until = [t.free_until for t in terms if t.free_until is not None]
        if free_until:
            reply.free_until.CopyFrom(timestamp(min(free_until)))
        return reply
