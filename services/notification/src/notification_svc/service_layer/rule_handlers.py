"""Use cases of a business's rules: appointment reminders (per service or for the business), payment
reminders and membership expiry reminders: read (the default where none is set), set, reset."""

from __future__ import annotations

from notification_svc.domain import commands
from notification_svc.domain.membership_expiry import DEFAULT_EXPIRY_RULE, MembershipExpiryRule
from notification_svc.domain.payment_notices import DEFAULT_PAYMENT_RULE, PaymentRule
from notification_svc.domain.reminders import ReminderRule
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork


async def list_reminder_rules(cmd: commands.ListReminderRules, uow: NotificationUnitOfWork) -> list[ReminderRule]:
    async with uow:
        return await uow.reminders.rules(cmd.tenant_id)


async def set_reminder_rule(cmd: commands.SetReminderRule, uow: NotificationUnitOfWork) -> None:
    """Applies to reminders planned from now on (those already planned keep their time)."""
    async with uow:
        await uow.reminders.set_rule(cmd.tenant_id, cmd.rule, cmd.now)
        await uow.commit()


async def delete_reminder_rule(cmd: commands.DeleteReminderRule, uow: NotificationUnitOfWork) -> bool:
    async with uow:
        deleted = await uow.reminders.delete_rule(cmd.tenant_id, cmd.service_id)
        await uow.commit()
        return deleted


async def get_payment_rule(cmd: commands.GetPaymentRule, uow: NotificationUnitOfWork) -> tuple[PaymentRule, bool]:
    """The business's rule, or the default (True)."""
    async with uow:
        rule = await uow.payments.rule(cmd.tenant_id)
    return (rule, False) if rule else (DEFAULT_PAYMENT_RULE, True)


async def set_payment_rule(cmd: commands.SetPaymentRule, uow: NotificationUnitOfWork) -> None:
    """Applies to invoices issued (or reopened) from now on."""
    async with uow:
        await uow.payments.set_rule(cmd.tenant_id, cmd.rule, cmd.now)
        await uow.commit()


async def delete_payment_rule(cmd: commands.DeletePaymentRule, uow: NotificationUnitOfWork) -> bool:
    async with uow:
        deleted = await uow.payments.delete_rule(cmd.tenant_id)
        await uow.commit()
        return deleted


async def get_expiry_rule(
    cmd: commands.GetExpiryRule, uow: NotificationUnitOfWork
) -> tuple[MembershipExpiryRule, bool]:
    """The business's rule, or the default (True)."""
    async with uow:
        rule = await uow.memberships.rule(cmd.tenant_id)
    return (rule, False) if rule else (DEFAULT_EXPIRY_RULE, True)


async def set_expiry_rule(cmd: commands.SetExpiryRule, uow: NotificationUnitOfWork) -> None:
    """Applies to subscriptions as their next event tells of them (sold, renewed, frozen, resumed)."""
    async with uow:
        await uow.memberships.set_rule(cmd.tenant_id, cmd.rule, cmd.now)
        await uow.commit()


async def delete_expiry_rule(cmd: commands.DeleteExpiryRule, uow: NotificationUnitOfWork) -> bool:
    async with uow:
        deleted = await uow.memberships.delete_rule(cmd.tenant_id)
        await uow.commit()
        return deleted
