"""Loyalty: a business's points program. Points are credits of a (non-money) credit type on the same ledger:
earned for what a client pays and for each visit, expiring after the program's validity, and redeemed as a
charge of another credit type (a use of the points and a charge of the reward in one transaction)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from membership_billing_svc.domain import events
from membership_billing_svc.domain.ledger import (
    ChargeTerms,
    CreditType,
    LedgerTransaction,
    Lot,
    charge,
    expiry_instant,
    use,
)
from platform_core.errors import FailedPrecondition, InvalidArgument
from platform_core.money import MAX_AMOUNT_MINOR
from platform_core.validation import Violations

MAX_POINTS = 1_000_000


@dataclass
class LoyaltyProgram:
    tenant_id: uuid.UUID
    points_credit_type_id: uuid.UUID
    # Points for payments: ``points_per_step`` for every whole ``step_minor`` paid in ``currency`` (0: none).
    currency: str
    step_minor: int
    points_per_step: int
    points_per_visit: int
    # Days earned points stay usable (None: they never expire).
    validity_days: int | None
    # What points buy: one unit of this credit type for ``points_per_reward_unit`` points (None: no redemption).
    reward_credit_type_id: uuid.UUID | None
    points_per_reward_unit: int
    updated_at: datetime
    events: list[Any] = field(default_factory=list)

    def __hash__(self) -> int:
        return hash(self.tenant_id)

    @classmethod
    def define(
        cls,
        tenant_id: uuid.UUID,
        *,
        points_type: CreditType | None,
        reward_type: CreditType | None,
        reward_type_given: bool,
        currency: str,
        step_minor: int,
        points_per_step: int,
        points_per_visit: int,
        validity_days: int | None,
        points_per_reward_unit: int,
        now: datetime,
    ) -> LoyaltyProgram:
        violations = Violations()
        if points_type is None:
            violations.add("points_credit_type_id", "is not a credit type of this business")
        elif points_type.currency is not None:
            violations.add("points_credit_type_id", "points are not money: choose a credit type without a currency")
        if reward_type_given and reward_type is None:
            violations.add("reward_credit_type_id", "is not a credit type of this business")
        if reward_type is not None and points_type is not None and reward_type.id == points_type.id:
            violations.add("reward_credit_type_id", "must be another credit type than the points'")
        code = violations.currency(currency, "currency") if step_minor else currency.strip().upper()
        if not 0 <= step_minor <= MAX_AMOUNT_MINOR:
            violations.add("step_minor", f"must be between 0 and {MAX_AMOUNT_MINOR}")
        if not 0 <= points_per_step <= MAX_POINTS or (step_minor > 0) != (points_per_step > 0):
            violations.add("points_per_step", f"between 1 and {MAX_POINTS} with a step, 0 without")
        if not 0 <= points_per_visit <= MAX_POINTS:
            violations.add("points_per_visit", f"must be between 0 and {MAX_POINTS}")
        if validity_days is not None and not 1 <= validity_days <= 3660:
            violations.add("validity_days", "must be between 1 and 3660")
        if (reward_type is not None) != (points_per_reward_unit > 0) or not 0 <= points_per_reward_unit <= MAX_POINTS:
            violations.add("points_per_reward_unit", f"between 1 and {MAX_POINTS} with a reward type, 0 without")
        violations.raise_if_any()
        assert points_type is not None
        return cls(
            tenant_id,
            points_type.id,
            code,
            step_minor,
            points_per_step,
            points_per_visit,
            validity_days,
            reward_type.id if reward_type is not None else None,
            points_per_reward_unit,
            now,
        )

    def points_for_payment(self, amount_minor: int, currency: str) -> int:
        if not self.step_minor or currency != self.currency:
            return 0
        return (amount_minor // self.step_minor) * self.points_per_step

    @property
    def expiry_needs_zone(self) -> bool:
        """Earned points expire at one of the business's midnights, so when they expire depends on its zone."""
        return self.validity_days is not None

    def expiry(self, today: date, zone: ZoneInfo) -> datetime | None:
        if self.validity_days is None:
            return None
        return expiry_instant(today + timedelta(days=self.validity_days - 1), zone)


def earn(
    program: LoyaltyProgram,
    points_type: CreditType,
    client_id: uuid.UUID,
    points: int,
    *,
    source: str,
    source_id: uuid.UUID,
    held_before: int,
    expires_at: datetime | None,
    now: datetime,
) -> tuple[Lot, LedgerTransaction]:
    lot, transaction = charge(
        program.tenant_id,
        uuid.uuid4(),
        uuid.uuid4(),
        client_id,
        points_type,
        ChargeTerms(points, now, expires_at, f"points for a {source}"),
        now=now,
        request_id=f"points:{source}:{source_id}",
    )
    transaction.events.append(
        events.PointsEarned(
            tenant_id=program.tenant_id,
            transaction_id=transaction.id,
            client_id=client_id,
            points=points,
            source=source,
            source_id=source_id,
            balance_after=held_before + points,
            expires_at=expires_at,
            occurred_at=now,
        )
    )
    return lot, transaction


def redeem(
    program: LoyaltyProgram,
    points_type: CreditType,
    reward_type: CreditType,
    client_id: uuid.UUID,
    points_lots: list[Lot],
    points: int,
    *,
    reward_expires_at: datetime | None,
    request_id: str | None,
    now: datetime,
) -> tuple[LedgerTransaction, Lot, LedgerTransaction]:
    """The points leave (a use, first-expiring first) and the reward arrives (a charge), or nothing at all."""
    if program.reward_credit_type_id is None:
        raise FailedPrecondition("this business's points buy nothing", reason="NO_REWARD")
    if not 1 <= points <= MAX_AMOUNT_MINOR or points % program.points_per_reward_unit:
        raise InvalidArgument.single("points", f"must be a positive multiple of {program.points_per_reward_unit}")
    spent = use(
        program.tenant_id,
        uuid.uuid4(),
        client_id,
        points_type,
        points_lots,
        points,
        note="redeemed",
        now=now,
        request_id=request_id,
    )
    units = points // program.points_per_reward_unit
    lot, reward = charge(
        program.tenant_id,
        uuid.uuid4(),
        uuid.uuid4(),
        client_id,
        reward_type,
        ChargeTerms(units, now, reward_expires_at, "points redeemed"),
        now=now,
    )
    spent.events.append(
        events.PointsRedeemed(
            tenant_id=program.tenant_id,
            transaction_id=spent.id,
            client_id=client_id,
            points=points,
            credit_type_id=reward_type.id,
            credit_amount=units,
            balance_after=sum(lot.remaining for lot in points_lots if lot.usable_at(now)),
            occurred_at=now,
        )
    )
    return spent, lot, reward
