"""In-app notifications (a portal client's and a staff member's own inbox) and the operators' messages.

Each inbox holds only its owner's notices: another's notice answers 404. The operators' list (owners and
admins: the notifications.manage permission) shows every message of the business by delivery state,
with each attempt and its error, and resends a failed or skipped one.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from atrium.common.v1 import types_pb2
from atrium.notification.v1 import notification_service_pb2 as pb
from gateway.api import Auth, path_id
from gateway.dependencies import BACKENDS, SETTINGS
from gateway.identity.model import Account
from gateway.notification_schemas import (
    CampaignAudienceOut,
    CampaignIn,
    CampaignList,
    CampaignOut,
    InboxQuery,
    MarkedRead,
    MessageList,
    MessageOut,
    MessageQuery,
    NotificationList,
    PaymentRuleIn,
    PaymentRuleOut,
    PreferencesIn,
    PreferencesOut,
    ReminderRuleIn,
    ReminderRuleList,
    ReminderRuleOut,
    SmsStatusRecorded,
    TemplateKindList,
    TemplatePreviewIn,
    TemplatePreviewOut,
    TemplateSourceIn,
    UnsubscribedOut,
)
from gateway.routes.registry import api
from gateway.schemas import PageQuery
from platform_core.errors import InvalidArgument, NotFound
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.ids import parse_uuid


def _when(message: Any, field: str) -> str | None:
    return str(getattr(message, field).ToJsonString()) if message.HasField(field) else None


async def _inbox(request: web.Request, query: InboxQuery) -> dict[str, Any]:
    reply = await request.app[BACKENDS].notifications.ListNotifications(
        pb.ListNotificationsRequest(
            page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token),
            unread_only=query.unread_only,
        )
    )
    return {
        "items": [
            {
                "id": n.id,
                "kind": n.kind,
                "title": n.title,
                "body": n.body,
                "created_at": n.created_at.ToJsonString(),
                "read_at": _when(n, "read_at"),
            }
            for n in reply.notifications
        ],
        "unread_count": reply.unread_count,
        "next_page_token": reply.page.next_page_token or None,
    }


async def _mark(request: web.Request, notification_id: str = "") -> dict[str, Any]:
    reply = await request.app[BACKENDS].notifications.MarkNotificationsRead(
        pb.MarkNotificationsReadRequest(notification_id=notification_id, all=not notification_id)
    )
    return {"marked": reply.marked, "unread_count": reply.unread_count}


def _inbox_routes(prefix: str, auth: Auth, who: str) -> None:
    # A staff member's own inbox needs no more than seeing the schedule its notices are about.
    permission = "schedule.read" if auth == "staff" else ""

    @api.route(
        "GET",
        prefix,
        summary=f"The {who}'s notifications, newest first, with the unread count",
        tag="notifications",
        auth=auth,
        permission=permission,
        query=InboxQuery,
        response=NotificationList,
    )
    async def list_notifications(request: web.Request, query: InboxQuery, account: Account) -> dict[str, Any]:
        return await _inbox(request, query)

    @api.route(
        "POST",
        f"{prefix}/{{notification_id}}/read",
        summary=f"Mark one of the {who}'s notifications read",
        tag="notifications",
        auth=auth,
        permission=permission,
        response=MarkedRead,
        errors=(404,),
    )
    async def mark_one_read(request: web.Request, account: Account) -> dict[str, Any]:
        return await _mark(request, path_id(request, "notification_id", "notification"))

    @api.route(
        "POST",
        f"{prefix}/read-all",
        summary=f"Mark all the {who}'s notifications read",
        tag="notifications",
        auth=auth,
        permission=permission,
        response=MarkedRead,
    )
    async def mark_all_read(request: web.Request, account: Account) -> dict[str, Any]:
        return await _mark(request)

    # Distinct handler names per inbox keep the operation ids apart.
    for handler in (list_notifications, mark_one_read, mark_all_read):
        handler.__name__ = f"{handler.__name__}_{auth}"


_inbox_routes("/api/v1/portal/notifications", "portal", "client")
_inbox_routes("/api/v1/notifications", "staff", "staff member")


def message_json(m: pb.Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": m.kind,
        "category": m.category,
        "channel": m.channel,
        "recipient_kind": m.recipient_kind,
        "recipient_id": m.recipient_id,
        "client_id": m.client_id or None,
        "status": m.status,
        "to_address": m.to_address,
        "subject": m.subject,
        "language": m.language,
        "due_at": m.due_at.ToJsonString(),
        "sent_at": _when(m, "sent_at"),
        "attempts": m.attempts,
        "last_error": m.last_error,
        "skip_reason": m.skip_reason,
        "created_at": m.created_at.ToJsonString(),
        "attempt_log": [
            {
                "number": a.number,
                "channel": a.channel,
                "at": a.at.ToJsonString(),
                "outcome": a.outcome,
                "error": a.error,
            }
            for a in m.attempt_log
        ],
    }


@api.route(
    "GET",
    "/api/v1/messages",
    summary="Messages of the business by delivery state (e.g. status=failed), each with its attempts",
    tag="notifications",
    query=MessageQuery,
    response=MessageList,
    permission="notifications.manage",
    errors=(403,),
)
async def list_messages(request: web.Request, query: MessageQuery, account: Account) -> dict[str, Any]:
    if query.client_id and parse_uuid(query.client_id) is None:
        raise InvalidArgument.single("client_id", "is not a client id")
    reply = await request.app[BACKENDS].notifications.ListMessages(
        pb.ListMessagesRequest(
            status=query.status or "",
            client_id=query.client_id or "",
            page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token),
        )
    )
    return {"items": [message_json(m) for m in reply.messages], "next_page_token": reply.page.next_page_token or None}


@api.route(
    "POST",
    "/api/v1/messages/{message_id}/resend",
    summary="Send a failed or skipped message again, now",
    tag="notifications",
    response=MessageOut,
    permission="notifications.manage",
    errors=(403, 404, 409),
    description="409 MESSAGE_NOT_RESENDABLE when the message is not failed or skipped.",
)
async def resend_message(request: web.Request, account: Account) -> dict[str, Any]:
    resent = await request.app[BACKENDS].notifications.ResendMessage(
        pb.ResendMessageRequest(message_id=path_id(request, "message_id", "message"))
    )
    return message_json(resent)


RULES = "/api/v1/reminder-rules"


def rule_json(r: pb.ReminderRule) -> dict[str, Any]:
    return {
        "service_id": r.service_id or None,
        "offsets": list(r.offsets),
        "audiences": list(r.audiences),
        "channels": list(r.channels),
        "quiet_hours": {"start": r.quiet_start, "end": r.quiet_end} if r.quiet_start else None,
        "sms_fallback_after": r.sms_fallback_after,
        "is_default": r.is_default,
    }


def rule_pb(body: ReminderRuleIn, service_id: str = "") -> pb.ReminderRule:
    quiet = body.quiet_hours
    return pb.ReminderRule(
        service_id=service_id,
        offsets=body.offsets,
        audiences=body.audiences,
        channels=body.channels,
        quiet_start=quiet.start if quiet else "",
        quiet_end=quiet.end if quiet else "",
        sms_fallback_after=body.sms_fallback_after,
    )


@api.route(
    "GET",
    RULES,
    summary="Reminder rules: the business's (or the default) first, then the per-service overrides",
    tag="notifications",
    response=ReminderRuleList,
    permission="notifications.manage",
    errors=(403,),
)
async def list_reminder_rules(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].notifications.ListReminderRules(pb.ListReminderRulesRequest())
    return {"items": [rule_json(r) for r in reply.rules]}


@api.route(
    "PUT",
    f"{RULES}/business",
    summary="Set the business's reminder rule (offsets, to whom, on which channels, quiet hours)",
    tag="notifications",
    body=ReminderRuleIn,
    response=ReminderRuleOut,
    permission="notifications.manage",
    errors=(403,),
    description="Applies to reminders planned from then on.",
)
async def set_business_reminder_rule(request: web.Request, body: ReminderRuleIn, account: Account) -> dict[str, Any]:
    return rule_json(await request.app[BACKENDS].notifications.SetReminderRule(rule_pb(body)))


@api.route(
    "DELETE",
    f"{RULES}/business",
    summary="Drop the business's reminder rule (the default applies again)",
    tag="notifications",
    permission="notifications.manage",
    status=204,
    errors=(403,),
)
async def reset_business_reminder_rule(request: web.Request, account: Account) -> None:
    await request.app[BACKENDS].notifications.DeleteReminderRule(pb.DeleteReminderRuleRequest())


@api.route(
    "PUT",
    f"{RULES}/services/{{service_id}}",
    summary="Set a service's own reminder rule, overriding the business's",
    tag="notifications",
    body=ReminderRuleIn,
    response=ReminderRuleOut,
    permission="notifications.manage",
    errors=(403, 404),
)
async def set_service_reminder_rule(request: web.Request, body: ReminderRuleIn, account: Account) -> dict[str, Any]:
    service_id = path_id(request, "service_id", "service")
    return rule_json(await request.app[BACKENDS].notifications.SetReminderRule(rule_pb(body, service_id)))


@api.route(
    "DELETE",
    f"{RULES}/services/{{service_id}}",
    summary="Drop a service's reminder rule (its appointments follow the business's)",
    tag="notifications",
    permission="notifications.manage",
    status=204,
    errors=(403, 404),
)
async def reset_service_reminder_rule(request: web.Request, account: Account) -> None:
    await request.app[BACKENDS].notifications.DeleteReminderRule(
        pb.DeleteReminderRuleRequest(service_id=path_id(request, "service_id", "service"))
    )


def preferences_json(reply: pb.NotificationPreferences) -> dict[str, Any]:
    return {
        "client_id": reply.client_id,
        "preferred_channel": reply.preferred_channel or "email",
        "preferences": [
            {"category": p.category, "channel": p.channel, "allowed": p.allowed} for p in reply.preferences
        ],
    }


def preferences_pb(body: PreferencesIn, client_id: str = "") -> pb.SetNotificationPreferencesRequest:
    return pb.SetNotificationPreferencesRequest(
        client_id=client_id,
        preferred_channel=body.preferred_channel or "",
        preferences=[
            pb.NotificationPreference(category=p.category, channel=p.channel, allowed=p.allowed)
            for p in body.preferences
        ],
    )


@api.route(
    "GET",
    "/api/v1/portal/notification-preferences",
    summary="What the client receives beyond transactional messages (reminders, marketing) per channel",
    tag="notifications",
    auth="portal",
    response=PreferencesOut,
)
async def portal_preferences(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].notifications.GetNotificationPreferences(pb.GetNotificationPreferencesRequest())
    return preferences_json(reply)


@api.route(
    "PUT",
    "/api/v1/portal/notification-preferences",
    summary="Switch reminders or marketing on or off per channel",
    tag="notifications",
    auth="portal",
    body=PreferencesIn,
    response=PreferencesOut,
)
async def set_portal_preferences(request: web.Request, body: PreferencesIn, account: Account) -> dict[str, Any]:
    return preferences_json(await request.app[BACKENDS].notifications.SetNotificationPreferences(preferences_pb(body)))


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/notification-preferences",
    summary="A client's choices of reminders and marketing per channel",
    tag="notifications",
    permission="clients.read",
    response=PreferencesOut,
    errors=(404,),
)
async def client_preferences(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].notifications.GetNotificationPreferences(
        pb.GetNotificationPreferencesRequest(client_id=path_id(request, "client_id", "client"))
    )
    return preferences_json(reply)


@api.route(
    "PUT",
    "/api/v1/clients/{client_id}/notification-preferences",
    summary="Record a client's choice of reminders and marketing per channel (e.g. given by phone)",
    tag="notifications",
    permission="clients.write",
    body=PreferencesIn,
    response=PreferencesOut,
    errors=(404,),
)
async def set_client_preferences(request: web.Request, body: PreferencesIn, account: Account) -> dict[str, Any]:
    client_id = path_id(request, "client_id", "client")
    reply = await request.app[BACKENDS].notifications.SetNotificationPreferences(preferences_pb(body, client_id))
    return preferences_json(reply)


UNSUBSCRIBE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<title>Unsubscribe</title></head>
<body style="font-family: sans-serif"><form method="post">
<p>Stop receiving these messages?</p><button type="submit">Unsubscribe</button></form></body></html>
"""


