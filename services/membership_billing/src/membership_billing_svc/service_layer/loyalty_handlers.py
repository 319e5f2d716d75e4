"""Use cases of loyalty: the business's program, points earned inside the payment or check-in that earns them
(the same transaction, so once), and redemption as a credit of another type."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from membership_billing_svc.domain import commands
from membership_billing_svc.domain.ledger import LedgerTransaction, use
from membership_billing_svc.domain.loyalty import LoyaltyProgram, earn, redeem
from membership_billing_svc.service_layer.unit_of_work import DUPLICATE_REQUEST, BillingUnitOfWork
from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound


async def set_loyalty_program(cmd: commands.SetLoyaltyProgram, uow: BillingUnitOfWork) -> LoyaltyProgram:
    async with uow:
        wanted = [cmd.points_credit_type_id] + ([cmd.reward_credit_type_id] if cmd.reward_credit_type_id else [])
        known = await uow.ledger.credit_types(cmd.tenant_id, wanted)
        program = LoyaltyProgram.define(
            cmd.tenant_id,
            points_type=known.get(cmd.points_credit_type_id),
            reward_type=known.get(cmd.reward_credit_type_id) if cmd.reward_credit_type_id else None,
            reward_type_given=cmd.reward_credit_type_id is not None,
            currency=cmd.currency,
            step_minor=cmd.step_minor,
            points_per_step=cmd.points_per_step,
            points_per_visit=cmd.points_per_visit,
            validity_days=cmd.validity_days,
            points_per_reward_unit=cmd.points_per_reward_unit,
            now=cmd.now,
        )
        await uow.memberships.put_loyalty_program(program)
        await uow.commit()
    return program


async def _earn_points(
    uow: BillingUnitOfWork,
    tenant_id: uuid.UUID,
    client_id: uuid.UUID,
    *,
    source: str,
    source_id: uuid.UUID,
    points_of: Callable[[LoyaltyProgram], int],
    zone: ZoneInfo,
    now: datetime,
) -> None:
    """Inside a unit already begun: the points ``points_of`` the program gives, if the business has one."""
    program = await uow.memberships.loyalty_program(tenant_id)
    if program is not None:
        await _earn_program_points(
            uow, program, client_id, points_of(program), source=source, source_id=source_id, zone=zone, now=now
        )


async def _earn_program_points(
    uow: BillingUnitOfWork,
    program: LoyaltyProgram,
    client_id: uuid.UUID,
    points: int,
    *,
    source: str,
    source_id: uuid.UUID,
    zone: ZoneInfo | None,
    now: datetime,
) -> None:
    """Inside a unit already begun: ``points`` of the program earned (nothing for none). ``zone`` may be None
    only when the program's points never expire."""
    if points <= 0:
        return
    assert zone is not None or not program.expiry_needs_zone, "the points' expiry needs the business's zone"
    points_type = await uow.ledger.credit_type(program.tenant_id, program.points_credit_type_id)
    held = await uow.ledger.lock_holding(program.tenant_id, client_id, points_type.id, now)
    lot, transaction = earn(
        program,
        points_type,
        client_id,
        points,
        source=source,
        source_id=source_id,
        held_before=sum(lot.remaining for lot in held if lot.usable_at(now)),
        expires_at=program.expiry(now.astimezone(zone).date(), zone) if zone is not None else None,
        now=now,
    )
    uow.ledger.add(lot)
    uow.ledger.add(transaction)


async def redeem_points(cmd: commands.RedeemPoints, uow: BillingUnitOfWork) -> LedgerTransaction:
    """The use of the points (with the reward's charge in the same transaction); a retry with the request id
    returns the first."""
    if cmd.request_id:
        async with uow:
            first = await uow.ledger.by_request_id(cmd.tenant_id, cmd.request_id)
        if first is not None:
            return first
    client = await uow.client_directory.bill_to(cmd.client_id)
    if client is None:
        raise InvalidArgument.single("client_id", "is not a client of this business")
    try:
        async with uow:
            program = await uow.memberships.loyalty_program(cmd.tenant_id)
            if program is None or program.reward_credit_type_id is None:
                raise FailedPrecondition("this business's points buy nothing", reason="NO_REWARD")
            points_type = await uow.ledger.credit_type(cmd.tenant_id, program.points_credit_type_id)
            try:
                reward_type = await uow.ledger.credit_type(cmd.tenant_id, program.reward_credit_type_id)
            except NotFound:
                raise FailedPrecondition("the reward's credit type no longer exists", reason="NO_REWARD") from None
            lots = await uow.ledger.lock_holding(cmd.tenant_id, client.client_id, points_type.id, cmd.now)
            spent, lot, reward = redeem(
                program,
                points_type,
                reward_type,
                client.client_id,
                lots,
                cmd.points,
                reward_expires_at=None,
                request_id=cmd.request_id,
                now=cmd.now,
            )
            for added in (spent, lot, reward):
                uow.ledger.add(added)
            await uow.commit()
    except Conflict as exc:
        if exc.reason != DUPLICATE_REQUEST or not cmd.request_id:
            raise
        async with uow:
            replayed = await uow.ledger.by_request_id(cmd.tenant_id, cmd.request_id)
        assert replayed is not None
        return replayed
    return spent


async def _take_back_points(uow: BillingUnitOfWork, tenant_id: uuid.UUID, source_id: uuid.UUID, now: datetime) -> None:
    """Inside a unit already begun: what is left of the points a refunded payment earned leaves the client
    (a use of that lot; points already spent or expired stay spent or expired)."""
    earned = await uow.ledger.by_request_id(tenant_id, f"points:payment:{source_id}")
    if earned is None:
        return
    (lot,) = await uow.ledger.lock_lots(tenant_id, list({e.lot_id for e in earned.entries}))
    if not lot.usable_at(now):
        return
    points_type = await uow.ledger.credit_type(tenant_id, lot.credit_type_id)
    uow.ledger.add(
        use(tenant_id, uuid.uuid4(), lot.client_id, points_type, [lot], lot.remaining, note="payment refunded", now=now)
    )
