"""The scheduling service's unit of work: appointments are written when it commits, with their events."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from platform_core.errors import Conflict
from platform_core.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork
from scheduling_svc.adapters import event_mapping
from scheduling_svc.adapters.catalogue_store import CatalogueStore
from scheduling_svc.adapters.feed_store import FeedStore
from scheduling_svc.adapters.repository import (
    AbstractAppointmentRepository,
    SqlAlchemyAppointmentRepository,
    constraint_of,
)

DUPLICATE_REQUEST = "DUPLICATE_REQUEST"


class SchedulingUnitOfWork(AbstractUnitOfWork):
    appointments: AbstractAppointmentRepository
    catalogue: CatalogueStore
    feeds: FeedStore


class SqlAlchemySchedulingUnitOfWork(SqlAlchemyUnitOfWork, SchedulingUnitOfWork):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | None,
        *,
        nats_prefix: str,
        borrowed: AsyncSession | None = None,
    ) -> None:
        super().__init__(sessions, nats_prefix=nats_prefix, to_envelope=event_mapping.to_envelope, borrowed=borrowed)

    def _attach(self, session: AsyncSession) -> None:
        self.appointments = SqlAlchemyAppointmentRepository(session)
        self.catalogue = CatalogueStore(session)
        self.feeds = FeedStore(session)
        self.repositories = (self.appointments,)

    async def commit(self) -> None:
        try:
            # Rows first (where the constraints speak), then the events of what was written.
            for appointment in list(self.appointments.seen):
                await self.appointments.save(appointment)
            await super().commit()
        except IntegrityError as exc:
            if constraint_of(exc) == "appointments_request_id":
                raise Conflict(
                    "an appointment was already booked with this request id", reason=DUPLICATE_REQUEST
                ) from exc
            raise

    async def _commit(self, events: list[Any]) -> None:
        await super()._commit(events)
