"""The entitlement ledger: credit types, lots (what one charge gave a client) and double-entry transactions.

Every movement is a transaction of entries that add up to zero: a charge moves units from the business's
``issued`` account to the ``client``'s holding, a use from the holding to ``used``, an expiry to ``expired``,
and a reversal gives a use back. Nothing is ever changed or deleted; what a client holds of a lot is the sum
of the lot's ``client`` entries, so it cannot drift from the history that produced it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from membership_billing_svc.domain import events
from platform_core.errors import Conflict, FailedPrecondition
from platform_core.money import MAX_AMOUNT_MINOR
from platform_core.validation import Violations

MAX_UNITS = MAX_AMOUNT_MINOR
INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"


class Account(enum.StrEnum):
    CLIENT = "client"
    ISSUED = "issued"
    USED = "used"
    EXPIRED = "expired"


class TransactionKind(enum.StrEnum):
    CHARGE = "charge"
    USE = "use"
    EXPIRE = "expire"
    REVERSE = "reverse"


def business_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of ``day`` on the business's wall clock (midnight exists on every day in every
    zone the tz database knows, DST changes happen later in the night)."""
    return datetime.combine(day, time(0), tzinfo=zone)


def expiry_instant(last_day: date, zone: ZoneInfo) -> datetime:
    """Credits usable through ``last_day`` expire at the business's midnight that ends it."""
    return business_midnight(last_day + timedelta(days=1), zone)


@dataclass
class CreditType:
    tenant_id: uuid.UUID
    id: uuid.UUID
    name: str
    unit: str
    # Set for money on account: amounts are minor units of it.
    currency: str | None
    created_at: datetime
    is_new: bool = False
    events: list[Any] = field(default_factory=list)

    @classmethod
    def define(
        cls, tenant_id: uuid.UUID, type_id: uuid.UUID, *, name: str, unit: str, currency: str, now: datetime
    ) -> CreditType:
        violations = Violations()
        name = violations.text(name, "name", max_length=100, required=True)
        code = violations.currency(currency, "currency") if currency.strip() else None
        unit = unit.strip() or (code or "")
        if not unit:
            violations.add("unit", "is required (e.g. session, minute, point)")
        elif len(unit) > 40:
            violations.add("unit", "must be at most 40 characters")
        elif code is not None and unit.upper() != code:
            violations.add("unit", "of a money-valued credit type is its currency")
        violations.raise_if_any()
        return cls(tenant_id, type_id, name, code or unit, code, now, is_new=True)

    def __hash__(self) -> int:
        return hash(self.id)


@dataclass(frozen=True)
class ChargeTerms:
    amount: int
    starts_at: datetime
    expires_at: datetime | None
    note: str

    @classmethod
    def checked(
        cls,
        amount: int,
        *,
        starts_on: date | None,
        expires_on: date | None,
        note: str,
        zone: ZoneInfo,
        now: datetime,
    ) -> ChargeTerms:
        violations = Violations()
        if not 1 <= amount <= MAX_UNITS:
            violations.add("amount", f"must be between 1 and {MAX_UNITS}")
        note = violations.text(note, "note", max_length=500)
        starts_at = business_midnight(starts_on, zone) if starts_on is not None else now
        expires_at = expiry_instant(expires_on, zone) if expires_on is not None else None
        if expires_at is not None and expires_at <= max(starts_at, now):
            violations.add("expires_on", "must be today or later, and not before starts_on")
        violations.raise_if_any()
        return cls(amount, starts_at, expires_at, note)


@dataclass
class Lot:
    """What one charge gave a client of a credit type, and what of it the client still holds."""

    tenant_id: uuid.UUID
    id: uuid.UUID
    client_id: uuid.UUID
    credit_type_id: uuid.UUID
    amount: int
    starts_at: datetime
    expires_at: datetime | None
    note: str
    created_at: datetime
    remaining: int
    # The package sale that gave it, if any.
    package_sale_id: uuid.UUID | None = None
    # The membership subscription whose period gave it: its expiry follows the subscription's freezes.
    subscription_id: uuid.UUID | None = None
    is_new: bool = False
    events: list[Any] = field(default_factory=list)

    def usable_at(self, at: datetime) -> bool:
        return self.starts_at <= at and (self.expires_at is None or at < self.expires_at) and self.remaining > 0

    def expiry_order(self) -> tuple[bool, datetime, datetime, uuid.UUID]:
        """First-expiring first; a lot that never expires last; then the older, then by id (stable)."""
        return (self.expires_at is None, self.expires_at or self.starts_at, self.starts_at, self.id)

    def __hash__(self) -> int:
        return hash(self.id)


