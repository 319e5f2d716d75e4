"""Events in that plan messages, and those that keep the local copies messages need (contacts, staff,
the business profile)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1 import events_pb2 as client_events
from atrium.gateway.v1 import events_pb2 as gateway_events
from atrium.membership_billing.v1 import events_pb2 as billing_events
from atrium.portal_requests.v1 import events_pb2 as request_events
from atrium.scheduling.v1 import events_pb2 as scheduling_events
from notification_svc.domain import commands
from notification_svc.domain.account_notices import AddressedNotice, address_id
from notification_svc.domain.appointment_notices import AppointmentStep
from notification_svc.domain.audience import BusinessProfile, ClientContact, StaffMember
from notification_svc.domain.credit_activity import credit_amount
from notification_svc.domain.membership_expiry import SubscriptionFacts
from notification_svc.domain.membership_notices import INBOX_ONLY, MEMBERSHIP_CATEGORIES, crossed_low_balance
from notification_svc.domain.payment_notices import BillingStep, InvoiceFacts
from notification_svc.domain.request_notices import RequestStep
from notification_svc.service_layer import directory_handlers, notice_handlers
from notification_svc.service_layer.unit_of_work import Clock, NotificationUnitOfWork
from platform_core.ids import parse_uuid
from platform_core.messaging.consumer import ReceivedEvent, Subscription
from platform_core.money import format_minor, is_currency

UowFactory = Callable[[AsyncSession], NotificationUnitOfWork]


def _iso(timestamp: Any) -> str:
    return str(timestamp.ToDatetime(tzinfo=UTC).isoformat())


def _occurred(event: ReceivedEvent) -> datetime:
    occurred: datetime = event.envelope.occurred_at.ToDatetime(tzinfo=UTC)
    return occurred


def _facts(facts: Any) -> dict[str, Any]:
    return {
        "reference": facts.reference,
        "service_name": facts.service_name,
        "duration_minutes": facts.duration_minutes,
        "client_timezone": facts.client_timezone,
        "business_timezone": facts.business_timezone,
        "preferred_staff_name": facts.preferred_staff_name,
        "description": facts.description,
    }


def _step_variables(p: Any) -> dict[str, Any]:
    """What each request event adds to its facts."""
    variables = _facts(p.facts)
    if isinstance(p, request_events.RequestSubmitted | request_events.RequestUpdated):
        variables["options"] = [_iso(o.start) for o in p.options]
    elif isinstance(p, request_events.RequestApproved | request_events.RequestAlternativeAccepted):
        variables |= {
            "appointment_id": p.appointment_id,
            "start": _iso(p.start),
            "end": _iso(p.end) if p.HasField("end") else _iso(p.start),
            "technician_name": p.technician_name,
        }
    elif isinstance(p, request_events.RequestDeclined):
        variables["reason"] = p.reason
    elif isinstance(p, request_events.RequestAlternativesProposed):
        variables |= {
            "alternatives": [_iso(o.start) for o in p.alternatives],
            "hold_until": _iso(p.hold_until) if p.HasField("hold_until") else "",
            "note": p.note,
            "technician_name": p.technician_name,
        }
    elif isinstance(p, request_events.RequestCancelled):
        variables |= {
            "cancelled_by": p.cancelled_by,
            "was_approved": p.was_approved,
            "appointment_id": p.appointment_id,
        }
    return variables


def _waitlist_variables(p: Any) -> dict[str, Any]:
    """A waitlist offer's facts, and the offered time where the event has it."""
    variables: dict[str, Any] = {
        "offer_id": p.offer_id,
        "service_name": p.facts.service_name,
        "duration_minutes": p.facts.duration_minutes,
        "staff_name": p.facts.staff_name,
        "client_timezone": p.facts.client_timezone,
        "business_timezone": p.facts.business_timezone,
    }
    if isinstance(p, request_events.WaitlistOfferMade | request_events.WaitlistOfferAccepted):
        variables |= {"start": _iso(p.start), "end": _iso(p.end) if p.HasField("end") else _iso(p.start)}
    if isinstance(p, request_events.WaitlistOfferMade):
        variables["hold_until"] = _iso(p.hold_until) if p.HasField("hold_until") else ""
    if isinstance(p, request_events.WaitlistOfferAccepted):
        variables["appointment_id"] = p.appointment_id
    return variables


