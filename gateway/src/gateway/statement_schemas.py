"""Request and response bodies of a client's statement in the REST API (also its OpenAPI schemas)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.schemas import Body, CalendarDay, Out


class StatementQuery(Body):
    from_: CalendarDay = Field(alias="from", description="First day, YYYY-MM-DD, in the business's timezone")
    to: CalendarDay = Field(description="Last day, inclusive")
    detail: Literal["summary", "detailed"] = Field(
        default="detailed", description="detailed: every invoice, payment and refund with the running balance."
    )
    format: Literal["json", "csv", "pdf"] = "json"


class StatementEntryOut(Out):
    day: CalendarDay
    kind: Literal["invoice", "opening_balance", "payment", "refund"]
    record_id: str = Field(description="The invoice's or the payment's id.")
    description: str
    amount_minor: int = Field(description="What it adds to what the client owes (negative: a payment).")
    balance_minor: int


class CurrencyStatementOut(Out):
    currency: str
    opening_balance_minor: int = Field(description="Owed at the start of the first day (negative: credit).")
    invoiced_minor: int
    paid_minor: int
    refunded_minor: int
    closing_balance_minor: int
    paid_to_date_minor: int = Field(description="All payments less refunds up to the last day.")
    balance_due_minor: int
    credit_minor: int
    entries: list[StatementEntryOut] | None = Field(description="With detail=detailed.")


class StatementOut(Out):
    client_id: str
    client_name: str
    from_: CalendarDay = Field(alias="from")
    to: CalendarDay
    timezone: str
    currencies: list[CurrencyStatementOut]