def first_expiring(lots: Iterable[Lot]) -> list[Lot]:
    return sorted(lots, key=Lot.expiry_order)


@dataclass(frozen=True)
class Entry:
    lot_id: uuid.UUID
    credit_type_id: uuid.UUID
    account: Account
    amount: int


def _pair(lot: Lot, source: Account, target: Account, amount: int) -> tuple[Entry, Entry]:
    return (
        Entry(lot.id, lot.credit_type_id, source, -amount),
        Entry(lot.id, lot.credit_type_id, target, amount),
    )


@dataclass
class LedgerTransaction:
    tenant_id: uuid.UUID
    id: uuid.UUID
    kind: TransactionKind
    client_id: uuid.UUID
    effective_at: datetime
    entries: tuple[Entry, ...]
    note: str
    recorded_at: datetime
    request_id: str | None = None
    reverses_id: uuid.UUID | None = None
    is_new: bool = False
    events: list[Any] = field(default_factory=list)

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def client_change(self) -> int:
        """What reached (positive) or left (negative) the client's holding."""
        return sum(e.amount for e in self.entries if e.account is Account.CLIENT)

    def taken_per_lot(self) -> dict[uuid.UUID, int]:
        """Per lot, what this transaction took from the client's holding."""
        return {e.lot_id: -e.amount for e in self.entries if e.account is Account.CLIENT and e.amount < 0}

    @classmethod
    def _new(
        cls,
        lot_owner: uuid.UUID,
        tenant_id: uuid.UUID,
        transaction_id: uuid.UUID,
        kind: TransactionKind,
        entries: Sequence[Entry],
        *,
        effective_at: datetime,
        note: str,
        now: datetime,
        request_id: str | None = None,
        reverses_id: uuid.UUID | None = None,
    ) -> LedgerTransaction:
        assert sum(e.amount for e in entries) == 0, "a transaction's entries add up to zero"
        return cls(
            tenant_id,
            transaction_id,
            kind,
            lot_owner,
            effective_at,
            tuple(entries),
            note,
            now,
            request_id=request_id,
            reverses_id=reverses_id,
            is_new=True,
        )


def charge(
    tenant_id: uuid.UUID,
    transaction_id: uuid.UUID,
    lot_id: uuid.UUID,
    client_id: uuid.UUID,
    credit_type: CreditType,
    terms: ChargeTerms,
    *,
    now: datetime,
    request_id: str | None = None,
) -> tuple[Lot, LedgerTransaction]:
    lot = Lot(
        tenant_id,
        lot_id,
        client_id,
        credit_type.id,
        terms.amount,
        terms.starts_at,
        terms.expires_at,
        terms.note,
        now,
        remaining=terms.amount,
        is_new=True,
    )
    transaction = LedgerTransaction._new(
        client_id,
        tenant_id,
        transaction_id,
        TransactionKind.CHARGE,
        _pair(lot, Account.ISSUED, Account.CLIENT, terms.amount),
        effective_at=now,
        note=terms.note,
        now=now,
        request_id=request_id,
    )
    transaction.events.append(
        events.CreditsCharged(
            tenant_id=tenant_id,
            transaction_id=transaction_id,
            client_id=client_id,
            lot_id=lot_id,
            credit_type_id=credit_type.id,
            credit_type_name=credit_type.name,
            unit=credit_type.unit,
            amount=terms.amount,
            starts_at=terms.starts_at,
            expires_at=terms.expires_at,
            occurred_at=now,
        )
    )
    return lot, transaction


def plan_use(lots: Iterable[Lot], amount: int, at: datetime) -> list[tuple[Lot, int]]:
    """Which lots pay for ``amount`` units at ``at``: those usable then, first-expiring first. All or nothing."""
    if amount < 1:
        raise ValueError("a use takes at least one unit")
    plan: list[tuple[Lot, int]] = []
    left = amount
    for lot in first_expiring(lot for lot in lots if lot.usable_at(at)):
        taken = min(lot.remaining, left)
        plan.append((lot, taken))
        left -= taken
        if left == 0:
            return plan
    held = amount - left
    raise FailedPrecondition(
        f"the client holds {held} usable of the {amount} units asked for", reason=INSUFFICIENT_CREDITS
    )


