"""Packages without a database: what a definition must hold, and what a sale makes (an invoice for the price,
a lot per allocation valid for the package's days of the business's zone)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from membership_billing_svc.domain.invoices import InvoiceStatus
from membership_billing_svc.domain.ledger import ChargeTerms, CreditType
from membership_billing_svc.domain.packages import Allocation, Invoicing, Package, sell
from platform_core.errors import InvalidArgument

TENANT = uuid.uuid4()
NOW = datetime(2026, 10, 20, 15, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def credit_type(name: str, unit: str) -> CreditType:
    return CreditType.define(TENANT, uuid.uuid4(), name=name, unit=unit, currency="", now=NOW)


def package(*allocations: Allocation, price: int = 12000, validity_days: int | None = 30) -> Package:
    return Package.define(
        TENANT,
        uuid.uuid4(),
        name="Ten massages",
        allocations=list(allocations),
        validity_days=validity_days,
        price_minor=price,
        currency="eur",
        tax_rate_bp=1900,
        invoicing="auto",
        payment_terms_days=0,
        now=NOW,
    )


def terms_of(amount: int, first: date, last: date | None) -> ChargeTerms:
    return ChargeTerms.checked(amount, starts_on=first, expires_on=last, note="", zone=BERLIN, now=NOW)


def test_a_package_names_every_broken_rule_at_once() -> None:
    massage = uuid.uuid4()
    with pytest.raises(InvalidArgument) as bad:
        Package.define(
            TENANT,
            uuid.uuid4(),
            name="",
            allocations=[Allocation(massage, 0), Allocation(massage, 3)],
            validity_days=0,
            price_minor=-1,
            currency="EURO",
            tax_rate_bp=10_001,
            invoicing="later",
            payment_terms_days=400,
            now=NOW,
        )
    assert {v.field for v in bad.value.violations} == {
        "name",
        "currency",
        "allocations[0].amount",
        "allocations[1].credit_type_id",
        "validity_days",
        "price_minor",
        "tax_rate_bp",
        "invoicing",
        "payment_terms_days",
    }


def test_a_sale_invoices_the_price_and_charges_each_allocation_for_the_validity_across_a_dst_change() -> None:
    massage, minutes = credit_type("Massage 60", "session"), credit_type("Sauna", "minute")
    sold = package(Allocation(massage.id, 10), Allocation(minutes.id, 300))
    ids = (uuid.UUID(int=i) for i in itertools.count(1))
    client = uuid.uuid4()
    # 30 days from 20 October: the last day is 18 November; Berlin leaves summer time on 25 October.
    sale = sell(
        sold,
        {massage.id: massage, minutes.id: minutes},
        sale_id=uuid.uuid4(),
        client_id=client,
        first_day=date(2026, 10, 20),
        terms_of=terms_of,
        new_id=lambda: next(ids),
        now=NOW,
        request_id=None,
    )
    assert sale.last_day == date(2026, 11, 18)
    assert sale.invoice is not None and sale.invoice.status is InvoiceStatus.DRAFT
    assert (sale.invoice.total_minor, sale.invoice.client_id, sale.invoice_id) == (14280, client, sale.invoice.id)
    assert [(lot.credit_type_id, lot.amount, lot.package_sale_id) for lot in sale.lots] == [
        (massage.id, 10, sale.id),
        (minutes.id, 300, sale.id),
    ]
    # From Berlin's midnight in summer time to its midnight in winter time.
    assert {(lot.starts_at, lot.expires_at) for lot in sale.lots} == {
        (datetime(2026, 10, 19, 22, 0, tzinfo=UTC), datetime(2026, 11, 18, 23, 0, tzinfo=UTC))
    }
    assert all(t.client_change == lot.amount for t, lot in zip(sale.transactions, sale.lots, strict=True))


def test_a_free_package_makes_no_invoice_and_one_without_validity_never_expires() -> None:
    massage = credit_type("Massage 60", "session")
    sale = sell(
        package(Allocation(massage.id, 1), price=0, validity_days=None),
        {massage.id: massage},
        sale_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        first_day=date(2026, 10, 20),
        terms_of=terms_of,
        new_id=uuid.uuid4,
        now=NOW,
        request_id=None,
    )
    assert (sale.invoice, sale.invoice_id, sale.last_day) == (None, None, None)
    assert sale.lots[0].expires_at is None
    assert Invoicing("draft") is Invoicing.DRAFT
