"""A business's rules, templates, a client's preferences and messages already planned, through the fake unit of
work."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from notification_svc.domain import commands
from notification_svc.domain.delivery import PlannedMessage, Recipient, Status
from notification_svc.domain.membership_expiry import DEFAULT_EXPIRY_RULE, checked_expiry_rule
from notification_svc.domain.payment_notices import DEFAULT_PAYMENT_RULE, checked_payment_rule
from notification_svc.domain.preferences import Preference, UnsubscribeLink
from notification_svc.domain.reminders import checked_rule
from notification_svc.service_layer import message_handlers, preference_handlers, rule_handlers, template_handlers
from platform_core.errors import InvalidArgument

from .fakes import NOW, FakeUnitOfWork

TENANT = uuid.uuid4()
CLIENT = uuid.uuid4()


async def test_rules_answer_the_default_until_set_and_again_once_reset(uow: FakeUnitOfWork) -> None:
    assert await rule_handlers.get_payment_rule(commands.GetPaymentRule(TENANT), uow) == (DEFAULT_PAYMENT_RULE, True)
    payment = checked_payment_rule([-1, 2], ["email"], "10:30")
    await rule_handlers.set_payment_rule(commands.SetPaymentRule(TENANT, payment, NOW), uow)
    assert await rule_handlers.get_payment_rule(commands.GetPaymentRule(TENANT), uow) == (payment, False)
    assert await rule_handlers.delete_payment_rule(commands.DeletePaymentRule(TENANT), uow)
    assert not await rule_handlers.delete_payment_rule(commands.DeletePaymentRule(TENANT), uow)

    expiry = checked_expiry_rule([-3, 0], ["sms"], "09:00")
    await rule_handlers.set_expiry_rule(commands.SetExpiryRule(TENANT, expiry, NOW), uow)
    assert await rule_handlers.get_expiry_rule(commands.GetExpiryRule(TENANT), uow) == (expiry, False)
    assert await rule_handlers.delete_expiry_rule(commands.DeleteExpiryRule(TENANT), uow)
    assert await rule_handlers.get_expiry_rule(commands.GetExpiryRule(TENANT), uow) == (DEFAULT_EXPIRY_RULE, True)

    service = uuid.uuid4()
    reminder = checked_rule(service, ["2h"], ["client"], ["sms"], "", "")
    await rule_handlers.set_reminder_rule(commands.SetReminderRule(TENANT, reminder, NOW), uow)
    assert await rule_handlers.list_reminder_rules(commands.ListReminderRules(TENANT), uow) == [reminder]
    assert await rule_handlers.list_reminder_rules(commands.ListReminderRules(uuid.uuid4()), uow) == []
    assert await rule_handlers.delete_reminder_rule(commands.DeleteReminderRule(TENANT, service), uow)
    assert not await rule_handlers.delete_reminder_rule(commands.DeleteReminderRule(TENANT, None), uow)


async def test_preferences_are_allowed_until_switched_off_by_choice_or_by_link(uow: FakeUnitOfWork) -> None:
    chosen, preferred = await preference_handlers.get_preferences(commands.GetPreferences(TENANT, CLIENT), uow)
    assert preferred == "email" and all(p.allowed for p in chosen)
    off = (Preference("marketing", "sms", False),)
    await preference_handlers.choose_preferences(
        commands.ChoosePreferences(TENANT, CLIENT, off, NOW, preferred_channel="sms"), uow
    )
    chosen, preferred = await preference_handlers.get_preferences(commands.GetPreferences(TENANT, CLIENT), uow)
    assert preferred == "sms" and [p for p in chosen if not p.allowed] == list(off)

    link = UnsubscribeLink.new(TENANT)
    await uow.preferences.issue_links([(link, CLIENT, "reminders", "email")], NOW)
    # Another business's caller cannot follow it.
    assert await preference_handlers.unsubscribe(commands.Unsubscribe(uuid.uuid4(), link, NOW), uow) is None
    followed = await preference_handlers.unsubscribe(commands.Unsubscribe(TENANT, link, NOW), uow)
    assert followed == Preference("reminders", "email", False)
    assert (CLIENT, "reminders", "email") in await uow.preferences.opted_out(TENANT, [CLIENT])


SOURCE = "{% block subject %}Booked: {{ service_name }}{% endblock %}"


async def test_a_template_is_checked_saved_previewed_listed_and_reset(uow: FakeUnitOfWork) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await template_handlers.save_template(
            commands.SaveTemplate(TENANT, "request.approved", "en", SOURCE + "{{ secret }}", NOW), uow
        )
    assert [v.field for v in refused.value.violations] == ["source"]
    with pytest.raises(InvalidArgument):
        await template_handlers.save_template(commands.SaveTemplate(TENANT, "no.such_kind", "en", SOURCE, NOW), uow)
    assert await uow.templates.overrides(TENANT) == {}

    saved = await template_handlers.save_template(
        commands.SaveTemplate(TENANT, "request.approved", "en", SOURCE, NOW), uow
    )
    assert saved.subject.startswith("Booked: ")
    preview = await template_handlers.preview_template(
        commands.PreviewTemplate(TENANT, "request.approved", "en", ""), uow
    )
    assert preview.subject == saved.subject  # what the business saved
    listed = await template_handlers.list_message_templates(commands.ListMessageTemplates(TENANT), uow)
    approved = next(k for k in listed if k.kind == "request.approved")
    assert approved.overridden == ("en",) and "en" in approved.languages and "service_name" in approved.variables
    assert await template_handlers.reset_template(commands.ResetTemplate(TENANT, "request.approved", "en"), uow)
    with pytest.raises(InvalidArgument):
        await template_handlers.preview_template(commands.PreviewTemplate(TENANT, "request.approved", "xx", ""), uow)


def planned(channel: str, recipient: Recipient) -> PlannedMessage:
    return PlannedMessage(
        TENANT, "request.approved", "transactional", channel, recipient, CLIENT, "test", uuid.uuid4(), {}, NOW, 3
    )


async def test_a_failed_message_is_resent_a_report_recorded_and_notices_marked_read(uow: FakeUnitOfWork) -> None:
    email, notice = (
        planned("email", Recipient("client", CLIENT, "ada@example.com")),
        planned("in_app", Recipient("client", CLIENT)),
    )
    await uow.messages.plan([email, notice], NOW)
    uow.messages.stored[email.id].status = Status.SENT
    uow.messages.stored[email.id].provider_id = "SM1"
    uow.messages.stored[notice.id].status = Status.DELIVERED

    later = NOW + timedelta(minutes=5)
    resend = commands.ResendMessage(TENANT, email.id, later)
    assert not await message_handlers.resend_message(resend, uow)  # sent: nothing to resend
    report = commands.RecordProviderReport(TENANT, "SM1", Status.FAILED, "30003 Unreachable", later)
    assert await message_handlers.record_provider_report(report, uow)
    assert await message_handlers.resend_message(resend, uow)
    assert uow.messages.stored[email.id].due_at == later

    mark = commands.MarkNotificationsRead(TENANT, "client", CLIENT, None, later)
    assert await message_handlers.mark_notifications_read(mark, uow) == 1
    assert await message_handlers.mark_notifications_read(mark, uow) == 0
    assert uow.committed
