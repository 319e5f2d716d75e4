"""Consumption: which credit types pay for a service and how many units, which of them pays for a visit,
and the attendance log (check-ins, by staff or by the client's card)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from membership_billing_svc.domain import events
from membership_billing_svc.domain.ledger import INSUFFICIENT_CREDITS, MAX_UNITS, CreditType, Lot, plan_use
from platform_core.errors import FailedPrecondition
from platform_core.validation import Violations

MAX_RULES_PER_SERVICE = 10


@dataclass(frozen=True)
class ServiceRule:
    """``units`` of ``credit_type_id`` pay for one visit of the service."""

    credit_type_id: uuid.UUID
    units: int


def checked_rules(rules: Sequence[ServiceRule]) -> tuple[ServiceRule, ...]:
    violations = Violations()
    if len(rules) > MAX_RULES_PER_SERVICE:
        violations.add("rules", f"at most {MAX_RULES_PER_SERVICE}")
    seen: set[uuid.UUID] = set()
    for i, rule in enumerate(rules):
        if not 1 <= rule.units <= MAX_UNITS:
            violations.add(f"rules[{i}].units", f"must be between 1 and {MAX_UNITS}")
        if rule.credit_type_id in seen:
            violations.add(f"rules[{i}].credit_type_id", "appears twice")
        seen.add(rule.credit_type_id)
    violations.raise_if_any()
    return tuple(rules)


@dataclass(frozen=True)
class Payer:
    rule: ServiceRule
    # The lots that pay and what each gives, first-expiring first.
    plan: tuple[tuple[Lot, int], ...]


@dataclass(frozen=True)
class PayingLots:
    """What of a client's credits could pay for a visit of a service now, as locked: the rules of the credit
    types it holds usable lots of, those types, and the lots (first-expiring first)."""

    rules: tuple[ServiceRule, ...]
    credit_types: dict[uuid.UUID, CreditType]
    lots: tuple[Lot, ...]


def choose_payer(rules: Iterable[ServiceRule], lots: Sequence[Lot], at: datetime) -> Payer:
    """Of the credit types that pay for the service and that the client holds enough of now, the one whose
    credits expire first (so nothing is left to expire that could have paid)."""
    candidates: list[Payer] = []
    for rule in rules:
        usable = [lot for lot in lots if lot.credit_type_id == rule.credit_type_id and lot.usable_at(at)]
        if sum(lot.remaining for lot in usable) >= rule.units:
            candidates.append(Payer(rule, tuple(plan_use(usable, rule.units, at))))
    if not candidates:
        raise FailedPrecondition("no credits the client holds now pay for this service", reason=INSUFFICIENT_CREDITS)
    return min(candidates, key=lambda payer: payer.plan[0][0].expiry_order())


class CheckInMethod(enum.StrEnum):
    STAFF = "staff"
    # The client's membership card: a signed token scanned at the desk.
    CARD = "card"


@dataclass
class CheckIn:
    tenant_id: uuid.UUID
    id: uuid.UUID
    client_id: uuid.UUID
    checked_in_at: datetime
    service_id: uuid.UUID | None
    appointment_id: uuid.UUID | None
    transaction_id: uuid.UUID | None
    method: CheckInMethod
    staff_id: uuid.UUID | None
    note: str
    is_new: bool = False
    events: list[Any] = field(default_factory=list)

    def __hash__(self) -> int:
        return hash(self.id)

    @classmethod
    def record(
        cls,
        tenant_id: uuid.UUID,
        check_in_id: uuid.UUID,
        client_id: uuid.UUID,
        *,
        service_id: uuid.UUID | None,
        appointment_id: uuid.UUID | None,
        transaction_id: uuid.UUID | None,
        units_used: int,
        method: CheckInMethod,
        staff_id: uuid.UUID | None,
        note: str,
        now: datetime,
    ) -> CheckIn:
        check_in = cls(
            tenant_id,
            check_in_id,
            client_id,
            now,
            service_id,
            appointment_id,
            transaction_id,
            method,
            staff_id,
            note,
            is_new=True,
        )
        check_in.events.append(
            events.CheckedIn(
                tenant_id=tenant_id,
                check_in_id=check_in_id,
                client_id=client_id,
                service_id=service_id,
                appointment_id=appointment_id,
                transaction_id=transaction_id,
                units_used=units_used,
                method=method.value,
                occurred_at=now,
            )
        )
        return check_in


def visit_key(appointment_id: uuid.UUID, service_id: uuid.UUID) -> str:
    """The one consumption of an appointment's service, whether its check-in or its completion comes first."""
    return f"appointment:{appointment_id}:{service_id}"
