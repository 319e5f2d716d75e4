"""Routes of memberships: defining them (owners and admins), registering a client, and freezing, resuming,
renewing and cancelling a subscription (staff who sell memberships); the portal lists the signed-in client's
own subscriptions with what is left of their credits. The billing service's MembershipService is behind them."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from atrium.membership_billing.v1 import memberships_pb2 as pb
from gateway.api import path_id
from gateway.credits_schemas import TransactionOut
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.membership_schemas import (
    AutoRenewIn,
    CancelIn,
    ExtraOut,
    FreezeIn,
    LoyaltyProgramIn,
    LoyaltyProgramOut,
    MembershipIn,
    MembershipList,
    MembershipOut,
    PeriodOut,
    RedeemIn,
    SubscribeIn,
    SubscriptionList,
    SubscriptionOut,
)
from gateway.routes.clients import client_id_of
from gateway.routes.credits import idempotency_key, lot_out, transaction_out
from gateway.routes.portal import require_portal_view
from gateway.routes.registry import api
from platform_core.grpc.values import aware

TAG = "memberships"
STATE_REFUSALS = (
    "409 NOT_FREEZABLE, NOT_FROZEN, NOT_RENEWABLE or NOT_CANCELLABLE when the subscription's status does not "
    "allow the action (e.g. a cancelled one)."
)


def membership_out(m: pb.Membership) -> MembershipOut:
    return MembershipOut(
        id=m.id,
        name=m.name,
        package_id=m.package_id or None,
        benefits=m.benefits,
        duration_count=m.duration_count,
        duration_unit=m.duration_unit,
        price_minor=m.price_minor,
        currency=m.currency,
        tax_rate_bp=m.tax_rate_bp,
        invoicing=m.invoicing,
        payment_terms_days=m.payment_terms_days,
        tolerance_days=m.tolerance_days,
        auto_renew=m.auto_renew,
        expiring_notice_days=m.expiring_notice_days,
        extras=[ExtraOut(description=e.description, price_minor=e.price_minor) for e in m.extras],
        created_at=aware(m.created_at),
    )


def _day(raw: str) -> date | None:
    return date.fromisoformat(raw) if raw else None


def subscription_out(s: pb.Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=s.id,
        client_id=s.client_id,
        membership_id=s.membership_id,
        membership_name=s.membership_name,
        starts_on=date.fromisoformat(s.starts_on),
        expires_on=date.fromisoformat(s.expires_on),
        tolerance_until=date.fromisoformat(s.tolerance_until),
        status=s.status,
        currency=s.currency,
        price_minor=s.price_minor,
        invoice_id=s.invoice_id or None,
        auto_renew=s.auto_renew,
        frozen_from=_day(s.frozen_from),
        frozen_until=_day(s.frozen_until),
        freeze_reason=s.freeze_reason,
        cancel_reason=s.cancel_reason,
        periods=[
            PeriodOut(
                starts_on=date.fromisoformat(p.starts_on),
                expires_on=date.fromisoformat(p.expires_on),
                invoice_id=p.invoice_id or None,
                kind=p.kind,
            )
            for p in s.periods
        ],
        credits=[lot_out(lot) for lot in s.credits],
        created_at=aware(s.created_at),
        updated_at=aware(s.updated_at),
    )


def _subscription_id(request: web.Request) -> str:
    return path_id(request, "subscription_id", "subscription")


@api.route(
    "POST",
    "/api/v1/memberships",
    summary="Define a membership: a package or benefits for a duration, at a price, with tolerance days",
    tag=TAG,
    body=MembershipIn,
    response=MembershipOut,
    status=201,
    permission="settings.manage",
    errors=(409,),
    description="409 MEMBERSHIP_EXISTS when the business has a membership of that name (case-insensitive).",
)
async def create_membership(request: web.Request, body: MembershipIn, account: Account) -> MembershipOut:
    reply = await request.app[BACKENDS].memberships.CreateMembership(
        pb.CreateMembershipRequest(
            name=body.name,
            package_id=body.package_id or "",
            benefits=body.benefits,
            duration_count=body.duration_count,
            duration_unit=body.duration_unit,
            price_minor=body.price_minor,
            currency=body.currency,
            tax_rate_bp=body.tax_rate_bp,
            invoicing=body.invoicing,
            payment_terms_days=body.payment_terms_days,
            tolerance_days=body.tolerance_days,
            auto_renew=body.auto_renew,
            expiring_notice_days=body.expiring_notice_days,
            extras=[pb.MembershipExtra(description=e.description, price_minor=e.price_minor) for e in body.extras],
        )
    )
    return membership_out(reply)


@api.route(
    "GET",
    "/api/v1/memberships",
    summary="The business's memberships",
    tag=TAG,
    permission="memberships.read",
    response=MembershipList,
)
async def list_memberships(request: web.Request, account: Account) -> MembershipList:
    reply = await request.app[BACKENDS].memberships.ListMemberships(pb.ListMembershipsRequest())
    return MembershipList(items=[membership_out(m) for m in reply.memberships])


@api.route(
    "POST",
    "/api/v1/clients/{client_id}/subscriptions",
    summary="Register a client to a membership: its invoice (issued or draft, as the membership says) and credits",
    tag=TAG,
    body=SubscribeIn,
    response=SubscriptionOut,
    status=201,
    permission="memberships.write",
    errors=(409,),
    description="An Idempotency-Key header makes retries safe: the same key returns the first subscription.",
)
async def subscribe(request: web.Request, body: SubscribeIn, account: Account) -> SubscriptionOut:
    reply = await request.app[BACKENDS].memberships.Subscribe(
        pb.SubscribeRequest(
            membership_id=body.membership_id,
            client_id=client_id_of(request),
            starts_on=body.starts_on.isoformat() if body.starts_on else "",
            request_id=idempotency_key(request),
        )
    )
    return subscription_out(reply)


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/subscriptions",
    summary="A client's subscriptions, the latest first, with their periods and credits",
    tag=TAG,
    permission="memberships.read",
    response=SubscriptionList,
)
async def client_subscriptions(request: web.Request, account: Account) -> SubscriptionList:
    reply = await request.app[BACKENDS].memberships.ListSubscriptions(
        pb.ListSubscriptionsRequest(client_id=client_id_of(request))
    )
    return SubscriptionList(items=[subscription_out(s) for s in reply.subscriptions])


@api.route(
    "GET",
    "/api/v1/subscriptions/{subscription_id}",
    summary="A subscription with its periods and credits",
    tag=TAG,
    permission="memberships.read",
    response=SubscriptionOut,
)
async def get_subscription(request: web.Request, account: Account) -> SubscriptionOut:
    reply = await request.app[BACKENDS].memberships.GetSubscription(
        pb.GetSubscriptionRequest(subscription_id=_subscription_id(request))
    )
    return subscription_out(reply)


@api.route(
    "POST",
    "/api/v1/subscriptions/{subscription_id}/freeze",
    summary="Freeze a subscription from today for some days or until a date; its expiry moves by the frozen days",
    tag=TAG,
    body=FreezeIn,
    response=SubscriptionOut,
    permission="memberships.write",
    errors=(409,),
    description="Give `days` or `until`. Nothing is taken from its credits while it is frozen. " + STATE_REFUSALS,
)
async def freeze_subscription(request: web.Request, body: FreezeIn, account: Account) -> SubscriptionOut:
    reply = await request.app[BACKENDS].memberships.FreezeSubscription(
        pb.FreezeSubscriptionRequest(
            subscription_id=_subscription_id(request),
            days=body.days or 0,
            until=body.until.isoformat() if body.until else "",
            reason=body.reason,
        )
    )
    return subscription_out(reply)


@api.route(
    "POST",
    "/api/v1/subscriptions/{subscription_id}/resume",
    summary="End a freeze today; the expiry moves back by the frozen days not used",
    tag=TAG,
    response=SubscriptionOut,
    permission="memberships.write",
    errors=(409,),
    description=STATE_REFUSALS,
)
async def resume_subscription(request: web.Request, account: Account) -> SubscriptionOut:
    reply = await request.app[BACKENDS].memberships.ResumeSubscription(
        pb.ResumeSubscriptionRequest(subscription_id=_subscription_id(request))
    )
    return subscription_out(reply)


@api.route(
    "POST",
    "/api/v1/subscriptions/{subscription_id}/renew",
    summary="Renew for one more period: from the expiry, or from today when it lapsed; invoiced as configured",
    tag=TAG,
    response=SubscriptionOut,
    permission="memberships.write",
    errors=(409,),
    description="An Idempotency-Key header makes retries safe: the same key renews once. " + STATE_REFUSALS,
)
async def renew_subscription(request: web.Request, account: Account) -> SubscriptionOut:
    reply = await request.app[BACKENDS].memberships.RenewSubscription(
        pb.RenewSubscriptionRequest(subscription_id=_subscription_id(request), request_id=idempotency_key(request))
    )
    return subscription_out(reply)


@api.route(
    "POST",
    "/api/v1/subscriptions/{subscription_id}/cancel",
    summary="Cancel a subscription: it ends now, with the credits it gave that were not used",
    tag=TAG,
    body=CancelIn,
    response=SubscriptionOut,
    permission="memberships.write",
    errors=(409,),
    description=STATE_REFUSALS,
)
async def cancel_subscription(request: web.Request, body: CancelIn, account: Account) -> SubscriptionOut:
    reply = await request.app[BACKENDS].memberships.CancelSubscription(
        pb.CancelSubscriptionRequest(subscription_id=_subscription_id(request), reason=body.reason)
    )
    return subscription_out(reply)


@api.route(
    "PUT",
    "/api/v1/subscriptions/{subscription_id}/auto-renew",
    summary="Turn a subscription's automatic renewal on or off",
    tag=TAG,
    body=AutoRenewIn,
    response=SubscriptionOut,
    permission="memberships.write",
    errors=(409,),
    description=STATE_REFUSALS,
)
async def set_auto_renew(request: web.Request, body: AutoRenewIn, account: Account) -> SubscriptionOut:
    reply = await request.app[BACKENDS].memberships.SetAutoRenew(
        pb.SetAutoRenewRequest(subscription_id=_subscription_id(request), auto_renew=body.auto_renew)
    )
    return subscription_out(reply)


@api.route(
    "GET",
    "/api/v1/portal/memberships",
    summary="The signed-in client's memberships, with what is left of their credits and when each part expires",
    tag="portal",
    auth="portal",
    response=SubscriptionList,
    description="Shown when the business lets clients view their invoices in the portal.",
)
async def portal_memberships(request: web.Request, account: Account) -> SubscriptionList:
    await require_portal_view(request, account, "view_invoices")
    reply = await request.app[BACKENDS].memberships.ListSubscriptions(pb.ListSubscriptionsRequest())
    return SubscriptionList(items=[subscription_out(s) for s in reply.subscriptions])


def program_out(p: pb.LoyaltyProgram) -> LoyaltyProgramOut:
    return LoyaltyProgramOut(
        enabled=p.enabled,
        points_credit_type_id=p.points_credit_type_id or None,
        currency=p.currency,
        step_minor=p.step_minor,
        points_per_step=p.points_per_step,
        points_per_visit=p.points_per_visit,
        validity_days=p.validity_days or None,
        reward_credit_type_id=p.reward_credit_type_id or None,
        points_per_reward_unit=p.points_per_reward_unit,
    )


@api.route(
    "PUT",
    "/api/v1/loyalty-program",
    summary="Set the business's loyalty program: points for payments and visits, their validity, what they buy",
    tag=TAG,
    body=LoyaltyProgramIn,
    response=LoyaltyProgramOut,
    permission="settings.manage",
)
async def set_loyalty_program(request: web.Request, body: LoyaltyProgramIn, account: Account) -> LoyaltyProgramOut:
    reply = await request.app[BACKENDS].memberships.SetLoyaltyProgram(
        pb.LoyaltyProgram(
            points_credit_type_id=body.points_credit_type_id,
            currency=body.currency,
            step_minor=body.step_minor,
            points_per_step=body.points_per_step,
            points_per_visit=body.points_per_visit,
            validity_days=body.validity_days or 0,
            reward_credit_type_id=body.reward_credit_type_id or "",
            points_per_reward_unit=body.points_per_reward_unit,
        )
    )
    return program_out(reply)


@api.route(
    "GET",
    "/api/v1/loyalty-program",
    summary="The business's loyalty program",
    tag=TAG,
    response=LoyaltyProgramOut,
    permission="memberships.read",
)
async def get_loyalty_program(request: web.Request, account: Account) -> LoyaltyProgramOut:
    reply = await request.app[BACKENDS].memberships.GetLoyaltyProgram(pb.GetLoyaltyProgramRequest())
    return program_out(reply)


@api.route(
    "POST",
    "/api/v1/clients/{client_id}/points/redemptions",
    summary="Redeem a client's points as credit of the program's reward type (the use of the points is returned)",
    tag=TAG,
    body=RedeemIn,
    response=TransactionOut,
    status=201,
    permission="memberships.write",
    errors=(409,),
    description="409 INSUFFICIENT_CREDITS when the client holds too few usable points, NO_REWARD when points buy "
    "nothing. An Idempotency-Key header makes retries safe.",
)
async def redeem_points(request: web.Request, body: RedeemIn, account: Account) -> TransactionOut:
    reply = await request.app[BACKENDS].memberships.RedeemPoints(
        pb.RedeemPointsRequest(client_id=client_id_of(request), points=body.points, request_id=idempotency_key(request))
    )
    return transaction_out(reply)
