"""Use cases of memberships: defining one, registering a client (invoice, credits and subscription in one
transaction), freezing, resuming, renewing and cancelling, and what the calendar changes by itself.

The business's zone and the client's bill-to name are asked for before the transaction, so no row stays
locked across a call to another service.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from membership_billing_svc.domain import commands
from membership_billing_svc.domain.invoices import Invoice
from membership_billing_svc.domain.ledger import ChargeTerms, business_midnight, charge, expiry_instant
from membership_billing_svc.domain.membership_settings import MembershipSettings, check_client_may_cancel
from membership_billing_svc.domain.memberships import Extra, Membership, Period, Subscription
from membership_billing_svc.domain.packages import Invoicing
from membership_billing_svc.service_layer.handlers import _apply_client_credit
from membership_billing_svc.service_layer.unit_of_work import DUPLICATE_REQUEST, BillingUnitOfWork
from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound
from platform_core.ids import new_id

RENEWAL_RETRY = timedelta(hours=1)


async def define_membership(cmd: commands.DefineMembership, uow: BillingUnitOfWork) -> Membership:
    membership = Membership.define(
        cmd.tenant_id,
        new_id(),
        name=cmd.name,
        package_id=cmd.package_id,
        benefits=cmd.benefits,
        duration_count=cmd.duration_count,
        duration_unit=cmd.duration_unit,
        price_minor=cmd.price_minor,
        currency=cmd.currency,
        tax_rate_bp=cmd.tax_rate_bp,
        invoicing=cmd.invoicing,
        payment_terms_days=cmd.payment_terms_days,
        tolerance_days=cmd.tolerance_days,
        auto_renew=cmd.auto_renew,
        expiring_notice_days=cmd.expiring_notice_days,
        extras=[Extra(description, price) for description, price in cmd.extras],
        now=cmd.now,
    )
    async with uow:
        if membership.package_id is not None:
            try:
                await uow.packages.get(cmd.tenant_id, membership.package_id)
            except NotFound:
                raise InvalidArgument.single("package_id", "is not a package of this business") from None
        uow.memberships.add(membership)
        await uow.commit()
    return membership


def _today(zone: ZoneInfo, now: datetime) -> date:
    return now.astimezone(zone).date()


async def _give_period(
    uow: BillingUnitOfWork,
    membership: Membership,
    subscription: Subscription,
    period: Period,
    invoice: Invoice | None,
    *,
    bill_to_name: str,
    today: date,
    zone: ZoneInfo,
    now: datetime,
) -> None:
    """A period's invoice (issued or a draft, as the membership says) and its credits: a lot per allocation of
    the membership's package, usable from the period's first day through its last day of tolerance."""
    if invoice is not None:
        uow.invoices.add(invoice)
    if membership.package_id is not None:
        package = await uow.packages.get(membership.tenant_id, membership.package_id)
        credit_types = await uow.ledger.credit_types(
            membership.tenant_id, [a.credit_type_id for a in package.allocations]
        )
        last_day = period.expires_on + (subscription.tolerance_until - subscription.expires_on)
        for allocation in package.allocations:
            if allocation.credit_type_id not in credit_types:
                raise FailedPrecondition("a credit type of the package no longer exists", reason="PACKAGE_BROKEN")
            lot, transaction = charge(
                membership.tenant_id,
                new_id(),
                new_id(),
                subscription.client_id,
                credit_types[allocation.credit_type_id],
                ChargeTerms(
                    allocation.amount,
                    business_midnight(period.starts_on, zone),
                    expiry_instant(last_day, zone),
                    membership.name,
                ),
                now=now,
            )
            lot.subscription_id = subscription.id
            uow.ledger.add(lot)
            uow.ledger.add(transaction)
    if invoice is not None and membership.invoicing is Invoicing.AUTO:
        # The number last: the counter row stays locked from here to the commit.
        number = await uow.invoices.next_number(membership.tenant_id)
        invoice.issue(number=number, issue_date=today, bill_to_name=bill_to_name, now=now)
        await _apply_client_credit(uow, invoice, now)


async def _settle(uow: BillingUnitOfWork, subscription: Subscription, zone: ZoneInfo, now: datetime) -> None:
    """The subscription's dates on the business's clock, and its lots' expiries following it."""
    subscription.schedule(zone)
    await uow.memberships.move_lot_expiries(subscription, zone.key, now)


