"""Appointments in PostgreSQL: the aggregate's rows, and the staff time and resource units it takes.

Taking time is where double booking is refused: each StaffBlock becomes a time_blocks row (or joins a
group session's row), and the exclusion constraints turn a collision into a Conflict naming the slot.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Integer, and_, bindparam, delete, false, func, insert, select, update
from sqlalchemy.dialects.postgresql import TSTZRANGE, Range
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from platform_core.errors import Conflict, NotFound
from platform_core.ids import new_id
from scheduling_svc.adapters.tables import (
    appointment_history,
    appointment_segments,
    appointments,
    resource_blocks,
    resources,
    staff_members,
    time_blocks,
)
from scheduling_svc.domain.appointments import Appointment, Segment, StaffBlock, Status, staff_blocks

SLOT_TAKEN = "SLOT_TAKEN"

# Built once (a booking runs them every time; building them per call was a sixth of a booking's samples).
_INSERT_APPOINTMENT = insert(appointments)
# One statement, with the staff key looked up in it: a booking is a few round trips, and the losing side of a
# race learns it at the first of them.
_TAKE_BLOCK = (
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
            bindparam("tenant_id", type_=PG_UUID(as_uuid=True)),
            bindparam("block_id", type_=PG_UUID(as_uuid=True)),
            staff_members.c.staff_id,
            staff_members.c.staff_key,
            bindparam("service_id", type_=PG_UUID(as_uuid=True)),
            bindparam("session_start", type_=DateTime(timezone=True)),
            bindparam("occupied", type_=TSTZRANGE),
            bindparam("capacity", type_=Integer),
            bindparam("seats", type_=Integer),
            false(),
        ).where(
            staff_members.c.tenant_id == bindparam("tenant_id", type_=PG_UUID(as_uuid=True)),
            staff_members.c.staff_id == bindparam("staff_id", type_=PG_UUID(as_uuid=True)),
        ),
    )
    .returning(time_blocks.c.id)
)


def constraint_of(exc: IntegrityError) -> str:
    cause = getattr(exc.orig, "__cause__", None)
    return str(getattr(cause, "constraint_name", "") or "")


def deadlocked(exc: DBAPIError) -> bool:
    """PostgreSQL stopped the statement to break a deadlock (SQLSTATE 40P01)."""
    return getattr(getattr(exc.orig, "__cause__", None), "sqlstate", None) == "40P01"


def slot_taken(block: StaffBlock, timezone: str) -> Conflict:
    from zoneinfo import ZoneInfo

    local = block.session_start.astimezone(ZoneInfo(timezone))
    return Conflict(
        f"the slot at {local.isoformat(timespec='minutes')} is no longer free for staff member {block.staff_id}",
        reason=SLOT_TAKEN,
    )


class AbstractAppointmentRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: set[Appointment] = set()

    def add(self, appointment: Appointment) -> None:
        self.seen.add(appointment)

    async def get(self, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> Appointment:
        appointment = await self._get(tenant_id, appointment_id)
        if appointment is None:
            raise NotFound("appointment not found")
        self.seen.add(appointment)
        return appointment

    @abc.abstractmethod
    async def _get(self, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> Appointment | None: ...

    @abc.abstractmethod
    async def get_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> Appointment | None: ...

    @abc.abstractmethod
    async def count_active_for_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID, now: datetime) -> int: ...

    @abc.abstractmethod
    async def save(self, appointment: Appointment) -> None:
        """Write the aggregate's changes (called for every seen aggregate before commit)."""


def _segment_from_row(row: Any) -> Segment:
    return Segment(
        position=row.position,
        service_id=row.service_id,
        service_name=row.service_name,
        staff_id=row.staff_id,
        start=row.starts_at,
        end=row.ends_at,
        seats=row.seats,
        price_minor=row.price_minor,
        currency=row.currency,
        buffer_before=timedelta(minutes=row.buffer_before_minutes),
        buffer_after=timedelta(minutes=row.buffer_after_minutes),
        capacity=row.capacity,
        resource_ids=tuple(row.resource_ids or ()),
    )


