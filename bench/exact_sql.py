"""The exact SQL a request of ours runs, replayed raw through asyncpg: the query's own cost, apart from the
pipeline's.

Our own read code (the function the servicer calls) runs once per input on an engine of the bench's own,
shaped as the service's read engine (SQLAlchemy on asyncpg, autocommit); a cursor hook (and, for statements
compiled once, asyncpg's own query methods) keeps each statement and its parameters as they go to asyncpg,
with the task that sent them. Replaying runs one request's
statements as it did: those of one task in order on one connection, the tasks side by side (a name search
asks both of its phases at once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from platform_core.db import create_engine

Statement = tuple[str, tuple[Any, ...]]
# asyncpg's query methods, called directly by code that skips SQLAlchemy's execution (SQLAlchemy's own cursor
# prepares statements instead, so nothing is recorded twice).
_DIRECT = ("fetch", "fetchrow", "fetchval", "execute")
# Transaction control, sent without parameters (a transaction's settings may ride along with its BEGIN).
_SIMPLE_QUERIES = ("BEGIN", "COMMIT", "ROLLBACK", "SET")
POOL_SIZE = 2  # a name search asks its two phases at once


@dataclass(frozen=True)
class RecordedRequest:
    """One request's statements, per task that sent them (in order)."""

    tasks: tuple[tuple[Statement, ...], ...]

    @property
    def statements(self) -> int:
        return sum(len(t) for t in self.tasks)


class StatementRecorder:
    def __init__(self, url: str) -> None:
        self._engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=0)
        self._recording: dict[int, list[Statement]] | None = None
        self._warm = False
        event.listen(self._engine.sync_engine, "before_cursor_execute", self._record)

    @property
    def read_engine(self) -> AsyncEngine:
        """As the service's Runtime.read_engine: the same pool, in autocommit."""
        return self._engine.execution_options(isolation_level="AUTOCOMMIT")

    def _record(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        self._keep(statement, tuple(parameters or ()))

    def _keep(self, statement: str, parameters: tuple[Any, ...]) -> None:
        if self._recording is not None:
            self._recording.setdefault(id(asyncio.current_task()), []).append((statement, parameters))

    @contextmanager
    def _capture(self) -> Iterator[dict[int, list[Statement]]]:
        """Also what goes to asyncpg's connection directly (platform_core.db.CompiledQuery), not through
        SQLAlchemy's cursor: asyncpg's own query methods are wrapped while recording."""
        self._recording = {}
        originals = {name: getattr(asyncpg.Connection, name) for name in _DIRECT}

        def recorded(original: Any) -> Any:
            async def call(conn: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
                self._keep(query, args)
                return await original(conn, query, *args, **kwargs)

            return call

        for name, original in originals.items():
            setattr(asyncpg.Connection, name, recorded(original))
        try:
            yield self._recording
        finally:
            for name, original in originals.items():
                setattr(asyncpg.Connection, name, original)
            self._recording = None

    async def record(self, run: Callable[[AsyncEngine], Awaitable[object]]) -> RecordedRequest:
        """The statements ``run`` sends when it reads through the read engine."""
        if not self._warm:
            # Connections opened while recording would add their set-up queries (type introspection).
            await asyncio.gather(*(self._open_one() for _ in range(POOL_SIZE)))
            self._warm = True
        with self._capture() as captured:
            await run(self.read_engine)
        return RecordedRequest(tuple(tuple(statements) for statements in captured.values()))

    async def _open_one(self) -> None:
        async with self._engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
            await asyncio.sleep(0.05)  # held a moment, so the others open their own

    async def close(self) -> None:
        await self._engine.dispose()


async def replay(pool: asyncpg.Pool, request: RecordedRequest) -> bool:
    """Run a recorded request's statements raw; True when its first query returned rows."""

    async def one_task(statements: Sequence[Statement]) -> bool:
        found: bool | None = None
        async with pool.acquire() as conn:
            for sql, parameters in statements:
                if not parameters and sql.startswith(_SIMPLE_QUERIES):
                    await conn.execute(sql)  # as sent: simple query protocol, several commands allowed
                    continue
                rows = await conn.fetch(sql, *parameters)
                found = bool(rows) if found is None else found
        return bool(found)

    if len(request.tasks) == 1:
        return await one_task(request.tasks[0])
    return any(await asyncio.gather(*(one_task(t) for t in request.tasks)))


def describe(requests: Sequence[RecordedRequest]) -> str:
    counts = sorted({r.statements for r in requests})
    tasks = max(len(r.tasks) for r in requests)
    return f"{'/'.join(map(str, counts))} statement(s) per request, on up to {tasks} connection(s) at once"
