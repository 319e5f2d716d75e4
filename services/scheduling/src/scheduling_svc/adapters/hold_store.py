"""Tentative holds in PostgreSQL. A hold's staff time is a time_blocks row taken whole (seats_taken =
capacity), so the exclusion constraint time_blocks_no_overlap decides between a hold and a booking (or another
hold) exactly as between two bookings, and the availability engine, which reads time_blocks, offers no held
time."""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, delete, false, insert, literal, select, update
from sqlalchemy.dialects.postgresql import TSTZRANGE, Range
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from platform_core.db import lock_for_transaction
from platform_core.errors import NotFound
from platform_core.ids import new_id
from scheduling_svc.adapters.catalogue_store import AvailabilityInputs
from scheduling_svc.adapters.repository import constraint_of, slot_taken
from scheduling_svc.adapters.tables import slot_holds, staff_members, time_blocks
from scheduling_svc.domain.appointments import StaffBlock
from scheduling_svc.domain.holds import SlotHold

h = slot_holds.c


@dataclass(frozen=True)
class HeldTime:
    """A hold with the stretch of staff time it takes (buffers included)."""

    hold: SlotHold
    occupied_start: datetime
    occupied_end: datetime


def hold_from_row(row: Any) -> SlotHold:
    return SlotHold(
        row.tenant_id,
        row.id,
        row.client_id,
        row.service_id,
        row.staff_id,
        row.starts_at,
        row.ends_at,
        row.label,
        row.created_at,
    )


def without_hold(inputs: AvailabilityInputs, held: HeldTime | None) -> AvailabilityInputs:
    """Availability as if ``held`` did not take its time (its holder books or moves into it)."""
    if held is None:
        return inputs
    staff = [
        replace(
            member,
            busy=tuple(b for b in member.busy if (b.start, b.end) != (held.occupied_start, held.occupied_end)),
        )
        if member.staff_id == held.hold.staff_id
        else member
        for member in inputs.staff
    ]
    return AvailabilityInputs(inputs.settings, inputs.services, staff, inputs.resources, inputs.business)


class AbstractHoldStore(abc.ABC):
    @abc.abstractmethod
    async def lock(self, tenant_id: uuid.UUID, hold_id: uuid.UUID) -> None:
        """Changes of one hold run one after the other (also its first placing, when no row exists yet)."""

    @abc.abstractmethod
    async def get(self, tenant_id: uuid.UUID, hold_id: uuid.UUID) -> HeldTime | None: ...

    @abc.abstractmethod
    async def take(self, hold: SlotHold, block: StaffBlock, timezone: str) -> None:
        """Take the block's staff time for the hold; Conflict SLOT_TAKEN when anything holds or books it."""

    @abc.abstractmethod
    async def release(self, tenant_id: uuid.UUID, hold_id: uuid.UUID, *, client_id: uuid.UUID | None = None) -> bool:
        """Give the hold's time back (only a hold of ``client_id``, when given); False when there is none."""


class HoldStore(AbstractHoldStore):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock(self, tenant_id: uuid.UUID, hold_id: uuid.UUID) -> None:
        await lock_for_transaction(self._session, "slot_hold", tenant_id, hold_id)

    async def get(self, tenant_id: uuid.UUID, hold_id: uuid.UUID) -> HeldTime | None:
        row = (
            await self._session.execute(
                select(slot_holds, time_blocks.c.occupied)
                .join(
                    time_blocks,
                    (time_blocks.c.tenant_id == h.tenant_id) & (time_blocks.c.id == h.time_block_id),
                )
                .where(h.tenant_id == tenant_id, h.id == hold_id)
            )
        ).first()
        if row is None:
            return None
        return HeldTime(hold_from_row(row), row.occupied.lower, row.occupied.upper)

    async def take(self, hold: SlotHold, block: StaffBlock, timezone: str) -> None:
        block_id = new_id()
        take = (
            insert(time_blocks)
            .from_select(
                [
                    "tenant_id",
                    "id",
                    "staff_id",
                    "staff_key",
                    "service_id",
                    "session_start",
                    "occupied",
                    "capacity",
                    "seats_taken",
                    "released",
                ],
                select(
                    literal(hold.tenant_id, PG_UUID(as_uuid=True)),
                    literal(block_id, PG_UUID(as_uuid=True)),
                    staff_members.c.staff_id,
                    staff_members.c.staff_key,
                    literal(block.service_id, PG_UUID(as_uuid=True)),
                    literal(block.session_start, DateTime(timezone=True)),
                    literal(Range(block.start, block.end, bounds="[)"), TSTZRANGE),
                    # Taken whole: nobody joins a held group session either.
                    literal(block.capacity),
                    literal(block.capacity),
                    false(),
                ).where(staff_members.c.tenant_id == hold.tenant_id, staff_members.c.staff_id == block.staff_id),
            )
            .returning(time_blocks.c.id)
        )
        try:
            taken = await self._session.scalar(take)
        except IntegrityError as exc:
            if constraint_of(exc) != "time_blocks_no_overlap":
                raise
            raise slot_taken(block, timezone) from exc
        if taken is None:
            raise NotFound(f"staff member {block.staff_id} has no schedule")
        await self._session.execute(
            insert(slot_holds).values(
                tenant_id=hold.tenant_id,
                id=hold.id,
                client_id=hold.client_id,
                service_id=hold.service_id,
                staff_id=hold.staff_id,
                starts_at=hold.start,
                ends_at=hold.end,
                label=hold.label,
                time_block_id=block_id,
                created_at=hold.created_at,
            )
        )

    async def release(self, tenant_id: uuid.UUID, hold_id: uuid.UUID, *, client_id: uuid.UUID | None = None) -> bool:
        statement = delete(slot_holds).where(h.tenant_id == tenant_id, h.id == hold_id)
        if client_id is not None:
            statement = statement.where(h.client_id == client_id)
        block_id = await self._session.scalar(statement.returning(h.time_block_id))
        if block_id is None:
            return False
        await self._session.execute(
            update(time_blocks)
            .where(time_blocks.c.tenant_id == tenant_id, time_blocks.c.id == block_id)
            .values(released=True, seats_taken=0)
        )
        return True
