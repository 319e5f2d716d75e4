"""The portal-requests unit of work: requests, waitlist entries, public booking page requests and their history
are written at commit, with their events; the other services this one asks (the client service, scheduling's
catalogue, appointments, holds and free slots) and the request limits are reached through it too."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from platform_core.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork
from portal_requests_svc.adapters import event_mapping
from portal_requests_svc.adapters.catalogue import AbstractCatalogue
from portal_requests_svc.adapters.client_directory import AbstractClientDirectory
from portal_requests_svc.adapters.public_request_repository import (
    AbstractPublicRequestRepository,
    SqlAlchemyPublicRequestRepository,
)
from portal_requests_svc.adapters.repository import AbstractRequestRepository, SqlAlchemyRequestRepository
from portal_requests_svc.adapters.scheduler import AbstractScheduler
from portal_requests_svc.adapters.slot_finder import AbstractSlotFinder
from portal_requests_svc.adapters.visitor_clients import AbstractVisitorClients
from portal_requests_svc.adapters.waitlist_repository import (
    AbstractWaitlistRepository,
    SqlAlchemyWaitlistRepository,
)
from portal_requests_svc.domain.requests import RequestLimits


@dataclass(frozen=True)
class PortalRequestsPorts:
    """What the use cases ask outside this service's database, wired once by bootstrap."""

    client_directory: AbstractClientDirectory
    catalogue: AbstractCatalogue
    scheduler: AbstractScheduler
    slot_finder: AbstractSlotFinder
    visitor_clients: AbstractVisitorClients
    limits: RequestLimits


class PortalRequestsUnitOfWork(AbstractUnitOfWork):
    requests: AbstractRequestRepository
    waitlist: AbstractWaitlistRepository
    public_requests: AbstractPublicRequestRepository
    client_directory: AbstractClientDirectory
    catalogue: AbstractCatalogue
    scheduler: AbstractScheduler
    slot_finder: AbstractSlotFinder
    visitor_clients: AbstractVisitorClients
    limits: RequestLimits

    def _expose(self, ports: PortalRequestsPorts) -> None:
        self.client_directory = ports.client_directory
        self.catalogue = ports.catalogue
        self.scheduler = ports.scheduler
        self.slot_finder = ports.slot_finder
        self.visitor_clients = ports.visitor_clients
        self.limits = ports.limits

    async def commit(self) -> None:
        for request in list(self.requests.seen):
            await self.requests.save(request)
        # Offers that ran out are closed before the time passes on to someone else (one open offer per time).
        for entry in sorted(self.waitlist.seen, key=lambda e: any(o.is_new for o in e.offers)):
            await self.waitlist.save(entry)
        for verification in list(self.public_requests.seen):
            await self.public_requests.save(verification)
        await super().commit()


class SqlAlchemyPortalRequestsUnitOfWork(SqlAlchemyUnitOfWork, PortalRequestsUnitOfWork):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | None,
        *,
        nats_prefix: str,
        ports: PortalRequestsPorts,
        borrowed: AsyncSession | None = None,
    ) -> None:
        super().__init__(sessions, nats_prefix=nats_prefix, to_envelope=event_mapping.to_envelope, borrowed=borrowed)
        self._expose(ports)

    def _attach(self, session: AsyncSession) -> None:
        self.requests = SqlAlchemyRequestRepository(session)
        self.waitlist = SqlAlchemyWaitlistRepository(session)
        self.public_requests = SqlAlchemyPublicRequestRepository(session)
        self.repositories = (self.requests, self.waitlist, self.public_requests)
