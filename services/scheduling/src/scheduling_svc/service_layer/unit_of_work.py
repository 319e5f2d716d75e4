"""The scheduling service's unit of work: appointments are written when it commits, with their events. It also
carries what the use cases ask outside the database (the client directory), so a handler reaches everything
through it."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from platform_core.errors import Conflict
from platform_core.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork
from scheduling_svc.adapters import event_mapping
from scheduling_svc.adapters.catalogue_cache import CatalogueCache
from scheduling_svc.adapters.catalogue_store import AbstractCatalogueStore, CatalogueStore
from scheduling_svc.adapters.client_directory import AbstractClientDirectory
from scheduling_svc.adapters.feed_store import AbstractFeedStore, FeedStore
from scheduling_svc.adapters.hold_store import AbstractHoldStore, HoldStore
from scheduling_svc.adapters.report_figures import AbstractReportFigures, SqlAlchemyReportFigures
from scheduling_svc.adapters.repository import (
    AbstractAppointmentRepository,
    SqlAlchemyAppointmentRepository,
    constraint_of,
)
from scheduling_svc.adapters.series_repository import AbstractSeriesRepository, SqlAlchemySeriesRepository

DUPLICATE_REQUEST = "DUPLICATE_REQUEST"


class SchedulingUnitOfWork(AbstractUnitOfWork):
    appointments: AbstractAppointmentRepository
    series: AbstractSeriesRepository
    catalogue: AbstractCatalogueStore
    feeds: AbstractFeedStore
    holds: AbstractHoldStore
    report_figures: AbstractReportFigures
    client_directory: AbstractClientDirectory

    async def commit(self) -> None:
        # Rows first (where the constraints speak), then the events of what was written. Series before their
        # occurrences (which refer to them); changed appointments before new ones, so time that a change frees
        # (a cancelled or moved occurrence) is free before a new booking takes it.
        for series in list(self.series.seen):
            await self.series.save(series)
        for appointment in sorted(self.appointments.seen, key=lambda a: (a.is_new, a.starts_at)):
            await self.appointments.save(appointment)
        await super().commit()


class SqlAlchemySchedulingUnitOfWork(SqlAlchemyUnitOfWork, SchedulingUnitOfWork):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | None,
        *,
        nats_prefix: str,
        client_directory: AbstractClientDirectory,
        borrowed: AsyncSession | None = None,
        catalogue_cache: CatalogueCache | None = None,
    ) -> None:
        super().__init__(sessions, nats_prefix=nats_prefix, to_envelope=event_mapping.to_envelope, borrowed=borrowed)
        self._catalogue_cache = catalogue_cache
        self.client_directory = client_directory

    def _attach(self, session: AsyncSession) -> None:
        self.appointments = SqlAlchemyAppointmentRepository(session)
        self.series = SqlAlchemySeriesRepository(session)
        self.catalogue = CatalogueStore(session, self._catalogue_cache)
        self.feeds = FeedStore(session)
        self.holds = HoldStore(session)
        self.report_figures = SqlAlchemyReportFigures(session)
        self.repositories = (self.appointments, self.series)

    async def commit(self) -> None:
        try:
            await super().commit()
        except IntegrityError as exc:
            if constraint_of(exc) == "appointments_request_id":
                raise Conflict(
                    "an appointment was already booked with this request id", reason=DUPLICATE_REQUEST
                ) from exc
            if constraint_of(exc) == "recurring_series_request_id":
                raise Conflict("a series was already created with this request id", reason=DUPLICATE_REQUEST) from exc
            if constraint_of(exc) == "appointments_occurrence":
                raise Conflict(
                    "this occurrence of the series was booked at the same time", reason="OCCURRENCE_TAKEN"
                ) from exc
            raise
