"""The business's membership-expiry rule: when clients are reminded that their membership ends (days
before, on the day) and has ended (days after, while the tolerance lasts), on which channels, at what local
time. While a business has its own rule, its messages replace billing's one-off expiring notice."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium.notification.v1 import notification_service_pb2 as pb
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.notification_schemas import MembershipExpiryRuleIn, MembershipExpiryRuleOut
from gateway.routes.notifications import day_rule_json
from gateway.routes.registry import api

MEMBERSHIP_EXPIRY_RULE = "/api/v1/membership-expiry-rule"


@api.route(
    "GET",
    MEMBERSHIP_EXPIRY_RULE,
    summary="When clients are reminded of their membership's end: days before, on and after, channels, local time",
    tag="notifications",
    response=MembershipExpiryRuleOut,
    permission="notifications.manage",
    errors=(403,),
)
async def get_expiry_rule(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].notifications.GetMembershipExpiryRule(pb.MembershipExpiryRuleRequest())
    return day_rule_json(reply)


@api.route(
    "PUT",
    MEMBERSHIP_EXPIRY_RULE,
    summary="Set the business's membership-expiry rule",
    tag="notifications",
    body=MembershipExpiryRuleIn,
    response=MembershipExpiryRuleOut,
    permission="notifications.manage",
    errors=(403,),
    description="Applies to each membership from its next event on (sold, renewed, frozen, resumed). While set, "
    "billing's one-off expiring notice is not sent: the rule's messages replace it.",
)
async def set_expiry_rule(request: web.Request, body: MembershipExpiryRuleIn, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].notifications.SetMembershipExpiryRule(
        pb.MembershipExpiryRule(days=body.days, channels=body.channels, send_at=body.send_at)
    )
    return day_rule_json(reply)


@api.route(
    "DELETE",
    MEMBERSHIP_EXPIRY_RULE,
    summary="Back to the default membership-expiry rule",
    tag="notifications",
    response=MembershipExpiryRuleOut,
    permission="notifications.manage",
    errors=(403,),
)
async def delete_expiry_rule(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].notifications.DeleteMembershipExpiryRule(pb.MembershipExpiryRuleRequest())
    return day_rule_json(reply)
