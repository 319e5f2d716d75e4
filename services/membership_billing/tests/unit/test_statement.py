"""A client's statement: the opening balance from everything before the range, every invoice, payment and
refund in it with the running balance, paid to date and balance due (or credit), per currency; and its PDF,
read back."""

from __future__ import annotations

import io
import uuid
from datetime import date

from pypdf import PdfReader

from membership_billing_svc.adapters import pdf_documents
from membership_billing_svc.domain.statement import EntryKind, InvoiceFact, PaymentFact, build_statement

FIRST, LAST = date(2026, 3, 1), date(2026, 3, 31)


def invoice(day: date, total: int, number: int | None = 1, currency: str = "EUR") -> InvoiceFact:
    return InvoiceFact(uuid.uuid4(), number, number is None, day, currency, total)


def payment(day: date, amount: int, refunded: date | None = None, currency: str = "EUR") -> PaymentFact:
    return PaymentFact(uuid.uuid4(), day, currency, amount, "card", "", refunded)


def test_opening_entries_running_balance_and_closing_figures() -> None:
    invoices = [
        invoice(date(2026, 2, 10), 5000, number=None),  # the opening balance the client came with
        invoice(date(2026, 3, 5), 12000, number=7),
        invoice(date(2026, 4, 2), 999, number=8),  # after the range: not on it
    ]
    payments = [
        payment(date(2026, 2, 20), 3000),
        payment(date(2026, 3, 6), 10000, refunded=date(2026, 3, 10)),
        payment(date(2026, 3, 12), 10000),
        payment(date(2026, 2, 1), 500, refunded=date(2026, 4, 1)),  # refunded after the range
    ]
    [eur] = build_statement(invoices, payments, FIRST, LAST)
    # 5,000 owed, 3,000 and 500 paid before March.
    assert eur.opening_minor == 1500
    assert [(e.day.day, e.kind, e.amount_minor, e.balance_minor) for e in eur.entries] == [
        (5, EntryKind.INVOICE, 12000, 13500),
        (6, EntryKind.PAYMENT, -10000, 3500),
        (10, EntryKind.REFUND, 10000, 13500),
        (12, EntryKind.PAYMENT, -10000, 3500),
    ]
    assert eur.entries[0].description == "Invoice 7"
    assert (eur.invoiced_minor, eur.paid_minor, eur.refunded_minor, eur.closing_minor) == (12000, 20000, 10000, 3500)
    assert eur.paid_to_date_minor == 3000 + 500 + 10000 + 10000 - 10000
    assert (eur.balance_due_minor, eur.credit_minor) == (3500, 0)


def test_a_client_in_credit_and_currencies_apart() -> None:
    statements = build_statement(
        [invoice(date(2026, 3, 2), 1000, currency="USD")],
        [payment(date(2026, 3, 3), 4000, currency="USD"), payment(date(2026, 3, 3), 700)],
        FIRST,
        LAST,
    )
    assert [(s.currency, s.closing_minor, s.balance_due_minor, s.credit_minor) for s in statements] == [
        ("EUR", -700, 0, 700),
        ("USD", -3000, 0, 3000),
    ]
    assert build_statement([], [], FIRST, LAST) == []


def test_the_pdf_reads_back_summary_or_detailed() -> None:
    statements = build_statement(
        [invoice(date(2026, 3, 5), 12000, number=7)], [payment(date(2026, 3, 6), 2000)], FIRST, LAST
    )
    heading = pdf_documents.StatementHeading(
        "Studio Zoë", str(uuid.uuid4()), "Łucja Nowak", FIRST, LAST, "Europe/Berlin"
    )

    def text(detailed: bool) -> str:
        content = pdf_documents.statement_pdf(heading, statements, detailed=detailed)
        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)

    detailed, summary = text(True), text(False)
    for expected in ("Studio Zoë", "Łucja Nowak", "2026-03-01 to 2026-03-31", "Balance due", "100.00 EUR"):
        assert expected in detailed and expected in summary, expected
    assert "Invoice 7" in detailed and "2026-03-06" in detailed
    assert "Invoice 7" not in summary
