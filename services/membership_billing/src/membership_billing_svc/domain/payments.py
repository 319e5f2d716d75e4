"""Payments: money a client paid in one currency, allocated to its open invoices of that currency; what no
invoice takes stays with the client as credit. A refund reverses every allocation of the payment.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from membership_billing_svc.domain import events
from membership_billing_svc.domain.invoices import Invoice, payment_order
from platform_core.errors import FailedPrecondition, InvalidArgument
from platform_core.money import MAX_AMOUNT_MINOR
from platform_core.validation import Violations

# Ways staff record a payment. An opening-balance credit (a new client the business owed) is recorded by the
# service itself with its own method.
PAYMENT_METHODS = ("cash", "card", "bank_transfer", "other")
OPENING_BALANCE_METHOD = "opening_balance"


class PaymentStatus(StrEnum):
    RECORDED = "recorded"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class Allocation:
    invoice_id: uuid.UUID
    invoice_number: int | None
    amount_minor: int


@dataclass(frozen=True)
class PaymentInput:
    amount_minor: int
    currency: str
    method: str
    received_at: datetime
    reference: str = ""
    notes: str = ""


@dataclass(eq=False)
class Payment:
    tenant_id: uuid.UUID
    id: uuid.UUID
    client_id: uuid.UUID
    amount_minor: int
    currency: str
    method: str
    received_at: datetime
    reference: str
    notes: str
    created_at: datetime
    status: PaymentStatus = PaymentStatus.RECORDED
    allocations: list[Allocation] = field(default_factory=list)
    request_id: str | None = None
    source_event_id: uuid.UUID | None = None
    refund_reason: str = ""
    refunded_at: datetime | None = None
    # Allocations made since the payment was read (its credit applied to a later invoice), still to be written.
    unsaved_allocations: list[Allocation] = field(default_factory=list)
    is_new: bool = False
    events: list[Any] = field(default_factory=list)

    @classmethod
    def received(
        cls,
        tenant_id: uuid.UUID,
        payment_id: uuid.UUID,
        client_id: uuid.UUID,
        given: PaymentInput,
        *,
        now: datetime,
        request_id: str | None = None,
        source_event_id: uuid.UUID | None = None,
        internal_method: bool = False,
    ) -> Payment:
        violations = Violations()
        if not 0 < given.amount_minor <= MAX_AMOUNT_MINOR:
            violations.add("amount.amount_minor", f"must be between 1 and {MAX_AMOUNT_MINOR}")
        currency = violations.currency(given.currency, "amount.currency")
        if given.method not in PAYMENT_METHODS and not (internal_method and given.method == OPENING_BALANCE_METHOD):
            violations.add("method", f"must be one of {', '.join(PAYMENT_METHODS)}")
        if given.received_at.tzinfo is None:
            violations.add("received_at", "must carry a timezone")
        reference = violations.text(given.reference, "reference", max_length=200)
        notes = violations.text(given.notes, "notes", max_length=2000)
        violations.raise_if_any()
        return cls(
            tenant_id=tenant_id,
            id=payment_id,
            client_id=client_id,
            amount_minor=given.amount_minor,
            currency=currency,
            method=given.method,
            received_at=given.received_at,
            reference=reference,
            notes=notes,
            created_at=now,
            request_id=request_id,
            source_event_id=source_event_id,
            is_new=True,
        )

    @property
    def allocated_minor(self) -> int:
        return sum(a.amount_minor for a in self.allocations)

    @property
    def unallocated_minor(self) -> int:
        """The client's credit from this payment (none once it is refunded)."""
        return self.amount_minor - self.allocated_minor if self.status is PaymentStatus.RECORDED else 0

    def allocate(self, open_invoices: Sequence[Invoice], *, target: Invoice | None, now: datetime) -> None:
        """To ``target`` alone when given, else to the oldest of ``open_invoices`` (the client's open invoices)
        of the payment's currency; announces the payment with its allocations."""
        if target is not None:
            if target.client_id != self.client_id:
                raise InvalidArgument.single("invoice_id", "is not an invoice of this client")
            if target.currency != self.currency:
                raise InvalidArgument.single(
                    "amount.currency", f"is {self.currency} but the invoice is in {target.currency}"
                )
            if not target.is_open:
                raise FailedPrecondition("the invoice is not open for payment", reason="INVOICE_NOT_OPEN")
            candidates: list[Invoice] = [target]
        else:
            candidates = sorted(
                (
                    i
                    for i in open_invoices
                    if i.is_open and i.currency == self.currency and i.client_id == self.client_id
                ),
                key=payment_order,
            )
        left = self.amount_minor
        for invoice in candidates:
            if left == 0:
                break
            share = min(left, invoice.outstanding_minor)
            if share <= 0:
                continue
            invoice.apply_payment(share, now)
            self.allocations.append(Allocation(invoice.id, invoice.number, share))
            left -= share
        self.events.append(
            events.PaymentRecorded(
                tenant_id=self.tenant_id,
                payment_id=self.id,
                client_id=self.client_id,
                currency=self.currency,
                amount_minor=self.amount_minor,
                method=self.method,
                received_at=self.received_at,
                allocations=tuple(events.AllocationFact(a.invoice_id, a.amount_minor) for a in self.allocations),
                unallocated_minor=left,
                occurred_at=now,
            )
        )

    def apply_credit(self, invoice: Invoice, now: datetime) -> int:
        """What is left of this payment pays (part of) a later invoice of the client in its currency; returns
        the amount applied."""
        if (
            self.status is not PaymentStatus.RECORDED
            or invoice.client_id != self.client_id
            or invoice.currency != self.currency
            or not invoice.is_open
        ):
            return 0
        share = min(self.unallocated_minor, invoice.outstanding_minor)
        if share <= 0:
            return 0
        invoice.apply_payment(share, now)
        allocation = Allocation(invoice.id, invoice.number, share)
        self.allocations.append(allocation)
        self.unsaved_allocations.append(allocation)
        return share

    def refund(self, reason: str, invoices: Mapping[uuid.UUID, Invoice], now: datetime) -> None:
        """``invoices``: those the payment was allocated to."""
        violations = Violations()
        reason = violations.text(reason, "reason", max_length=500, required=True)
        violations.raise_if_any()
        if self.status is not PaymentStatus.RECORDED:
            raise FailedPrecondition("the payment was already refunded", reason="PAYMENT_ALREADY_REFUNDED")
        for allocation in self.allocations:
            invoices[allocation.invoice_id].reverse_payment(allocation.amount_minor, now)
        self.status = PaymentStatus.REFUNDED
        self.refund_reason = reason
        self.refunded_at = now
        self.events.append(
            events.PaymentRefunded(
                tenant_id=self.tenant_id,
                payment_id=self.id,
                client_id=self.client_id,
                currency=self.currency,
                amount_minor=self.amount_minor,
                reason=reason,
                reversed=tuple(events.AllocationFact(a.invoice_id, a.amount_minor) for a in self.allocations),
                occurred_at=now,
            )
        )
