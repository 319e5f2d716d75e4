"""Invoice rules without a database: totals and rounding, the lifecycle, currencies."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from membership_billing_svc.domain import events
from membership_billing_svc.domain.invoices import DraftTerms, Invoice, InvoiceLine, InvoiceStatus, LineInput
from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument
from platform_core.money import format_minor, minor_unit_exponent

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TENANT = uuid.uuid4()


def draft(*lines: LineInput, currency: str = "EUR", terms: int = 14) -> Invoice:
    return Invoice.draft(
        TENANT, uuid.uuid4(), uuid.uuid4(), DraftTerms.checked(currency, list(lines), terms, "thanks"), NOW
    )


def line(quantity: str = "1", price: int = 1000, tax_bp: int = 0, description: str = "Consultation") -> LineInput:
    return LineInput(description, quantity, price, tax_bp)


def test_each_line_is_rounded_half_up_on_its_own_and_the_invoice_sums_the_lines() -> None:
    # 1.5 x 333 = 499.5 -> 500; 19 % of 500 = 95. 3 x 1001 = 3003; 7 % of 3003 = 210.21 -> 210.
    invoice = draft(line("1.5", 333, 1900), line("3", 1001, 700))
    assert [(x.net_minor, x.tax_minor, x.total_minor) for x in invoice.lines] == [(500, 95, 595), (3003, 210, 3213)]
    assert (invoice.subtotal_minor, invoice.tax_minor, invoice.total_minor) == (3503, 305, 3808)


def test_a_half_in_the_tax_rounds_up_and_below_half_rounds_down() -> None:
    assert InvoiceLine("x", Decimal(1), 250, 1000).tax_minor == 25  # exactly 25.0
    assert InvoiceLine("x", Decimal(1), 5, 1000).tax_minor == 1  # 0.5 -> 1
    assert InvoiceLine("x", Decimal(1), 4, 1000).tax_minor == 0  # 0.4 -> 0
    assert InvoiceLine("x", Decimal("0.0005"), 1000, 0).net_minor == 1  # 0.5 -> 1, exact decimals, no float


def test_quantities_are_exact_decimals_and_bad_ones_name_the_field() -> None:
    invoice = draft(line("0.1", 3), line("0.2", 3))
    assert [x.quantity_text for x in invoice.lines] == ["0.1", "0.2"]
    with pytest.raises(InvalidArgument) as refused:
        draft(line("1.23456"), line("-1"), line("abc"), line("2", -5), line("1", 100, 10_001))
    fields = {v.field for v in refused.value.violations}
    assert fields == {
        "lines[0].quantity",
        "lines[1].quantity",
        "lines[2].quantity",
        "lines[3].unit_price_minor",
        "lines[4].tax_rate_bp",
    }


def test_currency_must_be_iso_4217_and_minor_units_follow_the_table() -> None:
    with pytest.raises(InvalidArgument) as refused:
        draft(line(), currency="EURO")
    assert refused.value.violations[0].field == "currency"
    assert draft(line(), currency="jpy").currency == "JPY"
    assert (minor_unit_exponent("JPY"), minor_unit_exponent("USD"), minor_unit_exponent("KWD")) == (0, 2, 3)
    assert format_minor(500, "JPY") == "500 JPY"
    assert format_minor(12345, "USD") == "123.45 USD"
    assert format_minor(1500, "KWD") == "1.500 KWD"


def test_issuing_sets_the_number_and_due_date_freezes_it_and_announces_it() -> None:
    invoice = draft(line("2", 2500), terms=30)
    invoice.issue(number=7, issue_date=date(2026, 3, 2), bill_to_name="Ada Lovelace", now=NOW)
    assert (invoice.status, invoice.number, invoice.due_date) == (InvoiceStatus.ISSUED, 7, date(2026, 4, 1))
    (issued,) = invoice.events
    assert isinstance(issued, events.InvoiceIssued) and issued.total_minor == 5000 and issued.number == 7
    with pytest.raises(FailedPrecondition) as not_draft:
        invoice.update_draft(DraftTerms.checked("EUR", [line()], 0, ""), version=invoice.version, now=NOW)
    assert not_draft.value.reason == "INVOICE_NOT_DRAFT"


def test_an_empty_or_zero_invoice_cannot_be_issued() -> None:
    with pytest.raises(InvalidArgument):
        draft().check_issuable()
    with pytest.raises(InvalidArgument):
        draft(line(price=0)).check_issuable()


def test_a_stale_draft_edit_is_refused() -> None:
    invoice = draft(line())
    with pytest.raises(Conflict) as stale:
        invoice.update_draft(DraftTerms.checked("EUR", [line()], 0, ""), version=invoice.version + 1, now=NOW)
    assert stale.value.reason == "STALE_VERSION"
    invoice.update_draft(DraftTerms.checked("USD", [line("3", 100)], 0, ""), version=invoice.version, now=NOW)
    assert (invoice.currency, invoice.total_minor) == ("USD", 300)


def test_payments_move_an_invoice_to_partially_paid_then_paid_and_a_reversal_back() -> None:
    invoice = draft(line("1", 10_000))
    invoice.issue(number=1, issue_date=date(2026, 3, 2), bill_to_name="", now=NOW)
    invoice.apply_payment(4000, NOW)
    assert (invoice.status, invoice.outstanding_minor) == (InvoiceStatus.PARTIALLY_PAID, 6000)
    invoice.apply_payment(6000, NOW)
    assert invoice.status is InvoiceStatus.PAID and isinstance(invoice.events[-1], events.InvoicePaid)
    invoice.reverse_payment(6000, NOW)
    assert (invoice.status, invoice.paid_minor) == (InvoiceStatus.PARTIALLY_PAID, 4000)
    invoice.reverse_payment(4000, NOW)
    assert invoice.status is InvoiceStatus.ISSUED


def test_void_needs_a_reason_and_nothing_paid_and_only_an_issued_void_is_announced() -> None:
    a_draft = draft(line())
    a_draft.void("created by mistake", NOW)
    assert a_draft.status is InvoiceStatus.VOID and a_draft.events == []

    issued = draft(line())
    issued.issue(number=2, issue_date=date(2026, 3, 2), bill_to_name="", now=NOW)
    with pytest.raises(InvalidArgument):
        issued.void("  ", NOW)
    issued.apply_payment(1, NOW)
    with pytest.raises(FailedPrecondition) as paid:
        issued.void("wrong client", NOW)
    assert paid.value.reason == "INVOICE_NOT_VOIDABLE"
    issued.reverse_payment(1, NOW)
    issued.void("wrong client", NOW)
    assert isinstance(issued.events[-1], events.InvoiceVoided)
    with pytest.raises(FailedPrecondition):
        issued.apply_payment(1, NOW)


def test_overdue_means_open_and_past_its_due_date() -> None:
    invoice = draft(line(), terms=10)
    invoice.issue(number=3, issue_date=date(2026, 3, 1), bill_to_name="", now=NOW)
    assert not invoice.is_overdue(date(2026, 3, 11)) and invoice.is_overdue(date(2026, 3, 12))
    invoice.apply_payment(invoice.total_minor, NOW)
    assert not invoice.is_overdue(date(2026, 3, 12))
