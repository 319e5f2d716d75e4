"""The figures of the appointment report: one GROUP BY statement per breakdown over the appointments starting
in a range, whatever the number of appointments (and one per breakdown for the revenue of completed ones)."""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling_svc.adapters.tables import appointment_segments, appointments, services
from scheduling_svc.domain.appointments import Status
from scheduling_svc.domain.reports import OCCUPYING, Counts

_OCCUPYING = [s.value for s in OCCUPYING]


Revenue = dict[uuid.UUID, tuple[tuple[str, int], ...]]  # per service or staff member: (currency, amount minor)


@dataclass(frozen=True)
class ServiceTotals:
    service_id: uuid.UUID
    name: str
    counts: Counts
    booked: timedelta


@dataclass(frozen=True)
class StaffTotals:
    staff_id: uuid.UUID
    counts: Counts
    booked: timedelta


class AbstractReportFigures(abc.ABC):
    @abc.abstractmethod
    async def status_counts(self, tenant_id: uuid.UUID, start: datetime, end: datetime) -> Counts: ...

    @abc.abstractmethod
    async def service_totals(self, tenant_id: uuid.UUID, start: datetime, end: datetime) -> list[ServiceTotals]: ...

    @abc.abstractmethod
    async def staff_totals(
        self, tenant_id: uuid.UUID, start: datetime, end: datetime
    ) -> dict[uuid.UUID, StaffTotals]: ...

    @abc.abstractmethod
    async def completed_revenue(self, tenant_id: uuid.UUID, start: datetime, end: datetime, *, by: str) -> Revenue:
        """Per service (``by="service_id"``) or staff member (``"staff_id"``), the booking-time prices of its
        segments in completed appointments, summed per currency (sorted by code)."""


def _in_range(tenant_id: uuid.UUID, start: datetime, end: datetime) -> Any:
    return and_(
        appointments.c.tenant_id == tenant_id, appointments.c.starts_at >= start, appointments.c.starts_at < end
    )


def _segments_of_appointments() -> Any:
    return appointment_segments.join(
        appointments,
        and_(
            appointments.c.tenant_id == appointment_segments.c.tenant_id,
            appointments.c.id == appointment_segments.c.appointment_id,
        ),
    )


def _status_counts() -> list[Any]:
    """count(DISTINCT appointment) per status, as columns named after the statuses."""
    return [
        func.count(distinct(appointments.c.id)).filter(appointments.c.status == s.value).label(s.value) for s in Status
    ]


def _counts(row: Any) -> Counts:
    return Counts.of({s.value: int(getattr(row, s.value)) for s in Status})


def _seconds(value: Any) -> timedelta:
    return timedelta(seconds=float(value or 0))


class SqlAlchemyReportFigures(AbstractReportFigures):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def status_counts(self, tenant_id: uuid.UUID, start: datetime, end: datetime) -> Counts:
        rows = await self._session.execute(
            select(appointments.c.status, func.count())
            .where(_in_range(tenant_id, start, end))
            .group_by(appointments.c.status)
        )
        return Counts.of({status: int(count) for status, count in rows})

    async def service_totals(self, tenant_id: uuid.UUID, start: datetime, end: datetime) -> list[ServiceTotals]:
        duration = func.extract("epoch", appointment_segments.c.ends_at - appointment_segments.c.starts_at)
        query = (
            select(
                appointment_segments.c.service_id,
                func.coalesce(func.max(services.c.name), func.max(appointment_segments.c.service_name)).label("name"),
                *_status_counts(),
                func.sum(duration).filter(appointments.c.status.in_(_OCCUPYING)).label("booked_seconds"),
            )
            .select_from(
                _segments_of_appointments().outerjoin(
                    services,
                    and_(
                        services.c.tenant_id == appointment_segments.c.tenant_id,
                        services.c.id == appointment_segments.c.service_id,
                    ),
                )
            )
            .where(_in_range(tenant_id, start, end))
            .group_by(appointment_segments.c.service_id)
        )
        rows = (await self._session.execute(query)).all()
        return [ServiceTotals(r.service_id, r.name, _counts(r), _seconds(r.booked_seconds)) for r in rows]

    async def staff_totals(self, tenant_id: uuid.UUID, start: datetime, end: datetime) -> dict[uuid.UUID, StaffTotals]:
        seg = appointment_segments
        counts = (
            select(seg.c.staff_id, *_status_counts())
            .select_from(_segments_of_appointments())
            .where(_in_range(tenant_id, start, end))
            .group_by(seg.c.staff_id)
            .cte("counts")
        )
        # A group session is one stretch of the staff member's time however many attend: its attendees'
        # segments have the same start and end, and count once.
        stretches = (
            select(seg.c.staff_id, seg.c.starts_at, seg.c.ends_at)
            .distinct()
            .select_from(_segments_of_appointments())
            .where(_in_range(tenant_id, start, end), appointments.c.status.in_(_OCCUPYING))
            .cte("stretches")
        )
        booked = (
            select(
                stretches.c.staff_id,
                func.sum(func.extract("epoch", stretches.c.ends_at - stretches.c.starts_at)).label("seconds"),
            )
            .group_by(stretches.c.staff_id)
            .cte("booked")
        )
        query = select(counts, booked.c.seconds).select_from(
            counts.outerjoin(booked, booked.c.staff_id == counts.c.staff_id)
        )
        rows = (await self._session.execute(query)).all()
        return {r.staff_id: StaffTotals(r.staff_id, _counts(r), _seconds(r.seconds)) for r in rows}

    async def completed_revenue(self, tenant_id: uuid.UUID, start: datetime, end: datetime, *, by: str) -> Revenue:
        key = appointment_segments.c[by]
        query = (
            select(key.label("key"), appointment_segments.c.currency, func.sum(appointment_segments.c.price_minor))
            .select_from(_segments_of_appointments())
            .where(_in_range(tenant_id, start, end), appointments.c.status == Status.COMPLETED.value)
            .group_by(key, appointment_segments.c.currency)
            .order_by(key, appointment_segments.c.currency)
        )
        found: dict[uuid.UUID, list[tuple[str, int]]] = {}
        for owner, currency, amount in await self._session.execute(query):
            if amount:
                found.setdefault(owner, []).append((currency, int(amount)))
        return {owner: tuple(amounts) for owner, amounts in found.items()}
