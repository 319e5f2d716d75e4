"""What callers ask billing to do (imperative), one frozen dataclass per use case; each has one handler in
service_layer/ (handlers.py: invoices and payments; ledger_, loyalty_, membership_, package_ and
policy_handlers.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from membership_billing_svc.domain.invoices import LineInput
from membership_billing_svc.domain.payments import PaymentInput


@dataclass(frozen=True)
class CreateInvoice:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    currency: str
    lines: tuple[LineInput, ...]
    payment_terms_days: int
    notes: str
    now: datetime


@dataclass(frozen=True)
class UpdateDraft:
    tenant_id: uuid.UUID
    invoice_id: uuid.UUID
    currency: str
    lines: tuple[LineInput, ...]
    payment_terms_days: int
    notes: str
    version: int
    now: datetime


@dataclass(frozen=True)
class IssueInvoice:
    """``client_id``: the invoice's client as read before; its name is asked for outside the transaction, so no
    row stays locked across a call to another service."""

    tenant_id: uuid.UUID
    invoice_id: uuid.UUID
    client_id: uuid.UUID
    issue_date: date
    now: datetime


@dataclass(frozen=True)
class VoidInvoice:
    tenant_id: uuid.UUID
    invoice_id: uuid.UUID
    reason: str
    now: datetime


@dataclass(frozen=True)
class RecordPayment:
    """Allocated to ``invoice_id`` when given, else to the client's open invoices of its currency."""

    tenant_id: uuid.UUID
    client_id: uuid.UUID
    payment: PaymentInput
    invoice_id: uuid.UUID | None
    request_id: str | None
    now: datetime


@dataclass(frozen=True)
class RefundPayment:
    tenant_id: uuid.UUID
    payment_id: uuid.UUID
    reason: str
    now: datetime


@dataclass(frozen=True)
class OpenClientAccount:
    """A new client's opening balance (the client service's event ``source_event_id``): owed when positive,
    held when negative."""

    tenant_id: uuid.UUID
    client_id: uuid.UUID
    amount_minor: int
    currency: str
    source_event_id: uuid.UUID
    now: datetime


@dataclass(frozen=True)
class DefineCreditType:
    tenant_id: uuid.UUID
    name: str
    unit: str
    currency: str
    now: datetime


@dataclass(frozen=True)
class ChargeCredits:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    credit_type_id: uuid.UUID
    amount: int
    starts_on: date | None
    expires_on: date | None
    note: str
    request_id: str | None
    now: datetime


@dataclass(frozen=True)
class UseCredits:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    credit_type_id: uuid.UUID
    amount: int
    note: str
    request_id: str | None
    now: datetime


@dataclass(frozen=True)
class ReverseUse:
    tenant_id: uuid.UUID
    transaction_id: uuid.UUID
    note: str
    now: datetime


@dataclass(frozen=True)
class ExpireLots:
    """Every lot past its expiry that still holds something (any business), at most ``batch`` of them."""

    now: datetime
    batch: int


@dataclass(frozen=True)
class DefinePackage:
    tenant_id: uuid.UUID
    name: str
    # (credit type id, amount)
    allocations: tuple[tuple[uuid.UUID, int], ...]
    validity_days: int | None
    price_minor: int
    currency: str
    tax_rate_bp: int
    invoicing: str
    payment_terms_days: int
    now: datetime


@dataclass(frozen=True)
class SellPackage:
    tenant_id: uuid.UUID
    package_id: uuid.UUID
    client_id: uuid.UUID
    first_day: date | None
    request_id: str | None
    now: datetime


@dataclass(frozen=True)
class SetServiceRules:
    tenant_id: uuid.UUID
    service_id: uuid.UUID
    # (credit type id, units)
    rules: tuple[tuple[uuid.UUID, int], ...]


@dataclass(frozen=True)
class ConsumeForVisit:
    """A visit of ``service_id`` consumes what pays for it, once per ``key`` (e.g. the appointment's)."""

    tenant_id: uuid.UUID
    client_id: uuid.UUID
    service_id: uuid.UUID
    key: str
    note: str
    now: datetime


@dataclass(frozen=True)
class CheckInClient:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    service_id: uuid.UUID | None
    appointment_id: uuid.UUID | None
    staff_id: uuid.UUID | None
    method: str
    note: str
    now: datetime


