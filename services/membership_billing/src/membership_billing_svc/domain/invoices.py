"""Invoices: lines whose totals are computed here, a lifecycle draft -> issued -> partially paid -> paid
(or void), and payments applied to and reversed from them.

Rounding rule: each line is rounded on its own, half up (amounts are never negative, so half up and half
away from zero agree): net = round(quantity x unit price), tax = round(net x rate / 10000), total = net +
tax. The invoice's subtotal, tax and total are the sums of its lines', so they always add up on paper.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from membership_billing_svc.domain import events
from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument
from platform_core.money import MAX_AMOUNT_MINOR
from platform_core.validation import Violations

MAX_LINES = 200
MAX_TERMS_DAYS = 365
MAX_TAX_RATE_BP = 10_000
_QUANTITY = re.compile(r"^\d{1,7}(\.\d{1,4})?$")
BASIS_POINTS = Decimal(10_000)


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


OPEN_STATUSES = frozenset({InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID})
# What a client sees of its invoices in the portal: issued ones, not drafts or voided ones.
CLIENT_VISIBLE_STATUSES = frozenset({InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID})


class InvoiceKind(StrEnum):
    STANDARD = "standard"
    # What the client owed when its record was created: a receivable without lines or a number.
    OPENING_BALANCE = "opening_balance"


def round_half_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: str
    unit_price_minor: int
    tax_rate_bp: int
    appointment_id: str = ""


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    quantity: Decimal
    unit_price_minor: int
    tax_rate_bp: int
    appointment_id: uuid.UUID | None = None

    @property
    def net_minor(self) -> int:
        return round_half_up(self.quantity * self.unit_price_minor)

    @property
    def tax_minor(self) -> int:
        return round_half_up(self.net_minor * self.tax_rate_bp / BASIS_POINTS)

    @property
    def total_minor(self) -> int:
        return self.net_minor + self.tax_minor

    @property
    def quantity_text(self) -> str:
        """The quantity as given, without trailing zeros: "2", "1.5"."""
        text = format(self.quantity.normalize(), "f")
        return text


def parse_quantity(raw: str) -> Decimal | None:
    raw = raw.strip()
    if not _QUANTITY.match(raw):
        return None
    quantity = Decimal(raw)
    return quantity if quantity > 0 else None


def parse_lines(inputs: list[LineInput], violations: Violations, *, prefix: str = "lines") -> tuple[InvoiceLine, ...]:
    if len(inputs) > MAX_LINES:
        violations.add(prefix, f"at most {MAX_LINES} lines")
        return ()
    lines = []
    for i, given in enumerate(inputs):
        where = f"{prefix}[{i}]"
        description = violations.text(given.description, f"{where}.description", max_length=500, required=True)
        quantity = parse_quantity(given.quantity)
        if quantity is None:
            violations.add(f"{where}.quantity", "must be a number above 0 with at most 4 decimal places, e.g. 1.5")
        if not 0 <= given.unit_price_minor <= MAX_AMOUNT_MINOR:
            violations.add(f"{where}.unit_price_minor", f"must be between 0 and {MAX_AMOUNT_MINOR}")
        if not 0 <= given.tax_rate_bp <= MAX_TAX_RATE_BP:
            violations.add(f"{where}.tax_rate_bp", f"must be between 0 and {MAX_TAX_RATE_BP} (basis points)")
        appointment_id = None
        if given.appointment_id:
            try:
                appointment_id = uuid.UUID(given.appointment_id)
            except ValueError:
                violations.add(f"{where}.appointment_id", "is not an appointment id")
        if quantity is None:
            continue
        line = InvoiceLine(description, quantity, given.unit_price_minor, given.tax_rate_bp, appointment_id)
        if line.total_minor > MAX_AMOUNT_MINOR:
            violations.add(where, "the line's total is too large")
        lines.append(line)
    if sum(line.total_minor for line in lines) > MAX_AMOUNT_MINOR:
        violations.add(prefix, "the invoice's total is too large")
    return tuple(lines)


@dataclass(frozen=True)
class DraftTerms:
    """What a draft consists of, checked."""

    currency: str
    lines: tuple[InvoiceLine, ...]
    payment_terms_days: int
    notes: str

    @classmethod
    def checked(cls, currency: str, lines: list[LineInput], payment_terms_days: int, notes: str) -> DraftTerms:
        violations = Violations()
        code = violations.currency(currency, "currency")
        parsed = parse_lines(lines, violations)
        if not 0 <= payment_terms_days <= MAX_TERMS_DAYS:
            violations.add("payment_terms_days", f"must be between 0 and {MAX_TERMS_DAYS}")
        text = violations.text(notes, "notes", max_length=2000)
        violations.raise_if_any()
        return cls(code, parsed, payment_terms_days, text)


@dataclass(eq=False)
class Invoice:
    tenant_id: uuid.UUID
    id: uuid.UUID
    client_id: uuid.UUID
    kind: InvoiceKind
    status: InvoiceStatus
    currency: str
    lines: tuple[InvoiceLine, ...]
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    payment_terms_days: int
    notes: str
    created_at: datetime
    updated_at: datetime
    number: int | None = None
    issue_date: date | None = None
    due_date: date | None = None
    bill_to_name: str = ""
    paid_minor: int = 0
    void_reason: str = ""
    # The event this invoice was made from (an opening balance from the client's creation).
    source_event_id: uuid.UUID | None = None
    version: int = 1
    is_new: bool = False
    events: list[Any] = field(default_factory=list)

    # --- creation -------------------------------------------------------------------------------

    @classmethod
    def draft(
        cls, tenant_id: uuid.UUID, invoice_id: uuid.UUID, client_id: uuid.UUID, terms: DraftTerms, now: datetime
    ) -> Invoice:
        invoice = cls(
            tenant_id=tenant_id,
            id=invoice_id,
            client_id=client_id,
            kind=InvoiceKind.STANDARD,
            status=InvoiceStatus.DRAFT,
            currency=terms.currency,
            lines=(),
            subtotal_minor=0,
            tax_minor=0,
            total_minor=0,
            payment_terms_days=terms.payment_terms_days,
            notes=terms.notes,
            created_at=now,
            updated_at=now,
            is_new=True,
        )
        invoice._set_lines(terms.lines)
        return invoice

    @classmethod
    def opening_balance(
        cls,
        tenant_id: uuid.UUID,
        invoice_id: uuid.UUID,
        client_id: uuid.UUID,
        *,
        amount_minor: int,
        currency: str,
        today: date,
        now: datetime,
        source_event_id: uuid.UUID | None = None,
    ) -> Invoice:
        """What a new client already owed: open at once, due today, counted as pending payment."""
        if amount_minor <= 0 or amount_minor > MAX_AMOUNT_MINOR:
            raise InvalidArgument.single("opening_balance.amount_minor", f"must be between 1 and {MAX_AMOUNT_MINOR}")
        invoice = cls(
            tenant_id=tenant_id,
            id=invoice_id,
            client_id=client_id,
            kind=InvoiceKind.OPENING_BALANCE,
            status=InvoiceStatus.ISSUED,
            currency=currency,
            lines=(),
            subtotal_minor=amount_minor,
            tax_minor=0,
            total_minor=amount_minor,
            payment_terms_days=0,
            notes="",
            created_at=now,
            updated_at=now,
            issue_date=today,
            due_date=today,
            source_event_id=source_event_id,
            is_new=True,
        )
        invoice._issued(now)
        return invoice

    # --- draft ----------------------------------------------------------------------------------

    def update_draft(self, terms: DraftTerms, *, version: int, now: datetime) -> None:
        self._require(self.status is InvoiceStatus.DRAFT, "only a draft can be edited", "INVOICE_NOT_DRAFT")
        if version != self.version:
            raise Conflict(
                f"the draft changed since it was read (version {self.version}, not {version})", reason="STALE_VERSION"
            )
        self.currency = terms.currency
        self.payment_terms_days = terms.payment_terms_days
        self.notes = terms.notes
        self._set_lines(terms.lines)
        self._touch(now)

    def _set_lines(self, lines: tuple[InvoiceLine, ...]) -> None:
        self.lines = lines
        self.subtotal_minor = sum(line.net_minor for line in lines)
        self.tax_minor = sum(line.tax_minor for line in lines)
        self.total_minor = self.subtotal_minor + self.tax_minor

    # --- lifecycle ------------------------------------------------------------------------------

    def check_issuable(self) -> None:
        """Before a number is taken for it: a draft with something to pay."""
        self._require(self.status is InvoiceStatus.DRAFT, "only a draft can be issued", "INVOICE_NOT_DRAFT")
        if not self.lines:
            raise InvalidArgument.single("lines", "an invoice needs at least one line to be issued")
        if self.total_minor <= 0:
            raise InvalidArgument.single("lines", "an invoice's total must be above zero to be issued")

    def issue(self, *, number: int, issue_date: date, bill_to_name: str, now: datetime) -> None:
        self.check_issuable()
        self.number = number
        self.issue_date = issue_date
        self.due_date = issue_date + timedelta(days=self.payment_terms_days)
        self.bill_to_name = bill_to_name[:300]
        self.status = InvoiceStatus.ISSUED
        self._issued(now)

    def _issued(self, now: datetime) -> None:
        assert self.issue_date is not None and self.due_date is not None
        self._touch(now)
        self.events.append(
            events.InvoiceIssued(
                tenant_id=self.tenant_id,
                invoice_id=self.id,
                client_id=self.client_id,
                number=self.number,
                kind=self.kind.value,
                currency=self.currency,
                total_minor=self.total_minor,
                issue_date=self.issue_date,
                due_date=self.due_date,
                occurred_at=now,
            )
        )

    def void(self, reason: str, now: datetime) -> None:
        """A draft, or an issued invoice nothing was paid on. Only a voided issued invoice is announced: a
        draft never left the business."""
        violations = Violations()
        reason = violations.text(reason, "reason", max_length=500, required=True)
        violations.raise_if_any()
        self._require(
            self.status in (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED) and self.paid_minor == 0,
            "only a draft or an issued invoice with nothing paid can be voided (refund its payments first)",
            "INVOICE_NOT_VOIDABLE",
        )
        was_issued = self.status is InvoiceStatus.ISSUED
        self.status = InvoiceStatus.VOID
        self.void_reason = reason
        self._touch(now)
        if was_issued:
            self.events.append(
                events.InvoiceVoided(
                    tenant_id=self.tenant_id,
                    invoice_id=self.id,
                    client_id=self.client_id,
                    number=self.number,
                    reason=reason,
                    currency=self.currency,
                    total_minor=self.total_minor,
                    occurred_at=now,
                )
            )

    # --- payments -------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def outstanding_minor(self) -> int:
        return self.total_minor - self.paid_minor if self.is_open else 0

    def is_overdue(self, today: date) -> bool:
        return self.is_open and self.due_date is not None and self.due_date < today

    def apply_payment(self, amount_minor: int, now: datetime) -> None:
        self._require(self.is_open, "the invoice is not open for payment", "INVOICE_NOT_OPEN")
        if not 0 < amount_minor <= self.outstanding_minor:
            raise ValueError(f"cannot apply {amount_minor} to an invoice with {self.outstanding_minor} outstanding")
        self.paid_minor += amount_minor
        self.status = InvoiceStatus.PAID if self.paid_minor == self.total_minor else InvoiceStatus.PARTIALLY_PAID
        self._touch(now)
        if self.status is InvoiceStatus.PAID:
            self.events.append(
                events.InvoicePaid(
                    tenant_id=self.tenant_id,
                    invoice_id=self.id,
                    client_id=self.client_id,
                    number=self.number,
                    currency=self.currency,
                    total_minor=self.total_minor,
                    occurred_at=now,
                )
            )

    def reverse_payment(self, amount_minor: int, now: datetime) -> None:
        """A refunded payment's share comes off again: the invoice is open for it once more."""
        if not 0 < amount_minor <= self.paid_minor:
            raise ValueError(f"cannot reverse {amount_minor} of {self.paid_minor} paid")
        self.paid_minor -= amount_minor
        self.status = InvoiceStatus.ISSUED if self.paid_minor == 0 else InvoiceStatus.PARTIALLY_PAID
        self._touch(now)

    # --- helpers --------------------------------------------------------------------------------

    def _touch(self, now: datetime) -> None:
        self.updated_at = now

    @staticmethod
    def _require(condition: bool, message: str, reason: str) -> None:
        if not condition:
            raise FailedPrecondition(message, reason=reason)


def payment_order(invoice: Invoice) -> tuple[date, date, int, datetime]:
    """Oldest first: the earliest due, then the earliest issued, then the lowest number."""
    return (invoice.due_date or date.max, invoice.issue_date or date.max, invoice.number or 0, invoice.created_at)
