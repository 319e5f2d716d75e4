"""Request and response bodies of the billing part of the REST API (also its OpenAPI schemas).

Shapes and types are checked here; business rules (a currency that exists, a quantity's decimals, a
payment's currency matching its invoice...) are the billing service's, whose field errors come back as 422
naming the field. Amounts are integer minor units of the invoice's or payment's currency.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from gateway.schemas import Body, CalendarDay, Instant, MoneyIn, Out

Id = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]
# Checked by the billing service (above 0, at most 4 decimal places), whose error names lines[i].quantity.
Quantity = int | Annotated[str, StringConstraints(min_length=1, max_length=20)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class InvoiceLineIn(Body):
    description: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    quantity: Quantity = Field(
        default=1, description='A whole number, or a decimal string with up to 4 places ("1.5"); exact.'
    )
    unit_price_minor: int = Field(ge=0, le=10**13)
    tax_rate_bp: int = Field(default=0, ge=0, le=10_000, description="Tax rate in basis points: 1900 = 19 %.")
    appointment_id: Id | None = Field(default=None, description="The appointment this line bills, if any.")


class InvoiceIn(Body):
    client_id: Id
    currency: Currency = Field(description="ISO 4217")
    lines: list[InvoiceLineIn] = Field(default_factory=list, max_length=200)
    payment_terms_days: int = Field(default=14, ge=0, le=365, description="Due date = issue date + these days.")
    notes: Annotated[str, StringConstraints(max_length=2000)] = ""


class InvoicePatch(Body):
    """Changes to a draft; what is left out stays as it is. ``lines`` replaces every line."""

    currency: Currency | None = None
    lines: list[InvoiceLineIn] | None = Field(default=None, max_length=200)
    payment_terms_days: int | None = Field(default=None, ge=0, le=365)
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None
    version: int = Field(ge=1, description="The version read; a draft changed since answers 409 STALE_VERSION.")


class IssueIn(Body):
    issue_date: CalendarDay | None = Field(default=None, description="Default: today on the business's calendar.")


class VoidIn(Body):
    reason: Reason


class InvoiceLineOut(Out):
    position: int
    description: str
    quantity: str
    unit_price_minor: int
    tax_rate_bp: int
    appointment_id: str | None
    net_minor: int
    tax_minor: int
    total_minor: int


class InvoiceOut(Out):
    id: str
    client_id: str
    kind: Literal["standard", "opening_balance"]
    status: Literal["draft", "issued", "partially_paid", "paid", "void"]
    number: int | None = Field(description="Sequential per business, given when issued.")
    currency: str
    lines: list[InvoiceLineOut]
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    paid_minor: int
    outstanding_minor: int
    payment_terms_days: int
    issue_date: date | None
    due_date: date | None
    bill_to_name: str
    notes: str
    void_reason: str
    overdue: bool
    version: int
    created_at: datetime
    updated_at: datetime


class InvoiceList(Out):
    items: list[InvoiceOut]
    next_page_token: str | None = None


class InvoiceQuery(Body):
    client_id: Id | None = None
    status: Annotated[str, StringConstraints(max_length=100)] = Field(
        default="", description="Comma-separated: draft, issued, partially_paid, paid, void."
    )
    overdue: bool = Field(default=False, description="Only open invoices past their due date.")
    page_size: int = Field(default=50, ge=1, le=200)
    page_token: Annotated[str, StringConstraints(max_length=300)] = ""


class PortalInvoiceQuery(Body):
    page_size: int = Field(default=50, ge=1, le=200)
    page_token: Annotated[str, StringConstraints(max_length=300)] = ""


class PaymentIn(Body):
    client_id: Id
    amount: MoneyIn
    method: Literal["cash", "card", "bank_transfer", "other"]
    received_at: Instant | None = Field(default=None, description="Default: now.")
    reference: Annotated[str, StringConstraints(max_length=200)] = ""
    notes: Annotated[str, StringConstraints(max_length=2000)] = ""
    invoice_id: Id | None = Field(
        default=None, description="Pay this invoice; default: the client's oldest open invoices of the currency."
    )


class AllocationOut(Out):
    invoice_id: str
    invoice_number: int | None
    amount_minor: int


class PaymentOut(Out):
    id: str
    client_id: str
    amount_minor: int
    currency: str
    method: str
    received_at: datetime
    reference: str
    notes: str
    status: Literal["recorded", "refunded"]
    allocations: list[AllocationOut]
    unallocated_minor: int = Field(description="Left with the client as credit.")
    refund_reason: str
    refunded_at: datetime | None
    created_at: datetime


class PaymentList(Out):
    items: list[PaymentOut]
    next_page_token: str | None = None


class PaymentQuery(Body):
    client_id: Id | None = None
    page_size: int = Field(default=50, ge=1, le=200)
    page_token: Annotated[str, StringConstraints(max_length=300)] = ""


class RefundIn(Body):
    reason: Reason


class InvoiceDueOut(Out):
    invoice_id: str
    number: int | None
    due_date: date
    outstanding_minor: int


class CurrencyBalanceOut(Out):
    currency: str
    outstanding_minor: int
    overdue_minor: int
    open_invoice_count: int
    oldest_due: InvoiceDueOut | None = Field(description="The open invoice due first (the oldest overdue one).")
    credit_minor: int


class BalanceOut(Out):
    client_id: str
    currencies: list[CurrencyBalanceOut]
