"""Recurring series in PostgreSQL: the series row, its segments and its exceptions.

A series is locked (SELECT ... FOR UPDATE) whenever it is loaded to be changed, so edits and the extender of the
rolling horizon take turns; the extender claims due series with SKIP LOCKED, so replicas share the work.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from platform_core.db import lock_for_transaction
from platform_core.errors import Conflict, NotFound
from scheduling_svc.adapters.tables import appointments, recurring_series, series_exceptions, series_segments
from scheduling_svc.domain.appointments import Status
from scheduling_svc.domain.recurrence import parse_rule
from scheduling_svc.domain.series import (
    ExceptionKind,
    OccurrenceException,
    RecurringSeries,
    SeriesSegment,
    SeriesStatus,
)


def series_from_rows(row: Any, segment_rows: Sequence[Any], exception_rows: Sequence[Any]) -> RecurringSeries:
    return RecurringSeries(
        tenant_id=row.tenant_id,
        id=row.id,
        client_id=row.client_id,
        recurrence=parse_rule(row.rrule, row.dtstart_local, row.timezone, stored=True),
        segments=tuple(
            SeriesSegment(s.position, s.service_id, s.staff_id) for s in sorted(segment_rows, key=lambda s: s.position)
        ),
        seats=row.seats,
        notes=row.notes,
        availability_overridden=row.availability_overridden,
        status=SeriesStatus(row.status),
        materialized_until=row.materialized_until,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        parent_id=row.parent_id,
        successor_id=row.successor_id,
        request_id=row.request_id,
        version=row.version,
        exceptions={
            e.occurrence_start: OccurrenceException(
                e.occurrence_start, ExceptionKind(e.kind), e.moved_to, e.reason, e.actor, e.at
            )
            for e in exception_rows
        },
    )


async def load_series(
    conn: AsyncSession | AsyncConnection, tenant_id: uuid.UUID, rows: Sequence[Any]
) -> list[RecurringSeries]:
    """Series from their rows, with segments and exceptions (two queries whatever the number)."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    segments = (
        await conn.execute(
            select(series_segments).where(
                series_segments.c.tenant_id == tenant_id, series_segments.c.series_id.in_(ids)
            )
        )
    ).all()
    exceptions = (
        await conn.execute(
            select(series_exceptions).where(
                series_exceptions.c.tenant_id == tenant_id, series_exceptions.c.series_id.in_(ids)
            )
        )
    ).all()
    return [
        series_from_rows(
            r, [s for s in segments if s.series_id == r.id], [e for e in exceptions if e.series_id == r.id]
        )
        for r in rows
    ]


class AbstractSeriesRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: set[RecurringSeries] = set()

    def add(self, series: RecurringSeries) -> None:
        self.seen.add(series)

    async def get(self, tenant_id: uuid.UUID, series_id: uuid.UUID) -> RecurringSeries:
        """The series, locked for the rest of the unit of work."""
        series = await self._get(tenant_id, series_id)
        if series is None:
            raise NotFound("recurring series not found")
        self.seen.add(series)
        return series

    async def claim_due(
        self, due_before: datetime, *, tenant_id: uuid.UUID | None = None, passed: Collection[uuid.UUID] = ()
    ) -> RecurringSeries | None:
        """The active series most in need of extending (materialized less far than ``due_before``) that no one
        else is working on, locked; None when there is none."""
        series = await self._claim_due(due_before, tenant_id, passed)
        if series is not None:
            self.seen.add(series)
        return series

    @abc.abstractmethod
    async def _get(self, tenant_id: uuid.UUID, series_id: uuid.UUID) -> RecurringSeries | None: ...

    @abc.abstractmethod
    async def _claim_due(
        self, due_before: datetime, tenant_id: uuid.UUID | None, passed: Collection[uuid.UUID]
    ) -> RecurringSeries | None: ...

    @abc.abstractmethod
    async def get_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> RecurringSeries | None: ...

    @abc.abstractmethod
    async def lock_request_id(self, tenant_id: uuid.UUID, request_id: str) -> None:
        """Until the transaction ends, other creations with this request id wait."""

    @abc.abstractmethod
    async def materialized_occurrences(
        self, tenant_id: uuid.UUID, series_id: uuid.UUID, start: datetime, end: datetime
    ) -> set[datetime]:
        """Occurrence starts in [start, end) that already have an appointment (in any status)."""

    @abc.abstractmethod
    async def appointment_of(
        self, tenant_id: uuid.UUID, series_id: uuid.UUID, occurrence: datetime
    ) -> uuid.UUID | None:
        """The appointment booked for an occurrence, if any."""

    @abc.abstractmethod
    async def booked_from(self, tenant_id: uuid.UUID, series_id: uuid.UUID, occurrence: datetime) -> list[uuid.UUID]:
        """Booked appointments of the occurrences from ``occurrence`` on, by occurrence."""

    @abc.abstractmethod
    async def save(self, series: RecurringSeries) -> None: ...