@dataclass(frozen=True)
class OutcomeInput:
    kind: str
    percent: int = 0
    fee_minor: int = 0
    currency: str = ""


@dataclass(frozen=True)
class WindowInput:
    within_hours: int
    within_days: int
    outcome: OutcomeInput


@dataclass(frozen=True)
class SetCancellationPolicy:
    """Replaces the business's rule (``service_id`` None) or a service's override."""

    tenant_id: uuid.UUID
    service_id: uuid.UUID | None
    windows: tuple[WindowInput, ...]
    no_show: OutcomeInput
    # (no-shows, period days, block days)
    repeat_no_shows: tuple[int, int, int] | None
    applies_to_staff_cancellations: bool
    now: datetime
    # What the repeat-offender rule does: "block_online_booking" (empty: the same) or "require_approval".
    repeat_outcome: str = ""


@dataclass(frozen=True)
class DeleteCancellationPolicy:
    """Removes the business's rule (``service_id`` None) or a service's override."""

    tenant_id: uuid.UUID
    service_id: uuid.UUID | None


@dataclass(frozen=True)
class DefineMembership:
    tenant_id: uuid.UUID
    name: str
    package_id: uuid.UUID | None
    benefits: str
    duration_count: int
    duration_unit: str
    price_minor: int
    currency: str
    tax_rate_bp: int
    invoicing: str
    payment_terms_days: int
    tolerance_days: int
    auto_renew: bool
    expiring_notice_days: int
    # (description, price_minor)
    extras: tuple[tuple[str, int], ...]
    now: datetime


@dataclass(frozen=True)
class VisitFacts:
    service_id: uuid.UUID
    service_name: str
    price_minor: int
    currency: str


@dataclass(frozen=True)
class ApplyCancellationPolicy:
    """Scheduling cancelled an appointment (``no_show`` False, by "client" or "staff") or marked it a
    no-show, at ``at``."""

    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    client_id: uuid.UUID
    starts_at: datetime
    timezone: str
    visits: tuple[VisitFacts, ...]
    no_show: bool
    cancelled_by: str
    at: datetime


@dataclass(frozen=True)
class Subscribe:
    tenant_id: uuid.UUID
    membership_id: uuid.UUID
    client_id: uuid.UUID
    starts_on: date | None
    request_id: str | None
    now: datetime


@dataclass(frozen=True)
class FreezeSubscription:
    tenant_id: uuid.UUID
    subscription_id: uuid.UUID
    days: int | None
    until: date | None
    reason: str
    now: datetime


@dataclass(frozen=True)
class ResumeSubscription:
    tenant_id: uuid.UUID
    subscription_id: uuid.UUID
    now: datetime


@dataclass(frozen=True)
class RenewSubscription:
    tenant_id: uuid.UUID
    subscription_id: uuid.UUID
    request_id: str | None
    now: datetime


@dataclass(frozen=True)
class CancelSubscription:
    tenant_id: uuid.UUID
    subscription_id: uuid.UUID
    reason: str
    # "staff" or "client"
    cancelled_by: str
    now: datetime
    # Set when a portal client cancels: only its own, and only when the business lets clients cancel.
    client_id: uuid.UUID | None = None


@dataclass(frozen=True)
class SetMembershipSettings:
    tenant_id: uuid.UUID
    clients_may_cancel: bool
    now: datetime


@dataclass(frozen=True)
class SetAutoRenew:
    tenant_id: uuid.UUID
    subscription_id: uuid.UUID
    auto_renew: bool
    now: datetime


@dataclass(frozen=True)
class ReviewSubscriptions:
    """What the calendar changed by ``now`` for one business, at most ``batch`` of its subscriptions."""

    tenant_id: uuid.UUID
    now: datetime
    batch: int


@dataclass(frozen=True)
class NotifyPaymentsDue:
    """Tell each open invoice of a business at a stage not told yet (at most ``batch``)."""

    tenant_id: uuid.UUID
    soon_days: int
    batch: int
    now: datetime


@dataclass(frozen=True)
class SetLoyaltyProgram:
    tenant_id: uuid.UUID
    points_credit_type_id: uuid.UUID
    currency: str
    step_minor: int
    points_per_step: int
    points_per_visit: int
    validity_days: int | None
    reward_credit_type_id: uuid.UUID | None
    points_per_reward_unit: int
    now: datetime


@dataclass(frozen=True)
class RedeemPoints:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    points: int
    request_id: str | None
    now: datetime
