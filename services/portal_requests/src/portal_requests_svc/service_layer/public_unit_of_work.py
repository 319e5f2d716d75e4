"""The unit of work of public booking page requests: verifications and the event that emails their code."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from platform_core.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork
from portal_requests_svc.adapters import public_request_repository
from portal_requests_svc.adapters.public_request_repository import (
    AbstractPublicRequestRepository,
    SqlAlchemyPublicRequestRepository,
)


class PublicRequestsUnitOfWork(AbstractUnitOfWork):
    public_requests: AbstractPublicRequestRepository

    async def commit(self) -> None:
        for verification in list(self.public_requests.seen):
            await self.public_requests.save(verification)
        await super().commit()


class SqlAlchemyPublicRequestsUnitOfWork(SqlAlchemyUnitOfWork, PublicRequestsUnitOfWork):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, nats_prefix: str) -> None:
        super().__init__(sessions, nats_prefix=nats_prefix, to_envelope=public_request_repository.to_envelope)

    def _attach(self, session: AsyncSession) -> None:
        self.public_requests = SqlAlchemyPublicRequestRepository(session)
        self.repositories = (self.public_requests,)
