"""Packages: credit allocations (10 sessions of "Massage 60", 300 minutes, 50 points...) with a validity and a
price, sold to a client in one step: the invoice (issued at once or left as a draft, as the package says)
and a lot per allocation, all in one transaction."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from membership_billing_svc.domain.invoices import DraftTerms, Invoice, LineInput
from membership_billing_svc.domain.ledger import ChargeTerms, CreditType, LedgerTransaction, Lot, charge
from platform_core.errors import FailedPrecondition
from platform_core.money import MAX_AMOUNT_MINOR
from platform_core.validation import Violations

MAX_ALLOCATIONS = 20
MAX_VALIDITY_DAYS = 3660


class Invoicing(enum.StrEnum):
    # Issued with the sale (the business's next number); the client owes it at once.
    AUTO = "auto"
    # Left as a draft for staff to check and issue.
    DRAFT = "draft"


@dataclass(frozen=True)
class Allocation:
    credit_type_id: uuid.UUID
    amount: int


@dataclass
class Package:
    tenant_id: uuid.UUID
    id: uuid.UUID
    name: str
    allocations: tuple[Allocation, ...]
    # Days from the first day of use; None: the credits never expire.
    validity_days: int | None
    price_minor: int
    currency: str
    tax_rate_bp: int
    invoicing: Invoicing
    payment_terms_days: int
    created_at: datetime
    is_new: bool = False
    events: list[Any] = field(default_factory=list)

    def __hash__(self) -> int:
        return hash(self.id)

    @classmethod
    def define(
        cls,
        tenant_id: uuid.UUID,
        package_id: uuid.UUID,
        *,
        name: str,
        allocations: list[Allocation],
        validity_days: int | None,
        price_minor: int,
        currency: str,
        tax_rate_bp: int,
        invoicing: str,
        payment_terms_days: int,
        now: datetime,
    ) -> Package:
        violations = Violations()
        name = violations.text(name, "name", max_length=100, required=True)
        code = violations.currency(currency, "currency")
        if not allocations:
            violations.add("allocations", "a package gives at least one credit type")
        elif len(allocations) > MAX_ALLOCATIONS:
            violations.add("allocations", f"at most {MAX_ALLOCATIONS}")
        seen: set[uuid.UUID] = set()
        for i, allocation in enumerate(allocations):
            if not 1 <= allocation.amount <= MAX_AMOUNT_MINOR:
                violations.add(f"allocations[{i}].amount", f"must be between 1 and {MAX_AMOUNT_MINOR}")
            if allocation.credit_type_id in seen:
                violations.add(f"allocations[{i}].credit_type_id", "appears twice")
            seen.add(allocation.credit_type_id)
        if validity_days is not None and not 1 <= validity_days <= MAX_VALIDITY_DAYS:
            violations.add("validity_days", f"must be between 1 and {MAX_VALIDITY_DAYS}")
        if not 0 <= price_minor <= MAX_AMOUNT_MINOR:
            violations.add("price_minor", f"must be between 0 and {MAX_AMOUNT_MINOR}")
        if not 0 <= tax_rate_bp <= 10_000:
            violations.add("tax_rate_bp", "must be between 0 and 10000")
        if invoicing not in {i.value for i in Invoicing}:
            violations.add("invoicing", "must be auto or draft")
        if not 0 <= payment_terms_days <= 365:
            violations.add("payment_terms_days", "must be between 0 and 365")
        violations.raise_if_any()
        return cls(
            tenant_id,
            package_id,
            name,
            tuple(allocations),
            validity_days,
            price_minor,
            code,
            tax_rate_bp,
            Invoicing(invoicing),
            payment_terms_days,
            now,
            is_new=True,
        )

    def last_day(self, first_day: date) -> date | None:
        """The last day the credits are usable: ``validity_days`` days counted from the first, inclusive."""
        return None if self.validity_days is None else first_day + timedelta(days=self.validity_days - 1)


@dataclass
class PackageSale:
    tenant_id: uuid.UUID
    id: uuid.UUID
    package_id: uuid.UUID
    client_id: uuid.UUID
    invoice_id: uuid.UUID | None
    first_day: date
    last_day: date | None
    sold_at: datetime
    request_id: str | None
    lots: list[Lot] = field(default_factory=list)
    transactions: list[LedgerTransaction] = field(default_factory=list)
    invoice: Invoice | None = None
    is_new: bool = False
    events: list[Any] = field(default_factory=list)

    def __hash__(self) -> int:
        return hash(self.id)


def sell(
    package: Package,
    credit_types: dict[uuid.UUID, CreditType],
    *,
    sale_id: uuid.UUID,
    client_id: uuid.UUID,
    first_day: date,
    terms_of: Callable[[int, date, date | None], ChargeTerms],
    new_id: Callable[[], uuid.UUID],
    now: datetime,
    request_id: str | None,
) -> PackageSale:
    """The sale, a draft invoice for its price (none when it is free) and a charge per allocation.

    ``terms_of(amount, first_day, last_day)`` checks a charge's terms in the business's zone; ``new_id()``
    makes ids. Issuing the invoice (a number) is the caller's, as the package's invoicing says.
    """
    missing = [a for a in package.allocations if a.credit_type_id not in credit_types]
    if missing:
        raise FailedPrecondition("a credit type of the package no longer exists", reason="PACKAGE_BROKEN")
    last_day = package.last_day(first_day)
    sale = PackageSale(
        package.tenant_id, sale_id, package.id, client_id, None, first_day, last_day, now, request_id, is_new=True
    )
    if package.price_minor > 0:
        invoice_terms = DraftTerms.checked(
            package.currency,
            [LineInput(package.name, "1", package.price_minor, package.tax_rate_bp)],
            package.payment_terms_days,
            "",
        )
        sale.invoice = Invoice.draft(package.tenant_id, new_id(), client_id, invoice_terms, now)
        sale.invoice_id = sale.invoice.id
    for allocation in package.allocations:
        terms = terms_of(allocation.amount, first_day, last_day)
        lot, transaction = charge(
            package.tenant_id,
            new_id(),
            new_id(),
            client_id,
            credit_types[allocation.credit_type_id],
            ChargeTerms(terms.amount, terms.starts_at, terms.expires_at, package.name),
            now=now,
        )
        lot.package_sale_id = sale_id
        sale.lots.append(lot)
        sale.transactions.append(transaction)
    return sale
