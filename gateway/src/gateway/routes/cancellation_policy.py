"""Routes of the cancellation and no-show policy: the business's rule and services' overrides (owners and
admins set them), and the terms that apply to an appointment now, for staff and for the client in the portal,
so both see what cancelling will cost before confirming. The billing service applies the policy itself when
scheduling cancels an appointment or marks a no-show."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from atrium.membership_billing.v1 import policy_pb2 as pb
from atrium.scheduling.v1 import appointments_pb2 as appointments_pb
from atrium.scheduling.v1 import catalogue_pb2 as catalogue_pb
from gateway.api import path_id
from gateway.cancellation_schemas import (
    BusinessPolicyIn,
    CancellationTermsOut,
    CostOut,
    ForfeitOut,
    OutcomeIn,
    OutcomeOut,
    PoliciesOut,
    PolicyOut,
    RepeatNoShowsOut,
    ServicePolicyIn,
    ServiceTermsOut,
    TermsQuery,
    WindowIn,
    WindowOut,
)
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.portal_scheduling import may_view_appointments
from gateway.routes.registry import api
from gateway.routes.scheduling import appointment_id_of
from gateway.schemas import MoneyOut
from platform_core.grpc.values import aware, timestamp

TAG = "cancellation policy"

POLICY_DESCRIPTION = (
    "Windows before the start: a cancellation later than a window's notice (hours of elapsed time, or days at"
    " the appointment's wall-clock time in its zone) gets the tightest such window's outcome: free, forfeit a"
    " share of the credits the visit would take, or a fee (a share of the price, or a fixed amount). Exactly at"
    " a deadline is on time. A no-show gets its own outcome. Applied once per appointment when scheduling"
    " cancels it or marks a no-show: a forfeit takes the credits, a fee is an issued invoice due at once, an"
    " early cancellation gives back what a check-in took."
)


def service_id_of(request: web.Request) -> str:
    return path_id(request, "service_id", "service")


def _outcome_message(o: OutcomeIn) -> pb.PolicyOutcome:
    return pb.PolicyOutcome(kind=o.kind, percent=o.percent, fee_minor=o.fee_minor, currency=o.currency)


def _windows(windows: list[WindowIn]) -> list[pb.CancellationWindow]:
    return [
        pb.CancellationWindow(
            within_hours=w.within_hours, within_days=w.within_days, outcome=_outcome_message(w.outcome)
        )
        for w in windows
    ]


def outcome_out(o: pb.PolicyOutcome) -> OutcomeOut:
    return OutcomeOut(
        kind=o.kind,
        percent=o.percent or None,
        fee=MoneyOut(amount_minor=o.fee_minor, currency=o.currency) if o.fee_minor else None,
    )


def window_out(w: pb.CancellationWindow) -> WindowOut:
    return WindowOut(
        within_hours=w.within_hours or None, within_days=w.within_days or None, outcome=outcome_out(w.outcome)
    )


def policy_out(p: pb.CancellationPolicy) -> PolicyOut:
    repeat = p.repeat_no_shows
    return PolicyOut(
        service_id=p.service_id or None,
        windows=[window_out(w) for w in p.windows],
        no_show=outcome_out(p.no_show),
        repeat_no_shows=(
            RepeatNoShowsOut(
                no_shows=repeat.no_shows,
                period_days=repeat.period_days,
                block_days=repeat.block_days,
                outcome="require_approval" if repeat.outcome == "require_approval" else "block_online_booking",
            )
            if p.HasField("repeat_no_shows")
            else None
        ),
        applies_to_staff_cancellations=p.applies_to_staff_cancellations,
        updated_at=aware(p.updated_at),
    )


def _cost(outcome: pb.PolicyOutcome, fee_minor: int, currency: str, credit_type_id: str, units: int) -> CostOut:
    return CostOut(
        outcome=outcome_out(outcome),
        fee=MoneyOut(amount_minor=fee_minor, currency=currency) if fee_minor else None,
        forfeit=ForfeitOut(credit_type_id=credit_type_id, units=units) if units else None,
    )


def terms_out(reply: pb.CancellationQuote) -> CancellationTermsOut:
    return CancellationTermsOut(
        at=aware(reply.at),
        free_until=aware(reply.free_until) if reply.HasField("free_until") else None,
        services=[
            ServiceTermsOut(
                service_id=t.service_id,
                policy=policy_out(t.policy) if t.HasField("policy") else None,
                window=window_out(t.window) if t.HasField("window") else None,
                cancel_now=_cost(t.outcome, t.fee_minor, t.currency, t.credit_type_id, t.credits_forfeited),
                no_show=_cost(
                    t.no_show, t.no_show_fee_minor, t.no_show_currency, t.no_show_credit_type_id, t.no_show_credits
                ),
                free_until=aware(t.free_until) if t.HasField("free_until") else None,
            )
            for t in reply.services
        ],
    )


async def quote_for_appointment(
    request: web.Request, appointment: appointments_pb.Appointment, by: str, *, portal: bool
) -> CancellationTermsOut:
    services = [
        pb.QuotedService(service_id=s.service_id, price_minor=s.price.amount_minor, currency=s.price.currency)
        for s in appointment.segments
        if s.service_id
    ]
    reply = await request.app[BACKENDS].cancellation_policies.QuoteCancellation(
        pb.QuoteCancellationRequest(
            client_id="" if portal else appointment.client_id,
            start=appointment.start,
            timezone=appointment.timezone,
            services=services,
            cancelled_by=by,
        )
    )
    return terms_out(reply)


async def quote_for_booking(
    request: web.Request, client_id: str, service_id: str, start: datetime
) -> CancellationTermsOut:
    """The terms a booking of the service at ``start`` would be under (the service's price as listed now)."""
    service = await request.app[BACKENDS].catalogue.GetService(catalogue_pb.GetServiceRequest(service_id=service_id))
    price = service.definition.price
    reply = await request.app[BACKENDS].cancellation_policies.QuoteCancellation(
        pb.QuoteCancellationRequest(
            client_id=client_id,
            start=timestamp(start),
            services=[pb.QuotedService(service_id=service_id, price_minor=price.amount_minor, currency=price.currency)],
        )
    )
    return terms_out(reply)


@api.route(
    "GET",
    "/api/v1/cancellation-policy",
    summary="The business's cancellation and no-show policy and every service's override",
    tag=TAG,
    response=PoliciesOut,
    permission="memberships.read",
    description=POLICY_DESCRIPTION,
)
async def get_policies(request: web.Request, account: Account) -> PoliciesOut:
    reply = await request.app[BACKENDS].cancellation_policies.ListCancellationPolicies(
        pb.ListCancellationPoliciesRequest()
    )
    return PoliciesOut(
        business=policy_out(reply.business) if reply.HasField("business") else None,
        services=[policy_out(p) for p in reply.services],
    )


@api.route(
    "PUT",
    "/api/v1/cancellation-policy",
    summary="Set the business's cancellation and no-show policy",
    tag=TAG,
    body=BusinessPolicyIn,
    response=PolicyOut,
    permission="settings.manage",
    description=POLICY_DESCRIPTION
    + " `repeat_no_shows`: this many no-shows within `period_days` (of the appointments' starts) block online"
    " booking (`outcome` block_online_booking) or make the client's online requests wait for staff approval"
    " (`outcome` require_approval) for `block_days`, after which it lapses by itself.",
)
async def put_business_policy(request: web.Request, body: BusinessPolicyIn, account: Account) -> PolicyOut:
    message = pb.CancellationPolicy(
        windows=_windows(body.windows),
        no_show=_outcome_message(body.no_show),
        applies_to_staff_cancellations=body.applies_to_staff_cancellations,
    )
    if body.repeat_no_shows is not None:
        message.repeat_no_shows.CopyFrom(
            pb.RepeatNoShowRule(
                no_shows=body.repeat_no_shows.no_shows,
                period_days=body.repeat_no_shows.period_days,
                block_days=body.repeat_no_shows.block_days,
                outcome=body.repeat_no_shows.outcome,
            )
        )
    return policy_out(await request.app[BACKENDS].cancellation_policies.SetCancellationPolicy(message))


@api.route(
    "DELETE",
    "/api/v1/cancellation-policy",
    summary="Drop the business's cancellation policy (cancelling and no-shows become free)",
    tag=TAG,
    permission="settings.manage",
    status=204,
    errors=(404,),
    description="404 when the business has none.",
)
async def delete_business_policy(request: web.Request, account: Account) -> None:
    await request.app[BACKENDS].cancellation_policies.DeleteCancellationPolicy(pb.DeleteCancellationPolicyRequest())


@api.route(
    "PUT",
    "/api/v1/services/{service_id}/cancellation-policy",
    summary="Override the cancellation windows and no-show outcome for one service",
    tag=TAG,
    body=ServicePolicyIn,
    response=PolicyOut,
    permission="settings.manage",
    description="Replaces the business's windows and no-show outcome for this service; the repeat-offender rule"
    " stays the business's.",
)
async def put_service_policy(request: web.Request, body: ServicePolicyIn, account: Account) -> PolicyOut:
    reply = await request.app[BACKENDS].cancellation_policies.SetCancellationPolicy(
        pb.CancellationPolicy(
            service_id=service_id_of(request), windows=_windows(body.windows), no_show=_outcome_message(body.no_show)
        )
    )
    return policy_out(reply)


@api.route(
    "DELETE",
    "/api/v1/services/{service_id}/cancellation-policy",
    summary="Drop a service's override (the business's policy applies to it again)",
    tag=TAG,
    permission="settings.manage",
    status=204,
    errors=(404,),
    description="404 when the service has no override.",
)
async def delete_service_policy(request: web.Request, account: Account) -> None:
    await request.app[BACKENDS].cancellation_policies.DeleteCancellationPolicy(
        pb.DeleteCancellationPolicyRequest(service_id=service_id_of(request))
    )


@api.route(
    "GET",
    "/api/v1/appointments/{appointment_id}/cancellation-terms",
    summary="What cancelling the appointment now would cost, and a no-show, service by service",
    tag=TAG,
    query=TermsQuery,
    response=CancellationTermsOut,
    permission="schedule.read",
    description="Forfeits are counted in the credits that would pay for the visit now; `by=staff` answers for a"
    " cancellation staff make (free unless the business's policy says otherwise).",
)
async def appointment_terms(request: web.Request, query: TermsQuery, account: Account) -> CancellationTermsOut:
    appointment = await request.app[BACKENDS].appointments.GetAppointment(
        appointments_pb.GetAppointmentRequest(appointment_id=appointment_id_of(request))
    )
    return await quote_for_appointment(request, appointment, query.by, portal=False)


@api.route(
    "GET",
    "/api/v1/portal/appointments/{appointment_id}/cancellation-terms",
    summary="What cancelling one's own appointment now would cost, and not coming",
    tag="portal",
    auth="portal",
    response=CancellationTermsOut,
)
async def portal_appointment_terms(request: web.Request, account: Account) -> CancellationTermsOut:
    await may_view_appointments(request, account)
    appointment = await request.app[BACKENDS].appointments.GetAppointment(
        appointments_pb.GetAppointmentRequest(appointment_id=appointment_id_of(request))
    )
    return await quote_for_appointment(request, appointment, "client", portal=True)