def _link_tenant(token: str) -> uuid.UUID:
    tenant = parse_uuid(token[:32]) if len(token) > 32 else None
    if tenant is None:
        raise NotFound("unsubscribe link not found")
    return tenant


@api.route(
    "GET",
    "/unsubscribe/{token}",
    summary="The page an unsubscribe link opens: a button that unsubscribes (opening it changes nothing)",
    tag="notifications",
    auth="public",
    produces=("text/html",),
    description="No login: the link is the credential. Mail scanners open links, so only the POST unsubscribes.",
)
async def unsubscribe_page(request: web.Request) -> web.Response:
    _link_tenant(request.match_info["token"])
    return web.Response(text=UNSUBSCRIBE_PAGE, content_type="text/html", headers={"Referrer-Policy": "no-referrer"})


@api.route(
    "POST",
    "/unsubscribe/{token}",
    summary="One-click unsubscribe (RFC 8058): switches off what the link names for its own client",
    tag="notifications",
    auth="public",
    response=UnsubscribedOut,
    errors=(404,),
    description="What mail programs POST (List-Unsubscribe=One-Click) and the page's button sends. An unknown "
    "link answers 404.",
)
async def unsubscribe(request: web.Request) -> dict[str, Any]:
    token = request.match_info["token"]
    with bind_call_context(CallContext(_link_tenant(token), Principal.service("unsubscribe-link"))):
        reply = await request.app[BACKENDS].notifications.Unsubscribe(pb.UnsubscribeRequest(token=token))
    return {"category": reply.category, "channel": reply.channel, "unsubscribed": True}


