"""Use cases of tentative holds: place or move a hold where a booking could go (availability and the
database decide, as for a booking), release it. Booking into one's own hold is book_appointment's, with the
hold named (it releases the hold in the booking's transaction)."""

from __future__ import annotations

from datetime import timedelta

from platform_core.errors import Conflict, NotFound
from scheduling_svc.adapters.hold_store import without_hold
from scheduling_svc.adapters.repository import SLOT_TAKEN
from scheduling_svc.domain import commands
from scheduling_svc.domain.appointments import staff_blocks
from scheduling_svc.domain.holds import SlotHold, check_label
from scheduling_svc.service_layer import handlers
from scheduling_svc.service_layer.unit_of_work import SchedulingUnitOfWork


async def hold_slot(cmd: commands.HoldSlot, uow: SchedulingUnitOfWork) -> SlotHold:
    """Place the hold, or move it: the old time is given back in the transaction that takes the new one, so a
    move that finds the new slot taken changes nothing."""
    label = check_label(cmd.label)
    async with uow:
        held = await uow.holds.get(cmd.tenant_id, cmd.hold_id)
        if held is not None and held.hold.client_id != cmd.client_id:
            raise NotFound("hold not found")
        if held is not None and held.hold.is_for(cmd.service_id, cmd.staff_id, cmd.start):
            return held.hold
        settings = await uow.catalogue.settings(cmd.tenant_id)
        inputs = without_hold(
            await uow.catalogue.availability_inputs(
                cmd.tenant_id,
                (cmd.service_id,),
                cmd.start - timedelta(days=1),
                cmd.start + timedelta(days=2),
                settings=settings,
            ),
            held,
        )
        handlers._check_bookable(inputs.services, cmd.online)
        candidates = await handlers._candidates(
            inputs,
            start=cmd.start,
            wanted_staff=[cmd.staff_id],
            seats=1,
            override=False,
            online=cmd.online,
            zone=settings.timezone,
            now=cmd.now,
        )
    taken: Conflict | None = None
    # As a booking for "anyone": when the first free staff member is taken a moment earlier, the next one.
    for segments in candidates[: handlers.MAX_BOOKING_ATTEMPTS]:
        block = staff_blocks(segments)[0]
        hold = SlotHold(
            tenant_id=cmd.tenant_id,
            id=cmd.hold_id,
            client_id=cmd.client_id,
            service_id=cmd.service_id,
            staff_id=block.staff_id,
            start=segments[0].start,
            end=segments[-1].end,
            label=label,
            created_at=cmd.now,
        )
        try:
            async with uow:
                await uow.holds.lock(cmd.tenant_id, cmd.hold_id)
                current = await uow.holds.get(cmd.tenant_id, cmd.hold_id)
                if current is not None and current.hold.is_for(hold.service_id, hold.staff_id, hold.start):
                    return current.hold  # a concurrent retry placed it meanwhile
                if current is not None:
                    await uow.holds.release(cmd.tenant_id, cmd.hold_id)
                await uow.holds.take(hold, block, settings.timezone)
                await uow.commit()
            return hold
        except Conflict as exc:
            if exc.reason != SLOT_TAKEN:
                raise
            taken = exc
    assert taken is not None
    raise taken


async def release_hold(cmd: commands.ReleaseHold, uow: SchedulingUnitOfWork) -> bool:
    """Give the time back (a portal client only its own holds); False when there is no such hold."""
    async with uow:
        await uow.holds.lock(cmd.tenant_id, cmd.hold_id)
        released = await uow.holds.release(cmd.tenant_id, cmd.hold_id, client_id=cmd.client_id)
        await uow.commit()
    return released
