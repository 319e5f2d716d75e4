"""Which credits pay for a visit, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from membership_billing_svc.domain import ledger
from membership_billing_svc.domain.consumption import ServiceRule, checked_rules, choose_payer
from membership_billing_svc.domain.ledger import ChargeTerms, CreditType, Lot
from platform_core.errors import FailedPrecondition, InvalidArgument

TENANT = uuid.uuid4()
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Berlin")


def lot_of(credit_type: CreditType, amount: int, last_day: date | None) -> Lot:
    terms = ChargeTerms.checked(amount, starts_on=None, expires_on=last_day, note="", zone=ZONE, now=NOW)
    return ledger.charge(TENANT, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), credit_type, terms, now=NOW)[0]


def kind(name: str, unit: str = "session", currency: str = "") -> CreditType:
    return CreditType.define(TENANT, uuid.uuid4(), name=name, unit=unit, currency=currency, now=NOW)


def test_the_type_whose_credits_expire_first_pays_if_the_client_holds_enough_of_it() -> None:
    sessions, wallet = kind("Massage 60"), kind("Wallet", "", "EUR")
    rules = [ServiceRule(sessions.id, 1), ServiceRule(wallet.id, 6000)]
    session_lot = lot_of(sessions, 3, date(2026, 6, 30))
    money_soon = lot_of(wallet, 5000, date(2026, 5, 10))
    money_later = lot_of(wallet, 5000, date(2026, 12, 31))

    payer = choose_payer(rules, [session_lot, money_soon, money_later], NOW)
    assert payer.rule == rules[1]
    assert [(lot.id, units) for lot, units in payer.plan] == [(money_soon.id, 5000), (money_later.id, 1000)]

    # Too little money: the sessions pay, though they expire later.
    payer = choose_payer(rules, [session_lot, money_soon], NOW)
    assert (payer.rule, payer.plan[0][0].id) == (rules[0], session_lot.id)

    with pytest.raises(FailedPrecondition) as none:
        choose_payer(rules, [money_soon], NOW)
    assert none.value.reason == ledger.INSUFFICIENT_CREDITS


def test_rules_are_positive_and_name_a_credit_type_once() -> None:
    type_id = uuid.uuid4()
    with pytest.raises(InvalidArgument) as bad:
        checked_rules([ServiceRule(type_id, 0), ServiceRule(type_id, 1)])
    assert {v.field for v in bad.value.violations} == {"rules[0].units", "rules[1].credit_type_id"}
