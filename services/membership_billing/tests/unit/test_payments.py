"""Payment rules without a database: allocation across invoices, credit, currencies, refunds, balances."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from membership_billing_svc.domain import events
from membership_billing_svc.domain.balance import OpenInvoice, summarize
from membership_billing_svc.domain.invoices import DraftTerms, Invoice, InvoiceStatus, LineInput
from membership_billing_svc.domain.payments import Payment, PaymentInput, PaymentStatus
from platform_core.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TENANT = uuid.uuid4()
CLIENT = uuid.uuid4()


def issued(amount: int, *, number: int, issue_date: date, currency: str = "EUR", terms: int = 0) -> Invoice:
    invoice = Invoice.draft(
        TENANT,
        uuid.uuid4(),
        CLIENT,
        DraftTerms.checked(currency, [LineInput("Service", "1", amount, 0)], terms, ""),
        NOW,
    )
    invoice.issue(number=number, issue_date=issue_date, bill_to_name="", now=NOW)
    return invoice


def payment(amount: int, currency: str = "EUR", method: str = "card") -> Payment:
    return Payment.received(TENANT, uuid.uuid4(), CLIENT, PaymentInput(amount, currency, method, NOW), now=NOW)


def test_a_payment_goes_to_the_oldest_open_invoices_first_and_the_rest_becomes_credit() -> None:
    newer = issued(3000, number=2, issue_date=date(2026, 2, 1))
    older = issued(2000, number=1, issue_date=date(2026, 1, 1))
    received = payment(6000)
    received.allocate([newer, older], target=None, now=NOW)
    assert [(a.invoice_id, a.amount_minor) for a in received.allocations] == [(older.id, 2000), (newer.id, 3000)]
    assert older.status is InvoiceStatus.PAID and newer.status is InvoiceStatus.PAID
    assert received.unallocated_minor == 1000
    recorded = received.events[-1]
    assert isinstance(recorded, events.PaymentRecorded) and recorded.unallocated_minor == 1000


def test_a_partial_payment_leaves_the_next_invoice_untouched() -> None:
    first = issued(2000, number=1, issue_date=date(2026, 1, 1))
    second = issued(3000, number=2, issue_date=date(2026, 2, 1))
    received = payment(2500)
    received.allocate([second, first], target=None, now=NOW)
    assert (first.status, second.status) == (InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID)
    assert second.outstanding_minor == 2500 and received.unallocated_minor == 0


def test_other_currencies_are_never_touched_and_a_targeted_mismatch_is_refused() -> None:
    dollars = issued(2000, number=1, issue_date=date(2026, 1, 1), currency="USD")
    received = payment(1000, "EUR")
    received.allocate([dollars], target=None, now=NOW)
    assert received.allocations == [] and received.unallocated_minor == 1000 and dollars.paid_minor == 0
    with pytest.raises(InvalidArgument) as mixed:
        payment(1000, "EUR").allocate([], target=dollars, now=NOW)
    assert mixed.value.violations[0].field == "amount.currency"


def test_a_targeted_payment_pays_only_that_invoice() -> None:
    older = issued(2000, number=1, issue_date=date(2026, 1, 1))
    target = issued(1000, number=2, issue_date=date(2026, 2, 1))
    received = payment(1500)
    received.allocate([older, target], target=target, now=NOW)
    assert older.paid_minor == 0 and target.status is InvoiceStatus.PAID and received.unallocated_minor == 500


def test_a_payment_is_validated_field_by_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        payment(0, "XXX", "cheque")
    assert {v.field for v in refused.value.violations} == {"amount.amount_minor", "amount.currency", "method"}


def test_a_refund_reverses_every_allocation_once() -> None:
    first = issued(2000, number=1, issue_date=date(2026, 1, 1))
    second = issued(3000, number=2, issue_date=date(2026, 2, 1))
    received = payment(4000)
    received.allocate([first, second], target=None, now=NOW)
    received.refund("card charged back", {first.id: first, second.id: second}, NOW)
    assert (first.status, second.status) == (InvoiceStatus.ISSUED, InvoiceStatus.ISSUED)
    assert received.status is PaymentStatus.REFUNDED and received.unallocated_minor == 0
    refunded = received.events[-1]
    assert isinstance(refunded, events.PaymentRefunded) and len(refunded.reversed) == 2
    with pytest.raises(FailedPrecondition):
        received.refund("again", {first.id: first, second.id: second}, NOW)


def test_yen_and_dinar_amounts_are_whole_minor_units_of_their_own() -> None:
    yen = issued(1500, number=1, issue_date=date(2026, 1, 1), currency="JPY")  # 1,500 yen
    dinar = issued(1500, number=2, issue_date=date(2026, 1, 1), currency="KWD")  # 1.500 dinar
    received = payment(1500, "JPY")
    received.allocate([dinar, yen], target=None, now=NOW)
    assert yen.status is InvoiceStatus.PAID and dinar.paid_minor == 0


def test_opening_balance_is_an_open_receivable_due_at_once() -> None:
    owed = Invoice.opening_balance(
        TENANT, uuid.uuid4(), CLIENT, amount_minor=4200, currency="EUR", today=date(2026, 3, 2), now=NOW
    )
    assert owed.is_open and owed.outstanding_minor == 4200 and owed.number is None
    assert isinstance(owed.events[0], events.InvoiceIssued) and owed.events[0].kind == "opening_balance"
    assert owed.is_overdue(date(2026, 3, 3))


def test_balance_per_currency_with_overdue_part_oldest_due_and_credit() -> None:
    today = date(2026, 3, 10)
    a = OpenInvoice(uuid.uuid4(), 1, "EUR", 1000, date(2026, 1, 1), date(2026, 2, 1))  # overdue
    b = OpenInvoice(uuid.uuid4(), 2, "EUR", 500, date(2026, 3, 1), date(2026, 3, 31))
    c = OpenInvoice(uuid.uuid4(), 3, "USD", 700, date(2026, 3, 1), date(2026, 3, 31))
    eur, gbp, usd = summarize([b, c, a], {"GBP": 300, "EUR": 0}, today)
    assert (eur.outstanding_minor, eur.overdue_minor, eur.open_invoice_count) == (1500, 1000, 2)
    assert eur.oldest_due == a and eur.credit_minor == 0
    assert (gbp.outstanding_minor, gbp.credit_minor, gbp.oldest_due) == (0, 300, None)
    assert (usd.overdue_minor, usd.oldest_due) == (0, c)
