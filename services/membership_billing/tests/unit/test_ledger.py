"""The ledger's rules without a database: expiry at the business's midnight, first-expiring-first use, and
(property-based) that every holding is the sum of its entries whatever happens."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from membership_billing_svc.domain import events, ledger
from membership_billing_svc.domain.ledger import Account, ChargeTerms, CreditType, LedgerTransaction, Lot
from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TENANT = uuid.uuid4()
NOW = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)


def massage() -> CreditType:
    return CreditType.define(TENANT, uuid.uuid4(), name="Massage 60", unit="session", currency="", now=NOW)


def charged(
    client: uuid.UUID, amount: int, *, expires_on: date | None, now: datetime = NOW, zone: ZoneInfo = BERLIN
) -> tuple[Lot, LedgerTransaction]:
    terms = ChargeTerms.checked(amount, starts_on=None, expires_on=expires_on, note="", zone=zone, now=now)
    return ledger.charge(TENANT, uuid.uuid4(), uuid.uuid4(), client, massage(), terms, now=now)


# --- expiry at the business's midnight ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_day", "zone", "expires_utc"),
    [
        # Winter in Berlin (UTC+1) and New York (UTC-5): the same date ends at different instants.
        (date(2026, 1, 31), BERLIN, datetime(2026, 1, 31, 23, 0, tzinfo=UTC)),
        (date(2026, 1, 31), NEW_YORK, datetime(2026, 2, 1, 5, 0, tzinfo=UTC)),
        # The night Berlin moves to summer time (29 March 2026) is 23 hours long; its midnights stay midnights.
        (date(2026, 3, 28), BERLIN, datetime(2026, 3, 28, 23, 0, tzinfo=UTC)),
        (date(2026, 3, 29), BERLIN, datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),
        # New York moves on 8 March 2026.
        (date(2026, 3, 8), NEW_YORK, datetime(2026, 3, 9, 4, 0, tzinfo=UTC)),
        # Through the end of a month in autumn, when Berlin goes back (25 October 2026).
        (date(2026, 10, 31), BERLIN, datetime(2026, 10, 31, 23, 0, tzinfo=UTC)),
    ],
)
def test_credits_expire_at_the_midnight_that_ends_their_last_day_in_the_business_zone(
    last_day: date, zone: ZoneInfo, expires_utc: datetime
) -> None:
    assert ledger.expiry_instant(last_day, zone) == expires_utc


def test_a_charge_starting_on_a_day_starts_at_that_days_midnight_and_must_end_after_it() -> None:
    terms = ChargeTerms.checked(
        5, starts_on=date(2026, 4, 1), expires_on=date(2026, 4, 30), note="", zone=NEW_YORK, now=NOW
    )
    assert terms.starts_at == datetime(2026, 4, 1, 4, 0, tzinfo=UTC)
    assert terms.expires_at == datetime(2026, 5, 1, 4, 0, tzinfo=UTC)
    with pytest.raises(InvalidArgument) as bad:
        ChargeTerms.checked(0, starts_on=date(2026, 4, 2), expires_on=date(2026, 4, 1), note="", zone=BERLIN, now=NOW)
    assert {v.field for v in bad.value.violations} == {"amount", "expires_on"}


def test_a_money_valued_credit_type_counts_in_its_currency() -> None:
    wallet = CreditType.define(TENANT, uuid.uuid4(), name="Wallet", unit="", currency="eur", now=NOW)
    assert (wallet.unit, wallet.currency) == ("EUR", "EUR")
    with pytest.raises(InvalidArgument) as bad:
        CreditType.define(TENANT, uuid.uuid4(), name=" ", unit="", currency="", now=NOW)
    assert {v.field for v in bad.value.violations} == {"name", "unit"}


# --- using ------------------------------------------------------------------------------------------------


def test_use_takes_from_the_lot_that_expires_first_and_never_from_one_not_started_or_expired() -> None:
    client = uuid.uuid4()
    late, _ = charged(client, 5, expires_on=date(2026, 6, 30))
    soon, _ = charged(client, 2, expires_on=date(2026, 4, 30))
    forever, _ = charged(client, 10, expires_on=None)
    gone, _ = charged(client, 3, expires_on=date(2026, 3, 25))
    future = ledger.charge(
        TENANT,
        uuid.uuid4(),
        uuid.uuid4(),
        client,
        massage(),
        ChargeTerms.checked(4, starts_on=date(2026, 5, 1), expires_on=None, note="", zone=BERLIN, now=NOW),
        now=NOW,
    )[0]
    at = datetime(2026, 4, 1, 12, tzinfo=UTC)  # `gone` expired on 25 March
    plan = ledger.plan_use([late, forever, future, gone, soon], 8, at)
    assert [(lot.id, taken) for lot, taken in plan] == [(soon.id, 2), (late.id, 5), (forever.id, 1)]

    with pytest.raises(FailedPrecondition) as short:
        ledger.plan_use([late, soon, gone, future], 8, at)
    assert short.value.reason == ledger.INSUFFICIENT_CREDITS


def test_a_use_moves_units_from_the_client_to_used_and_a_reversal_brings_them_back_once() -> None:
    client = uuid.uuid4()
    credit_type = massage()
    lot, charge = charged(client, 3, expires_on=date(2026, 12, 31))
    assert charge.client_change == 3 and sum(e.amount for e in charge.entries) == 0

    used = ledger.use(TENANT, uuid.uuid4(), client, credit_type, [lot], 2, note="", now=NOW)
    assert (used.client_change, lot.remaining) == (-2, 1)
    assert {(e.account, e.amount) for e in used.entries} == {(Account.CLIENT, -2), (Account.USED, 2)}
    (fact,) = used.events
    assert isinstance(fact, events.CreditsUsed) and fact.balance_after == 1

    back = ledger.reverse(TENANT, uuid.uuid4(), used, [lot], credit_type, note="cancelled early", now=NOW)
    assert (back.client_change, lot.remaining, back.reverses_id) == (2, 3, used.id)
    with pytest.raises(Conflict):
        ledger.reverse(TENANT, uuid.uuid4(), charge, [lot], credit_type, note="", now=NOW)


def test_what_a_use_took_from_a_lot_that_has_expired_since_is_not_given_back() -> None:
    client = uuid.uuid4()
    credit_type = massage()
    lot, _ = charged(client, 2, expires_on=date(2026, 3, 21))
    used = ledger.use(TENANT, uuid.uuid4(), client, credit_type, [lot], 1, note="", now=NOW)
    later = datetime(2026, 3, 23, tzinfo=UTC)
    with pytest.raises(Conflict) as expired:
        ledger.reverse(TENANT, uuid.uuid4(), used, [lot], credit_type, note="", now=later)
    assert expired.value.reason == "CREDITS_EXPIRED"


def test_an_expiry_takes_what_is_left_at_the_expiry_instant_not_when_the_sweep_runs() -> None:
    client = uuid.uuid4()
    lot, _ = charged(client, 4, expires_on=date(2026, 3, 21), zone=NEW_YORK)
    sweep = datetime(2026, 3, 22, 9, 30, tzinfo=UTC)
    expiry = ledger.expire(TENANT, uuid.uuid4(), lot, massage(), now=sweep)
    assert expiry.effective_at == datetime(2026, 3, 22, 4, 0, tzinfo=UTC)
    assert (expiry.client_change, lot.remaining) == (-4, 0)
    with pytest.raises(FailedPrecondition):
        ledger.expire(TENANT, uuid.uuid4(), lot, massage(), now=sweep)


# --- property: balances are the sums of their entries ------------------------------------------------------


class Book:
    """An in-memory ledger driven only through the domain's functions, as the repository drives it."""

    def __init__(self, clients: list[uuid.UUID]) -> None:
        self.credit_type = massage()
        self.lots: dict[uuid.UUID, Lot] = {}
        self.transactions: list[LedgerTransaction] = []
        self.clients = clients
        self.merges: list[tuple[uuid.UUID, dict[uuid.UUID, uuid.UUID]]] = []  # (survivor, lot -> original)
        self.now = NOW

    def holding(self, client: uuid.UUID) -> list[Lot]:
        return [
            lot
            for lot in self.lots.values()
            if lot.client_id == client and (lot.expires_at is None or lot.expires_at > self.now)
        ]

    def record(self, transaction: LedgerTransaction) -> None:
        self.transactions.append(transaction)

    def check(self) -> None:
        by_lot: dict[uuid.UUID, int] = defaultdict(int)
        for transaction in self.transactions:
            assert sum(e.amount for e in transaction.entries) == 0
            for entry in transaction.entries:
                if entry.account is Account.CLIENT:
                    by_lot[entry.lot_id] += entry.amount
        for lot in self.lots.values():
            assert lot.remaining == by_lot[lot.id]
            assert 0 <= lot.remaining <= lot.amount
        for client in self.clients:
            held = sum(lot.remaining for lot in self.lots.values() if lot.client_id == client)
            assert held == sum(by_lot[lot.id] for lot in self.lots.values() if lot.client_id == client)
        # The business's side mirrors the clients': issued = held + used + expired.
        accounts: dict[Account, int] = defaultdict(int)
        for transaction in self.transactions:
            for entry in transaction.entries:
                accounts[entry.account] += entry.amount
        assert -accounts[Account.ISSUED] == sum(by_lot.values()) + accounts[Account.USED] + accounts[Account.EXPIRED]


