"""Outstanding balances aged by days past the due date, per client and currency, the largest overdue first."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from membership_billing_svc.domain.receivables import OpenItem, bucket_of, receivables

TODAY = date(2026, 3, 31)


@pytest.mark.parametrize(
    ("days_overdue", "bucket"),
    [(-5, 0), (0, 0), (1, 1), (30, 1), (31, 2), (60, 2), (61, 3), (90, 3), (91, 4), (400, 4)],
)
def test_aging_buckets_edges(days_overdue: int, bucket: int) -> None:
    assert bucket_of(TODAY - timedelta(days=days_overdue), TODAY) == bucket


def test_per_client_and_currency_with_the_largest_overdue_first() -> None:
    ada, bea = uuid.uuid4(), uuid.uuid4()
    items = [
        OpenItem(ada, "Ada", "EUR", TODAY + timedelta(days=3), 1000),
        OpenItem(ada, "Ada", "EUR", TODAY - timedelta(days=45), 2000),
        OpenItem(ada, "Ada", "USD", TODAY - timedelta(days=100), 700),
        OpenItem(bea, "", "EUR", TODAY - timedelta(days=10), 5000),
        OpenItem(bea, "Bea", "EUR", TODAY - timedelta(days=2), 0),  # paid in full: not open
    ]
    found = receivables(items, TODAY)
    assert [(r.client_name, r.currency, r.outstanding_minor, r.overdue_minor) for r in found] == [
        ("", "EUR", 5000, 5000),
        ("Ada", "EUR", 3000, 2000),
        ("Ada", "USD", 700, 700),
    ]
    assert found[1].aging_minor == [1000, 0, 2000, 0, 0]
    assert (found[1].open_invoices, found[1].oldest_due) == (2, TODAY - timedelta(days=45))
    assert found[2].aging_minor == [0, 0, 0, 0, 700]
