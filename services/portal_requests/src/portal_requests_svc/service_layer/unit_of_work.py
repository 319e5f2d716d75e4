"""The portal-requests unit of work: requests, waitlist entries and their history are written at commit, with
their events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from platform_core.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork
from portal_requests_svc.adapters import event_mapping
from portal_requests_svc.adapters.repository import AbstractRequestRepository, SqlAlchemyRequestRepository
from portal_requests_svc.adapters.waitlist_repository import (
    AbstractWaitlistRepository,
    SqlAlchemyWaitlistRepository,
)


class PortalRequestsUnitOfWork(AbstractUnitOfWork):
    requests: AbstractRequestRepository
    waitlist: AbstractWaitlistRepository

    async def commit(self) -> None:
        for request in list(self.requests.seen):
            await self.requests.save(request)
        # Offers that ran out are closed before the time passes on to someone else (one open offer per time).
        for entry in sorted(self.waitlist.seen, key=lambda e: any(o.is_new for o in e.offers)):
            await self.waitlist.save(entry)
        await super().commit()


class SqlAlchemyPortalRequestsUnitOfWork(SqlAlchemyUnitOfWork, PortalRequestsUnitOfWork):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | None,
        *,
        nats_prefix: str,
        borrowed: AsyncSession | None = None,
    ) -> None:
        super().__init__(sessions, nats_prefix=nats_prefix, to_envelope=event_mapping.to_envelope, borrowed=borrowed)

    def _attach(self, session: AsyncSession) -> None:
        self.requests = SqlAlchemyRequestRepository(session)
        self.waitlist = SqlAlchemyWaitlistRepository(session)
        self.repositories = (self.requests, self.waitlist)
