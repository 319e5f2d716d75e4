"""Use cases that plan messages from other services' events, in the consuming transaction of the event
(idempotent by the inbox and by the messages' unique key): requests and the waitlist, account emails,
appointments and their reminders, invoices and payments (with payment reminders), memberships (with expiry
reminders)."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from notification_svc.domain import commands
from notification_svc.domain.account_notices import addressed_notice
from notification_svc.domain.appointment_notices import (
    FOLLOW_UP_KIND,
    REMINDER_KIND,
    change_notices,
    follow_up_reminders,
    reassignment,
    reminders,
)
from notification_svc.domain.audience import zone_or_utc
from notification_svc.domain.delivery import PlannedMessage
from notification_svc.domain.membership_expiry import (
    DEFAULT_EXPIRY_RULE,
    EXPIRING_NOTICE,
    EXPIRY_KIND,
    expiry_reminders,
)
from notification_svc.domain.payment_notices import (
    DEFAULT_PAYMENT_RULE,
    PAYMENT_REMINDER_KINDS,
    BillingStep,
    billing_notices,
    payment_reminders,
)
from notification_svc.domain.preferences import by_preferred_sms
from notification_svc.domain.reminders import rule_for
from notification_svc.domain.request_notices import client_notices, staff_kind, staff_notices
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork
from platform_core.money import format_minor


async def plan_request_notices(cmd: commands.PlanRequestNotices, uow: NotificationUnitOfWork) -> int:
    """The messages one step of an appointment request (or waitlist offer) sends; returns how many were
    newly planned."""
    step, max_attempts = cmd.step, cmd.max_attempts
    async with uow:
        staff = await uow.directory.staff(step.tenant_id) if staff_kind(step) else []
        planned = client_notices(step, max_attempts=max_attempts) + staff_notices(
            step, staff, max_attempts=max_attempts
        )
        preferred = await _on_preferred_channel(uow, step.tenant_id, step.client_id, planned)
        count = await uow.messages.plan(preferred, cmd.now)
        await uow.commit()
        return count


async def plan_addressed_notices(cmd: commands.PlanAddressedNotices, uow: NotificationUnitOfWork) -> int:
    async with uow:
        count = await uow.messages.plan(
            [addressed_notice(n, max_attempts=cmd.max_attempts) for n in cmd.notices], cmd.now
        )
        await uow.commit()
        return count


async def plan_billing_notices(cmd: commands.PlanBillingNotices, uow: NotificationUnitOfWork) -> int:
    """Tell of an invoice, payment or membership change; an issued invoice's payment reminders by the
    business's rule, in the client's zone (its facts kept, so a refund that reopens it can plan them again)."""
    step, now = cmd.step, cmd.now
    async with uow:
        zone = await _client_zone(uow, step.tenant_id, step.client_id)
        rule = await uow.payments.rule(step.tenant_id) or DEFAULT_PAYMENT_RULE
        if cmd.invoice is not None:
            await uow.payments.keep_invoice(step.tenant_id, cmd.invoice, now)
        planned = billing_notices(step, zone, now=now, rule=rule)
        count = await uow.messages.plan(await _on_preferred_channel(uow, step.tenant_id, step.client_id, planned), now)
        await uow.commit()
        return count


async def settle_invoice(cmd: commands.SettleInvoice, uow: NotificationUnitOfWork) -> int:
    """Paid or voided: its payment reminders not yet sent are cancelled."""
    async with uow:
        await uow.payments.settle_invoice(cmd.tenant_id, cmd.invoice_id, cmd.state, cmd.now)
        cancelled = sum(
            [
                await uow.messages.cancel_pending(cmd.tenant_id, cmd.invoice_id, kind, cmd.now)
                for kind in PAYMENT_REMINDER_KINDS
            ]
        )
        await uow.commit()
        return cancelled


async def reopen_invoices(cmd: commands.ReopenInvoices, uow: NotificationUnitOfWork) -> int:
    """A refund took a paid invoice's payment back: its reminders still ahead are planned again (for what is
    owed again), by the rule in force now."""
    tenant_id, now = cmd.tenant_id, cmd.now
    count = 0
    async with uow:
        rule = await uow.payments.rule(tenant_id) or DEFAULT_PAYMENT_RULE
        for invoice_id, amount_minor in cmd.reversed_minor.items():
            facts = await uow.payments.reopen(tenant_id, invoice_id, now)
            if facts is None:
                continue  # not paid (still open: its reminders stand; voided; or issued before we kept facts)
            step = BillingStep(
                tenant_id=tenant_id,
                kind="invoice.reopened",
                client_id=facts.client_id,
                subject_id=invoice_id,
                # One refund may reopen several invoices of one client: each its own source.
                source_event_id=uuid.uuid5(cmd.refund_event_id, str(invoice_id)),
                occurred_at=cmd.occurred_at,
                variables={
                    "invoice_id": str(invoice_id),
                    "number": facts.number,
                    "amount": format_minor(amount_minor, facts.currency),
                    "due_date": facts.due_date.isoformat() if facts.due_date else "",
                },
                due_date=facts.due_date,
            )
            zone = await _client_zone(uow, tenant_id, facts.client_id)
            planned = payment_reminders(step, zone, rule, now=now)
            count += await uow.messages.plan(await _on_preferred_channel(uow, tenant_id, facts.client_id, planned), now)
        await uow.commit()
    return count


async def plan_appointment_notices(cmd: commands.PlanAppointmentNotices, uow: NotificationUnitOfWork) -> int:
    """Tell of a booking, move or cancellation, and (re)plan its reminders; an event older than what is
    known of the appointment plans nothing, so a reminder is never planned for a time already changed."""
    step, now, max_attempts = cmd.step, cmd.now, cmd.max_attempts
    async with uow:
        cancelled = step.kind == "appointment.cancelled"
        known = await uow.reminders.advance(
            step.tenant_id,
            step.appointment_id,
            step.start,
            cancelled=cancelled,
            as_of=step.occurred_at,
            staff_ids=step.staff_ids,
            follow_up_action=step.follow_up_action,
        )
        if known is None:
            await uow.commit()
            return 0
        if step.kind != "appointment.booked":
            for kind in (REMINDER_KIND, FOLLOW_UP_KIND):
                await uow.messages.cancel_pending(step.tenant_id, step.appointment_id, kind, now)
        previous_staff = known.previous_staff
        if step.kind == "appointment.rescheduled" and set(previous_staff) != set(step.staff_ids):
            staff = await uow.directory.staff(step.tenant_id, (*previous_staff, *step.staff_ids))
            step = reassignment(step, previous_staff, {m.staff_id: m.name for m in staff})
        planned = change_notices(step, max_attempts=max_attempts)
        if not cancelled:
            planned += follow_up_reminders(step, known.follow_up_action, now=now, max_attempts=max_attempts)
        if not cancelled:
            rule = rule_for(await uow.reminders.rules(step.tenant_id), step.service_ids)
            contacts = await uow.directory.contacts(step.tenant_id, [step.client_id])
            zones = {c.client_id: c.timezone for c in contacts.values()}
            zones |= {m.staff_id: m.timezone for m in await uow.directory.staff(step.tenant_id, step.staff_ids)}
            planned += reminders(step, rule, zones, now=now, max_attempts=max_attempts)
        count = await uow.messages.plan(await _on_preferred_channel(uow, step.tenant_id, step.client_id, planned), now)
        await uow.commit()
        return count


async def plan_membership_notices(cmd: commands.PlanMembershipNotices, uow: NotificationUnitOfWork) -> int:
    """A membership event: its notice (none for a fact with nothing to tell, e.g. resumed), and the
    subscription's expiry reminders moved to what is now true of it: those not yet sent are cancelled (in
    this transaction, so none goes out stale) and the rule's still ahead planned again. An event older than
    the facts kept moves no reminder. Returns how many messages were newly planned."""
    tenant_id, facts, notice, now = cmd.tenant_id, cmd.facts, cmd.notice, cmd.now
    async with uow:
        zone = await _client_zone(uow, tenant_id, cmd.client_id)
        rule = await uow.memberships.rule(tenant_id)
        planned = []
        if notice is not None and not (notice.kind == EXPIRING_NOTICE and rule is not None):
            planned += billing_notices(notice, zone, now=now)
        if facts is not None and await uow.memberships.keep_subscription(tenant_id, facts, cmd.occurred_at, now):
            await uow.messages.cancel_pending(tenant_id, facts.subscription_id, EXPIRY_KIND, now)
            planned += expiry_reminders(
                tenant_id, facts, cmd.source_event_id, zone, rule or DEFAULT_EXPIRY_RULE, now=now
            )
        count = await uow.messages.plan(await _on_preferred_channel(uow, tenant_id, cmd.client_id, planned), now)
        await uow.commit()
        return count


async def _on_preferred_channel(
    uow: NotificationUnitOfWork, tenant_id: uuid.UUID, client_id: uuid.UUID, planned: list[PlannedMessage]
) -> list[PlannedMessage]:
    """The client's emails by SMS where it prefers SMS and has a mobile number on record (without one,
    email it is)."""
    if await uow.preferences.preferred_channel(tenant_id, client_id) != "sms":
        return planned
    contact = (await uow.directory.contacts(tenant_id, [client_id])).get(client_id)
    if not (contact and contact.phone):
        return planned
    switched_off = {c for _, c, channel in await uow.preferences.opted_out(tenant_id, [client_id]) if channel == "sms"}
    return by_preferred_sms(planned, client_id, switched_off=switched_off)


async def _client_zone(uow: NotificationUnitOfWork, tenant_id: uuid.UUID, client_id: uuid.UUID) -> ZoneInfo:
    business = await uow.directory.business(tenant_id)
    contact = (await uow.directory.contacts(tenant_id, [client_id])).get(client_id)
    return zone_or_utc(contact.timezone if contact else "", business.timezone)
