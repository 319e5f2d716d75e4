"""Use cases of the entitlement ledger, each ``handler(cmd, uow)`` in one unit of work: the rows and
their events commit together or not at all."""

from __future__ import annotations

import uuid

from membership_billing_svc.domain import commands, ledger
from membership_billing_svc.domain.consumption import (
    CheckIn,
    CheckInMethod,
    PayingLots,
    ServiceRule,
    checked_rules,
    choose_payer,
    visit_key,
)
from membership_billing_svc.domain.ledger import CreditType, LedgerTransaction, Lot
from membership_billing_svc.service_layer.loyalty_handlers import _earn_program_points
from membership_billing_svc.service_layer.unit_of_work import DUPLICATE_REQUEST, BillingUnitOfWork
from platform_core.errors import Conflict, InvalidArgument, NotFound
from platform_core.ids import new_id
from platform_core.validation import Violations


async def define_credit_type(cmd: commands.DefineCreditType, uow: BillingUnitOfWork) -> CreditType:
    credit_type = CreditType.define(
        cmd.tenant_id, new_id(), name=cmd.name, unit=cmd.unit, currency=cmd.currency, now=cmd.now
    )
    async with uow:
        uow.ledger.add(credit_type)
        await uow.commit()
    return credit_type


async def _credit_type(uow: BillingUnitOfWork, cmd: commands.ChargeCredits | commands.UseCredits) -> CreditType:
    try:
        return await uow.ledger.credit_type(cmd.tenant_id, cmd.credit_type_id)
    except NotFound:
        raise InvalidArgument.single("credit_type_id", "is not a credit type of this business") from None


async def charge_credits(cmd: commands.ChargeCredits, uow: BillingUnitOfWork) -> Lot:
    """A new lot for the client (the survivor when it was merged). A retry with the request id returns the
    first lot."""
    if cmd.request_id:
        replayed = await _charged_with(uow, cmd)
        if replayed is not None:
            return replayed
    zone = await uow.business_calendar.timezone()
    terms = ledger.ChargeTerms.checked(
        cmd.amount, starts_on=cmd.starts_on, expires_on=cmd.expires_on, note=cmd.note, zone=zone, now=cmd.now
    )
    client = await uow.client_directory.bill_to(cmd.client_id)
    if client is None:
        raise InvalidArgument.single("client_id", "is not a client of this business")
    try:
        async with uow:
            credit_type = await _credit_type(uow, cmd)
            lot, transaction = ledger.charge(
                cmd.tenant_id,
                new_id(),
                new_id(),
                client.client_id,
                credit_type,
                terms,
                now=cmd.now,
                request_id=cmd.request_id,
            )
            uow.ledger.add(lot)
            uow.ledger.add(transaction)
            await uow.commit()
    except Conflict as exc:
        first = await _charged_with(uow, cmd) if exc.reason == DUPLICATE_REQUEST else None
        if first is None:
            raise
        return first
    return lot


async def _charged_with(uow: BillingUnitOfWork, cmd: commands.ChargeCredits) -> Lot | None:
    assert cmd.request_id
    async with uow:
        first = await uow.ledger.by_request_id(cmd.tenant_id, cmd.request_id)
        if first is None:
            return None
        if first.kind is not ledger.TransactionKind.CHARGE or first.client_change != cmd.amount:
            raise Conflict("this request id was used for another ledger transaction", reason="REQUEST_ID_REUSED")
        return await uow.ledger.lot_of_charge(cmd.tenant_id, first)


async def use_credits(cmd: commands.UseCredits, uow: BillingUnitOfWork) -> LedgerTransaction:
    """Takes the units first-expiring-first from the lots the client can use now, all or nothing."""
    violations = Violations()
    if not 1 <= cmd.amount <= ledger.MAX_UNITS:
        violations.add("amount", f"must be between 1 and {ledger.MAX_UNITS}")
    note = violations.text(cmd.note, "note", max_length=500)
    violations.raise_if_any()
    if cmd.request_id:
        replayed = await _used_with(uow, cmd)
        if replayed is not None:
            return replayed
    client = await uow.client_directory.bill_to(cmd.client_id)
    if client is None:
        raise InvalidArgument.single("client_id", "is not a client of this business")
    try:
        async with uow:
            credit_type = await _credit_type(uow, cmd)
            lots = await uow.ledger.lock_holding(cmd.tenant_id, client.client_id, credit_type.id, cmd.now)
            transaction = ledger.use(
                cmd.tenant_id,
                new_id(),
                client.client_id,
                credit_type,
                lots,
                cmd.amount,
                note=note,
                now=cmd.now,
                request_id=cmd.request_id,
            )
            uow.ledger.add(transaction)
            await uow.commit()
    except Conflict as exc:
        first = await _used_with(uow, cmd) if exc.reason == DUPLICATE_REQUEST else None
        if first is None:
            raise
        return first
    return transaction