steps = st.lists(
    st.one_of(
        st.tuples(st.just("charge"), st.integers(0, 2), st.integers(1, 6), st.integers(0, 40) | st.none()),
        st.tuples(st.just("use"), st.integers(0, 2), st.integers(1, 5)),
        st.tuples(st.just("reverse"), st.integers(0, 30)),
        st.tuples(st.just("pass"), st.integers(1, 20 * 24)),
        st.tuples(st.just("expire")),
        st.tuples(st.just("merge"), st.integers(0, 2), st.integers(0, 2)),
        st.tuples(st.just("unmerge")),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_every_holding_equals_the_sum_of_its_entries_after_any_sequence(sequence: list[tuple[object, ...]]) -> None:
    book = Book([uuid.uuid4() for _ in range(3)])
    zone = BERLIN
    for step in sequence:
        match step:
            case ("charge", int(who), int(amount), days):
                last_day = None if days is None else (book.now.astimezone(zone).date() + timedelta(days=int(days)))
                terms = ChargeTerms.checked(
                    amount, starts_on=None, expires_on=last_day, note="", zone=zone, now=book.now
                )
                lot, transaction = ledger.charge(
                    TENANT, uuid.uuid4(), uuid.uuid4(), book.clients[who], book.credit_type, terms, now=book.now
                )
                book.lots[lot.id] = lot
                book.record(transaction)
            case ("use", int(who), int(amount)):
                held_before = sum(lot.remaining for lot in book.holding(book.clients[who]) if lot.usable_at(book.now))
                try:
                    transaction = ledger.use(
                        TENANT,
                        uuid.uuid4(),
                        book.clients[who],
                        book.credit_type,
                        book.holding(book.clients[who]),
                        amount,
                        note="",
                        now=book.now,
                    )
                except FailedPrecondition:
                    assert held_before < amount
                else:
                    assert held_before >= amount
                    book.record(transaction)
            case ("reverse", int(index)):
                uses = [t for t in book.transactions if t.kind is ledger.TransactionKind.USE]
                reversed_ids = {t.reverses_id for t in book.transactions}
                if uses and uses[index % len(uses)].id not in reversed_ids:
                    original = uses[index % len(uses)]
                    lots = [book.lots[lot_id] for lot_id in original.taken_per_lot()]
                    try:
                        book.record(
                            ledger.reverse(
                                TENANT, uuid.uuid4(), original, lots, book.credit_type, note="", now=book.now
                            )
                        )
                    except Conflict:
                        assert all(lot.expires_at is not None and lot.expires_at <= book.now for lot in lots)
            case ("pass", int(hours)):
                book.now += timedelta(hours=hours)
            case ("expire",):
                for lot in book.lots.values():
                    if lot.expires_at is not None and lot.expires_at <= book.now and lot.remaining > 0:
                        book.record(ledger.expire(TENANT, uuid.uuid4(), lot, book.credit_type, now=book.now))
            case ("merge", int(survivor), int(merged)) if survivor != merged:
                moved = {lot.id: lot.client_id for lot in book.lots.values() if lot.client_id == book.clients[merged]}
                for lot_id in moved:
                    book.lots[lot_id].client_id = book.clients[survivor]
                book.merges.append((book.clients[survivor], moved))
            case ("unmerge",) if book.merges:
                survivor, moved = book.merges.pop()
                for lot_id, original_client in moved.items():
                    if book.lots[lot_id].client_id == survivor:
                        book.lots[lot_id].client_id = original_client
        book.check()