REQUEST_STEPS = (
    request_events.RequestSubmitted,
    request_events.RequestUpdated,
    request_events.RequestApproved,
    request_events.RequestAlternativeAccepted,
    request_events.RequestDeclined,
    request_events.RequestAlternativesProposed,
    request_events.RequestCancelled,
    request_events.RequestExpired,
)
WAITLIST_STEPS = (
    request_events.WaitlistOfferMade,
    request_events.WaitlistOfferExpired,
    request_events.WaitlistOfferAccepted,
)
# What the client did itself (staff may submit for it; either side may cancel).
CLIENT_ACTIONS = (
    request_events.RequestUpdated,
    request_events.RequestAlternativeAccepted,
    request_events.WaitlistOfferAccepted,
)


def _by_client(p: Any) -> bool:
    if isinstance(p, request_events.RequestSubmitted):
        return bool(p.facts.channel != "staff")
    if isinstance(p, request_events.RequestCancelled):
        return bool(p.cancelled_by == "client")
    return isinstance(p, CLIENT_ACTIONS)


def request_step(event: ReceivedEvent) -> RequestStep:
    p = event.payload
    waitlist = isinstance(p, WAITLIST_STEPS)
    return RequestStep(
        tenant_id=event.tenant_id,
        event=p.DESCRIPTOR.name,
        subject_id=uuid.UUID(p.offer_id if waitlist else p.request_id),
        client_id=uuid.UUID(p.client_id),
        source_event_id=event.event_id,
        occurred_at=_occurred(event),
        variables=_waitlist_variables(p) if waitlist else _step_variables(p),
        preferred_staff_id=parse_uuid(p.facts.staff_id if waitlist else p.facts.preferred_staff_id),
        by_client=_by_client(p),
        technician_id=parse_uuid(getattr(p, "technician_id", "")),
    )


def request_notice_subscriptions(uow_within: UowFactory, clock: Clock, *, max_attempts: int) -> list[Subscription]:
    async def plan(session: AsyncSession, event: ReceivedEvent) -> None:
        plan_notices = commands.PlanRequestNotices(request_step(event), clock(), max_attempts)
        await notice_handlers.plan_request_notices(plan_notices, uow_within(session))

    return [
        Subscription(payload_type, plan) for payload_type in REQUEST_STEPS + WAITLIST_STEPS
    ] + account_email_subscriptions(
        uow_within, clock, max_attempts=max_attempts, payload_types=(request_events.PublicRequestVerificationRequested,)
    )


APPOINTMENT_KINDS = {
    scheduling_events.AppointmentBooked: "appointment.booked",
    scheduling_events.AppointmentRescheduled: "appointment.rescheduled",
    scheduling_events.AppointmentCancelled: "appointment.cancelled",
}


def _ids(values: Any) -> tuple[uuid.UUID, ...]:
    return tuple(dict.fromkeys(u for u in (parse_uuid(v) for v in values) if u is not None))