@api.route(
    "POST",
    "/webhooks/twilio/{tenant_id}/status",
    summary="Twilio's delivery reports of the business's SMS (its status callback)",
    tag="notifications",
    auth="public",
    response=SmsStatusRecorded,
    errors=(403, 404),
    description="Signed by Twilio in X-Twilio-Signature (HMAC-SHA1 of this address and the form, with the auth "
    "token); an unsigned or wrongly signed report answers 403 and changes nothing.",
)
async def twilio_status(request: web.Request) -> dict[str, Any]:
    tenant_id = path_id(request, "tenant_id", "business")
    form = {name: str(value) for name, value in (await request.post()).items()}
    url = f"{request.app[SETTINGS].base_url()}{request.path_qs}"
    with bind_call_context(CallContext(uuid.UUID(tenant_id), Principal.service("twilio-status"))):
        reply = await request.app[BACKENDS].notifications.RecordSmsStatus(
            pb.RecordSmsStatusRequest(url=url, params=form, signature=request.headers.get("X-Twilio-Signature", ""))
        )
    return {"recorded": reply.recorded}


TEMPLATES = "/api/v1/message-templates"


def preview_json(p: pb.TemplatePreview) -> dict[str, Any]:
    return {"subject": p.subject, "text": p.text, "html": p.html, "sms": p.sms, "inbox": p.inbox}


