"""The client import's unit of work: the import store, the column extensions and the settings of a run, on one
pooled asyncpg connection while entered.

An import writes thousands of clients with COPY, so it works on asyncpg rather than the ORM session of the
client's unit of work. Entering the unit holds a connection; ``transaction()`` opens a transaction on it (a
savepoint inside another), so a use case decides what commits together: a batch, its rejected rows, a whole
all-or-nothing file. A unit may be entered again after it was left (a fresh connection each time).
"""

from __future__ import annotations

import abc
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from client_svc.adapters.contact_checks import AbstractContactChecks, InlineContactChecks
from client_svc.adapters.import_store import (
    AbstractColumnExtension,
    AbstractImportStore,
    AsyncpgImportStore,
    WriteRefused,
    raw_connection,
)
from client_svc.domain.statuses import StatusCatalogue
from client_svc.service_layer.unit_of_work import ClientUnitOfWork


@dataclass(frozen=True)
class ImportSettings:
    max_file_bytes: int = 50 * 1024 * 1024
    batch_rows: int = 1000
    tmp_dir: str | None = None
    lease_seconds: float = 60.0
    progress_seconds: float = 2.0
    max_attempts: int = 3
    retention_days: int = 30


class ImportUnitOfWork(abc.ABC):
    """What an import use case reaches: the store and the column extensions (while entered), the settings, and
    the checks of a batch's emails and phones ahead of reading it (on other cores)."""

    imports: AbstractImportStore
    extensions: Sequence[AbstractColumnExtension]
    settings: ImportSettings
    contact_checks: AbstractContactChecks

    async def __aenter__(self) -> Self:
        await self._start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._close()

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractAsyncContextManager[None]:
        """A transaction on the unit's connection (a savepoint inside another): it commits when the block ends,
        rolls back when it raises. A write the database refuses in it surfaces as ``WriteRefused``."""

    @abc.abstractmethod
    def independent(self) -> ImportUnitOfWork:
        """Another unit with the same ports on a connection of its own, for what commits beside this unit's
        transaction: the lease's heartbeat, the rejected rows of an all-or-nothing import, the file's chunks."""

    @abc.abstractmethod
    async def status_catalogue(self, tenant_id: uuid.UUID) -> StatusCatalogue:
        """The tenant's client statuses (the ready-made set on first use)."""

    @abc.abstractmethod
    def now(self) -> datetime:
        """The time a batch is written at: a run lasts, and each batch is stamped as it is written."""

    @abc.abstractmethod
    def queued(self) -> None:
        """A job was queued for the workers: they look now rather than at their next poll."""

    @abc.abstractmethod
    async def _start(self) -> None: ...

    @abc.abstractmethod
    async def _close(self) -> None: ...


# A column extension, made for the unit's connection when it is entered.
ExtensionKind = Callable[[asyncpg.Connection], AbstractColumnExtension]


class AsyncpgImportUnitOfWork(ImportUnitOfWork):
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        nats_prefix: str,
        settings: ImportSettings,
        client_uow: Callable[[], ClientUnitOfWork],
        extensions: Sequence[ExtensionKind] = (),
        on_queued: Callable[[], None] = lambda: None,
        contact_checks: AbstractContactChecks | None = None,
    ) -> None:
        self._engine = engine
        self.contact_checks = contact_checks or InlineContactChecks()
        self._nats_prefix = nats_prefix
        self.settings = settings
        self._client_uow = client_uow
        self._extension_kinds = tuple(extensions)
        self._on_queued = on_queued
        self._held: contextlib.AsyncExitStack | None = None

    async def _start(self) -> None:
        assert self._held is None, "a unit of work is entered once at a time"
        held = contextlib.AsyncExitStack()
        conn = await held.enter_async_context(raw_connection(self._engine))
        self._held, self._conn = held, conn
        self.imports = AsyncpgImportStore(conn, nats_prefix=self._nats_prefix)
        self.extensions = [kind(conn) for kind in self._extension_kinds]

    async def _close(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            await held.aclose()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        try:
            async with self._conn.transaction():
                yield
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise WriteRefused(getattr(exc, "constraint_name", None), type(exc).__name__) from exc

    def transaction(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self._transaction()

    def independent(self) -> AsyncpgImportUnitOfWork:
        return AsyncpgImportUnitOfWork(
            self._engine,
            nats_prefix=self._nats_prefix,
            settings=self.settings,
            client_uow=self._client_uow,
            extensions=self._extension_kinds,
            on_queued=self._on_queued,
            contact_checks=self.contact_checks,
        )

    async def status_catalogue(self, tenant_id: uuid.UUID) -> StatusCatalogue:
        uow = self._client_uow()
        async with uow:
            catalogue = await uow.statuses.catalogue(tenant_id)
            await uow.commit()  # keeps the ready-made set if this was the first use
        return catalogue

    def now(self) -> datetime:
        return datetime.now(UTC)

    def queued(self) -> None:
        self._on_queued()
