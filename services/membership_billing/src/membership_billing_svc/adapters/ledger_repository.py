"""The entitlement ledger in PostgreSQL: credit types, lots, transactions and their entries.

What a lot holds is always summed from its entries, after its row is locked: every use, reversal and expiry
of a lot locks it first (in one order: first-expiring first, so two takers never wait on each other in a
circle) and only then reads what it holds, so the second of two takers sees what the first committed. The
schema checks it once more (``ledger_entries_within_lot``).
"""

from __future__ import annotations

import abc
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, DateTime, TextClause, and_, bindparam, delete, exists, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from membership_billing_svc.adapters.tables import (
    credit_lots,
    credit_types,
    ledger_entries,
    ledger_transactions,
    service_credit_rules,
    subscriptions,
)
from membership_billing_svc.domain.consumption import CheckIn, PayingLots, ServiceRule
from membership_billing_svc.domain.ledger import (
    Account,
    CreditType,
    Entry,
    LedgerTransaction,
    Lot,
    TransactionKind,
)
from platform_core.errors import NotFound

Executor = AsyncSession | AsyncConnection
Aggregate = CreditType | Lot | LedgerTransaction | CheckIn

LOT_OF_ENTRY = and_(credit_lots.c.tenant_id == ledger_entries.c.tenant_id, credit_lots.c.id == ledger_entries.c.lot_id)
EXPIRY_ORDER = (credit_lots.c.expires_at.asc().nulls_last(), credit_lots.c.starts_at, credit_lots.c.id)


def held_of_lot() -> Any:
    """What the client holds of the lot of the enclosing query (a correlated sum of its entries)."""
    return (
        select(func.coalesce(func.sum(ledger_entries.c.amount), 0))
        .where(
            ledger_entries.c.tenant_id == credit_lots.c.tenant_id,
            ledger_entries.c.lot_id == credit_lots.c.id,
            ledger_entries.c.account == Account.CLIENT.value,
        )
        .scalar_subquery()
    )


def frozen_at(at: datetime | BindParameter[datetime]) -> Any:
    """The lot of the enclosing query belongs to a subscription frozen at ``at`` (nothing is taken from it)."""
    return exists().where(
        subscriptions.c.tenant_id == credit_lots.c.tenant_id,
        subscriptions.c.id == credit_lots.c.subscription_id,
        subscriptions.c.status == "frozen",
        subscriptions.c.resumes_at > at,
    )


def credit_type_from_row(row: Any) -> CreditType:
    return CreditType(row.tenant_id, row.id, row.name, row.unit, row.currency, row.created_at)


def lot_from_row(row: Any, remaining: int) -> Lot:
    return Lot(
        tenant_id=row.tenant_id,
        id=row.id,
        client_id=row.client_id,
        credit_type_id=row.credit_type_id,
        amount=row.amount,
        starts_at=row.starts_at,
        expires_at=row.expires_at,
        note=row.note,
        created_at=row.created_at,
        remaining=remaining,
        package_sale_id=row.package_sale_id,
        subscription_id=row.subscription_id,
    )


