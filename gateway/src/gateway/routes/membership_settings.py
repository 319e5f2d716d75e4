"""The business's membership settings (whether clients may cancel their own subscriptions in the portal, off by
default), and the portal's cancellation of the signed-in client's own subscription when allowed."""

from __future__ import annotations

from aiohttp import web

from atrium.membership_billing.v1 import memberships_pb2 as pb
from gateway.api import path_id
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.membership_schemas import CancelIn, SubscriptionOut
from gateway.routes.memberships import STATE_REFUSALS, subscription_out
from gateway.routes.portal import require_portal_view
from gateway.routes.registry import api
from gateway.schemas import Body, Out


class MembershipSettingsIn(Body):
    clients_may_cancel: bool


class MembershipSettingsOut(Out):
    clients_may_cancel: bool


@api.route(
    "GET",
    "/api/v1/membership-settings",
    summary="The business's membership settings",
    tag="memberships",
    response=MembershipSettingsOut,
    permission="memberships.read",
)
async def get_membership_settings(request: web.Request, account: Account) -> MembershipSettingsOut:
    reply = await request.app[BACKENDS].memberships.GetMembershipSettings(pb.GetMembershipSettingsRequest())
    return MembershipSettingsOut(clients_may_cancel=reply.clients_may_cancel)


@api.route(
    "PUT",
    "/api/v1/membership-settings",
    summary="Set the business's membership settings: whether clients may cancel their own in the portal",
    tag="memberships",
    body=MembershipSettingsIn,
    response=MembershipSettingsOut,
    permission="settings.manage",
)
async def set_membership_settings(
    request: web.Request, body: MembershipSettingsIn, account: Account
) -> MembershipSettingsOut:
    reply = await request.app[BACKENDS].memberships.SetMembershipSettings(
        pb.MembershipSettings(clients_may_cancel=body.clients_may_cancel)
    )
    return MembershipSettingsOut(clients_may_cancel=reply.clients_may_cancel)


@api.route(
    "GET",
    "/api/v1/portal/membership-settings",
    summary="What the signed-in client may do with its memberships (cancel them itself or not)",
    tag="portal",
    auth="portal",
    response=MembershipSettingsOut,
    description="Shown when the business lets clients view their invoices in the portal.",
)
async def portal_membership_settings(request: web.Request, account: Account) -> MembershipSettingsOut:
    await require_portal_view(request, account, "view_invoices")
    reply = await request.app[BACKENDS].memberships.GetMembershipSettings(pb.GetMembershipSettingsRequest())
    return MembershipSettingsOut(clients_may_cancel=reply.clients_may_cancel)


@api.route(
    "POST",
    "/api/v1/portal/subscriptions/{subscription_id}/cancel",
    summary="Cancel one of the signed-in client's own subscriptions, when the business allows it",
    tag="portal",
    auth="portal",
    body=CancelIn,
    response=SubscriptionOut,
    errors=(409,),
    description="403 CLIENT_CANCELLATION_OFF unless the business's membership settings let clients cancel;"
    " another client's subscription answers 404. The cancellation is recorded as the client's. " + STATE_REFUSALS,
)
async def portal_cancel_subscription(request: web.Request, body: CancelIn, account: Account) -> SubscriptionOut:
    await require_portal_view(request, account, "view_invoices")
    reply = await request.app[BACKENDS].memberships.CancelSubscription(
        pb.CancelSubscriptionRequest(
            subscription_id=path_id(request, "subscription_id", "subscription"), reason=body.reason
        )
    )
    return subscription_out(reply)