def _template_path(request: web.Request) -> tuple[str, str]:
    return request.match_info["kind"], request.match_info["language"]


@api.route(
    "GET",
    TEMPLATES,
    summary="Messages the business may reword, with the variables each offers and its own languages",
    tag="notifications",
    response=TemplateKindList,
    permission="notifications.manage",
    errors=(403,),
)
async def list_message_templates(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].notifications.ListMessageTemplates(pb.ListMessageTemplatesRequest())
    return {
        "items": [
            {"kind": k.kind, "variables": list(k.variables), "languages": list(k.languages),
             "overridden": list(k.overridden)}
            for k in reply.kinds
        ]
    }  # fmt: skip


@api.route(
    "PUT",
    f"{TEMPLATES}/{{kind}}/{{language}}",
    summary="Save the business's wording of a message in a language (checked now; answers its preview)",
    tag="notifications",
    body=TemplateSourceIn,
    response=TemplatePreviewOut,
    permission="notifications.manage",
    errors=(403,),
    description="422 naming source for a syntax error, an unknown variable, a block that is no part of a "
    "message or a failure on sample data; kind or language when there is no such message.",
)
async def save_message_template(request: web.Request, body: TemplateSourceIn, account: Account) -> dict[str, Any]:
    kind, language = _template_path(request)
    reply = await request.app[BACKENDS].notifications.SaveMessageTemplate(
        pb.MessageTemplateSource(kind=kind, language=language, source=body.source)
    )
    return preview_json(reply)


