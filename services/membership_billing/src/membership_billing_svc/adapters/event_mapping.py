"""Domain events -> integration events (contracts in proto/atrium/membership_billing/v1/events.proto)."""

from __future__ import annotations

from typing import Any

from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.membership_billing.v1 import events_pb2
from membership_billing_svc.domain import events
from platform_core.grpc.values import timestamp
from platform_core.messaging.envelope import build_envelope

PRODUCER = "membership_billing"


def _allocations(facts: tuple[events.AllocationFact, ...]) -> list[events_pb2.PaymentAllocation]:
    return [events_pb2.PaymentAllocation(invoice_id=str(f.invoice_id), amount_minor=f.amount_minor) for f in facts]


def _payload(event: Any) -> tuple[Any, str, Any]:
    """(message, aggregate type, aggregate id)"""
    match event:
        case events.InvoiceIssued():
            return (
                events_pb2.InvoiceIssued(
                    invoice_id=str(event.invoice_id),
                    client_id=str(event.client_id),
                    number=event.number or 0,
                    kind=event.kind,
                    currency=event.currency,
                    total_minor=event.total_minor,
                    issue_date=event.issue_date.isoformat(),
                    due_date=event.due_date.isoformat(),
                ),
                "invoice",
                event.invoice_id,
            )
        case events.InvoiceVoided():
            return (
                events_pb2.InvoiceVoided(
                    invoice_id=str(event.invoice_id),
                    client_id=str(event.client_id),
                    number=event.number or 0,
                    reason=event.reason,
                    currency=event.currency,
                    total_minor=event.total_minor,
                ),
                "invoice",
                event.invoice_id,
            )
        case events.InvoicePaid():
            return (
                events_pb2.InvoicePaid(
                    invoice_id=str(event.invoice_id),
                    client_id=str(event.client_id),
                    number=event.number or 0,
                    currency=event.currency,
                    total_minor=event.total_minor,
                ),
                "invoice",
                event.invoice_id,
            )
        case events.PaymentRecorded():
            return (
                events_pb2.PaymentRecorded(
                    payment_id=str(event.payment_id),
                    client_id=str(event.client_id),
                    currency=event.currency,
                    amount_minor=event.amount_minor,
                    method=event.method,
                    received_at=timestamp(event.received_at),
                    allocations=_allocations(event.allocations),
                    unallocated_minor=event.unallocated_minor,
                ),
                "payment",
                event.payment_id,
            )
        case events.PaymentRefunded():
            return (
                events_pb2.PaymentRefunded(
                    payment_id=str(event.payment_id),
                    client_id=str(event.client_id),
                    currency=event.currency,
                    amount_minor=event.amount_minor,
                    reason=event.reason,
                    reversed=_allocations(event.reversed),
                ),
                "payment",
                event.payment_id,
            )
        case events.CreditsCharged():
            message = events_pb2.CreditsCharged(
                transaction_id=str(event.transaction_id),
                client_id=str(event.client_id),
                lot_id=str(event.lot_id),
                credit_type_id=str(event.credit_type_id),
                credit_type_name=event.credit_type_name,
                unit=event.unit,
                amount=event.amount,
                starts_at=timestamp(event.starts_at),
            )
            if event.expires_at is not None:
                message.expires_at.CopyFrom(timestamp(event.expires_at))
            return message, "client_credits", event.client_id
        case events.CreditsUsed():
            return (
                events_pb2.CreditsUsed(
                    transaction_id=str(event.transaction_id),
                    client_id=str(event.client_id),
                    credit_type_id=str(event.credit_type_id),
                    credit_type_name=event.credit_type_name,
                    unit=event.unit,
                    amount=event.amount,
                    balance_after=event.balance_after,
                ),
                "client_credits",
                event.client_id,
            )
        case events.CreditsExpired():
            return (
                events_pb2.CreditsExpired(
                    transaction_id=str(event.transaction_id),
                    client_id=str(event.client_id),
                    lot_id=str(event.lot_id),
                    credit_type_id=str(event.credit_type_id),
                    credit_type_name=event.credit_type_name,
                    unit=event.unit,
                    amount=event.amount,
                    expired_at=timestamp(event.expired_at),
                ),
                "client_credits",
                event.client_id,
            )
        case events.CreditsRestored():
            return (
                events_pb2.CreditsRestored(
                    transaction_id=str(event.transaction_id),
                    client_id=str(event.client_id),
                    reversed_transaction_id=str(event.reversed_transaction_id),
                    credit_type_id=str(event.credit_type_id),
                    credit_type_name=event.credit_type_name,
                    unit=event.unit,
                    amount=event.amount,
                ),
                "client_credits",
                event.client_id,
            )
        case events.CheckedIn():
            return (
                events_pb2.CheckedIn(
                    check_in_id=str(event.check_in_id),
                    client_id=str(event.client_id),
                    service_id=str(event.service_id or ""),
                    appointment_id=str(event.appointment_id or ""),
                    transaction_id=str(event.transaction_id or ""),
                    units_used=event.units_used,
                    method=event.method,
                ),
                "check_in",
                event.check_in_id,
            )
        case events.PolicyFeeCharged():
            return (
                events_pb2.PolicyFeeCharged(
                    appointment_id=str(event.appointment_id),
                    client_id=str(event.client_id),
                    reason=event.reason,
                    outcome=event.outcome,
                    invoice_id=str(event.invoice_id or ""),
                    currency=event.currency,
                    amount_minor=event.amount_minor,
                    credit_type_id=str(event.credit_type_id or ""),
                    credits_forfeited=event.credits_forfeited,
                ),
                "appointment",
                event.appointment_id,
            )
        case events.ClientRequestsNeedApproval():
            return (
                events_pb2.ClientRequestsNeedApproval(
                    client_id=str(event.client_id),
                    appointment_id=str(event.appointment_id),
                    until=timestamp(event.until),
                    reason=event.reason,
                ),
                "client",
                event.client_id,
            )
        case events.MembershipActivated():
            return _membership(events_pb2.MembershipActivated(subscription=_facts(event.subscription)), event)
        case events.MembershipFrozen():
            message = events_pb2.MembershipFrozen(
                subscription=_facts(event.subscription),
                frozen_from=event.frozen_from.isoformat(),
                frozen_until=event.frozen_until.isoformat(),
                reason=event.reason,
            )
            return _membership(message, event)
        case events.MembershipResumed():
            message = events_pb2.MembershipResumed(
                subscription=_facts(event.subscription), unused_days=event.unused_days
            )
            return _membership(message, event)
        case events.MembershipRenewed():
            message = events_pb2.MembershipRenewed(
                subscription=_facts(event.subscription), previous_expires_on=event.previous_expires_on.isoformat()
            )
            return _membership(message, event)
        case events.MembershipExpiring():
            message = events_pb2.MembershipExpiring(subscription=_facts(event.subscription), days_left=event.days_left)
            return _membership(message, event)
        case events.MembershipExpired():
            return _membership(events_pb2.MembershipExpired(subscription=_facts(event.subscription)), event)
        case events.MembershipCancelled():
            message = events_pb2.MembershipCancelled(
                subscription=_facts(event.subscription), reason=event.reason, cancelled_by=event.cancelled_by
            )
            return _membership(message, event)
        case events.PointsEarned():
            earned = events_pb2.PointsEarned(
                transaction_id=str(event.transaction_id),
                client_id=str(event.client_id),
                points=event.points,
                source=event.source,
                source_id=str(event.source_id),
                balance_after=event.balance_after,
            )
            if event.expires_at is not None:
                earned.expires_at.CopyFrom(timestamp(event.expires_at))
            return earned, "client_credits", event.client_id
        case events.PointsRedeemed():
            return (
                events_pb2.PointsRedeemed(
                    transaction_id=str(event.transaction_id),
                    client_id=str(event.client_id),
                    points=event.points,
                    credit_type_id=str(event.credit_type_id),
                    credit_amount=event.credit_amount,
                    balance_after=event.balance_after,
                ),
                "client_credits",
                event.client_id,
            )
        case events.PaymentDue():
            return (
                events_pb2.PaymentDue(
                    invoice_id=str(event.invoice_id),
                    client_id=str(event.client_id),
                    number=event.number or 0,
                    currency=event.currency,
                    balance_minor=event.balance_minor,
                    due_date=event.due_date.isoformat(),
                    stage=event.stage,
                    days=event.days,
                ),
                "invoice",
                event.invoice_id,
            )
    raise TypeError(f"no integration event for {type(event).__name__}")


def _facts(facts: events.SubscriptionFacts) -> events_pb2.SubscriptionFacts:
    return events_pb2.SubscriptionFacts(
        subscription_id=str(facts.subscription_id),
        client_id=str(facts.client_id),
        membership_id=str(facts.membership_id),
        membership_name=facts.membership_name,
        starts_on=facts.starts_on.isoformat(),
        expires_on=facts.expires_on.isoformat(),
        tolerance_until=facts.tolerance_until.isoformat(),
        status=facts.status,
        currency=facts.currency,
        price_minor=facts.price_minor,
        invoice_id=str(facts.invoice_id or ""),
        auto_renew=facts.auto_renew,
    )


def _membership(message: Any, event: Any) -> tuple[Any, str, Any]:
    return message, "subscription", event.subscription.subscription_id


def to_envelope(event: Any) -> EventEnvelope:
    message, aggregate_type, aggregate_id = _payload(event)
    return build_envelope(
        message,
        tenant_id=event.tenant_id,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        producer=PRODUCER,
        occurred_at=event.occurred_at,
    )
