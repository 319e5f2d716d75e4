"""A client's account statement over a range of the business's days, per currency: the opening balance (what
was owed at the start, negative when the client was in credit), every invoice, payment and refund in the range
with the running balance, and the closing figures: invoiced, paid, refunded, paid to date, balance due, credit.

An issued invoice (or opening balance) adds what it totals on its issue day; a payment takes off what was
received on its day; a refund puts it back on the day it was refunded. Voided invoices and drafts owe nothing
and are left out.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

MAX_STATEMENT_DAYS = 3660


class EntryKind(enum.StrEnum):
    INVOICE = "invoice"
    OPENING_BALANCE = "opening_balance"
    PAYMENT = "payment"
    REFUND = "refund"


@dataclass(frozen=True)
class InvoiceFact:
    id: uuid.UUID
    number: int | None
    opening_balance: bool
    issue_date: date
    currency: str
    total_minor: int


@dataclass(frozen=True)
class PaymentFact:
    id: uuid.UUID
    received_on: date
    currency: str
    amount_minor: int
    method: str
    reference: str
    refunded_on: date | None


@dataclass(frozen=True)
class StatementEntry:
    day: date
    kind: EntryKind
    record_id: uuid.UUID
    description: str
    # What the entry adds to what the client owes (an invoice, a refund) or takes off (a payment).
    amount_minor: int
    balance_minor: int


@dataclass(frozen=True)
class CurrencyStatement:
    currency: str
    opening_minor: int
    invoiced_minor: int
    paid_minor: int
    refunded_minor: int
    closing_minor: int
    # Payments less refunds from the first to the last day of the account, up to the statement's end.
    paid_to_date_minor: int
    entries: tuple[StatementEntry, ...]

    @property
    def balance_due_minor(self) -> int:
        return max(self.closing_minor, 0)

    @property
    def credit_minor(self) -> int:
        return max(-self.closing_minor, 0)


@dataclass(frozen=True)
class _Movement:
    day: date
    order: int
    kind: EntryKind
    record_id: uuid.UUID
    description: str
    amount_minor: int


def _movements(invoices: Iterable[InvoiceFact], payments: Iterable[PaymentFact], last: date) -> list[_Movement]:
    found = []
    for invoice in invoices:
        if invoice.issue_date > last:
            continue
        kind = EntryKind.OPENING_BALANCE if invoice.opening_balance else EntryKind.INVOICE
        label = "Opening balance" if invoice.opening_balance else f"Invoice {invoice.number}"
        found.append(_Movement(invoice.issue_date, 0, kind, invoice.id, label, invoice.total_minor))
    for payment in payments:
        if payment.received_on > last:
            continue
        label = " ".join(p for p in (f"Payment ({payment.method})", payment.reference) if p)
        found.append(_Movement(payment.received_on, 1, EntryKind.PAYMENT, payment.id, label, -payment.amount_minor))
        if payment.refunded_on is not None and payment.refunded_on <= last:
            found.append(
                _Movement(payment.refunded_on, 2, EntryKind.REFUND, payment.id, "Refund", payment.amount_minor)
            )
    return sorted(found, key=lambda m: (m.day, m.order, str(m.record_id)))


def build_statement(
    invoices: Iterable[InvoiceFact], payments: Iterable[PaymentFact], first: date, last: date
) -> list[CurrencyStatement]:
    """Per currency the client has used, sorted by currency."""
    invoices, payments = list(invoices), list(payments)
    currencies = sorted({i.currency for i in invoices} | {p.currency for p in payments})
    statements = []
    for currency in currencies:
        movements = _movements(
            (i for i in invoices if i.currency == currency), (p for p in payments if p.currency == currency), last
        )
        opening = sum(m.amount_minor for m in movements if m.day < first)
        balance = opening
        entries = []
        for m in movements:
            if m.day < first:
                continue
            balance += m.amount_minor
            entries.append(StatementEntry(m.day, m.kind, m.record_id, m.description, m.amount_minor, balance))
        statements.append(
            CurrencyStatement(
                currency=currency,
                opening_minor=opening,
                invoiced_minor=sum(
                    e.amount_minor for e in entries if e.kind in (EntryKind.INVOICE, EntryKind.OPENING_BALANCE)
                ),
                paid_minor=-sum(e.amount_minor for e in entries if e.kind is EntryKind.PAYMENT),
                refunded_minor=sum(e.amount_minor for e in entries if e.kind is EntryKind.REFUND),
                closing_minor=balance,
                paid_to_date_minor=-sum(
                    m.amount_minor for m in movements if m.kind in (EntryKind.PAYMENT, EntryKind.REFUND)
                ),
                entries=tuple(entries),
            )
        )
    return statements
