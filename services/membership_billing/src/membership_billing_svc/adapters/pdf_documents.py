"""Printable documents rendered as PDF with fpdf2: invoices, statements, membership cards and vouchers. Cards
and vouchers carry the client's card token as a QR code (segno), which the desk scans to check the client in.

Text is set in Noto Sans (a PyPI font package), embedded and subset, so any name prints as written.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import segno
from fontpkg_noto_sans import ROOT as NOTO_ROOT
from fpdf import FPDF
from fpdf.fonts import FontFace

from membership_billing_svc.domain.invoices import Invoice, InvoiceKind
from membership_billing_svc.domain.ledger import CreditType, Lot
from membership_billing_svc.domain.statement import CurrencyStatement
from platform_core.money import format_minor

FONT = "Noto"
PDF = "application/pdf"


@lru_cache(maxsize=1)
def _font_path() -> str:
    return str(NOTO_ROOT / "files" / "NotoSans[wdth,wght].ttf")


def _document(title: str, *, format: str | tuple[float, float] = "A4") -> FPDF:
    pdf = FPDF(format=format)
    pdf.set_title(title)
    pdf.set_creator("Atrium")
    pdf.add_font(FONT, "", _font_path())
    pdf.set_font(FONT, size=10)
    pdf.set_auto_page_break(auto=True, margin=15)
    return pdf


def _bytes(pdf: FPDF) -> bytes:
    return bytes(pdf.output())


def _qr_png(token: str) -> io.BytesIO:
    image = io.BytesIO()
    # Error correction M: readable from a worn or creased print, still small for a long token.
    segno.make(token, error="m", micro=False).save(image, kind="png", scale=6, border=4)
    image.seek(0)
    return image


def invoice_pdf(invoice: Invoice, *, business_name: str, today: date) -> bytes:
    title = (
        f"Invoice {invoice.number}" if invoice.kind is InvoiceKind.STANDARD and invoice.number else "Opening balance"
    )
    if invoice.kind is InvoiceKind.STANDARD and invoice.number is None:
        title = "Invoice (draft)"
    pdf = _document(title)
    pdf.add_page()
    pdf.set_font_size(16)
    if business_name:
        pdf.cell(text=business_name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(14)
    pdf.cell(text=title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(10)
    pdf.ln(2)
    facts = [
        ("Bill to", invoice.bill_to_name or "-"),
        ("Issued", invoice.issue_date.isoformat() if invoice.issue_date else "draft"),
        ("Due", invoice.due_date.isoformat() if invoice.due_date else "-"),
        ("Status", _status(invoice, today)),
    ]
    for label, value in facts:
        pdf.cell(30, 6, label)
        pdf.cell(text=value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    if invoice.lines:
        # One face (the variable font's regular): headings stand out by their fill instead of bold.
        headings = FontFace(emphasis="NONE", fill_color=(230, 230, 230))
        with pdf.table(
            col_widths=(70, 15, 25, 15, 25),
            text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
            headings_style=headings,
        ) as table:
            table.row(("Description", "Qty", "Unit price", "Tax", "Total"))
            for line in invoice.lines:
                table.row(
                    (
                        line.description,
                        line.quantity_text,
                        format_minor(line.unit_price_minor, invoice.currency),
                        f"{line.tax_rate_bp / 100:g} %",
                        format_minor(line.total_minor, invoice.currency),
                    )
                )
        pdf.ln(4)
    totals = [
        ("Subtotal", invoice.subtotal_minor),
        ("Tax", invoice.tax_minor),
        ("Total", invoice.total_minor),
        ("Paid", invoice.paid_minor),
        ("Balance due", invoice.outstanding_minor),
    ]
    for label, amount in totals:
        pdf.cell(150, 6, label, align="R")
        pdf.cell(0, 6, format_minor(amount, invoice.currency), align="R", new_x="LMARGIN", new_y="NEXT")
    if invoice.notes:
        pdf.ln(4)
        pdf.multi_cell(0, 5, invoice.notes)
    return _bytes(pdf)


def _status(invoice: Invoice, today: date) -> str:
    if invoice.is_open and invoice.is_overdue(today):
        return "overdue"
    return invoice.status.value.replace("_", " ")


# ID-1 (credit card) size, landscape; a voucher is an A6 sheet (mm).
CARD_SIZE = (85.6, 53.98)
A6 = (105.0, 148.0)


@dataclass(frozen=True)
class CardHolder:
    name: str
    client_id: str


def membership_card_pdf(holder: CardHolder, *, token: str, business_name: str) -> bytes:
    pdf = _document("Membership card", format=CARD_SIZE)
    pdf.set_margins(4, 4, 4)
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.set_font_size(9)
    pdf.cell(text=business_name or "Membership card", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(11)
    pdf.cell(text=holder.name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(6)
    pdf.cell(text="Membership card", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(text=holder.client_id, new_x="LMARGIN", new_y="NEXT")
    pdf.image(_qr_png(token), x=CARD_SIZE[0] - 36, y=CARD_SIZE[1] - 36, w=33, h=33)
    return _bytes(pdf)


def voucher_pdf(
    holder: CardHolder, lot: Lot, credit_type: CreditType, *, token: str, business_name: str, zone: ZoneInfo
) -> bytes:
    pdf = _document("Voucher", format=A6)
    pdf.add_page()
    pdf.set_font_size(12)
    pdf.cell(text=business_name or "Voucher", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(16)
    amount = (
        format_minor(lot.remaining, credit_type.currency)
        if credit_type.currency
        else f"{lot.remaining} {credit_type.unit}"
    )
    pdf.cell(text=f"{amount} — {credit_type.name}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(10)
    pdf.cell(text=f"For {holder.name}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(text=f"Of {lot.amount} given {_day(lot.starts_at, zone)}", new_x="LMARGIN", new_y="NEXT")
    valid = f"Valid through {_day(lot.expires_at, zone, last=True)}" if lot.expires_at else "Does not expire"
    pdf.cell(text=valid, new_x="LMARGIN", new_y="NEXT")
    if lot.note:
        pdf.multi_cell(0, 5, lot.note, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.image(_qr_png(token), x=pdf.l_margin, w=40, h=40)
    pdf.set_font_size(7)
    pdf.cell(text="Show this code at the desk to check in.", new_x="LMARGIN", new_y="NEXT")
    return _bytes(pdf)


def _day(at: datetime, zone: ZoneInfo, *, last: bool = False) -> str:
    """The business's day of an instant; ``last``: the day that ends at it (an expiry is the midnight after)."""
    local = at.astimezone(zone)
    if last and local.hour == 0 and local.minute == 0:
        local -= timedelta(days=1)
    return local.date().isoformat()


