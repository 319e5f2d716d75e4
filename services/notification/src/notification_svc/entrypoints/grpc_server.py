"""gRPC servicer of the notification service."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.common.v1 import types_pb2
from atrium.notification.v1 import notification_service_pb2 as pb
from atrium.notification.v1 import notification_service_pb2_grpc as pb_grpc
from notification_svc import message_views, views
from notification_svc.adapters.sms_sender import DELIVERED_STATUSES, FAILED_STATUSES, valid_twilio_signature
from notification_svc.domain import commands
from notification_svc.domain.campaigns import Segment
from notification_svc.domain.delivery import Status, message_summary
from notification_svc.domain.membership_expiry import DEFAULT_EXPIRY_RULE, MembershipExpiryRule, checked_expiry_rule
from notification_svc.domain.payment_notices import DEFAULT_PAYMENT_RULE, PaymentRule, checked_payment_rule
from notification_svc.domain.preferences import (
    OPTIONAL_CATEGORIES,
    PREFERENCE_CHANNELS,
    Preference,
    UnsubscribeLink,
)
from notification_svc.domain.reminders import DEFAULT_RULE, DEFAULT_SMS_FALLBACK_AFTER, ReminderRule, checked_rule
from notification_svc.domain.template_catalogue import RenderedMessage
from notification_svc.service_layer import (
    campaign_handlers,
    message_handlers,
    preference_handlers,
    rule_handlers,
    template_handlers,
)
from notification_svc.service_layer.unit_of_work import Clock, NotificationUnitOfWork
from platform_core.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from platform_core.grpc.context import CallContext, current_context
from platform_core.ids import parse_uuid
from platform_core.validation import Violations

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["NotificationService"].full_name


class NotificationServicer(pb_grpc.NotificationServiceServicer):
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        uow_factory: Callable[[], NotificationUnitOfWork],
        clock: Clock,
        sms_auth_token: str = "",
        max_attempts: int = 5,
    ) -> None:
        self._engine = engine
        self._max_attempts = max_attempts
        self._sms_auth_token = sms_auth_token
        self._uow_factory = uow_factory
        self._clock = clock

    async def ListClientActivity(
        self, request: pb.ListClientActivityRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClientActivityResponse:
        call = current_context()
        client_id = parse_uuid(request.client_id)
        if client_id is None or (call.principal.is_portal and call.principal.client_id != str(client_id)):
            raise NotFound("client not found")
        limit = views.page_size(request.page.page_size)
        after = views.decode_cursor(request.page.page_token) if request.page.page_token else None
        items, next_token = await message_views.client_thread(
            self._engine, call.tenant_id, client_id, limit=limit, after=after
        )
        response = pb.ListClientActivityResponse(page=types_pb2.PageInfo(next_page_token=next_token))
        for item in items:
            if item.message is not None:
                m = item.message
                entry = response.entries.add(
                    id=str(m.id),
                    client_id=str(client_id),
                    kind=f"message.{m.channel}",
                    summary=message_summary(m.channel, m.status, m.subject),
                    message=_message(m, list(item.attempts)),
                )
            elif (row := item.activity) is not None:
                entry = response.entries.add(
                    id=str(row.id),
                    client_id=str(row.client_id),
                    kind=row.kind,
                    summary=row.summary,
                    source_event_id=str(row.source_event_id),
                    source_event_type=row.source_event_type,
                )
            else:
                continue
            entry.occurred_at.FromDatetime(item.at)
        return response

    async def ListNotifications(
        self, request: pb.ListNotificationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListNotificationsResponse:
        call = current_context()
        audience, recipient_id = _inbox_owner(call)
        after = views.decode_cursor(request.page.page_token) if request.page.page_token else None
        rows, unread, token = await message_views.inbox(
            self._engine,
            call.tenant_id,
            audience,
            recipient_id,
            limit=views.page_size(request.page.page_size),
            after=after,
            unread_only=request.unread_only,
        )
        response = pb.ListNotificationsResponse(unread_count=unread, page=types_pb2.PageInfo(next_page_token=token))
        for row in rows:
            item = response.notifications.add(id=str(row.id), kind=row.kind, title=row.title, body=row.body)
            item.created_at.FromDatetime(row.created_at)
            if row.read_at is not None:
                item.read_at.FromDatetime(row.read_at)
        return response

    async def MarkNotificationsRead(
        self, request: pb.MarkNotificationsReadRequest, context: grpc.aio.ServicerContext
    ) -> pb.MarkNotificationsReadResponse:
        call = current_context()
        audience, recipient_id = _inbox_owner(call)
        one: uuid.UUID | None = None
        if not request.all:
            one = parse_uuid(request.notification_id)
            if one is None:
                raise NotFound("notification not found")
        mark = commands.MarkNotificationsRead(call.tenant_id, audience, recipient_id, one, self._clock())
        marked = await message_handlers.mark_notifications_read(mark, self._uow_factory())
        if one is not None and not marked:
            # Already read, or not the caller's: another's notice answers as if it did not exist.
            if not await message_views.owns_notification(self._engine, call.tenant_id, audience, recipient_id, one):
                raise NotFound("notification not found")
        unread = await message_views.unread_count(self._engine, call.tenant_id, audience, recipient_id)
        return pb.MarkNotificationsReadResponse(marked=marked, unread_count=unread)

    async def ListMessages(
        self, request: pb.ListMessagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMessagesResponse:
        call = _operator()
        client_id = None
        if request.client_id:
            client_id = parse_uuid(request.client_id)
            if client_id is None:
                raise InvalidArgument.single("client_id", "is not an id")
        after = views.decode_cursor(request.page.page_token) if request.page.page_token else None
        rows, attempts, token = await message_views.messages(
            self._engine,
            call.tenant_id,
            status=request.status,
            client_id=client_id,
            limit=views.page_size(request.page.page_size),
            after=after,
        )
        response = pb.ListMessagesResponse(page=types_pb2.PageInfo(next_page_token=token))
        for row in rows:
            response.messages.append(_message(row, attempts.get(row.id, [])))
        return response

    async def ResendMessage(self, request: pb.ResendMessageRequest, context: grpc.aio.ServicerContext) -> pb.Message:
        call = _operator()
        message_id = parse_uuid(request.message_id)
        if message_id is None:
            raise NotFound("message not found")
        resend = commands.ResendMessage(call.tenant_id, message_id, self._clock())
        resent = await message_handlers.resend_message(resend, self._uow_factory())
        rows, attempts, _ = await message_views.messages(
            self._engine, call.tenant_id, status="", client_id=None, limit=1, after=None, message_id=message_id
        )
        if not rows:
            raise NotFound("message not found")
        if not resent:
            raise Conflict(
                f"a {rows[0].status} message is not resent (only failed or skipped ones)",
                reason="MESSAGE_NOT_RESENDABLE",
            )
        return _message(rows[0], attempts.get(message_id, []))

    async def ListReminderRules(
        self, request: pb.ListReminderRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListReminderRulesResponse:
        call = _operator()
        rules = await rule_handlers.list_reminder_rules(commands.ListReminderRules(call.tenant_id), self._uow_factory())
        response = pb.ListReminderRulesResponse()
        if not any(r.service_id is None for r in rules):
            response.rules.append(_rule(DEFAULT_RULE, is_default=True))
        response.rules.extend(_rule(r) for r in rules)
        return response

    async def SetReminderRule(self, request: pb.ReminderRule, context: grpc.aio.ServicerContext) -> pb.ReminderRule:
        call = _operator()
        rule = checked_rule(
            _service_id(request.service_id),
            list(request.offsets),
            list(request.audiences),
            list(request.channels),
            request.quiet_start,
            request.quiet_end,
            request.sms_fallback_after or DEFAULT_SMS_FALLBACK_AFTER,
        )
        await rule_handlers.set_reminder_rule(
            commands.SetReminderRule(call.tenant_id, rule, self._clock()), self._uow_factory()
        )
        return _rule(rule)

    async def DeleteReminderRule(
        self, request: pb.DeleteReminderRuleRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteReminderRuleResponse:
        call = _operator()
        delete = commands.DeleteReminderRule(call.tenant_id, _service_id(request.service_id))
        deleted = await rule_handlers.delete_reminder_rule(delete, self._uow_factory())
        return pb.DeleteReminderRuleResponse(deleted=deleted)

    async def GetNotificationPreferences(
        self, request: pb.GetNotificationPreferencesRequest, context: grpc.aio.ServicerContext
    ) -> pb.NotificationPreferences:
        call = current_context()
        client_id = _whose_preferences(call, request.client_id)
        get = commands.GetPreferences(call.tenant_id, client_id)
        chosen, preferred = await preference_handlers.get_preferences(get, self._uow_factory())
        return _preferences(client_id, chosen, preferred)

    async def SetNotificationPreferences(
        self, request: pb.SetNotificationPreferencesRequest, context: grpc.aio.ServicerContext
    ) -> pb.NotificationPreferences:
        call = current_context()
        client_id = _whose_preferences(call, request.client_id)
        violations = Violations()
        for i, p in enumerate(request.preferences):
            if p.category not in OPTIONAL_CATEGORIES or p.channel not in PREFERENCE_CHANNELS:
                violations.add(f"preferences.{i}", "is not a reminders or marketing category on email, sms or in_app")
        if request.preferred_channel not in ("", "email", "sms"):
            violations.add("preferred_channel", "must be email or sms")
        violations.raise_if_any()
        choose = commands.ChoosePreferences(
            tenant_id=call.tenant_id,
            client_id=client_id,
            choices=tuple(Preference(p.category, p.channel, p.allowed) for p in request.preferences),
            now=self._clock(),
            preferred_channel=request.preferred_channel,
        )
        await preference_handlers.choose_preferences(choose, self._uow_factory())
        get = commands.GetPreferences(call.tenant_id, client_id)
        chosen, preferred = await preference_handlers.get_preferences(get, self._uow_factory())
        return _preferences(client_id, chosen, preferred)

    async def Unsubscribe(
        self, request: pb.UnsubscribeRequest, context: grpc.aio.ServicerContext
    ) -> pb.UnsubscribeResponse:
        call = current_context()
        link = UnsubscribeLink.parse(request.token)
        if link is None:
            raise NotFound("unsubscribe link not found")
        unsubscribe = commands.Unsubscribe(call.tenant_id, link, self._clock())
        switched_off = await preference_handlers.unsubscribe(unsubscribe, self._uow_factory())
        if switched_off is None:
            raise NotFound("unsubscribe link not found")
        return pb.UnsubscribeResponse(category=switched_off.category, channel=switched_off.channel)

    async def RecordSmsStatus(
        self, request: pb.RecordSmsStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordSmsStatusResponse:
        call = current_context()
        params = dict(request.params)
        if not valid_twilio_signature(self._sms_auth_token, request.url, params, request.signature):
            raise PermissionDenied("the delivery report's signature does not match")
        reported = params.get("MessageStatus", "")
        if reported in DELIVERED_STATUSES:
            status = Status.DELIVERED
        elif reported in FAILED_STATUSES:
            status = Status.FAILED
        else:
            return pb.RecordSmsStatusResponse(recorded=False)  # queued, sent...: nothing final yet
        error = " ".join(p for p in (params.get("ErrorCode", ""), params.get("ErrorMessage", "")) if p)
        report = commands.RecordProviderReport(
            call.tenant_id, params.get("MessageSid", ""), status, error, self._clock()
        )
        recorded = await message_handlers.record_provider_report(report, self._uow_factory())
        return pb.RecordSmsStatusResponse(recorded=recorded)

    async def ListMessageTemplates(
        self, request: pb.ListMessageTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMessageTemplatesResponse:
        call = _operator()
        kinds = await template_handlers.list_message_templates(
            commands.ListMessageTemplates(call.tenant_id), self._uow_factory()
        )
        return pb.ListMessageTemplatesResponse(
            kinds=[
                pb.MessageTemplateKind(
                    kind=k.kind, variables=k.variables, languages=k.languages, overridden=k.overridden
                )
                for k in kinds
            ]
        )

    async def SaveMessageTemplate(
        self, request: pb.MessageTemplateSource, context: grpc.aio.ServicerContext
    ) -> pb.TemplatePreview:
        call = _operator()
        save = commands.SaveTemplate(call.tenant_id, request.kind, request.language, request.source, self._clock())
        rendered = await template_handlers.save_template(save, self._uow_factory())
        return _preview(rendered)

    async def PreviewMessageTemplate(
        self, request: pb.MessageTemplateSource, context: grpc.aio.ServicerContext
    ) -> pb.TemplatePreview:
        call = _operator()
        preview = commands.PreviewTemplate(call.tenant_id, request.kind, request.language, request.source)
        rendered = await template_handlers.preview_template(preview, self._uow_factory())
        return _preview(rendered)

    async def ResetMessageTemplate(
        self, request: pb.MessageTemplateSource, context: grpc.aio.ServicerContext
    ) -> pb.ResetMessageTemplateResponse:
        call = _operator()
        reset = await template_handlers.reset_template(
            commands.ResetTemplate(call.tenant_id, request.kind, request.language), self._uow_factory()
        )
        return pb.ResetMessageTemplateResponse(reset=reset)

    async def CreateCampaign(self, request: pb.CreateCampaignRequest, context: grpc.aio.ServicerContext) -> pb.Campaign:
        call = _operator()
        violations = Violations()
        for name, value in (("group_id", request.segment.group_id), ("status_id", request.segment.status_id)):
            if value and parse_uuid(value) is None:
                violations.add(f"segment.{name}", "is not an id")
        violations.raise_if_any()
        create = commands.CreateCampaign(
            tenant_id=call.tenant_id,
            created_by=call.principal.id,
            name=request.name,
            channel=request.channel,
            segment=_segment(request.segment),
            source=request.source,
            rate_per_minute=request.rate_per_minute,
            now=self._clock(),
        )
        campaign_id = await campaign_handlers.create_campaign(create, self._uow_factory())
        return await self._campaign(call.tenant_id, campaign_id)

    async def ListCampaigns(
        self, request: pb.ListCampaignsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCampaignsResponse:
        call = _operator()
        limit = views.page_size(request.page.page_size)
        after = views.decode_cursor(request.page.page_token) if request.page.page_token else None
        rows, counts, token = await message_views.campaigns(self._engine, call.tenant_id, limit=limit, after=after)
        return pb.ListCampaignsResponse(
            campaigns=[_campaign(r, counts.get(r.id, [])) for r in rows],
            page=types_pb2.PageInfo(next_page_token=token),
        )

    async def GetCampaign(self, request: pb.CampaignRequest, context: grpc.aio.ServicerContext) -> pb.Campaign:
        return await self._campaign(_operator().tenant_id, _campaign_id(request))

    async def PreviewCampaignAudience(
        self, request: pb.CampaignRequest, context: grpc.aio.ServicerContext
    ) -> pb.CampaignAudience:
        call = _operator()
        campaign = await self._campaign(call.tenant_id, _campaign_id(request))
        preview = commands.PreviewCampaignAudience(call.tenant_id, _segment(campaign.segment), campaign.channel)
        found = await campaign_handlers.preview_campaign_audience(preview, self._uow_factory())
        return pb.CampaignAudience(
            matching=found.matching,
            recipients=found.recipients,
            opted_out=found.opted_out,
            without_address=found.without_address,
        )

    async def SendCampaign(self, request: pb.CampaignRequest, context: grpc.aio.ServicerContext) -> pb.Campaign:
        call = _operator()
        campaign = await self._campaign(call.tenant_id, _campaign_id(request))
        if campaign.status != "draft":
            raise Conflict("the campaign was sent already", reason="CAMPAIGN_ALREADY_SENT")
        send = commands.SendCampaign(
            tenant_id=call.tenant_id,
            campaign_id=uuid.UUID(campaign.id),
            segment=_segment(campaign.segment),
            channel=campaign.channel,
            rate_per_minute=campaign.rate_per_minute,
            now=self._clock(),
            max_attempts=self._max_attempts,
        )
        await campaign_handlers.send_campaign(send, self._uow_factory())
        return await self._campaign(call.tenant_id, uuid.UUID(campaign.id))

    async def GetPaymentReminderRule(
        self, request: pb.PaymentReminderRuleRequest, context: grpc.aio.ServicerContext
    ) -> pb.PaymentReminderRule:
        get = commands.GetPaymentRule(_operator().tenant_id)
        rule, is_default = await rule_handlers.get_payment_rule(get, self._uow_factory())
        return _payment_rule(rule, is_default=is_default)

    async def SetPaymentReminderRule(
        self, request: pb.PaymentReminderRule, context: grpc.aio.ServicerContext
    ) -> pb.PaymentReminderRule:
        call = _operator()
        rule = checked_payment_rule(list(request.days), list(request.channels), request.send_at)
        await rule_handlers.set_payment_rule(
            commands.SetPaymentRule(call.tenant_id, rule, self._clock()), self._uow_factory()
        )
        return _payment_rule(rule, is_default=False)

    async def DeletePaymentReminderRule(
        self, request: pb.PaymentReminderRuleRequest, context: grpc.aio.ServicerContext
    ) -> pb.PaymentReminderRule:
        await rule_handlers.delete_payment_rule(commands.DeletePaymentRule(_operator().tenant_id), self._uow_factory())
        return _payment_rule(DEFAULT_PAYMENT_RULE, is_default=True)

    async def GetMembershipExpiryRule(
        self, request: pb.MembershipExpiryRuleRequest, context: grpc.aio.ServicerContext
    ) -> pb.MembershipExpiryRule:
        get = commands.GetExpiryRule(_operator().tenant_id)
        rule, is_default = await rule_handlers.get_expiry_rule(get, self._uow_factory())
        return _day_rule(pb.MembershipExpiryRule, rule, is_default=is_default)

    async def SetMembershipExpiryRule(
        self, request: pb.MembershipExpiryRule, context: grpc.aio.ServicerContext
    ) -> pb.MembershipExpiryRule:
        call = _operator()
        rule = checked_expiry_rule(list(request.days), list(request.channels), request.send_at)
        await rule_handlers.set_expiry_rule(
            commands.SetExpiryRule(call.tenant_id, rule, self._clock()), self._uow_factory()
        )
        return _day_rule(pb.MembershipExpiryRule, rule, is_default=False)

    async def DeleteMembershipExpiryRule(
        self, request: pb.MembershipExpiryRuleRequest, context: grpc.aio.ServicerContext
    ) -> pb.MembershipExpiryRule:
        await rule_handlers.delete_expiry_rule(commands.DeleteExpiryRule(_operator().tenant_id), self._uow_factory())
        return _day_rule(pb.MembershipExpiryRule, DEFAULT_EXPIRY_RULE, is_default=True)

    async def _campaign(self, tenant_id: uuid.UUID, campaign_id: uuid.UUID) -> pb.Campaign:
        rows, counts, _ = await message_views.campaigns(
            self._engine, tenant_id, limit=1, after=None, campaign_id=campaign_id
        )
        if not rows:
            raise NotFound("campaign not found")
        return _campaign(rows[0], counts.get(campaign_id, []))


def _payment_rule(rule: PaymentRule, *, is_default: bool) -> pb.PaymentReminderRule:
    return _day_rule(pb.PaymentReminderRule, rule, is_default=is_default)


DayRuleMessage = TypeVar("DayRuleMessage", pb.PaymentReminderRule, pb.MembershipExpiryRule)


def _day_rule(
    message: type[DayRuleMessage], rule: PaymentRule | MembershipExpiryRule, *, is_default: bool
) -> DayRuleMessage:
    return message(
        days=list(rule.days),
        channels=list(rule.channels),
        send_at=rule.send_at.strftime("%H:%M"),
        is_default=is_default,
    )


def _campaign_id(request: pb.CampaignRequest) -> uuid.UUID:
    campaign_id = parse_uuid(request.campaign_id)
    if campaign_id is None:
        raise NotFound("campaign not found")
    return campaign_id


def _segment(segment: pb.CampaignSegment) -> Segment:
    return Segment(parse_uuid(segment.group_id), parse_uuid(segment.status_id), segment.tag.strip())


PENDING = frozenset({"planned", "sending"})


def _campaign(row: Any, counts: list[Any]) -> pb.Campaign:
    by_status: dict[str, int] = {}
    skips: dict[str, int] = {}
    for count in counts:
        by_status[count.status] = by_status.get(count.status, 0) + count.n
        if count.status == "skipped":
            skips[count.skip_reason] = skips.get(count.skip_reason, 0) + count.n
    pending = sum(n for status, n in by_status.items() if status in PENDING)
    campaign = pb.Campaign(
        id=str(row.id),
        name=row.name,
        channel=row.channel,
        segment=pb.CampaignSegment(
            group_id=str(row.group_id) if row.group_id else "",
            status_id=str(row.status_id) if row.status_id else "",
            tag=row.tag,
        ),
        source=row.source,
        rate_per_minute=row.rate_per_minute,
        status="draft" if row.status == "draft" else "sending" if pending else "sent",
        created_by=row.created_by,
        report=pb.CampaignReport(
            recipients=row.recipients,
            pending=pending,
            sent=by_status.get("sent", 0),
            delivered=by_status.get("delivered", 0),
            failed=by_status.get("failed", 0),
            skipped=by_status.get("skipped", 0),
            skip_reasons=[pb.CampaignSkip(reason=r, count=n) for r, n in sorted(skips.items())],
        ),
    )
    campaign.created_at.FromDatetime(row.created_at)
    if row.started_at is not None:
        campaign.started_at.FromDatetime(row.started_at)
    return campaign


def _preview(rendered: RenderedMessage) -> pb.TemplatePreview:
    return pb.TemplatePreview(
        subject=rendered.subject, text=rendered.text, html=rendered.html, sms=rendered.sms, inbox=rendered.inbox
    )


def _whose_preferences(call: CallContext, requested: str) -> uuid.UUID:
    """A portal client's own; staff name the client."""
    if call.principal.is_portal:
        own = parse_uuid(call.principal.client_id)
        if own is None:
            raise PermissionDenied("no client for this portal account")
        return own
    if call.principal.kind != "staff":
        raise PermissionDenied("preferences are a client's or its business's")
    client_id = parse_uuid(requested)
    if client_id is None:
        raise NotFound("client not found")
    return client_id