def appointment_step(event: ReceivedEvent, kind: str) -> AppointmentStep:
    p = event.payload
    segments = list(getattr(p, "segments", []))
    start = p.start.ToDatetime(tzinfo=UTC)
    variables: dict[str, Any] = {
        "appointment_id": p.appointment_id,
        "service_name": " + ".join(dict.fromkeys(s.service_name for s in segments if s.service_name)),
        "start": start.isoformat(),
        "timezone": p.timezone,
    }
    if isinstance(p, scheduling_events.AppointmentRescheduled):
        variables["previous_start"] = _iso(p.previous_start)
    if isinstance(p, scheduling_events.AppointmentCancelled):
        variables["reason"] = p.reason
    return AppointmentStep(
        tenant_id=event.tenant_id,
        kind=kind,
        appointment_id=uuid.UUID(p.appointment_id),
        client_id=uuid.UUID(p.client_id),
        staff_ids=_ids(s.staff_id for s in segments),
        service_ids=_ids(s.service_id for s in segments),
        start=start,
        timezone=p.timezone,
        source_event_id=event.event_id,
        occurred_at=_occurred(event),
        variables=variables,
        source=getattr(p, "source", ""),
        cancelled_by=getattr(p, "cancelled_by", ""),
        follow_up_action=getattr(p, "follow_up_action", ""),
    )


def appointment_subscriptions(uow_within: UowFactory, clock: Clock, *, max_attempts: int) -> list[Subscription]:
    def plan(kind: str) -> Callable[[AsyncSession, ReceivedEvent], Any]:
        async def handle(session: AsyncSession, event: ReceivedEvent) -> None:
            plan_notices = commands.PlanAppointmentNotices(appointment_step(event, kind), clock(), max_attempts)
            await notice_handlers.plan_appointment_notices(plan_notices, uow_within(session))

        return handle

    return [Subscription(payload_type, plan(kind)) for payload_type, kind in APPOINTMENT_KINDS.items()]


def contact_subscriptions(uow_within: UowFactory) -> list[Subscription]:
    """The client service's facts about each client, as messages need them."""

    async def keep(session: AsyncSession, events: Sequence[ReceivedEvent]) -> None:
        contacts = tuple(
            (
                ClientContact(
                    uuid.UUID(p.client_id),
                    p.first_name,
                    p.last_name,
                    p.email,
                    p.phone,
                    p.preferred_language,
                    p.timezone,
                ),
                _occurred(event),
            )
            for event in events
            for p in [event.payload]
        )
        keep_contacts = commands.KeepClientContacts(events[0].tenant_id, contacts)
        await directory_handlers.keep_client_contacts(keep_contacts, uow_within(session))

    async def forget(session: AsyncSession, event: ReceivedEvent) -> None:
        client_id = uuid.UUID(event.payload.client_id)
        forget_contact = commands.ForgetClientContact(event.tenant_id, client_id, _occurred(event))
        await directory_handlers.forget_client_contact(forget_contact, uow_within(session))

    return [
        Subscription.batched(client_events.ClientCreated, keep),
        Subscription.batched(client_events.ClientUpdated, keep),
        Subscription(client_events.ClientErased, forget),
    ]


def business_subscriptions(uow_within: UowFactory) -> list[Subscription]:
    """The gateway's staff members and business profile."""

    async def staff_member(session: AsyncSession, event: ReceivedEvent) -> None:
        p = event.payload
        member = StaffMember(
            uuid.UUID(p.staff_user_id), p.email, p.name, frozenset(p.permissions), p.active, p.language, p.timezone
        )
        keep_member = commands.KeepStaffMember(event.tenant_id, member, _occurred(event))
        await directory_handlers.keep_staff_member(keep_member, uow_within(session))

    async def business(session: AsyncSession, event: ReceivedEvent) -> None:
        p = event.payload
        profile = BusinessProfile(p.business_name, p.timezone, p.default_language)
        keep_profile = commands.KeepBusinessProfile(event.tenant_id, profile, _occurred(event))
        await directory_handlers.keep_business_profile(keep_profile, uow_within(session))

    return [
        Subscription(gateway_events.StaffMemberChanged, staff_member),
        Subscription(gateway_events.BusinessProfileChanged, business),
    ]


def _expires(p: Any) -> str:
    return _iso(p.expires_at) if p.HasField("expires_at") else ""