@dataclass(frozen=True)
class StatementHeading:
    business_name: str
    client_id: str
    client_name: str
    first: date
    last: date
    timezone: str


def statement_pdf(heading: StatementHeading, statements: list[CurrencyStatement], *, detailed: bool) -> bytes:
    pdf = _document("Statement")
    pdf.add_page()
    pdf.set_font_size(16)
    if heading.business_name:
        pdf.cell(text=heading.business_name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(14)
    pdf.cell(text="Statement of account", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(10)
    pdf.cell(text=heading.client_name, new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        text=f"{heading.first.isoformat()} to {heading.last.isoformat()} ({heading.timezone})",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if not statements:
        pdf.ln(4)
        pdf.cell(text="No invoices or payments.", new_x="LMARGIN", new_y="NEXT")
    headings = FontFace(emphasis="NONE", fill_color=(230, 230, 230))
    for s in statements:
        pdf.ln(6)
        pdf.set_font_size(12)
        pdf.cell(text=s.currency, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font_size(10)
        if detailed:
            with pdf.table(
                col_widths=(25, 85, 35, 35),
                text_align=("LEFT", "LEFT", "RIGHT", "RIGHT"),
                headings_style=headings,
            ) as table:
                table.row(("Day", "Description", "Amount", "Balance"))
                table.row((heading.first.isoformat(), "Opening balance", "", format_minor(s.opening_minor, s.currency)))
                for e in s.entries:
                    table.row(
                        (
                            e.day.isoformat(),
                            e.description,
                            format_minor(e.amount_minor, s.currency),
                            format_minor(e.balance_minor, s.currency),
                        )
                    )
            pdf.ln(3)
        summary = [
            ("Opening balance", s.opening_minor),
            ("Invoiced", s.invoiced_minor),
            ("Paid", s.paid_minor),
            ("Refunded", s.refunded_minor),
            ("Closing balance", s.closing_minor),
            ("Paid to date", s.paid_to_date_minor),
            ("Balance due", s.balance_due_minor),
            ("Credit", s.credit_minor),
        ]
        for label, amount in summary:
            pdf.cell(150, 6, label, align="R")
            pdf.cell(0, 6, format_minor(amount, s.currency), align="R", new_x="LMARGIN", new_y="NEXT")
    return _bytes(pdf)