def appointment_from_rows(row: Any, segment_rows: Sequence[Any]) -> Appointment:
    return Appointment(
        tenant_id=row.tenant_id,
        id=row.id,
        client_id=row.client_id,
        status=Status(row.status),
        timezone=row.timezone,
        segments=tuple(_segment_from_row(s) for s in sorted(segment_rows, key=lambda s: s.position)),
        notes=row.notes,
        source=row.source,
        availability_overridden=row.availability_overridden,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        cancellation_reason=row.cancellation_reason,
        cancelled_by=row.cancelled_by,
        series_id=row.series_id,
        occurrence_start=row.occurrence_start,
        follow_up_of=row.follow_up_of,
        follow_up_action=row.follow_up_action,
        request_id=row.request_id,
        version=row.version,
        staff_notes=row.staff_notes,
        ticket=row.ticket,
    )


class SqlAlchemyAppointmentRepository(AbstractAppointmentRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self.session = session

    async def _get(self, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> Appointment | None:
        row = (
            await self.session.execute(
                select(appointments).where(appointments.c.tenant_id == tenant_id, appointments.c.id == appointment_id)
            )
        ).one_or_none()
        if row is None:
            return None
        segments = (
            await self.session.execute(
                select(appointment_segments).where(
                    appointment_segments.c.tenant_id == tenant_id,
                    appointment_segments.c.appointment_id == appointment_id,
                )
            )
        ).all()
        return appointment_from_rows(row, segments)

    async def get_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> Appointment | None:
        found = await self.session.scalar(
            select(appointments.c.id).where(
                appointments.c.tenant_id == tenant_id, appointments.c.request_id == request_id
            )
        )
        return None if found is None else await self.get(tenant_id, found)

    async def count_active_for_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID, now: datetime) -> int:
        count = await self.session.scalar(
            select(func.count()).where(
                appointments.c.tenant_id == tenant_id,
                appointments.c.client_id == client_id,
                appointments.c.status == Status.BOOKED.value,
                appointments.c.ends_at > now,
            )
        )
        return int(count or 0)

    async def save(self, appointment: Appointment) -> None:
        if appointment.is_new:
            # Staff time first: a collision is found before anything else is written.
            await self._take_time(appointment, then_insert=self._row(appointment))
            appointment.is_new = False
        elif appointment.new_history:
            row = self._row(appointment)
            row["version"] = appointment.version + 1
            result = await self.session.execute(
                update(appointments)
                .where(
                    appointments.c.tenant_id == appointment.tenant_id,
                    appointments.c.id == appointment.id,
                    appointments.c.version == appointment.version,
                )
                .values(**row)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict(
                    "the appointment was changed by someone else at the same time", reason="CONCURRENT_CHANGE"
                )
            appointment.version += 1
            if appointment.replaced_segments is not None:
                await self._free_time(appointment)
                if appointment.status == Status.BOOKED:
                    await self.session.execute(
                        delete(appointment_segments).where(
                            appointment_segments.c.tenant_id == appointment.tenant_id,
                            appointment_segments.c.appointment_id == appointment.id,
                        )
                    )
                    await self._take_time(appointment, then_insert=None)
                appointment.replaced_segments = None
        if appointment.new_history:
            await self.session.execute(
                insert(appointment_history),
                [
                    {
                        "tenant_id": appointment.tenant_id,
                        "appointment_id": appointment.id,
                        "at": h.at,
                        "actor": h.actor,
                        "action": h.action,
                        "changes": h.changes,
                    }
                    for h in appointment.new_history
                ],
            )
            appointment.new_history.clear()

    @staticmethod
    def _row(a: Appointment) -> dict[str, Any]:
        return {
            "tenant_id": a.tenant_id,
            "id": a.id,
            "client_id": a.client_id,
            "status": a.status.value,
            "starts_at": a.starts_at,
            "ends_at": a.ends_at,
            "timezone": a.timezone,
            "notes": a.notes,
            "source": a.source,
            "availability_overridden": a.availability_overridden,
            "cancellation_reason": a.cancellation_reason,
            "cancelled_by": a.cancelled_by,
            "series_id": a.series_id,
            "occurrence_start": a.occurrence_start,
            "follow_up_of": a.follow_up_of,
            "follow_up_action": a.follow_up_action,
            "request_id": a.request_id,
            "staff_notes": a.staff_notes,
            "ticket": a.ticket,
            "created_by": a.created_by,
            "version": a.version,
            "created_at": a.created_at,
            "updated_at": a.updated_at,
        }

    async def _take_time(self, appointment: Appointment, *, then_insert: dict[str, Any] | None) -> None:
        """Take the appointment's staff time, then insert ``then_insert`` (its row, when new) and its segments."""
        segment_rows = []
        taken = [(block, await self._take_block(appointment, block)) for block in staff_blocks(appointment.segments)]
        if then_insert is not None:
            await self.session.execute(_INSERT_APPOINTMENT, then_insert)
        for block, block_id in taken:
            for position in block.positions:
                s = appointment.segments[position]
                segment_rows.append(
                    {
                        "tenant_id": appointment.tenant_id,
                        "appointment_id": appointment.id,
                        "position": s.position,
                        "service_id": s.service_id,
                        "service_name": s.service_name,
                        "staff_id": s.staff_id,
                        "starts_at": s.start,
                        "ends_at": s.end,
                        "seats": s.seats,
                        "price_minor": s.price_minor,
                        "currency": s.currency,
                        "buffer_before_minutes": int(s.buffer_before.total_seconds() // 60),
                        "buffer_after_minutes": int(s.buffer_after.total_seconds() // 60),
                        "capacity": s.capacity,
                        "resource_ids": list(s.resource_ids),
                        "time_block_id": block_id,
                    }
                )
        await self.session.execute(insert(appointment_segments), segment_rows)

    async def _take_block(self, appointment: Appointment, block: StaffBlock) -> uuid.UUID:
        tenant_id = appointment.tenant_id
        if block.capacity > 1:
            joined = await self._join_session(tenant_id, block, appointment.timezone)
            if joined is not None:
                return joined if joined is None else uuid.UUID(str(joined))
        block_id = new_id()
        take = {
            "tenant_id": tenant_id,
            "block_id": block_id,
            "staff_id": block.staff_id,
            "service_id": block.service_id,
            "session_start": block.session_start,
            "occupied": Range(block.start, block.end, bounds="[)"),
            "capacity": block.capacity,
            "seats": block.seats,
        }
        try:
            if block.capacity > 1:
                # A savepoint, so that losing the race to open the session can still join it.
                async with self.session.begin_nested():
                    taken = await self.session.scalar(_TAKE_BLOCK, take)
            else:
                taken = await self.session.scalar(_TAKE_BLOCK, take)
        except IntegrityError as exc:
            if constraint_of(exc) != "time_blocks_no_overlap":
                raise
            # Someone opened the same group session a moment ago: join theirs instead.
            if block.capacity > 1:
                joined = await self._join_session(tenant_id, block, appointment.timezone)
                if joined is not None:
                    return joined if joined is None else uuid.UUID(str(joined))
            raise slot_taken(block, appointment.timezone) from exc
        except DBAPIError as exc:
            if not deadlocked(exc):
                raise
            # Bookings that insert overlapping time at the same instant each find the other's row and wait for
            # it; PostgreSQL lets one through and stops this one: it lost the race for the slot.
            raise slot_taken(block, appointment.timezone) from exc
        if taken is None:
            raise NotFound(f"staff member {block.staff_id} has no schedule")
        await self._take_resources(tenant_id, block_id, block, appointment.timezone)
        return block_id

    async def _join_session(self, tenant_id: uuid.UUID, block: StaffBlock, timezone: str) -> uuid.UUID | None:
        try:
            async with self.session.begin_nested():
                joined = await self.session.scalar(
                    update(time_blocks)
                    .where(
                        time_blocks.c.tenant_id == tenant_id,
                        time_blocks.c.staff_id == block.staff_id,
                        time_blocks.c.service_id == block.service_id,
                        time_blocks.c.session_start == block.session_start,
                        time_blocks.c.released.is_(False),
                    )
                    .values(seats_taken=time_blocks.c.seats_taken + block.seats)
                    .returning(time_blocks.c.id)
                )
        except IntegrityError as exc:
            if constraint_of(exc) != "time_blocks_seats_within_capacity":
                raise
            raise Conflict(
                f"the session at {block.session_start.isoformat()} has no {block.seats} seat(s) left",
                reason=SLOT_TAKEN,
            ) from exc
        return joined if joined is None else uuid.UUID(str(joined))

    async def _take_resources(self, tenant_id: uuid.UUID, block_id: uuid.UUID, block: StaffBlock, tz: str) -> None:
        if not block.resource_ids:
            return
        span = Range(block.start, block.end, bounds="[)")
        rows = (
            await self.session.execute(
                select(resources.c.id, resources.c.resource_key, resources.c.capacity).where(
                    resources.c.tenant_id == tenant_id, resources.c.id.in_(block.resource_ids)
                )
            )
        ).all()
        for resource in sorted(rows, key=lambda r: r.resource_key):
            used = set(
                (
                    await self.session.scalars(
                        select(resource_blocks.c.unit_key).where(
                            resource_blocks.c.resource_id == resource.id,
                            resource_blocks.c.released.is_(False),
                            resource_blocks.c.occupied.op("&&")(span),
                        )
                    )
                ).all()
            )
            free = [resource.resource_key * 1000 + u for u in range(resource.capacity)]
            for unit_key in (k for k in free if k not in used):
                try:
                    async with self.session.begin_nested():
                        await self.session.execute(
                            insert(resource_blocks).values(
                                tenant_id=tenant_id,
                                time_block_id=block_id,
                                resource_id=resource.id,
                                unit_key=unit_key,
                                occupied=span,
                                released=False,
                            )
                        )
                    break
                except IntegrityError as exc:
                    if constraint_of(exc) != "resource_blocks_no_overlap":
                        raise
            else:
                raise Conflict(
                    f"no {resource.id} is free at {block.session_start.isoformat()}", reason="RESOURCE_TAKEN"
                )

    async def _free_time(self, appointment: Appointment) -> None:
        """Give back the seats of the replaced segments; a block with no seats left frees its time."""
        old = appointment.replaced_segments or ()
        block_ids = (
            await self.session.scalars(
                select(appointment_segments.c.time_block_id).where(
                    appointment_segments.c.tenant_id == appointment.tenant_id,
                    appointment_segments.c.appointment_id == appointment.id,
                )
            )
        ).all()
        seats = old[0].seats if old else 1
        for block_id in dict.fromkeys(block_ids):
            freed = await self.session.execute(
                update(time_blocks)
                .where(time_blocks.c.tenant_id == appointment.tenant_id, time_blocks.c.id == block_id)
                .values(
                    seats_taken=time_blocks.c.seats_taken - seats,
                    released=(time_blocks.c.seats_taken - seats) == 0,
                )
                .returning(time_blocks.c.released)
            )
            if freed.scalar_one():
                await self.session.execute(
                    update(resource_blocks)
                    .where(
                        and_(
                            resource_blocks.c.tenant_id == appointment.tenant_id,
                            resource_blocks.c.time_block_id == block_id,
                        )
                    )
                    .values(released=True)
                )
