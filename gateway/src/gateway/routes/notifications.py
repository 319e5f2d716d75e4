"""In-app notifications (a portal client's and a staff member's own inbox) and the operators' messages.

Each inbox holds only its owner's notices: another's notice answers 404. The operators' list (owners and
admins: the notifications.manage permission) shows every message of the business by delivery state,
with each attempt and its error, and resends a failed or skipped one.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium.common.v1 import types_pb2
from atrium.notification.v1 import notification_service_pb2 as pb
from gateway.api import Auth, path_id
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.notification_schemas import (
    InboxQuery,
    MarkedRead,
    MessageList,
    MessageOut,
    MessageQuery,
    NotificationList,
    ReminderRuleIn,
    ReminderRuleList,
    ReminderRuleOut,
)
from gateway.routes.registry import api
from platform_core.errors import InvalidArgument
from platform_core.ids import parse_uuid

OPERATORS = ("owner", "admin")


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
    @api.route(
        "GET",
        prefix,
        summary=f"The {who}'s notifications, newest first, with the unread count",
        tag="notifications",
        auth=auth,
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
    roles=OPERATORS,
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
    roles=OPERATORS,
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
    )


@api.route(
    "GET",
    RULES,
    summary="Reminder rules: the business's (or the default) first, then the per-service overrides",
    tag="notifications",
    response=ReminderRuleList,
    roles=OPERATORS,
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
    roles=OPERATORS,
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
    roles=OPERATORS,
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
    roles=OPERATORS,
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
    roles=OPERATORS,
    status=204,
    errors=(403, 404),
)
async def reset_service_reminder_rule(request: web.Request, account: Account) -> None:
    await request.app[BACKENDS].notifications.DeleteReminderRule(
        pb.DeleteReminderRuleRequest(service_id=path_id(request, "service_id", "service"))
    )