def _account_notices(event: ReceivedEvent) -> list[AddressedNotice]:
    """The emails one gateway (or public booking) event asks for."""
    p = event.payload

    def notice(kind: str, recipient_id: str, address: str, variables: dict[str, Any]) -> AddressedNotice:
        return AddressedNotice(
            tenant_id=event.tenant_id,
            kind=kind,
            recipient_id=parse_uuid(recipient_id) or address_id(address),
            address=address,
            source_event_id=event.event_id,
            occurred_at=_occurred(event),
            variables=variables,
            client_id=parse_uuid(getattr(p, "client_id", "")),
        )

    if isinstance(p, gateway_events.PasswordResetRequested):
        variables = {"name": p.name, "language": p.language, "expires_at": _expires(p), "secret": {"url": p.reset_url}}
        return [notice("account.password_reset", p.account_id, p.email, variables)]
    if isinstance(p, gateway_events.StaffInvitationIssued):
        variables = {
            "name": p.name,
            "language": p.language,
            "expires_at": _expires(p),
            "role": p.role,
            "invited_by_name": p.invited_by_name,
            "business_name": p.business_name,
            "secret": {"url": p.accept_url},
        }
        return [notice("account.staff_invitation", p.invitation_id, p.email, variables)]
    if isinstance(p, gateway_events.LoginCodeRequested):
        variables = {
            "name": p.name,
            "language": p.language,
            "expires_at": _expires(p),
            "purpose": p.purpose,
            "secret": {"code": p.code},
        }
        return [notice("account.login_code", p.account_id, p.email, variables)]
    if isinstance(p, request_events.PublicRequestVerificationRequested):
        variables = {
            "name": p.name,
            "language": p.language,
            "expires_at": _expires(p),
            "business_name": p.business_name,
            "secret": {"code": p.code},
        }
        return [notice("request.verification_code", p.verification_id, p.email, variables)]
    if isinstance(p, gateway_events.WebhookEndpointDisabled):
        variables = {"url": p.url, "consecutive_failures": p.consecutive_failures, "last_error": p.last_error}
        return [notice("webhook.disabled", "", email, variables) for email in dict.fromkeys(p.owner_emails)]
    return []


ACCOUNT_EMAILS = (
    gateway_events.PasswordResetRequested,
    gateway_events.StaffInvitationIssued,
    gateway_events.LoginCodeRequested,
    gateway_events.WebhookEndpointDisabled,
)


def account_email_subscriptions(
    uow_within: UowFactory, clock: Clock, *, max_attempts: int, payload_types: tuple[type[Any], ...] = ACCOUNT_EMAILS
) -> list[Subscription]:
    async def plan(session: AsyncSession, event: ReceivedEvent) -> None:
        plan_notices = commands.PlanAddressedNotices(
            event.tenant_id, tuple(_account_notices(event)), clock(), max_attempts
        )
        await notice_handlers.plan_addressed_notices(plan_notices, uow_within(session))

    return [Subscription(payload_type, plan) for payload_type in payload_types]


