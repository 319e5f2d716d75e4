"""Unit of work: one transaction per use case; domain events leave through the outbox in that transaction.

Service unit-of-work classes subclass these and attach their repositories in ``_start``. Each repository
remembers the aggregates it handed out (``seen``); on commit their new events are mapped to envelopes
and written to the outbox after the unit's own rows, just before the transaction commits, so state and events
change together or not at all.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from atrium.common.v1 import events_pb2
from platform_core.messaging.outbox import add_to_outbox, send_committed


class Aggregate(Protocol):
    events: list[Any]


class TrackingRepository(Protocol):
    seen: set[Any]


class AbstractUnitOfWork(abc.ABC):
    repositories: tuple[TrackingRepository, ...] = ()

    async def __aenter__(self) -> Self:
        await self._start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Uncommitted work is rolled back; objects already read stay usable after the block.
        await self._close()

    def collect_new_events(self) -> Iterator[Any]:
        for repository in self.repositories:
            for aggregate in repository.seen:
                while aggregate.events:
                    yield aggregate.events.pop(0)

    async def commit(self) -> None:
        await self._commit(list(self.collect_new_events()))

    @abc.abstractmethod
    async def _start(self) -> None: ...

    @abc.abstractmethod
    async def _commit(self, events: list[Any]) -> None: ...

    @abc.abstractmethod
    async def rollback(self) -> None: ...

    @abc.abstractmethod
    async def _close(self) -> None:
        """End the unit, rolling back whatever was not committed."""


EventMapper = Callable[[Any], events_pb2.EventEnvelope]


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """Owns a session per use, or borrows one (``within``) whose transaction someone else commits.

    Consumers borrow: the inbox claim, the handler's writes and any events it raises then commit
    together in the consumer's transaction.
    """

    session: AsyncSession

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | None,
        *,
        nats_prefix: str,
        to_envelope: EventMapper,
        borrowed: AsyncSession | None = None,
    ) -> None:
        self._sessions = sessions
        self._nats_prefix = nats_prefix
        self._to_envelope = to_envelope
        self._borrowed = borrowed

    async def _start(self) -> None:
        if self._borrowed is not None:
            self.session = self._borrowed
        else:
            assert self._sessions is not None
            self.session = self._sessions()
        self._attach(self.session)

    @abc.abstractmethod
    def _attach(self, session: AsyncSession) -> None:
        """Create this unit's repositories on ``session`` and list them in ``self.repositories``."""

    async def _commit(self, events: list[Any]) -> None:
        envelopes = [self._to_envelope(e) for e in events]
        # The unit's own rows first, then its events: an event is written just before the commit, with only the
        # last writes (a shared counter's one statement) between, so it waits for nothing the unit does once it
        # exists (its created_at, when it was written, is where its latency is counted from).
        await self.session.flush()
        await add_to_outbox(self.session, self._nats_prefix, envelopes)
        await self._last_writes()
        if self._borrowed is None:
            await self.session.commit()
            await send_committed(self.session)

    async def _last_writes(self) -> None:
        """Writes that lock a row many transactions share (a per-tenant counter): run after everything else
        is flushed, so the lock is held for that write and the commit only, not for the whole unit."""

    async def rollback(self) -> None:
        if self._borrowed is None:
            await self.session.rollback()

    async def _close(self) -> None:
        # close() rolls back an open transaction without expiring loaded objects.
        if self._borrowed is None:
            await self.session.close()