def use(
    tenant_id: uuid.UUID,
    transaction_id: uuid.UUID,
    client_id: uuid.UUID,
    credit_type: CreditType,
    lots: Sequence[Lot],
    amount: int,
    *,
    note: str,
    now: datetime,
    request_id: str | None = None,
) -> LedgerTransaction:
    """Takes ``amount`` units from ``lots`` (the client's lots of the type, as locked) and updates what they
    hold."""
    plan = plan_use(lots, amount, now)
    entries: list[Entry] = []
    for lot, taken in plan:
        entries.extend(_pair(lot, Account.CLIENT, Account.USED, taken))
        lot.remaining -= taken
    transaction = LedgerTransaction._new(
        client_id,
        tenant_id,
        transaction_id,
        TransactionKind.USE,
        entries,
        effective_at=now,
        note=note,
        now=now,
        request_id=request_id,
    )
    transaction.events.append(
        events.CreditsUsed(
            tenant_id=tenant_id,
            transaction_id=transaction_id,
            client_id=client_id,
            credit_type_id=credit_type.id,
            credit_type_name=credit_type.name,
            unit=credit_type.unit,
            amount=amount,
            balance_after=sum(lot.remaining for lot in lots if lot.usable_at(now) or lot.starts_at > now),
            occurred_at=now,
        )
    )
    return transaction


def expire(
    tenant_id: uuid.UUID, transaction_id: uuid.UUID, lot: Lot, credit_type: CreditType, *, now: datetime
) -> LedgerTransaction:
    """What is left of ``lot`` leaves at its expiry instant (the entry says when it expired, not when the
    sweep ran, so a balance read as of any moment is exact)."""
    if lot.expires_at is None or lot.expires_at > now:
        raise FailedPrecondition("the lot has not expired")
    if lot.remaining <= 0:
        raise FailedPrecondition("nothing is left of the lot")
    amount = lot.remaining
    transaction = LedgerTransaction._new(
        lot.client_id,
        tenant_id,
        transaction_id,
        TransactionKind.EXPIRE,
        _pair(lot, Account.CLIENT, Account.EXPIRED, amount),
        effective_at=lot.expires_at,
        note="",
        now=now,
    )
    lot.remaining = 0
    transaction.events.append(
        events.CreditsExpired(
            tenant_id=tenant_id,
            transaction_id=transaction_id,
            client_id=lot.client_id,
            lot_id=lot.id,
            credit_type_id=credit_type.id,
            credit_type_name=credit_type.name,
            unit=credit_type.unit,
            amount=amount,
            expired_at=lot.expires_at,
            occurred_at=now,
        )
    )
    return transaction


def reverse(
    tenant_id: uuid.UUID,
    transaction_id: uuid.UUID,
    original: LedgerTransaction,
    lots: Sequence[Lot],
    credit_type: CreditType,
    *,
    note: str,
    now: datetime,
) -> LedgerTransaction:
    """Gives a use back to the lots it took from, once. What came from a lot that has expired since is not
    given back (nothing is usable past its expiry, and a lot expires once)."""
    if original.kind is not TransactionKind.USE:
        raise Conflict("only a use can be reversed", reason="NOT_A_USE")
    by_id = {lot.id: lot for lot in lots}
    entries: list[Entry] = []
    for lot_id, taken in original.taken_per_lot().items():
        lot = by_id[lot_id]
        if lot.expires_at is not None and lot.expires_at <= now:
            continue
        entries.extend(_pair(lot, Account.USED, Account.CLIENT, taken))
        lot.remaining += taken
    if not entries:
        raise Conflict("every credit this use took has expired since", reason="CREDITS_EXPIRED")
    transaction = LedgerTransaction._new(
        original.client_id,
        tenant_id,
        transaction_id,
        TransactionKind.REVERSE,
        entries,
        effective_at=now,
        note=note,
        now=now,
        reverses_id=original.id,
    )
    transaction.events.append(
        events.CreditsRestored(
            tenant_id=tenant_id,
            transaction_id=transaction_id,
            client_id=original.client_id,
            reversed_transaction_id=original.id,
            credit_type_id=credit_type.id,
            credit_type_name=credit_type.name,
            unit=credit_type.unit,
            amount=sum(e.amount for e in entries if e.account is Account.CLIENT),
            occurred_at=now,
        )
    )
    return transaction