async def _used_with(uow: BillingUnitOfWork, cmd: commands.UseCredits) -> LedgerTransaction | None:
    assert cmd.request_id
    async with uow:
        first = await uow.ledger.by_request_id(cmd.tenant_id, cmd.request_id)
    if first is not None and (first.kind is not ledger.TransactionKind.USE or -first.client_change != cmd.amount):
        raise Conflict("this request id was used for another ledger transaction", reason="REQUEST_ID_REUSED")
    return first


async def reverse_use(cmd: commands.ReverseUse, uow: BillingUnitOfWork) -> LedgerTransaction:
    violations = Violations()
    note = violations.text(cmd.note, "note", max_length=500)
    violations.raise_if_any()
    async with uow:
        original = await uow.ledger.transaction(cmd.tenant_id, cmd.transaction_id)
        credit_type = await uow.ledger.credit_type(cmd.tenant_id, original.entries[0].credit_type_id)
        lots = await uow.ledger.lock_lots(cmd.tenant_id, list(original.taken_per_lot()))
        transaction = ledger.reverse(cmd.tenant_id, new_id(), original, lots, credit_type, note=note, now=cmd.now)
        uow.ledger.add(transaction)
        await uow.commit()
    return transaction


async def expire_lots(cmd: commands.ExpireLots, uow: BillingUnitOfWork) -> int:
    """One batch of the expiry sweep; any number of replicas may run it (claimed with SKIP LOCKED)."""
    async with uow:
        lots = await uow.ledger.claim_expired(cmd.now, cmd.batch)
        types: dict[tuple[object, object], CreditType] = {}
        for lot in lots:
            key = (lot.tenant_id, lot.credit_type_id)
            if key not in types:
                types[key] = await uow.ledger.credit_type(lot.tenant_id, lot.credit_type_id)
            uow.ledger.add(ledger.expire(lot.tenant_id, new_id(), lot, types[key], now=cmd.now))
        await uow.commit()
    return len(lots)


async def set_service_rules(cmd: commands.SetServiceRules, uow: BillingUnitOfWork) -> list[ServiceRule]:
    """Replaces what pays for a service (an empty list: nothing does; visits consume nothing)."""
    rules = checked_rules([ServiceRule(type_id, units) for type_id, units in cmd.rules])
    async with uow:
        known = await uow.ledger.credit_types(cmd.tenant_id, [r.credit_type_id for r in rules])
        for i, rule in enumerate(rules):
            if rule.credit_type_id not in known:
                raise InvalidArgument.single(f"rules[{i}].credit_type_id", "is not a credit type of this business")
        await uow.ledger.replace_rules(cmd.tenant_id, cmd.service_id, rules)
        await uow.commit()
    return list(rules)


async def consume_for_visit(cmd: commands.ConsumeForVisit, uow: BillingUnitOfWork) -> LedgerTransaction | None:
    """Takes what pays for one visit of the service from the client's credits, once per key: the credit type
    whose usable credits expire first among those that pay for it. None when nothing pays for the service;
    FAILED_PRECONDITION INSUFFICIENT_CREDITS when the client holds too little of every type that would."""
    async with uow:
        transaction = await _consume(cmd, uow)
        await uow.commit()
    return transaction


async def _consume(
    cmd: commands.ConsumeForVisit, uow: BillingUnitOfWork, *, fresh_key: bool = False, vouched: bool = True
) -> LedgerTransaction | None:
    """``consume_for_visit`` inside a unit already begun (the caller commits). ``fresh_key``: the key was just
    made (a walk-in's check-in), so nothing can have consumed with it yet. Unless ``vouched`` (the client
    directory named the client), the ledger must know the client: a lot of it pays for the visit, or the
    earlier consumption with the key is its; otherwise None, having taken nothing."""
    if not fresh_key:
        done = await uow.ledger.by_request_id(cmd.tenant_id, cmd.key)
        if done is not None:
            return done if vouched or done.client_id == cmd.client_id else None
    paying = await uow.ledger.lock_paying(cmd.tenant_id, cmd.client_id, cmd.service_id, cmd.now)
    # Nothing locked: either nothing pays for the service, or the client holds none of what would.
    if not paying.lots and (not vouched or not await uow.ledger.rules_for(cmd.tenant_id, cmd.service_id)):
        return None
    return _take(cmd, uow, paying)


