"""Printable documents read back: the text of the PDF (pypdf) and the QR code printed on cards and vouchers
(extracted from the page and decoded with zxing-cpp), rather than trusting that they render."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import zxingcpp
from pypdf import PdfReader

from membership_billing_svc.adapters import pdf_documents
from membership_billing_svc.domain.invoices import DraftTerms, Invoice, LineInput
from membership_billing_svc.domain.ledger import CreditType, Lot

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
TOKEN = "v1.eyJ0ZW5hbnQiOiIxMjMifQ.c2lnbmF0dXJlLW9mLXRoZS1jYXJk"
HOLDER = pdf_documents.CardHolder(name="Łucja Nováková-Ørsted", client_id=str(uuid.uuid4()))


def text_of(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def qr_codes_of(content: bytes) -> list[str]:
    found = []
    for page in PdfReader(io.BytesIO(content)).pages:
        for image in page.images:
            found.extend(result.text for result in zxingcpp.read_barcodes(image.image))
    return found


def issued_invoice() -> Invoice:
    terms = DraftTerms.checked(
        "EUR",
        [LineInput("Massage 60 — ten sessions", "1", 45000, 2000), LineInput("Oil", "2.5", 199, 0)],
        payment_terms_days=14,
        notes="Thank you",
    )
    invoice = Invoice.draft(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), terms, NOW)
    invoice.issue(number=1042, issue_date=date(2026, 3, 2), bill_to_name=HOLDER.name, now=NOW)
    return invoice


def test_an_invoice_reads_back_with_its_lines_totals_and_the_name_as_written() -> None:
    content = pdf_documents.invoice_pdf(issued_invoice(), business_name="Studio Zoë", today=date(2026, 3, 20))
    assert content.startswith(b"%PDF-")
    text = text_of(content)
    for expected in (
        "Studio Zoë",
        "Invoice 1042",
        HOLDER.name,
        "2026-03-16",
        "overdue",
        "Massage 60 — ten sessions",
        "2.5",
        "450.00 EUR",
        "540.00 EUR",
        "4.98 EUR",
        "544.98 EUR",
        "Thank you",
    ):
        assert expected in text, expected


def test_a_membership_card_carries_the_token_as_a_qr_code() -> None:
    content = pdf_documents.membership_card_pdf(HOLDER, token=TOKEN, business_name="Studio Zoë")
    assert HOLDER.name in text_of(content)
    assert qr_codes_of(content) == [TOKEN]


def test_a_voucher_shows_what_the_lot_holds_in_the_business_days_and_the_check_in_code() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    lot = Lot(
        tenant_id=uuid.uuid4(),
        id=uuid.uuid4(),
        client_id=uuid.UUID(HOLDER.client_id),
        credit_type_id=uuid.uuid4(),
        amount=10,
        starts_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
        # The midnight that ends 30 June in Berlin.
        expires_at=datetime(2026, 6, 30, 22, 0, tzinfo=UTC),
        note="",
        created_at=NOW,
        remaining=7,
    )
    massage = CreditType(lot.tenant_id, lot.credit_type_id, "Massage 60", "session", None, NOW)
    content = pdf_documents.voucher_pdf(HOLDER, lot, massage, token=TOKEN, business_name="Studio", zone=berlin)
    text = text_of(content)
    for expected in ("7 session — Massage 60", HOLDER.name, "Of 10 given 2026-03-02", "Valid through 2026-06-30"):
        assert expected in text, expected
    assert qr_codes_of(content) == [TOKEN]