# The statements every check-in runs, built once: building a statement per call (its columns, comparisons and
# bind parameters) was a quarter of a check-in's samples. Parameters are their bindparam names.
_REMAINING = (
    select(ledger_entries.c.lot_id, func.sum(ledger_entries.c.amount))
    .where(
        ledger_entries.c.tenant_id == bindparam("tenant_id"),
        ledger_entries.c.lot_id.in_(bindparam("lot_ids", expanding=True)),
        ledger_entries.c.account == Account.CLIENT.value,
    )
    .group_by(ledger_entries.c.lot_id)
)
_RULES = (
    select(service_credit_rules)
    .where(
        service_credit_rules.c.tenant_id == bindparam("tenant_id"),
        service_credit_rules.c.service_id == bindparam("service_id"),
    )
    .order_by(service_credit_rules.c.credit_type_id)
)
_CREDIT_TYPE = select(credit_types).where(
    credit_types.c.tenant_id == bindparam("tenant_id"), credit_types.c.id == bindparam("type_id")
)
_LOCK_HOLDING = (
    select(credit_lots)
    .where(
        credit_lots.c.tenant_id == bindparam("tenant_id"),
        credit_lots.c.client_id == bindparam("client_id"),
        credit_lots.c.credit_type_id.in_(bindparam("type_ids", expanding=True)),
        (credit_lots.c.expires_at.is_(None)) | (credit_lots.c.expires_at > bindparam("at")),
        held_of_lot() > 0,
        ~frozen_at(bindparam("at", type_=DateTime(timezone=True))),
    )
    .order_by(*EXPIRY_ORDER)
    .with_for_update(of=credit_lots)
)
# A visit's consumption in one statement: the client's usable lots of the types that pay for the service, with
# each type's rule and the type itself, locked in the expiry order (what they hold is read after the lock).
_LOCK_PAYING = (
    select(
        credit_lots,
        service_credit_rules.c.units.label("rule_units"),
        credit_types.c.name.label("type_name"),
        credit_types.c.unit.label("type_unit"),
        credit_types.c.currency.label("type_currency"),
        credit_types.c.created_at.label("type_created_at"),
    )
    .join(
        service_credit_rules,
        and_(
            service_credit_rules.c.tenant_id == credit_lots.c.tenant_id,
            service_credit_rules.c.service_id == bindparam("service_id"),
            service_credit_rules.c.credit_type_id == credit_lots.c.credit_type_id,
        ),
    )
    .join(
        credit_types,
        and_(credit_types.c.tenant_id == credit_lots.c.tenant_id, credit_types.c.id == credit_lots.c.credit_type_id),
    )
    .where(
        credit_lots.c.tenant_id == bindparam("tenant_id"),
        credit_lots.c.client_id == bindparam("client_id"),
        (credit_lots.c.expires_at.is_(None)) | (credit_lots.c.expires_at > bindparam("at")),
        held_of_lot() > 0,
        ~frozen_at(bindparam("at", type_=DateTime(timezone=True))),
    )
    .order_by(*EXPIRY_ORDER)
    .with_for_update(of=credit_lots)
)