class SqlAlchemySeriesRepository(AbstractSeriesRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self.session = session

    async def _one(self, query: Any) -> RecurringSeries | None:
        row = (await self.session.execute(query)).one_or_none()
        if row is None:
            return None
        return (await load_series(self.session, row.tenant_id, [row]))[0]

    async def _get(self, tenant_id: uuid.UUID, series_id: uuid.UUID) -> RecurringSeries | None:
        return await self._one(
            select(recurring_series)
            .where(recurring_series.c.tenant_id == tenant_id, recurring_series.c.id == series_id)
            .with_for_update()
        )

    async def _claim_due(
        self, due_before: datetime, tenant_id: uuid.UUID | None, passed: Collection[uuid.UUID]
    ) -> RecurringSeries | None:
        query = select(recurring_series).where(
            recurring_series.c.status == SeriesStatus.ACTIVE.value,
            recurring_series.c.materialized_until < due_before,
        )
        if tenant_id is not None:
            query = query.where(recurring_series.c.tenant_id == tenant_id)
        if passed:
            query = query.where(recurring_series.c.id.not_in(list(passed)))
        return await self._one(
            query.order_by(recurring_series.c.materialized_until).limit(1).with_for_update(skip_locked=True)
        )

    async def get_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> RecurringSeries | None:
        return await self._one(
            select(recurring_series).where(
                recurring_series.c.tenant_id == tenant_id, recurring_series.c.request_id == request_id
            )
        )

    async def lock_request_id(self, tenant_id: uuid.UUID, request_id: str) -> None:
        await lock_for_transaction(self.session, "series", tenant_id, request_id)

    async def materialized_occurrences(
        self, tenant_id: uuid.UUID, series_id: uuid.UUID, start: datetime, end: datetime
    ) -> set[datetime]:
        found = await self.session.scalars(
            select(appointments.c.occurrence_start).where(
                appointments.c.tenant_id == tenant_id,
                appointments.c.series_id == series_id,
                appointments.c.occurrence_start >= start,
                appointments.c.occurrence_start < end,
            )
        )
        return set(found.all())

    async def appointment_of(
        self, tenant_id: uuid.UUID, series_id: uuid.UUID, occurrence: datetime
    ) -> uuid.UUID | None:
        found: uuid.UUID | None = await self.session.scalar(
            select(appointments.c.id).where(
                appointments.c.tenant_id == tenant_id,
                appointments.c.series_id == series_id,
                appointments.c.occurrence_start == occurrence,
            )
        )
        return found

    async def booked_from(self, tenant_id: uuid.UUID, series_id: uuid.UUID, occurrence: datetime) -> list[uuid.UUID]:
        found = await self.session.scalars(
            select(appointments.c.id)
            .where(
                appointments.c.tenant_id == tenant_id,
                appointments.c.series_id == series_id,
                appointments.c.occurrence_start >= occurrence,
                appointments.c.status == Status.BOOKED.value,
            )
            .order_by(appointments.c.occurrence_start)
        )
        return list(found.all())

    @staticmethod
    def _row(s: RecurringSeries) -> dict[str, Any]:
        return {
            "tenant_id": s.tenant_id,
            "id": s.id,
            "client_id": s.client_id,
            "status": s.status.value,
            "rrule": s.recurrence.rule,
            "dtstart_local": s.recurrence.dtstart,
            "timezone": s.timezone,
            "seats": s.seats,
            "notes": s.notes,
            "availability_overridden": s.availability_overridden,
            "materialized_until": s.materialized_until,
            "parent_id": s.parent_id,
            "successor_id": s.successor_id,
            "request_id": s.request_id,
            "created_by": s.created_by,
            "version": s.version,
            "created_at": s.created_at,
            "updated_at": s.updated_at,
        }

    async def save(self, series: RecurringSeries) -> None:
        if series.is_new:
            await self.session.execute(insert(recurring_series).values(**self._row(series)))
            await self.session.execute(
                insert(series_segments),
                [
                    {
                        "tenant_id": series.tenant_id,
                        "series_id": series.id,
                        "position": s.position,
                        "service_id": s.service_id,
                        "staff_id": s.staff_id,
                    }
                    for s in series.segments
                ],
            )
            series.is_new = False
        elif series.dirty:
            row = self._row(series)
            row["version"] = series.version + 1
            result = await self.session.execute(
                update(recurring_series)
                .where(
                    recurring_series.c.tenant_id == series.tenant_id,
                    recurring_series.c.id == series.id,
                    recurring_series.c.version == series.version,
                )
                .values(**row)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict("the series was changed by someone else at the same time", reason="CONCURRENT_CHANGE")
            series.version += 1
        series.dirty = False
        await self._save_exceptions(series)

    async def _save_exceptions(self, series: RecurringSeries) -> None:
        for occurrence in sorted(series.changed_exceptions):
            found = series.exceptions.get(occurrence)
            key = (
                series_exceptions.c.tenant_id == series.tenant_id,
                series_exceptions.c.series_id == series.id,
                series_exceptions.c.occurrence_start == occurrence,
            )
            if found is None:
                await self.session.execute(delete(series_exceptions).where(*key))
                continue
            values = {
                "kind": found.kind.value,
                "moved_to": found.moved_to,
                "reason": found.reason,
                "actor": found.actor,
                "at": found.at,
            }
            await self.session.execute(
                pg_insert(series_exceptions)
                .values(tenant_id=series.tenant_id, series_id=series.id, occurrence_start=occurrence, **values)
                .on_conflict_do_update(index_elements=["tenant_id", "series_id", "occurrence_start"], set_=values)
            )
        series.changed_exceptions.clear()