def _take(cmd: commands.ConsumeForVisit, uow: BillingUnitOfWork, paying: PayingLots) -> LedgerTransaction:
    """The use that pays for the visit from the locked lots (FAILED_PRECONDITION INSUFFICIENT_CREDITS when
    none of the types pays enough)."""
    payer = choose_payer(paying.rules, paying.lots, cmd.now)
    credit_type = paying.credit_types[payer.rule.credit_type_id]
    transaction = ledger.use(
        cmd.tenant_id,
        new_id(),
        cmd.client_id,
        credit_type,
        [lot for lot in paying.lots if lot.credit_type_id == credit_type.id],
        payer.rule.units,
        note=cmd.note,
        now=cmd.now,
        request_id=cmd.key,
    )
    uow.ledger.add(transaction)
    return transaction


async def check_in_client(
    cmd: commands.CheckInClient, uow: BillingUnitOfWork
) -> tuple[CheckIn, LedgerTransaction | None]:
    """Records the client's attendance; with a service, its visit consumes what pays for it (with an
    appointment, the appointment's one consumption: its completion then takes nothing more). The visit earns
    the loyalty program's points in the same transaction.

    The ledger knows its clients: lots are charged only to clients of the business, and follow them through
    merges, undos and erasures as the client service's events say. So when the client holds a lot that pays,
    the check-in needs no question to the client service; otherwise nothing is written and the client is asked
    for (not a client of this business, or merged into another, or holding nothing that pays)."""
    violations = Violations()
    note = violations.text(cmd.note, "note", max_length=500)
    violations.raise_if_any()
    check_in_id = new_id()
    if cmd.service_id is not None:
        recorded = await _check_in(cmd, uow, cmd.client_id, check_in_id, note, vouched=False)
        if recorded is not None:
            return recorded
    client = await uow.client_directory.bill_to(cmd.client_id)
    if client is None:
        raise InvalidArgument.single("client_id", "is not a client of this business")
    recorded = await _check_in(cmd, uow, client.client_id, check_in_id, note, vouched=True)
    assert recorded is not None
    return recorded


async def _check_in(
    cmd: commands.CheckInClient,
    uow: BillingUnitOfWork,
    client_id: uuid.UUID,
    check_in_id: uuid.UUID,
    note: str,
    *,
    vouched: bool,
) -> tuple[CheckIn, LedgerTransaction | None] | None:
    """The check-in in one unit. Unless the client directory ``vouched`` for ``client_id``, None (and nothing
    written) when the ledger does not know the client either: no lot of it pays for the visit."""
    async with uow:
        program = await uow.memberships.loyalty_program(cmd.tenant_id)
        points = program.points_per_visit if program is not None else 0
        # Asked before any row is locked; only when the points' expiry depends on the business's days.
        needs_zone = program is not None and points > 0 and program.expiry_needs_zone
        zone = await uow.business_calendar.timezone() if needs_zone else None
        transaction = None
        if cmd.service_id is not None:
            key = (
                visit_key(cmd.appointment_id, cmd.service_id)
                if cmd.appointment_id is not None
                else f"check-in:{check_in_id}"
            )
            visit = commands.ConsumeForVisit(cmd.tenant_id, client_id, cmd.service_id, key, note, cmd.now)
            transaction = await _consume(visit, uow, fresh_key=cmd.appointment_id is None, vouched=vouched)
            if transaction is None and not vouched:
                return None
        check_in = CheckIn.record(
            cmd.tenant_id,
            check_in_id,
            client_id,
            service_id=cmd.service_id,
            appointment_id=cmd.appointment_id,
            transaction_id=transaction.id if transaction is not None else None,
            units_used=-transaction.client_change if transaction is not None else 0,
            method=CheckInMethod(cmd.method),
            staff_id=cmd.staff_id,
            note=note,
            now=cmd.now,
        )
        uow.ledger.add(check_in)
        if program is not None:
            await _earn_program_points(
                uow, program, client_id, points, source="visit", source_id=check_in_id, zone=zone, now=cmd.now
            )
        await uow.commit()
    return check_in, transaction