def billing_subscriptions(uow_within: UowFactory, clock: Clock) -> list[Subscription]:
    """An invoice issued (with its payment reminders), a payment received; a paid or voided invoice's
    reminders cancelled; a refund that reopens a paid invoice plans them again."""

    async def issued(session: AsyncSession, event: ReceivedEvent) -> None:
        p = event.payload
        if p.kind != "standard":
            return  # an opening balance is no invoice the client receives
        step = BillingStep(
            tenant_id=event.tenant_id,
            kind="invoice.issued",
            client_id=uuid.UUID(p.client_id),
            subject_id=uuid.UUID(p.invoice_id),
            source_event_id=event.event_id,
            occurred_at=_occurred(event),
            variables={
                "invoice_id": p.invoice_id,
                "number": p.number,
                "amount": format_minor(p.total_minor, p.currency),
                "due_date": p.due_date,
            },
            due_date=date.fromisoformat(p.due_date) if p.due_date else None,
        )
        invoice = InvoiceFacts(
            uuid.UUID(p.invoice_id), uuid.UUID(p.client_id), p.number, p.currency, p.total_minor, step.due_date
        )
        await notice_handlers.plan_billing_notices(
            commands.PlanBillingNotices(step, clock(), invoice), uow_within(session)
        )

    async def received(session: AsyncSession, event: ReceivedEvent) -> None:
        p = event.payload
        if p.method == "opening_balance":
            return
        step = BillingStep(
            tenant_id=event.tenant_id,
            kind="payment.received",
            client_id=uuid.UUID(p.client_id),
            subject_id=uuid.UUID(p.payment_id),
            source_event_id=event.event_id,
            occurred_at=_occurred(event),
            variables={"amount": format_minor(p.amount_minor, p.currency)},
        )
        await notice_handlers.plan_billing_notices(commands.PlanBillingNotices(step, clock()), uow_within(session))

    async def settled(session: AsyncSession, event: ReceivedEvent) -> None:
        state = "voided" if isinstance(event.payload, billing_events.InvoiceVoided) else "paid"
        settle = commands.SettleInvoice(event.tenant_id, uuid.UUID(event.payload.invoice_id), state, clock())
        await notice_handlers.settle_invoice(settle, uow_within(session))

    async def refunded(session: AsyncSession, event: ReceivedEvent) -> None:
        reversed_minor: dict[uuid.UUID, int] = {}
        for allocation in event.payload.reversed:
            invoice_id = uuid.UUID(allocation.invoice_id)
            reversed_minor[invoice_id] = reversed_minor.get(invoice_id, 0) + allocation.amount_minor
        reopen = commands.ReopenInvoices(event.tenant_id, event.event_id, reversed_minor, _occurred(event), clock())
        await notice_handlers.reopen_invoices(reopen, uow_within(session))

    return [
        Subscription(billing_events.InvoiceIssued, issued),
        Subscription(billing_events.PaymentRecorded, received),
        Subscription(billing_events.InvoicePaid, settled),
        Subscription(billing_events.InvoiceVoided, settled),
        Subscription(billing_events.PaymentRefunded, refunded),
    ]


MEMBERSHIP_EVENTS = {
    billing_events.MembershipActivated: "membership.activated",
    billing_events.MembershipFrozen: "membership.frozen",
    billing_events.MembershipRenewed: "membership.renewed",
    billing_events.MembershipCancelled: "membership.cancelled",
    billing_events.MembershipExpiring: "membership.expiring",
    billing_events.MembershipExpired: "membership.expired",
}


def _membership_variables(p: Any) -> dict[str, Any]:
    s = p.subscription
    variables: dict[str, Any] = {
        "membership_name": s.membership_name,
        "starts_on": s.starts_on,
        "expires_on": s.expires_on,
        "tolerance_until": s.tolerance_until,
        "price": format_minor(s.price_minor, s.currency) if s.currency else "",
        "auto_renew": s.auto_renew,
    }
    if isinstance(p, billing_events.MembershipFrozen):
        variables |= {"frozen_from": p.frozen_from, "frozen_until": p.frozen_until, "reason": p.reason}
    elif isinstance(p, billing_events.MembershipRenewed):
        variables["previous_expires_on"] = p.previous_expires_on
    elif isinstance(p, billing_events.MembershipCancelled):
        variables |= {"reason": p.reason, "cancelled_by": p.cancelled_by}
    elif isinstance(p, billing_events.MembershipExpiring):
        variables["days_left"] = p.days_left
    return variables