def _preferences(client_id: uuid.UUID, chosen: list[Preference], preferred: str) -> pb.NotificationPreferences:
    return pb.NotificationPreferences(
        client_id=str(client_id),
        preferred_channel=preferred,
        preferences=[
            pb.NotificationPreference(category=p.category, channel=p.channel, allowed=p.allowed) for p in chosen
        ],
    )


def _rule(rule: ReminderRule, *, is_default: bool = False) -> pb.ReminderRule:
    quiet = rule.quiet_hours
    return pb.ReminderRule(
        service_id=str(rule.service_id) if rule.service_id else "",
        offsets=[str(o) for o in rule.offsets],
        audiences=list(rule.audiences),
        channels=list(rule.channels),
        quiet_start=quiet.start.strftime("%H:%M") if quiet else "",
        quiet_end=quiet.end.strftime("%H:%M") if quiet else "",
        is_default=is_default,
        sms_fallback_after=rule.sms_fallback_after,
    )


def _service_id(raw: str) -> uuid.UUID | None:
    if not raw:
        return None
    service_id = parse_uuid(raw)
    if service_id is None:
        raise NotFound("service not found")
    return service_id


def _inbox_owner(call: CallContext) -> tuple[str, uuid.UUID]:
    """A portal client reads its own inbox, a staff member theirs."""
    principal = call.principal
    owner = parse_uuid(principal.client_id if principal.is_portal else principal.id)
    if owner is None or principal.kind not in ("portal", "staff"):
        raise PermissionDenied("only a portal client or a staff member has an inbox")
    return ("client" if principal.is_portal else "staff"), owner


def _operator() -> CallContext:
    call = current_context()
    if call.principal.kind != "staff":
        raise PermissionDenied("messages are for the business's operators")
    return call


def _message(row: Any, attempts: list[Any]) -> pb.Message:
    message = pb.Message(
        id=str(row.id),
        kind=row.kind,
        category=row.category,
        channel=row.channel,
        recipient_kind=row.recipient_kind,
        recipient_id=str(row.recipient_id),
        client_id=str(row.client_id) if row.client_id else "",
        status=row.status,
        to_address=row.to_address,
        subject=row.subject,
        language=row.language,
        attempts=row.attempts,
        last_error=row.last_error,
        skip_reason=row.skip_reason,
    )
    message.due_at.FromDatetime(row.due_at)
    message.created_at.FromDatetime(row.created_at)
    if row.sent_at is not None:
        message.sent_at.FromDatetime(row.sent_at)
    for attempt in attempts:
        logged = message.attempt_log.add(
            number=attempt.number, channel=attempt.channel, outcome=attempt.outcome, error=attempt.error
        )
        logged.at.FromDatetime(attempt.at)
    return message
