"""A property test of the entitlement ledger with memberships: random sequences of charge, use, subscribe,
freeze, resume, renew, days passing with expiries, refund (a use given back), merge and unmerge. At every
step every lot holds exactly the sum of its client entries, between nothing and what it was charged with;
every transaction adds up to zero; every client's balance is the sum of the entries of the lots it holds;
nothing is taken from a frozen membership's lots nor from a lot outside its validity."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from membership_billing_svc.domain.ledger import (
    Account,
    ChargeTerms,
    CreditType,
    LedgerTransaction,
    Lot,
    TransactionKind,
    business_midnight,
    charge,
    expire,
    expiry_instant,
    reverse,
    use,
)
from membership_billing_svc.domain.memberships import Membership, Subscription, SubscriptionStatus
from platform_core.errors import Conflict, FailedPrecondition

TENANT = uuid.uuid4()
ZONE = ZoneInfo("UTC")
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CLIENTS = (uuid.uuid4(), uuid.uuid4())


class LedgerMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.now = START
        self.credit_type = CreditType.define(TENANT, uuid.uuid4(), name="Class", unit="session", currency="", now=START)
        self.membership = Membership.define(
            TENANT,
            uuid.uuid4(),
            name="Ten classes a month",
            package_id=uuid.uuid4(),
            benefits="",
            duration_count=1,
            duration_unit="month",
            price_minor=0,
            currency="EUR",
            tax_rate_bp=0,
            invoicing="auto",
            payment_terms_days=0,
            tolerance_days=3,
            auto_renew=False,
            expiring_notice_days=7,
            extras=[],
            now=START,
        )
        self.lots: dict[uuid.UUID, Lot] = {}
        self.transactions: list[LedgerTransaction] = []
        self.subscriptions: list[Subscription] = []
        self.merged: dict[uuid.UUID, uuid.UUID] = {}  # lot -> client it held before the merge

    @property
    def today(self) -> date:
        return self.now.astimezone(ZONE).date()

    def _record(self, transaction: LedgerTransaction) -> None:
        self.transactions.append(transaction)

    def _charge(self, client: uuid.UUID, amount: int, starts_at: datetime, expires_at: datetime | None) -> Lot:
        lot, transaction = charge(
            TENANT,
            uuid.uuid4(),
            uuid.uuid4(),
            client,
            self.credit_type,
            ChargeTerms(amount, starts_at, expires_at, ""),
            now=self.now,
        )
        self.lots[lot.id] = lot
        self._record(transaction)
        return lot

    def _frozen(self, lot: Lot) -> bool:
        return any(
            s.id == lot.subscription_id
            and s.status is SubscriptionStatus.FROZEN
            and s.frozen_until is not None
            and self.now < business_midnight(s.frozen_until, ZONE)
            for s in self.subscriptions
        )

    def _shift(self, subscription: Subscription) -> None:
        """As the repository moves a subscription's unexpired lots' expiries by whole business days."""
        for lot in self.lots.values():
            if lot.subscription_id == subscription.id and lot.expires_at is not None and lot.expires_at > self.now:
                day = lot.expires_at.astimezone(ZONE).date() + timedelta(days=subscription.lot_shift_days)
                lot.expires_at = business_midnight(day, ZONE)
        subscription.lot_shift_days = 0
        if subscription.lots_end_at is not None:
            for lot in self.lots.values():
                if lot.subscription_id == subscription.id and lot.expires_at and lot.expires_at > self.now:
                    lot.expires_at = max(self.now, lot.starts_at)
            subscription.lots_end_at = None

    # --- rules ---------------------------------------------------------------------------------------

    @rule(client=st.sampled_from(CLIENTS), amount=st.integers(1, 20), days=st.none() | st.integers(1, 60))
    def charge_credits(self, client: uuid.UUID, amount: int, days: int | None) -> None:
        expires = expiry_instant(self.today + timedelta(days=days - 1), ZONE) if days else None
        self._charge(client, amount, self.now, expires)

    @rule(client=st.sampled_from(CLIENTS), amount=st.integers(1, 8))
    def use_credits(self, client: uuid.UUID, amount: int) -> None:
        holding = [lot for lot in self.lots.values() if lot.client_id == client and not self._frozen(lot)]
        try:
            transaction = use(TENANT, uuid.uuid4(), client, self.credit_type, holding, amount, note="", now=self.now)
        except FailedPrecondition:
            assert sum(lot.remaining for lot in holding if lot.usable_at(self.now)) < amount
            return
        for lot_id in transaction.taken_per_lot():
            lot = self.lots[lot_id]
            assert not self._frozen(lot) and lot.starts_at <= self.now
            assert lot.expires_at is None or self.now < lot.expires_at
        self._record(transaction)

    @rule(client=st.sampled_from(CLIENTS))
    def subscribe(self, client: uuid.UUID) -> None:
        subscription = Subscription.register(
            self.membership, uuid.uuid4(), client, starts_on=self.today, invoice_id=None, request_id=None, now=self.now
        )
        self.subscriptions.append(subscription)
        lot = self._charge(
            client, 10, business_midnight(self.today, ZONE), expiry_instant(subscription.tolerance_until, ZONE)
        )
        lot.subscription_id = subscription.id

    @precondition(lambda self: self.subscriptions)
    @rule(pick=st.integers(0, 100), days=st.integers(1, 30))
    def freeze(self, pick: int, days: int) -> None:
        subscription = self.subscriptions[pick % len(self.subscriptions)]
        try:
            subscription.freeze(self.today, days=days, until=None, reason="", now=self.now)
        except FailedPrecondition:
            return
        self._shift(subscription)

    @precondition(lambda self: self.subscriptions)
    @rule(pick=st.integers(0, 100))
    def resume(self, pick: int) -> None:
        subscription = self.subscriptions[pick % len(self.subscriptions)]
        try:
            subscription.resume(self.today, self.now)
        except FailedPrecondition:
            return
        self._shift(subscription)

    @precondition(lambda self: self.subscriptions)
    @rule(pick=st.integers(0, 100))
    def renew(self, pick: int) -> None:
        subscription = self.subscriptions[pick % len(self.subscriptions)]
        subscription.refresh(self.today, self.now)
        try:
            period = subscription.renew(self.membership, self.today, invoice_id=None, request_id=None, now=self.now)
        except FailedPrecondition:
            return
        lot = self._charge(
            subscription.client_id,
            10,
            business_midnight(period.starts_on, ZONE),
            expiry_instant(subscription.tolerance_until, ZONE),
        )
        lot.subscription_id = subscription.id

    @precondition(lambda self: self.subscriptions)
    @rule(pick=st.integers(0, 100))
    def cancel(self, pick: int) -> None:
        subscription = self.subscriptions[pick % len(self.subscriptions)]
        try:
            subscription.cancel("", "staff", self.now)
        except FailedPrecondition:
            return
        self._shift(subscription)
        self._sweep()

    @rule(days=st.integers(1, 20))
    def days_pass(self, days: int) -> None:
        """The clock moves on; the sweeps expire what ran out and the calendar moves the subscriptions."""
        self.now += timedelta(days=days)
        for subscription in self.subscriptions:
            subscription.refresh(self.today, self.now)
            self._shift(subscription)
        self._sweep()

    def _sweep(self) -> None:
        """The expiry sweep: what is left of a lot past its expiry leaves through its expiry entry."""
        for lot in list(self.lots.values()):
            if lot.expires_at is not None and lot.expires_at <= self.now and lot.remaining > 0:
                self._record(expire(TENANT, uuid.uuid4(), lot, self.credit_type, now=self.now))

    @rule(pick=st.integers(0, 1000))
    def refund_a_use(self, pick: int) -> None:
        uses = [t for t in self.transactions if t.kind is TransactionKind.USE]
        reversed_ids = {t.reverses_id for t in self.transactions if t.reverses_id}
        open_uses = [t for t in uses if t.id not in reversed_ids]
        if not open_uses:
            return
        original = open_uses[pick % len(open_uses)]
        lots = [self.lots[lot_id] for lot_id in original.taken_per_lot()]
        try:
            self._record(reverse(TENANT, uuid.uuid4(), original, lots, self.credit_type, note="", now=self.now))
        except Conflict:
            assert all(lot.expires_at is not None and lot.expires_at <= self.now for lot in lots)

    @precondition(lambda self: not self.merged)
    @rule()
    def merge(self) -> None:
        survivor, duplicate = CLIENTS
        for lot in self.lots.values():
            if lot.client_id == duplicate:
                self.merged[lot.id] = duplicate
                lot.client_id = survivor

    @precondition(lambda self: self.merged)
    @rule()
    def unmerge(self) -> None:
        for lot_id, client in self.merged.items():
            self.lots[lot_id].client_id = client
        self.merged.clear()

    # --- what holds at every step -------------------------------------------------------------------

    @invariant()
    def every_transaction_adds_up_to_zero(self) -> None:
        for transaction in getattr(self, "transactions", []):
            assert sum(e.amount for e in transaction.entries) == 0

    @invariant()
    def every_lot_holds_the_sum_of_its_entries_within_bounds(self) -> None:
        held: dict[uuid.UUID, int] = {}
        for transaction in getattr(self, "transactions", []):
            for entry in transaction.entries:
                if entry.account is Account.CLIENT:
                    held[entry.lot_id] = held.get(entry.lot_id, 0) + entry.amount
        for lot in getattr(self, "lots", {}).values():
            assert lot.remaining == held.get(lot.id, 0)
            assert 0 <= lot.remaining <= lot.amount

    @invariant()
    def every_balance_is_the_sum_of_the_entries_of_the_lots_held(self) -> None:
        lots = getattr(self, "lots", {})
        for client in CLIENTS:
            held = {lot.id for lot in lots.values() if lot.client_id == client}
            from_entries = sum(
                e.amount
                for t in self.transactions
                for e in t.entries
                if e.account is Account.CLIENT and e.lot_id in held
            )
            assert from_entries == sum(lots[lot_id].remaining for lot_id in held) >= 0

    @invariant()
    def what_has_expired_holds_nothing_once_swept(self) -> None:
        for lot in getattr(self, "lots", {}).values():
            if lot.expires_at is not None and lot.expires_at <= self.now:
                assert lot.remaining == 0


LedgerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_the_ledger_balances_at_every_step = LedgerMachine.TestCase

# The start is fixed so days are whole; the clock's time of day stays 09:00.
assert START.timetz() == time(9, 0, tzinfo=UTC)
