"""Outstanding balances: what each client owes on its open invoices, per currency, aged by how long it has been
overdue on the business's calendar (not yet due, 1-30, 31-60, 61-90 and over 90 days past the due date)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

# Upper bounds (days overdue) of the aging buckets after "not due"; the last one is open-ended.
BUCKETS = (30, 60, 90)


@dataclass(frozen=True)
class OpenItem:
    client_id: uuid.UUID
    bill_to_name: str
    currency: str
    due_date: date
    outstanding_minor: int


@dataclass
class Receivable:
    client_id: uuid.UUID
    client_name: str
    currency: str
    open_invoices: int = 0
    outstanding_minor: int = 0
    # not due, 1-30, 31-60, 61-90, over 90 days overdue
    aging_minor: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 2))
    oldest_due: date | None = None

    @property
    def overdue_minor(self) -> int:
        return sum(self.aging_minor[1:])


def bucket_of(due: date, today: date) -> int:
    overdue = (today - due).days
    if overdue <= 0:
        return 0
    for i, bound in enumerate(BUCKETS, start=1):
        if overdue <= bound:
            return i
    return len(BUCKETS) + 1


def receivables(items: Iterable[OpenItem], today: date) -> list[Receivable]:
    """Per (client, currency) with something outstanding, the largest overdue first, then by name."""
    found: dict[tuple[uuid.UUID, str], Receivable] = {}
    for item in items:
        if item.outstanding_minor <= 0:
            continue
        key = (item.client_id, item.currency)
        receivable = found.setdefault(key, Receivable(item.client_id, item.bill_to_name, item.currency))
        if not receivable.client_name and item.bill_to_name:
            receivable.client_name = item.bill_to_name
        receivable.open_invoices += 1
        receivable.outstanding_minor += item.outstanding_minor
        receivable.aging_minor[bucket_of(item.due_date, today)] += item.outstanding_minor
        if receivable.oldest_due is None or item.due_date < receivable.oldest_due:
            receivable.oldest_due = item.due_date
    return sorted(
        found.values(), key=lambda r: (-r.overdue_minor, -r.outstanding_minor, r.client_name.lower(), str(r.client_id))
    )