@api.route(
    "POST",
    f"{TEMPLATES}/{{kind}}/{{language}}/preview",
    summary="A message rendered on sample data: the given blocks, or what is in use",
    tag="notifications",
    body=TemplatePreviewIn,
    response=TemplatePreviewOut,
    permission="notifications.manage",
    errors=(403,),
)
async def preview_message_template(request: web.Request, body: TemplatePreviewIn, account: Account) -> dict[str, Any]:
    kind, language = _template_path(request)
    reply = await request.app[BACKENDS].notifications.PreviewMessageTemplate(
        pb.MessageTemplateSource(kind=kind, language=language, source=body.source)
    )
    return preview_json(reply)


@api.route(
    "DELETE",
    f"{TEMPLATES}/{{kind}}/{{language}}",
    summary="Back to the default wording",
    tag="notifications",
    permission="notifications.manage",
    status=204,
    errors=(403,),
)
async def reset_message_template(request: web.Request, account: Account) -> None:
    kind, language = _template_path(request)
    await request.app[BACKENDS].notifications.ResetMessageTemplate(
        pb.MessageTemplateSource(kind=kind, language=language)
    )


CAMPAIGNS = "/api/v1/campaigns"


def campaign_json(c: pb.Campaign) -> dict[str, Any]:
    r = c.report
    return {
        "id": c.id,
        "name": c.name,
        "channel": c.channel,
        "segment": {
            "group_id": c.segment.group_id or None,
            "status_id": c.segment.status_id or None,
            "tag": c.segment.tag or None,
        },
        "source": c.source,
        "rate_per_minute": c.rate_per_minute,
        "status": c.status,
        "created_by": c.created_by,
        "created_at": c.created_at.ToJsonString(),
        "started_at": _when(c, "started_at"),
        "report": {
            "recipients": r.recipients,
            "pending": r.pending,
            "sent": r.sent,
            "delivered": r.delivered,
            "failed": r.failed,
            "skipped": r.skipped,
            "skip_reasons": [{"reason": s.reason, "count": s.count} for s in r.skip_reasons],
        },
    }


@api.route(
    "POST",
    CAMPAIGNS,
    summary="Write a campaign: a marketing message to a segment of clients (a draft until sent)",
    tag="notifications",
    body=CampaignIn,
    response=CampaignOut,
    status=201,
    permission="notifications.manage",
    errors=(403,),
    description="The source is checked like a message template: a syntax error, an unknown variable, a "
    "missing block or an email without its unsubscribe link is a 422 naming `source`.",
)
async def create_campaign(request: web.Request, body: CampaignIn, account: Account) -> dict[str, Any]:
    segment = body.segment
    created = await request.app[BACKENDS].notifications.CreateCampaign(
        pb.CreateCampaignRequest(
            name=body.name,
            channel=body.channel,
            segment=pb.CampaignSegment(
                group_id=segment.group_id or "", status_id=segment.status_id or "", tag=segment.tag or ""
            ),
            source=body.source,
            rate_per_minute=body.rate_per_minute,
        )
    )
    return campaign_json(created)


@api.route(
    "GET",
    CAMPAIGNS,
    summary="Campaigns, newest first, each with its report",
    tag="notifications",
    query=PageQuery,
    response=CampaignList,
    permission="notifications.manage",
    errors=(403,),
)
async def list_campaigns(request: web.Request, query: PageQuery, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].notifications.ListCampaigns(
        pb.ListCampaignsRequest(page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token))
    )
    return {"items": [campaign_json(c) for c in reply.campaigns], "next_page_token": reply.page.next_page_token or None}


