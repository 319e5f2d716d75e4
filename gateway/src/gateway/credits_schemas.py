"""Request and response bodies of the credits ledger in the REST API (also its OpenAPI schemas).

Shapes and types are checked here; the ledger's rules (an amount within range, an expiry after the start,
a credit type of the business) are the billing service's, whose field errors come back as 422 naming the
field. Amounts are whole units of the credit type (minor units of its currency when it is money-valued).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from gateway.cancellation_schemas import CancellationTermsOut
from gateway.schemas import Body, Out, PageQuery

Id = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Note = Annotated[str, StringConstraints(max_length=500)]


class CreditTypeIn(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    unit: Annotated[str, StringConstraints(max_length=40)] = Field(
        default="", description='e.g. "session", "minute", "point"; a money-valued type\'s unit is its currency.'
    )
    currency: Annotated[str, StringConstraints(pattern=r"^([A-Za-z]{3})?$")] = Field(
        default="", description="ISO 4217; set for money on account (amounts are its minor units)."
    )


class CreditTypeOut(Out):
    id: str
    name: str
    unit: str
    currency: str | None
    created_at: datetime


class CreditTypeList(Out):
    items: list[CreditTypeOut]


class ChargeIn(Body):
    credit_type_id: Id
    amount: int = Field(ge=1, le=10**13)
    starts_on: date | None = Field(default=None, description="Usable from this day's midnight (business zone).")
    expires_on: date | None = Field(
        default=None, description="The last day it is usable; it expires at the business's next midnight."
    )
    note: Note = ""


class UseIn(Body):
    credit_type_id: Id
    amount: int = Field(ge=1, le=10**13)
    note: Note = ""


class ReverseIn(Body):
    note: Note = ""


class LotOut(Out):
    id: str
    client_id: str
    credit_type_id: str
    amount: int
    remaining: int
    starts_at: datetime
    expires_at: datetime | None
    note: str
    created_at: datetime


class EntryOut(Out):
    lot_id: str
    credit_type_id: str
    account: Literal["client", "issued", "used", "expired"]
    amount: int = Field(description="Signed; a transaction's entries add up to zero.")


class TransactionOut(Out):
    id: str
    kind: Literal["charge", "use", "expire", "reverse"]
    client_id: str
    effective_at: datetime
    client_change: int = Field(description="Units that reached (+) or left (-) the client's holding.")
    entries: list[EntryOut]
    note: str
    reverses_id: str | None


class TransactionList(Out):
    items: list[TransactionOut]
    next_page_token: str | None


class CreditBalanceOut(Out):
    credit_type: CreditTypeOut
    balance: int
    frozen: int = Field(description="Of the balance, what frozen subscriptions hold (usable once they resume).")
    available: int = Field(description="Of the balance, what the client can use at as_of (started, not frozen).")
    lots: list[LotOut] = Field(description="Lots holding something, first-expiring first.")


class CreditBalancesOut(Out):
    client_id: str
    as_of: datetime
    balances: list[CreditBalanceOut]


class BalanceQuery(Body):
    as_of: AwareDatetime | None = Field(default=None, description="Default: now.")


class TransactionQuery(PageQuery):
    pass


class AllocationIn(Body):
    credit_type_id: Id
    amount: int = Field(ge=1, le=10**13)


class PackageIn(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    allocations: list[AllocationIn] = Field(min_length=1, max_length=20)
    validity_days: int | None = Field(
        default=None, ge=1, le=3660, description="Days from the first day, inclusive; none: never expires."
    )
    price_minor: int = Field(ge=0, le=10**13, description="0: free (no invoice).")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]
    tax_rate_bp: int = Field(default=0, ge=0, le=10_000)
    invoicing: Literal["auto", "draft"] = Field(
        default="auto", description="auto: the sale issues the invoice; draft: staff issue it."
    )
    payment_terms_days: int = Field(default=0, ge=0, le=365)


class AllocationOut(Out):
    credit_type_id: str
    amount: int


class PackageOut(Out):
    id: str
    name: str
    allocations: list[AllocationOut]
    validity_days: int | None
    price_minor: int
    currency: str
    tax_rate_bp: int
    invoicing: Literal["auto", "draft"]
    payment_terms_days: int
    created_at: datetime


class PackageList(Out):
    items: list[PackageOut]


class SaleIn(Body):
    package_id: Id
    first_day: date | None = Field(default=None, description="Today or later, in the business's zone; default today.")


class SaleOut(Out):
    id: str
    package_id: str
    client_id: str
    invoice_id: str | None
    first_day: date
    last_day: date | None
    lots: list[LotOut]
    sold_at: datetime


class ServiceRuleIn(Body):
    credit_type_id: Id
    units: int = Field(ge=1, le=10**13, description="Units of the credit type one visit takes.")


class ServiceRulesIn(Body):
    rules: list[ServiceRuleIn] = Field(max_length=10, description="Empty: visits of the service take no credits.")


class ServiceRuleOut(Out):
    credit_type_id: str
    units: int


class ServiceRulesOut(Out):
    service_id: str
    rules: list[ServiceRuleOut]


class QuoteQuery(Body):
    service_id: Id
    start: AwareDatetime | None = Field(
        default=None,
        description="The start of the booking about to be confirmed: the answer adds its cancellation terms.",
    )


class QuotedLotOut(Out):
    lot_id: str
    units: int
    expires_at: datetime | None


class VisitQuoteOut(Out):
    uses_credits: bool = Field(description="The service takes credits at all.")
    covered: bool = Field(description="The client's credits pay for a visit now.")
    credit_type: CreditTypeOut | None
    units: int
    lots: list[QuotedLotOut] = Field(description="What each lot would give, first-expiring first.")
    cancellation: CancellationTermsOut | None = Field(
        default=None, description="With `start`: what cancelling it (now, or later) and a no-show would cost."
    )


class CheckInIn(Body):
    service_id: Id | None = Field(default=None, description="The visit's service: consumes what pays for it.")
    appointment_id: Id | None = Field(default=None, description="The appointment attended (checked in once).")
    note: Note = ""


class CheckInOut(Out):
    id: str
    client_id: str
    checked_in_at: datetime
    service_id: str | None
    appointment_id: str | None
    method: Literal["staff", "card"]
    transaction: TransactionOut | None


class CardOut(Out):
    client_id: str
    token: str = Field(description="What the card's QR code carries; the desk checks the client in with it.")


class CardCheckInIn(Body):
    token: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    service_id: Id | None = Field(default=None, description="The visit's service: consumes what pays for it.")
    note: Note = ""


class CheckInList(Out):
    items: list[CheckInOut]
    next_page_token: str | None


class CheckInQuery(PageQuery):
    pass


class CreditReportQuery(Body):
    from_: date = Field(alias="from", description="First day, YYYY-MM-DD, in the business's timezone")
    to: date = Field(description="Last day, inclusive; at most 366 days after from")
    format: Literal["json", "csv"] = "json"


class CreditReportRowOut(Out):
    credit_type: CreditTypeOut
    charged: int
    used: int
    restored: int = Field(description="Uses given back.")
    expired: int
    clients: int = Field(description="Clients whose holding of the type moved in the period.")


class CreditReportOut(Out):
    from_: date = Field(alias="from")
    to: date
    timezone: str
    rows: list[CreditReportRowOut]
