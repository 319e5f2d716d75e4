"""Facts about invoices and payments, in the past tense. Mapped to contracts in adapters/event_mapping.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class InvoiceIssued:
    tenant_id: uuid.UUID
    invoice_id: uuid.UUID
    client_id: uuid.UUID
    number: int | None
    kind: str
    currency: str
    total_minor: int
    issue_date: date
    due_date: date
    occurred_at: datetime


@dataclass(frozen=True)
class InvoiceVoided:
    tenant_id: uuid.UUID
    invoice_id: uuid.UUID
    client_id: uuid.UUID
    number: int | None
    reason: str
    currency: str
    total_minor: int
    occurred_at: datetime


@dataclass(frozen=True)
class InvoicePaid:
    tenant_id: uuid.UUID
    invoice_id: uuid.UUID
    client_id: uuid.UUID
    number: int | None
    currency: str
    total_minor: int
    occurred_at: datetime


@dataclass(frozen=True)
class AllocationFact:
    invoice_id: uuid.UUID
    amount_minor: int


@dataclass(frozen=True)
class PaymentRecorded:
    tenant_id: uuid.UUID
    payment_id: uuid.UUID
    client_id: uuid.UUID
    currency: str
    amount_minor: int
    method: str
    received_at: datetime
    allocations: tuple[AllocationFact, ...]
    unallocated_minor: int
    occurred_at: datetime


@dataclass(frozen=True)
class PaymentRefunded:
    tenant_id: uuid.UUID
    payment_id: uuid.UUID
    client_id: uuid.UUID
    currency: str
    amount_minor: int
    reason: str
    reversed: tuple[AllocationFact, ...]
    occurred_at: datetime


@dataclass(frozen=True)
class CreditsCharged:
    tenant_id: uuid.UUID
    transaction_id: uuid.UUID
    client_id: uuid.UUID
    lot_id: uuid.UUID
    credit_type_id: uuid.UUID
    credit_type_name: str
    unit: str
    amount: int
    starts_at: datetime
    expires_at: datetime | None
    occurred_at: datetime


@dataclass(frozen=True)
class CreditsUsed:
    tenant_id: uuid.UUID
    transaction_id: uuid.UUID
    client_id: uuid.UUID
    credit_type_id: uuid.UUID
    credit_type_name: str
    unit: str
    amount: int
    balance_after: int
    occurred_at: datetime


@dataclass(frozen=True)
class CreditsExpired:
    tenant_id: uuid.UUID
    transaction_id: uuid.UUID
    client_id: uuid.UUID
    lot_id: uuid.UUID
    credit_type_id: uuid.UUID
    credit_type_name: str
    unit: str
    amount: int
    expired_at: datetime
    occurred_at: datetime


@dataclass(frozen=True)
class CreditsRestored:
    tenant_id: uuid.UUID
    transaction_id: uuid.UUID
    client_id: uuid.UUID
    reversed_transaction_id: uuid.UUID
    credit_type_id: uuid.UUID
    credit_type_name: str
    unit: str
    amount: int
    occurred_at: datetime


@dataclass(frozen=True)
class CheckedIn:
    tenant_id: uuid.UUID
    check_in_id: uuid.UUID
    client_id: uuid.UUID
    service_id: uuid.UUID | None
    appointment_id: uuid.UUID | None
    transaction_id: uuid.UUID | None
    units_used: int
    method: str
    occurred_at: datetime


@dataclass(frozen=True)
class PolicyFeeCharged:
    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    client_id: uuid.UUID
    # "late_cancellation" or "no_show"
    reason: str
    # "fee" or "forfeit"
    outcome: str
    invoice_id: uuid.UUID | None
    currency: str
    amount_minor: int
    credit_type_id: uuid.UUID | None
    credits_forfeited: int
    occurred_at: datetime


@dataclass(frozen=True)
class ClientRequestsNeedApproval:
    """The repeat-offender rule (outcome require_approval) tripped: the client's requests wait for staff until."""

    tenant_id: uuid.UUID
    client_id: uuid.UUID
    appointment_id: uuid.UUID
    until: datetime
    reason: str
    occurred_at: datetime


@dataclass(frozen=True)
class SubscriptionFacts:
    subscription_id: uuid.UUID
    client_id: uuid.UUID
    membership_id: uuid.UUID
    membership_name: str
    starts_on: date
    expires_on: date
    tolerance_until: date
    status: str
    currency: str
    price_minor: int
    invoice_id: uuid.UUID | None
    auto_renew: bool


@dataclass(frozen=True)
class MembershipActivated:
    tenant_id: uuid.UUID
    subscription: SubscriptionFacts
    occurred_at: datetime


@dataclass(frozen=True)
class MembershipFrozen:
    tenant_id: uuid.UUID
    subscription: SubscriptionFacts
    frozen_from: date
    frozen_until: date
    reason: str
    occurred_at: datetime


@dataclass(frozen=True)
class MembershipResumed:
    tenant_id: uuid.UUID
    subscription: SubscriptionFacts
    unused_days: int
    occurred_at: datetime


@dataclass(frozen=True)
class MembershipRenewed:
    tenant_id: uuid.UUID
    subscription: SubscriptionFacts
    previous_expires_on: date
    occurred_at: datetime


@dataclass(frozen=True)
class MembershipExpiring:
    tenant_id: uuid.UUID
    subscription: SubscriptionFacts
    days_left: int
    occurred_at: datetime


@dataclass(frozen=True)
class MembershipExpired:
    tenant_id: uuid.UUID
    subscription: SubscriptionFacts
    occurred_at: datetime


@dataclass(frozen=True)
class MembershipCancelled:
    tenant_id: uuid.UUID
    subscription: SubscriptionFacts
    reason: str
    cancelled_by: str
    occurred_at: datetime


@dataclass(frozen=True)
class PaymentDue:
    tenant_id: uuid.UUID
    invoice_id: uuid.UUID
    client_id: uuid.UUID
    number: int | None
    currency: str
    balance_minor: int
    due_date: date
    stage: str
    days: int
    occurred_at: datetime


@dataclass(frozen=True)
class PointsEarned:
    tenant_id: uuid.UUID
    transaction_id: uuid.UUID
    client_id: uuid.UUID
    points: int
    source: str
    source_id: uuid.UUID
    balance_after: int
    expires_at: datetime | None
    occurred_at: datetime


@dataclass(frozen=True)
class PointsRedeemed:
    tenant_id: uuid.UUID
    transaction_id: uuid.UUID
    client_id: uuid.UUID
    points: int
    credit_type_id: uuid.UUID
    credit_amount: int
    balance_after: int
    occurred_at: datetime