@api.route(
    "GET",
    f"{CAMPAIGNS}/{{campaign_id}}",
    summary="A campaign with its report: sent, delivered, failed, skipped (with the reasons) and still to go",
    tag="notifications",
    response=CampaignOut,
    permission="notifications.manage",
    errors=(403, 404),
)
async def get_campaign(request: web.Request, account: Account) -> dict[str, Any]:
    campaign = await request.app[BACKENDS].notifications.GetCampaign(
        pb.CampaignRequest(campaign_id=path_id(request, "campaign_id", "campaign"))
    )
    return campaign_json(campaign)


@api.route(
    "GET",
    f"{CAMPAIGNS}/{{campaign_id}}/audience",
    summary="How many clients a campaign would reach now (the segment less opt-outs and missing addresses)",
    tag="notifications",
    response=CampaignAudienceOut,
    permission="notifications.manage",
    errors=(403, 404, 422, 503),
)
async def campaign_audience(request: web.Request, account: Account) -> dict[str, Any]:
    found = await request.app[BACKENDS].notifications.PreviewCampaignAudience(
        pb.CampaignRequest(campaign_id=path_id(request, "campaign_id", "campaign"))
    )
    return {
        "matching": found.matching,
        "recipients": found.recipients,
        "opted_out": found.opted_out,
        "without_address": found.without_address,
    }


@api.route(
    "POST",
    f"{CAMPAIGNS}/{{campaign_id}}/send",
    summary="Send a campaign: one message to each client of its segment, at its rate",
    tag="notifications",
    response=CampaignOut,
    status=202,
    permission="notifications.manage",
    errors=(403, 404, 409, 422, 503),
    description="Once: 409 CAMPAIGN_ALREADY_SENT afterwards. Clients who opted out of marketing on the "
    "channel, or have no address for it, are skipped with the reason (see the report).",
)
async def send_campaign(request: web.Request, account: Account) -> dict[str, Any]:
    sent = await request.app[BACKENDS].notifications.SendCampaign(
        pb.CampaignRequest(campaign_id=path_id(request, "campaign_id", "campaign"))
    )
    return campaign_json(sent)


PAYMENT_RULE = "/api/v1/payment-reminder-rule"


def day_rule_json(r: pb.PaymentReminderRule | pb.MembershipExpiryRule) -> dict[str, Any]:
    """A rule of days around a date (an invoice's due date, a membership's end): the same fields for both."""
    return {"days": list(r.days), "channels": list(r.channels), "send_at": r.send_at, "is_default": r.is_default}


@api.route(
    "GET",
    PAYMENT_RULE,
    summary="When unpaid invoices are reminded: days before, on and after the due date, channels, local time",
    tag="notifications",
    response=PaymentRuleOut,
    permission="notifications.manage",
    errors=(403,),
)
async def get_payment_rule(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].notifications.GetPaymentReminderRule(pb.PaymentReminderRuleRequest())
    return day_rule_json(reply)


@api.route(
    "PUT",
    PAYMENT_RULE,
    summary="Set the business's payment reminder rule",
    tag="notifications",
    body=PaymentRuleIn,
    response=PaymentRuleOut,
    permission="notifications.manage",
    errors=(403,),
    description="Applies to invoices issued, or reopened by a refund, from then on.",
)
async def set_payment_rule(request: web.Request, body: PaymentRuleIn, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].notifications.SetPaymentReminderRule(
        pb.PaymentReminderRule(days=body.days, channels=body.channels, send_at=body.send_at)
    )
    return day_rule_json(reply)


@api.route(
    "DELETE",
    PAYMENT_RULE,
    summary="Back to the default payment reminder rule",
    tag="notifications",
    response=PaymentRuleOut,
    permission="notifications.manage",
    errors=(403,),
)
async def delete_payment_rule(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].notifications.DeletePaymentReminderRule(pb.PaymentReminderRuleRequest())
    return day_rule_json(reply)
