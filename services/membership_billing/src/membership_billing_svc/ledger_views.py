"""Read side of the ledger, in autocommit: balances (as of any moment) and their lots, a client's credit types
and transactions, the packages. A balance is one grouped sum of entries; nothing reads a stored total."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from membership_billing_svc.adapters.ledger_repository import (
    EXPIRY_ORDER,
    LOT_OF_ENTRY,
    credit_type_from_row,
    frozen_at,
    lot_from_row,
    remaining_of,
    rules_for,
    transactions_with_entries,
)
from membership_billing_svc.adapters.package_repository import packages_with_allocations
from membership_billing_svc.adapters.tables import (
    check_ins,
    credit_lots,
    credit_types,
    ledger_entries,
    ledger_transactions,
    packages,
)
from membership_billing_svc.domain.consumption import CheckIn, CheckInMethod, Payer, ServiceRule, choose_payer
from membership_billing_svc.domain.ledger import Account, CreditType, LedgerTransaction, Lot
from membership_billing_svc.domain.packages import Package
from membership_billing_svc.views import decode_token, encode_token
from platform_core.errors import FailedPrecondition


@dataclass(frozen=True)
class CreditBalance:
    credit_type: CreditType
    balance: int
    # Of the balance: what a frozen subscription's lots hold (counted, not usable until it resumes), and what
    # the client can use at the moment asked about (started, not frozen).
    frozen: int
    available: int
    # Lots holding something at the moment asked about (usable then or later), first-expiring first.
    lots: tuple[Lot, ...]


async def list_credit_types(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[CreditType]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(credit_types).where(credit_types.c.tenant_id == tenant_id).order_by(credit_types.c.name)
            )
        ).all()
    return [credit_type_from_row(r) for r in rows]


async def credit_balances(
    engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID, as_of: datetime
) -> list[CreditBalance]:
    """Per credit type the client has ever held: the sum of its entries effective up to ``as_of``."""
    held = func.sum(ledger_entries.c.amount).label("held")
    async with engine.connect() as conn:
        lot_rows = (
            await conn.execute(
                select(credit_lots, func.coalesce(held, 0).label("held"), frozen_at(as_of).label("frozen"))
                .select_from(
                    credit_lots.outerjoin(
                        ledger_entries,
                        and_(
                            ledger_entries.c.tenant_id == credit_lots.c.tenant_id,
                            ledger_entries.c.lot_id == credit_lots.c.id,
                            ledger_entries.c.account == Account.CLIENT.value,
                            ledger_entries.c.effective_at <= as_of,
                        ),
                    )
                )
                .where(credit_lots.c.tenant_id == tenant_id, credit_lots.c.client_id == client_id)
                .group_by(credit_lots.c.tenant_id, credit_lots.c.id)
                .order_by(*EXPIRY_ORDER)
            )
        ).all()
        type_rows = (
            await conn.execute(
                select(credit_types)
                .where(
                    credit_types.c.tenant_id == tenant_id,
                    credit_types.c.id.in_({r.credit_type_id for r in lot_rows}),
                )
                .order_by(credit_types.c.name)
            )
        ).all()
    frozen_lots = {r.id for r in lot_rows if r.frozen}
    balances = []
    for type_row in type_rows:
        # A lot's expiry entry is effective at its expiry whether or not the sweep has written it yet.
        lots = [
            lot_from_row(r, 0 if r.expires_at is not None and r.expires_at <= as_of else int(r.held))
            for r in lot_rows
            if r.credit_type_id == type_row.id
        ]
        balances.append(
            CreditBalance(
                credit_type=credit_type_from_row(type_row),
                balance=sum(lot.remaining for lot in lots),
                frozen=sum(lot.remaining for lot in lots if lot.id in frozen_lots),
                available=sum(lot.remaining for lot in lots if lot.id not in frozen_lots and lot.starts_at <= as_of),
                lots=tuple(lot for lot in lots if lot.remaining > 0),
            )
        )
    return balances


async def list_transactions(
    engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID, *, page_size: int, page_token: str
) -> tuple[list[LedgerTransaction], str]:
    """The transactions touching the client's lots, newest first (ids are time-ordered)."""
    after = decode_token(page_token)
    of_client = (
        select(ledger_entries.c.transaction_id)
        .join(credit_lots, LOT_OF_ENTRY)
        .where(credit_lots.c.tenant_id == tenant_id, credit_lots.c.client_id == client_id)
    )
    query = select(ledger_transactions).where(
        ledger_transactions.c.tenant_id == tenant_id, ledger_transactions.c.id.in_(of_client)
    )
    if after is not None:
        query = query.where(ledger_transactions.c.id < after)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(ledger_transactions.c.id.desc()).limit(page_size + 1))).all()
        found = await transactions_with_entries(conn, rows[:page_size])
    token = encode_token(rows[page_size - 1].id) if len(rows) > page_size else ""
    return found, token


async def list_packages(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[Package]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(packages).where(packages.c.tenant_id == tenant_id).order_by(packages.c.name))
        ).all()
        return await packages_with_allocations(conn, rows)


@dataclass(frozen=True)
class Quote:
    """Which credits would pay for one visit of a service now, before it is booked or confirmed."""

    rules: tuple[ServiceRule, ...]
    payer: Payer | None
    credit_type: CreditType | None