def subscription_facts(s: Any, variables: dict[str, Any]) -> SubscriptionFacts | None:
    """None for a membership without an end (nothing expires)."""
    if not s.expires_on:
        return None
    expires_on = date.fromisoformat(s.expires_on)
    return SubscriptionFacts(
        subscription_id=uuid.UUID(s.subscription_id),
        client_id=uuid.UUID(s.client_id),
        membership_name=s.membership_name,
        expires_on=expires_on,
        tolerance_until=date.fromisoformat(s.tolerance_until) if s.tolerance_until else expires_on,
        status=s.status,
        variables=variables,
    )


def membership_step(event: ReceivedEvent, kind: str, subject_id: str, variables: dict[str, Any]) -> BillingStep:
    return BillingStep(
        tenant_id=event.tenant_id,
        kind=kind,
        client_id=uuid.UUID(
            event.payload.subscription.client_id if kind.startswith("membership.") else event.payload.client_id
        ),
        subject_id=parse_uuid(subject_id) or event.event_id,
        source_event_id=event.event_id,
        occurred_at=_occurred(event),
        variables=variables,
        category=MEMBERSHIP_CATEGORIES[kind],
        channels=("in_app",) if kind in INBOX_ONLY else ("email", "in_app"),
    )


def membership_subscriptions(
    uow_within: UowFactory, clock: Clock, *, low_balance: int, low_balance_minor: int
) -> list[Subscription]:
    """Membership changes, a credit balance gone low, points earned, a policy fee: told to the client."""

    async def plan(session: AsyncSession, step: BillingStep) -> None:
        await notice_handlers.plan_billing_notices(commands.PlanBillingNotices(step, clock()), uow_within(session))

    def membership(kind: str | None) -> Callable[[AsyncSession, ReceivedEvent], Any]:
        async def handle(session: AsyncSession, event: ReceivedEvent) -> None:
            p = event.payload
            variables = _membership_variables(p)
            notice = membership_step(event, kind, p.subscription.subscription_id, variables) if kind else None
            plan_notices = commands.PlanMembershipNotices(
                tenant_id=event.tenant_id,
                client_id=uuid.UUID(p.subscription.client_id),
                source_event_id=event.event_id,
                occurred_at=_occurred(event),
                facts=subscription_facts(p.subscription, variables),
                notice=notice,
                now=clock(),
            )
            await notice_handlers.plan_membership_notices(plan_notices, uow_within(session))

        return handle

    async def credits_used(session: AsyncSession, event: ReceivedEvent) -> None:
        p = event.payload
        threshold = low_balance_minor if is_currency(p.unit) else low_balance
        if not crossed_low_balance(p.balance_after, p.amount, threshold):
            return
        variables = {"credit_type_name": p.credit_type_name, "balance": credit_amount(p.balance_after, p.unit)}
        await plan(session, membership_step(event, "credits.low_balance", p.transaction_id, variables))

    async def points_earned(session: AsyncSession, event: ReceivedEvent) -> None:
        p = event.payload
        variables = {"points": p.points, "points_balance": p.balance_after}
        await plan(session, membership_step(event, "points.earned", p.transaction_id, variables))

    async def policy_fee(session: AsyncSession, event: ReceivedEvent) -> None:
        p = event.payload
        variables = {
            "policy_reason": p.reason,
            "outcome": p.outcome,
            "amount": format_minor(p.amount_minor, p.currency) if p.currency else "",
            "credits_forfeited": p.credits_forfeited,
            "appointment_id": p.appointment_id,
        }
        await plan(session, membership_step(event, "policy.fee_charged", p.appointment_id, variables))

    return [Subscription(payload_type, membership(kind)) for payload_type, kind in MEMBERSHIP_EVENTS.items()] + [
        # A resumed membership has no notice of its own, but its expiry moved (unused frozen days given back).
        Subscription(billing_events.MembershipResumed, membership(None)),
        Subscription(billing_events.CreditsUsed, credits_used),
        Subscription(billing_events.PointsEarned, points_earned),
        Subscription(billing_events.PolicyFeeCharged, policy_fee),
    ]
