"""The loyalty program without a database: what a definition must hold, points for a payment, and a
redemption that takes the points first-expiring first and charges the reward, all or nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from membership_billing_svc.domain.ledger import ChargeTerms, CreditType, charge
from membership_billing_svc.domain.loyalty import LoyaltyProgram, redeem
from platform_core.errors import FailedPrecondition, InvalidArgument

TENANT = uuid.uuid4()
NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
POINTS = CreditType.define(TENANT, uuid.uuid4(), name="Points", unit="point", currency="", now=NOW)
WALLET = CreditType.define(TENANT, uuid.uuid4(), name="Wallet", unit="", currency="EUR", now=NOW)


def program(**changes: object) -> LoyaltyProgram:
    given: dict[str, object] = {
        "points_type": POINTS,
        "reward_type": WALLET,
        "reward_type_given": True,
        "currency": "eur",
        "step_minor": 1000,
        "points_per_step": 2,
        "points_per_visit": 5,
        "validity_days": 365,
        "points_per_reward_unit": 10,
        "now": NOW,
    } | changes
    return LoyaltyProgram.define(TENANT, **given)  # type: ignore[arg-type]


def test_points_for_a_payment_count_whole_steps_of_its_currency() -> None:
    p = program()
    assert (p.points_for_payment(4550, "EUR"), p.points_for_payment(999, "EUR"), p.points_for_payment(9000, "USD")) == (
        8,
        0,
        0,
    )
    assert p.expiry(date(2026, 5, 4), ZoneInfo("UTC")) == datetime(2027, 5, 4, tzinfo=UTC)


def test_a_definition_reports_every_broken_rule_by_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        program(points_type=WALLET, reward_type=None, step_minor=1000, points_per_step=0, points_per_reward_unit=10)
    assert {v.field for v in refused.value.violations} == {
        "points_credit_type_id",
        "reward_credit_type_id",
        "points_per_step",
        "points_per_reward_unit",
    }


def test_a_redemption_takes_the_points_and_charges_the_reward_or_nothing() -> None:
    p = program()
    client = uuid.uuid4()
    lot, _ = charge(TENANT, uuid.uuid4(), uuid.uuid4(), client, POINTS, ChargeTerms(25, NOW, None, ""), now=NOW)
    with pytest.raises(InvalidArgument):
        redeem(p, POINTS, WALLET, client, [lot], 15, reward_expires_at=None, request_id=None, now=NOW)
    with pytest.raises(FailedPrecondition):
        redeem(p, POINTS, WALLET, client, [lot], 30, reward_expires_at=None, request_id=None, now=NOW)
    assert lot.remaining == 25
    spent, reward_lot, reward = redeem(
        p, POINTS, WALLET, client, [lot], 20, reward_expires_at=None, request_id="r", now=NOW
    )
    assert (lot.remaining, reward_lot.amount, reward_lot.credit_type_id, spent.client_change) == (5, 2, WALLET.id, -20)
    assert reward.client_change == 2 and spent.events[-1].balance_after == 5