async def subscribe(cmd: commands.Subscribe, uow: BillingUnitOfWork) -> Subscription:
    """A retry with the request id returns the first subscription."""
    if cmd.request_id:
        replayed = await _subscribed_with(uow, cmd)
        if replayed is not None:
            return replayed
    client = await uow.client_directory.bill_to(cmd.client_id)
    if client is None:
        raise InvalidArgument.single("client_id", "is not a client of this business")
    zone = await uow.business_calendar.timezone()
    today = _today(zone, cmd.now)
    starts_on = cmd.starts_on or today
    if starts_on < today:
        raise InvalidArgument.single("starts_on", "must be today or later")
    try:
        async with uow:
            try:
                membership = await uow.memberships.get(cmd.tenant_id, cmd.membership_id)
            except NotFound:
                raise InvalidArgument.single("membership_id", "is not a membership of this business") from None
            subscription_id = new_id()
            invoice = membership.invoice_for(client.client_id, new_id(), with_extras=True, now=cmd.now)
            subscription = Subscription.register(
                membership,
                subscription_id,
                client.client_id,
                starts_on=starts_on,
                invoice_id=invoice.id if invoice is not None else None,
                request_id=cmd.request_id,
                now=cmd.now,
            )
            await _give_period(
                uow,
                membership,
                subscription,
                subscription.new_periods[0],
                invoice,
                bill_to_name=client.name,
                today=today,
                zone=zone,
                now=cmd.now,
            )
            subscription.refresh(today, cmd.now)
            await _settle(uow, subscription, zone, cmd.now)
            uow.memberships.add(subscription)
            await uow.commit()
    except Conflict as exc:
        first = await _subscribed_with(uow, cmd) if exc.reason == DUPLICATE_REQUEST else None
        if first is None:
            raise
        return first
    return subscription


async def _subscribed_with(uow: BillingUnitOfWork, cmd: commands.Subscribe) -> Subscription | None:
    assert cmd.request_id
    async with uow:
        first = await uow.memberships.subscription_by_request_id(cmd.tenant_id, cmd.request_id)
    if first is not None and first.membership_id != cmd.membership_id:
        raise Conflict("this request id was used for another subscription", reason="REQUEST_ID_REUSED")
    return first


async def freeze_subscription(cmd: commands.FreezeSubscription, uow: BillingUnitOfWork) -> Subscription:
    zone = await uow.business_calendar.timezone()
    async with uow:
        subscription = await uow.memberships.subscription(cmd.tenant_id, cmd.subscription_id)
        subscription.freeze(_today(zone, cmd.now), days=cmd.days, until=cmd.until, reason=cmd.reason, now=cmd.now)
        await _settle(uow, subscription, zone, cmd.now)
        await uow.commit()
    return subscription


async def resume_subscription(cmd: commands.ResumeSubscription, uow: BillingUnitOfWork) -> Subscription:
    zone = await uow.business_calendar.timezone()
    async with uow:
        subscription = await uow.memberships.subscription(cmd.tenant_id, cmd.subscription_id)
        today = _today(zone, cmd.now)
        subscription.resume(today, cmd.now)
        subscription.refresh(today, cmd.now)
        await _settle(uow, subscription, zone, cmd.now)
        await uow.commit()
    return subscription


async def cancel_subscription(cmd: commands.CancelSubscription, uow: BillingUnitOfWork) -> Subscription:
    zone = await uow.business_calendar.timezone()
    async with uow:
        subscription = await uow.memberships.subscription(cmd.tenant_id, cmd.subscription_id)
        if cmd.client_id is not None:
            settings = await uow.memberships.settings(cmd.tenant_id)
            check_client_may_cancel(settings, subscription.client_id, cmd.client_id)
        subscription.refresh(_today(zone, cmd.now), cmd.now)
        subscription.cancel(cmd.reason, cmd.cancelled_by, cmd.now)
        await _settle(uow, subscription, zone, cmd.now)
        await uow.commit()
    return subscription


async def set_membership_settings(cmd: commands.SetMembershipSettings, uow: BillingUnitOfWork) -> MembershipSettings:
    settings = MembershipSettings(cmd.tenant_id, cmd.clients_may_cancel, cmd.now)
    async with uow:
        await uow.memberships.put_settings(settings)
        await uow.commit()
    return settings