async def quote_visit(
    engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID, service_id: uuid.UUID, at: datetime
) -> Quote:
    async with engine.connect() as conn:
        rules = await rules_for(conn, tenant_id, service_id)
        if not rules:
            return Quote((), None, None)
        lot_rows = (
            await conn.execute(
                select(credit_lots).where(
                    credit_lots.c.tenant_id == tenant_id,
                    credit_lots.c.client_id == client_id,
                    credit_lots.c.credit_type_id.in_([r.credit_type_id for r in rules]),
                    (credit_lots.c.expires_at.is_(None)) | (credit_lots.c.expires_at > at),
                    # A frozen membership's credits pay for nothing until it resumes, as a use would find.
                    ~frozen_at(at),
                )
            )
        ).all()
        remaining = await remaining_of(conn, tenant_id, [r.id for r in lot_rows])
        lots = [lot_from_row(r, remaining.get(r.id, 0)) for r in lot_rows]
        try:
            payer = choose_payer(rules, lots, at)
        except FailedPrecondition:
            return Quote(tuple(rules), None, None)
        type_row = (
            await conn.execute(
                select(credit_types).where(
                    credit_types.c.tenant_id == tenant_id, credit_types.c.id == payer.rule.credit_type_id
                )
            )
        ).one()
    return Quote(tuple(rules), payer, credit_type_from_row(type_row))


async def service_rules(engine: AsyncEngine, tenant_id: uuid.UUID, service_id: uuid.UUID) -> list[ServiceRule]:
    async with engine.connect() as conn:
        return await rules_for(conn, tenant_id, service_id)


async def list_check_ins(
    engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID, *, page_size: int, page_token: str
) -> tuple[list[tuple[CheckIn, LedgerTransaction | None]], str]:
    """The client's check-ins, newest first (ids are time-ordered), each with what it consumed."""
    after = decode_token(page_token)
    query = select(check_ins).where(check_ins.c.tenant_id == tenant_id, check_ins.c.client_id == client_id)
    if after is not None:
        query = query.where(check_ins.c.id < after)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(check_ins.c.id.desc()).limit(page_size + 1))).all()
        page = rows[:page_size]
        consumed = [r.transaction_id for r in page if r.transaction_id is not None]
        transaction_rows = (
            (
                await conn.execute(
                    select(ledger_transactions).where(
                        ledger_transactions.c.tenant_id == tenant_id, ledger_transactions.c.id.in_(consumed)
                    )
                )
            ).all()
            if consumed
            else []
        )
        transactions = {t.id: t for t in await transactions_with_entries(conn, transaction_rows)}
    found = [
        (
            CheckIn(
                tenant_id=r.tenant_id,
                id=r.id,
                client_id=r.client_id,
                checked_in_at=r.checked_in_at,
                service_id=r.service_id,
                appointment_id=r.appointment_id,
                transaction_id=r.transaction_id,
                method=CheckInMethod(r.method),
                staff_id=r.staff_id,
                note=r.note,
            ),
            transactions.get(r.transaction_id) if r.transaction_id is not None else None,
        )
        for r in page
    ]
    token = encode_token(page[-1].id) if len(rows) > page_size else ""
    return found, token


@dataclass(frozen=True)
class CreditReportRow:
    credit_type: CreditType
    charged: int
    used: int
    restored: int
    expired: int
    clients: int


async def credit_report(
    engine: AsyncEngine, tenant_id: uuid.UUID, start: datetime, end: datetime
) -> list[CreditReportRow]:
    """Per credit type, the client-side movements effective in [start, end), by kind, in one grouped query."""
    moved = func.sum(ledger_entries.c.amount)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    credit_lots.c.credit_type_id,
                    ledger_entries.c.kind,
                    moved.label("moved"),
                )
                .select_from(ledger_entries.join(credit_lots, LOT_OF_ENTRY))
                .where(
                    ledger_entries.c.tenant_id == tenant_id,
                    ledger_entries.c.account == Account.CLIENT.value,
                    ledger_entries.c.effective_at >= start,
                    ledger_entries.c.effective_at < end,
                )
                .group_by(credit_lots.c.credit_type_id, ledger_entries.c.kind)
            )
        ).all()
        clients_rows = (
            await conn.execute(
                select(credit_lots.c.credit_type_id, func.count(func.distinct(credit_lots.c.client_id)))
                .select_from(ledger_entries.join(credit_lots, LOT_OF_ENTRY))
                .where(
                    ledger_entries.c.tenant_id == tenant_id,
                    ledger_entries.c.account == Account.CLIENT.value,
                    ledger_entries.c.effective_at >= start,
                    ledger_entries.c.effective_at < end,
                )
                .group_by(credit_lots.c.credit_type_id)
            )
        ).all()
        types = {
            r.id: credit_type_from_row(r)
            for r in (await conn.execute(select(credit_types).where(credit_types.c.tenant_id == tenant_id))).all()
        }
    moved_by: dict[tuple[uuid.UUID, str], int] = {(r.credit_type_id, r.kind): abs(int(r.moved)) for r in rows}
    clients_by = {type_id: int(count) for type_id, count in clients_rows}
    return [
        CreditReportRow(
            credit_type=types[type_id],
            charged=moved_by.get((type_id, "charge"), 0),
            used=moved_by.get((type_id, "use"), 0),
            restored=moved_by.get((type_id, "reverse"), 0),
            expired=moved_by.get((type_id, "expire"), 0),
            clients=count,
        )
        for type_id, count in sorted(clients_by.items(), key=lambda item: types[item[0]].name)
    ]