async def remaining_of(db: Executor, tenant_id: uuid.UUID, lot_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = (await db.execute(_REMAINING, {"tenant_id": tenant_id, "lot_ids": list(lot_ids)})).all()
    return {lot_id: int(total) for lot_id, total in rows}


async def transactions_with_entries(db: Executor, rows: Sequence[Any]) -> list[LedgerTransaction]:
    """The transactions of ``rows`` with their entries and the client holding their lots, in one query more."""
    if not rows:
        return []
    entry_rows = (
        await db.execute(
            select(ledger_entries, credit_lots.c.client_id, credit_lots.c.credit_type_id)
            .join(credit_lots, LOT_OF_ENTRY)
            .where(
                ledger_entries.c.tenant_id == rows[0].tenant_id,
                ledger_entries.c.transaction_id.in_([r.id for r in rows]),
            )
            .order_by(*EXPIRY_ORDER)
        )
    ).all()
    by_transaction: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for entry in entry_rows:
        by_transaction[entry.transaction_id].append(entry)
    found = []
    for row in rows:
        entries = by_transaction[row.id]
        found.append(
            LedgerTransaction(
                tenant_id=row.tenant_id,
                id=row.id,
                kind=TransactionKind(row.kind),
                client_id=entries[0].client_id,
                effective_at=row.effective_at,
                entries=tuple(Entry(e.lot_id, e.credit_type_id, Account(e.account), e.amount) for e in entries),
                note=row.note,
                recorded_at=row.recorded_at,
                request_id=row.request_id,
                reverses_id=row.reverses_id,
            )
        )
    return found


async def rules_for(db: Executor, tenant_id: uuid.UUID, service_id: uuid.UUID) -> list[ServiceRule]:
    rows = (await db.execute(_RULES, {"tenant_id": tenant_id, "service_id": service_id})).all()
    return [ServiceRule(r.credit_type_id, r.units) for r in rows]


class AbstractLedgerRepository(abc.ABC):
    """Credit types, lots, transactions and check-ins; what a unit adds is inserted when it commits (the
    ledger only ever grows)."""

    def __init__(self) -> None:
        self.seen: set[Aggregate] = set()

    def add(self, aggregate: Aggregate) -> None:
        self.seen.add(aggregate)

    @abc.abstractmethod
    async def credit_type(self, tenant_id: uuid.UUID, type_id: uuid.UUID) -> CreditType: ...

    @abc.abstractmethod
    async def credit_types(
        self, tenant_id: uuid.UUID, type_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, CreditType]: ...

    @abc.abstractmethod
    async def rules_for(self, tenant_id: uuid.UUID, service_id: uuid.UUID) -> list[ServiceRule]: ...

    @abc.abstractmethod
    async def replace_rules(
        self, tenant_id: uuid.UUID, service_id: uuid.UUID, rules: Sequence[ServiceRule]
    ) -> None: ...

    async def lock_holding(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, credit_type_id: uuid.UUID, at: datetime
    ) -> list[Lot]:
        """The client's lots of the type that are not expired at ``at`` and hold something, locked, with what
        each holds as read after the lock."""
        return await self.lock_holding_of_types(tenant_id, client_id, [credit_type_id], at)

    @abc.abstractmethod
    async def lock_holding_of_types(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, credit_type_ids: Sequence[uuid.UUID], at: datetime
    ) -> list[Lot]:
        """As ``lock_holding``, for several types at once (locked in the one expiry order)."""

    @abc.abstractmethod
    async def lock_paying(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, service_id: uuid.UUID, at: datetime
    ) -> PayingLots:
        """The client's lots of the types that pay for the service, not expired at ``at`` and holding something,
        locked in the one expiry order, with the types' rules and the types (nothing when no rule pays for the
        service, or the client holds none of its types)."""

    @abc.abstractmethod
    async def lock_lots(self, tenant_id: uuid.UUID, lot_ids: Sequence[uuid.UUID]) -> list[Lot]: ...

    @abc.abstractmethod
    async def claim_expired(self, now: datetime, limit: int) -> list[Lot]:
        """Lots of any business past their expiry that still hold something and were not expired yet."""

    @abc.abstractmethod
    async def transaction(self, tenant_id: uuid.UUID, transaction_id: uuid.UUID) -> LedgerTransaction: ...

    @abc.abstractmethod
    async def by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> LedgerTransaction | None: ...

    @abc.abstractmethod
    async def lot_of_charge(self, tenant_id: uuid.UUID, transaction: LedgerTransaction) -> Lot: ...

    @abc.abstractmethod
    async def save_new(self) -> None:
        """Inserts what was added: credit types, then lots, then transactions with their entries."""


class SqlAlchemyLedgerRepository(AbstractLedgerRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self._session = session

    # --- credit types -------------------------------------------------------------------------------------

    async def credit_type(self, tenant_id: uuid.UUID, type_id: uuid.UUID) -> CreditType:
        row = (await self._session.execute(_CREDIT_TYPE, {"tenant_id": tenant_id, "type_id": type_id})).first()
        if row is None:
            raise NotFound("credit type not found")
        return credit_type_from_row(row)

    async def credit_types(self, tenant_id: uuid.UUID, type_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CreditType]:
        rows = (
            await self._session.execute(
                select(credit_types).where(credit_types.c.tenant_id == tenant_id, credit_types.c.id.in_(type_ids))
            )
        ).all()
        return {r.id: credit_type_from_row(r) for r in rows}

    # --- what pays for a service ------------------------------------------------------------------------

    async def rules_for(self, tenant_id: uuid.UUID, service_id: uuid.UUID) -> list[ServiceRule]:
        return await rules_for(self._session, tenant_id, service_id)

    async def replace_rules(self, tenant_id: uuid.UUID, service_id: uuid.UUID, rules: Sequence[ServiceRule]) -> None:
        await self._session.execute(
            delete(service_credit_rules).where(
                service_credit_rules.c.tenant_id == tenant_id, service_credit_rules.c.service_id == service_id
            )
        )
        if rules:
            await self._session.execute(
                insert(service_credit_rules),
                [
                    {
                        "tenant_id": tenant_id,
                        "service_id": service_id,
                        "credit_type_id": r.credit_type_id,
                        "units": r.units,
                    }
                    for r in rules
                ],
            )

    # --- lots -------------------------------------------------------------------------------------------

    async def lock_holding_of_types(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, credit_type_ids: Sequence[uuid.UUID], at: datetime
    ) -> list[Lot]:
        rows = (
            await self._session.execute(
                _LOCK_HOLDING,
                {"tenant_id": tenant_id, "client_id": client_id, "type_ids": list(credit_type_ids), "at": at},
            )
        ).all()
        return await self._with_remaining(tenant_id, rows)

    async def lock_paying(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, service_id: uuid.UUID, at: datetime
    ) -> PayingLots:
        rows = (
            await self._session.execute(
                _LOCK_PAYING, {"tenant_id": tenant_id, "client_id": client_id, "service_id": service_id, "at": at}
            )
        ).all()
        rules: dict[uuid.UUID, ServiceRule] = {}
        types: dict[uuid.UUID, CreditType] = {}
        for row in rows:
            rules[row.credit_type_id] = ServiceRule(row.credit_type_id, row.rule_units)
            types[row.credit_type_id] = CreditType(
                row.tenant_id, row.credit_type_id, row.type_name, row.type_unit, row.type_currency, row.type_created_at
            )
        lots = await self._with_remaining(tenant_id, rows)
        return PayingLots(tuple(rules.values()), types, tuple(lots))

    async def lock_lots(self, tenant_id: uuid.UUID, lot_ids: Sequence[uuid.UUID]) -> list[Lot]:
        rows = (
            await self._session.execute(
                select(credit_lots)
                .where(credit_lots.c.tenant_id == tenant_id, credit_lots.c.id.in_(list(lot_ids)))
                .order_by(*EXPIRY_ORDER)
                .with_for_update()
            )
        ).all()
        return await self._with_remaining(tenant_id, rows)

    async def claim_expired(self, now: datetime, limit: int) -> list[Lot]:
        """Lots of any business past their expiry that still hold something and have no expiry entry, locked;
        those another replica is expiring are skipped."""
        already_expired = exists().where(
            ledger_entries.c.tenant_id == credit_lots.c.tenant_id,
            ledger_entries.c.lot_id == credit_lots.c.id,
            ledger_entries.c.account == Account.EXPIRED.value,
        )
        rows = (
            await self._session.execute(
                select(credit_lots)
                .where(credit_lots.c.expires_at <= now, ~already_expired, held_of_lot() > 0)
                .order_by(credit_lots.c.expires_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        found: list[Lot] = []
        by_tenant: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for row in rows:
            by_tenant[row.tenant_id].append(row)
        for tenant_id, tenant_rows in by_tenant.items():
            found.extend(await self._with_remaining(tenant_id, tenant_rows))
        return [lot for lot in found if lot.remaining > 0]

    async def _with_remaining(self, tenant_id: uuid.UUID, rows: Sequence[Any]) -> list[Lot]:
        if not rows:
            return []
        remaining = await remaining_of(self._session, tenant_id, [r.id for r in rows])
        lots = [lot_from_row(r, remaining.get(r.id, 0)) for r in rows]
        self.seen.update(lots)
        return lots

    # --- transactions -----------------------------------------------------------------------------------

    async def transaction(self, tenant_id: uuid.UUID, transaction_id: uuid.UUID) -> LedgerTransaction:
        rows = (
            await self._session.execute(
                select(ledger_transactions).where(
                    ledger_transactions.c.tenant_id == tenant_id, ledger_transactions.c.id == transaction_id
                )
            )
        ).all()
        found = await transactions_with_entries(self._session, rows)
        if not found:
            raise NotFound("ledger transaction not found")
        return found[0]

    async def by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> LedgerTransaction | None:
        rows = (
            await self._session.execute(
                select(ledger_transactions).where(
                    ledger_transactions.c.tenant_id == tenant_id, ledger_transactions.c.request_id == request_id
                )
            )
        ).all()
        found = await transactions_with_entries(self._session, rows)
        return found[0] if found else None

    async def lot_of_charge(self, tenant_id: uuid.UUID, transaction: LedgerTransaction) -> Lot:
        (lot_id,) = {e.lot_id for e in transaction.entries}
        rows = (
            await self._session.execute(
                select(credit_lots).where(credit_lots.c.tenant_id == tenant_id, credit_lots.c.id == lot_id)
            )
        ).all()
        remaining = await remaining_of(self._session, tenant_id, [lot_id])
        return lot_from_row(rows[0], remaining.get(lot_id, 0))

    # --- writing ----------------------------------------------------------------------------------------

    async def save_new(self) -> None:
        new = [a for a in self.seen if getattr(a, "is_new", False)]
        for credit_type in (a for a in new if isinstance(a, CreditType)):
            await self._session.execute(
                insert(credit_types).values(
                    tenant_id=credit_type.tenant_id,
                    id=credit_type.id,
                    name=credit_type.name,
                    unit=credit_type.unit,
                    currency=credit_type.currency,
                    created_at=credit_type.created_at,
                )
            )
            credit_type.is_new = False
        lots = [a for a in new if isinstance(a, Lot)]
        if lots:
            await self._session.execute(
                insert(credit_lots),
                [
                    {
                        "tenant_id": lot.tenant_id,
                        "id": lot.id,
                        "client_id": lot.client_id,
                        "credit_type_id": lot.credit_type_id,
                        "amount": lot.amount,
                        "starts_at": lot.starts_at,
                        "expires_at": lot.expires_at,
                        "note": lot.note,
                        "created_at": lot.created_at,
                        "package_sale_id": lot.package_sale_id,
                        "subscription_id": lot.subscription_id,
                    }
                    for lot in lots
                ],
            )
            for lot in lots:
                lot.is_new = False
        transactions = sorted((a for a in new if isinstance(a, LedgerTransaction)), key=lambda t: t.id)
        new_check_ins = [a for a in new if isinstance(a, CheckIn)]
        if transactions or new_check_ins:
            statement, values = _ledger_writes(transactions, new_check_ins)
            await self._session.execute(statement, values)
        for transaction in transactions:
            transaction.is_new = False
        for check_in in new_check_ins:
            check_in.is_new = False


# The ledger's writes of a unit in one statement (one round trip, however many transactions, entries and
# check-ins): each table's rows as arrays, unnested, the tables in data-modifying CTEs. The schema's checks run
# as they would for separate statements: the entries' lot trigger and the foreign keys at the statement's
# end, when every row of it is in; the transactions' balance at commit.
_TRANSACTION_COLUMNS = (
    ("tenant_id", "uuid"),
    ("id", "uuid"),
    ("kind", "text"),
    ("effective_at", "timestamptz"),
    ("recorded_at", "timestamptz"),
    ("note", "text"),
    ("request_id", "text"),
    ("reverses_id", "uuid"),
)
_ENTRY_COLUMNS = (
    ("tenant_id", "uuid"),
    ("transaction_id", "uuid"),
    ("lot_id", "uuid"),
    ("account", "text"),
    ("amount", "bigint"),
    ("effective_at", "timestamptz"),
    ("kind", "text"),
)
_CHECK_IN_COLUMNS = (
    ("tenant_id", "uuid"),
    ("id", "uuid"),
    ("client_id", "uuid"),
    ("checked_in_at", "timestamptz"),
    ("service_id", "uuid"),
    ("appointment_id", "uuid"),
    ("transaction_id", "uuid"),
    ("method", "text"),
    ("staff_id", "uuid"),
    ("note", "text"),
)


def _unnest_insert(table: str, columns: tuple[tuple[str, str], ...]) -> str:
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"CAST(:{table}_{name} AS {kind}[])" for name, kind in columns)
    return f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays})"


def _one_statement(inserts: Sequence[str]) -> TextClause:
    *first, last = inserts
    ctes = ", ".join(f"written_{i} AS ({insert})" for i, insert in enumerate(first))
    return text(f"WITH {ctes} {last}" if ctes else last)


_WRITES = {
    (True, True): _one_statement(
        [
            _unnest_insert("ledger_transactions", _TRANSACTION_COLUMNS),
            _unnest_insert("ledger_entries", _ENTRY_COLUMNS),
            _unnest_insert("check_ins", _CHECK_IN_COLUMNS),
        ]
    ),
    (True, False): _one_statement(
        [
            _unnest_insert("ledger_transactions", _TRANSACTION_COLUMNS),
            _unnest_insert("ledger_entries", _ENTRY_COLUMNS),
        ]
    ),
    (False, True): _one_statement([_unnest_insert("check_ins", _CHECK_IN_COLUMNS)]),
}


def _columns_of(table: str, columns: tuple[tuple[str, str], ...], rows: Sequence[tuple[Any, ...]]) -> dict[str, Any]:
    """The statement's parameters of ``table``: one array per column."""
    by_column = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return {f"{table}_{name}": list(values) for (name, _), values in zip(columns, by_column, strict=True)}


def _ledger_writes(
    transactions: Sequence[LedgerTransaction], new_check_ins: Sequence[CheckIn]
) -> tuple[TextClause, dict[str, Any]]:
    values: dict[str, Any] = {}
    if transactions:
        values |= _columns_of(
            "ledger_transactions",
            _TRANSACTION_COLUMNS,
            [
                (t.tenant_id, t.id, t.kind.value, t.effective_at, t.recorded_at, t.note, t.request_id, t.reverses_id)
                for t in transactions
            ],
        )
        values |= _columns_of(
            "ledger_entries",
            _ENTRY_COLUMNS,
            [
                (t.tenant_id, t.id, e.lot_id, e.account.value, e.amount, t.effective_at, t.kind.value)
                for t in transactions
                for e in t.entries
            ],
        )
    if new_check_ins:
        values |= _columns_of(
            "check_ins",
            _CHECK_IN_COLUMNS,
            [
                (
                    c.tenant_id,
                    c.id,
                    c.client_id,
                    c.checked_in_at,
                    c.service_id,
                    c.appointment_id,
                    c.transaction_id,
                    c.method.value,
                    c.staff_id,
                    c.note,
                )
                for c in new_check_ins
            ],
        )
    return _WRITES[(bool(transactions), bool(new_check_ins))], values