async def set_auto_renew(cmd: commands.SetAutoRenew, uow: BillingUnitOfWork) -> Subscription:
    zone = await uow.business_calendar.timezone()
    async with uow:
        subscription = await uow.memberships.subscription(cmd.tenant_id, cmd.subscription_id)
        subscription.refresh(_today(zone, cmd.now), cmd.now)
        subscription.set_auto_renew(cmd.auto_renew, cmd.now)
        await _settle(uow, subscription, zone, cmd.now)
        await uow.commit()
    return subscription


async def renew_subscription(cmd: commands.RenewSubscription, uow: BillingUnitOfWork) -> Subscription:
    """One action: the next period from the expiry (from today when it lapsed), invoiced as the membership
    says, with its credits. A retry with the request id returns the subscription as that renewal left it."""
    if cmd.request_id:
        replayed = await _renewed_with(uow, cmd)
        if replayed is not None:
            return replayed
    async with uow:
        client_id = (await uow.memberships.subscription(cmd.tenant_id, cmd.subscription_id)).client_id
    client = await uow.client_directory.bill_to(client_id)
    zone = await uow.business_calendar.timezone()
    try:
        async with uow:
            subscription = await uow.memberships.subscription(cmd.tenant_id, cmd.subscription_id)
            if client is None or client.client_id != subscription.client_id:
                raise Conflict(
                    "the subscription's client changed (a merge) while it was renewed; try again", reason="RETRY"
                )
            await _renew(uow, subscription, client.name, zone, cmd.request_id, cmd.now)
            await uow.commit()
    except Conflict as exc:
        first = await _renewed_with(uow, cmd) if exc.reason == DUPLICATE_REQUEST else None
        if first is None:
            raise
        return first
    return subscription


async def _renew(
    uow: BillingUnitOfWork,
    subscription: Subscription,
    bill_to_name: str,
    zone: ZoneInfo,
    request_id: str | None,
    now: datetime,
) -> None:
    today = _today(zone, now)
    subscription.refresh(today, now)
    membership = await uow.memberships.get(subscription.tenant_id, subscription.membership_id)
    invoice = membership.invoice_for(subscription.client_id, new_id(), with_extras=False, now=now)
    period = subscription.renew(
        membership, today, invoice_id=invoice.id if invoice is not None else None, request_id=request_id, now=now
    )
    await _give_period(
        uow, membership, subscription, period, invoice, bill_to_name=bill_to_name, today=today, zone=zone, now=now
    )
    subscription.refresh(today, now)
    await _settle(uow, subscription, zone, now)


async def _renewed_with(uow: BillingUnitOfWork, cmd: commands.RenewSubscription) -> Subscription | None:
    assert cmd.request_id
    async with uow:
        renewed = await uow.memberships.renewal_by_request_id(cmd.tenant_id, cmd.request_id)
        if renewed is None:
            return None
        if renewed != cmd.subscription_id:
            raise Conflict("this request id was used for another renewal", reason="REQUEST_ID_REUSED")
        return await uow.memberships.subscription(cmd.tenant_id, renewed)


async def review_subscriptions(cmd: commands.ReviewSubscriptions, uow: BillingUnitOfWork) -> int:
    """What the calendar changed by now for one business's subscriptions: freezes that ran out resume,
    expiring notices go, statuses follow the days, and those set to renew by themselves are renewed.
    Claimed with SKIP LOCKED, so replicas share the work; returns how many were reviewed."""
    zone = await uow.business_calendar.timezone()
    today = _today(zone, cmd.now)
    # The clients' names are asked for while the claimed rows stay locked: a second claim after asking would let
    # another replica take rows in between and settle an auto-renewing one without the name it needs.
    async with uow:
        due = await uow.memberships.claim_due_of(cmd.tenant_id, cmd.now, cmd.batch)
        names: dict[uuid.UUID, str] = {}
        for subscription in due:
            if subscription.auto_renew and subscription.client_id not in names:
                client = await uow.client_directory.bill_to(subscription.client_id)
                if client is not None and client.client_id == subscription.client_id:
                    names[subscription.client_id] = client.name
        for subscription in due:
            subscription.refresh(today, cmd.now)
            if subscription.wants_auto_renewal(today) and subscription.client_id in names:
                await _renew(uow, subscription, names[subscription.client_id], zone, None, cmd.now)
            else:
                await _settle(uow, subscription, zone, cmd.now)
                if subscription.wants_auto_renewal(today) and subscription.next_review_at is not None:
                    # Its client could not be read (merged away, or the client service away): try again later.
                    subscription.next_review_at = max(subscription.next_review_at, cmd.now + RENEWAL_RETRY)
        await uow.commit()
    return len(due)
