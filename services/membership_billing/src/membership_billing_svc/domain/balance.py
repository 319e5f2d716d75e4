"""A client's balance per currency: what it still owes on open invoices, how much of it is overdue, and the
credit it holds (payments no invoice took)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class OpenInvoice:
    invoice_id: uuid.UUID
    number: int | None
    currency: str
    outstanding_minor: int
    issue_date: date
    due_date: date


@dataclass(frozen=True)
class CurrencyBalance:
    currency: str
    outstanding_minor: int
    overdue_minor: int
    open_invoice_count: int
    # The open invoice due first; when some are overdue, that is the oldest overdue one.
    oldest_due: OpenInvoice | None
    credit_minor: int


def summarize(open_invoices: Iterable[OpenInvoice], credits: Mapping[str, int], today: date) -> list[CurrencyBalance]:
    by_currency: dict[str, list[OpenInvoice]] = {}
    for invoice in open_invoices:
        by_currency.setdefault(invoice.currency, []).append(invoice)
    balances = []
    for currency in sorted(set(by_currency) | {c for c, v in credits.items() if v > 0}):
        invoices = sorted(by_currency.get(currency, []), key=lambda i: (i.due_date, i.issue_date, i.number or 0))
        balances.append(
            CurrencyBalance(
                currency=currency,
                outstanding_minor=sum(i.outstanding_minor for i in invoices),
                overdue_minor=sum(i.outstanding_minor for i in invoices if i.due_date < today),
                open_invoice_count=len(invoices),
                oldest_due=invoices[0] if invoices else None,
                credit_minor=credits.get(currency, 0),
            )
        )
    return balances
