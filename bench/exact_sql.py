"""The exact SQL a request of ours runs, replayed raw through asyncpg: the query's own cost, apart from the
pipeline's.

Our own read code (the function the servicer calls) runs once per input on an engine of the bench's own,
shaped as the service's read engine (SQLAlchemy on asyncpg, autocommit); a cursor hook keeps each statement
and its parameters as they go to asyncpg, with the task that sent them. Replaying runs one request's
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


@dataclass(frozen=True)
class RecordedRequest:
    """One request's statements, per task that sent them (in order)."""

    tasks: tuple[tuple[Statement, ...], ...]

    @property
    def statements(self) -> int:
        return sum(len(t) for t in self.tasks)


class StatementRecorder:
    def __init__(self, url: str) -> None:
        self._engine = create_engine(url, pool_size=2, max_overflow=0)
        self._recording: dict[int, list[Statement]] | None = None
        event.listen(self._engine.sync_engine, "before_cursor_execute", self._record)

    @property
    def read_engine(self) -> AsyncEngine:
        """As the service's Runtime.read_engine: the same pool, in autocommit."""
        return self._engine.execution_options(isolation_level="AUTOCOMMIT")

    def _record(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if self._recording is None:
            return
        task = asyncio.current_task()
        self._recording.setdefault(id(task), []).append((statement, tuple(parameters or ())))

    @contextmanager
    def _capture(self) -> Iterator[dict[int, list[Statement]]]:
        self._recording = {}
        try:
            yield self._recording
        finally:
            self._recording = None

    async def record(self, run: Callable[[AsyncEngine], Awaitable[object]]) -> RecordedRequest:
        """The statements ``run`` sends when it reads through the read engine."""
        with self._capture() as captured:
            await run(self.read_engine)
        return RecordedRequest(tuple(tuple(statements) for statements in captured.values()))

    async def close(self) -> None:
        await self._engine.dispose()


async def replay(pool: asyncpg.Pool, request: RecordedRequest) -> bool:
    """Run a recorded request's statements raw; True when its first statement returned rows."""

    async def one_task(statements: Sequence[Statement]) -> bool:
        found = False
        async with pool.acquire() as conn:
            for position, (sql, parameters) in enumerate(statements):
                rows = await conn.fetch(sql, *parameters)
                found = found or (position == 0 and bool(rows))
        return found

    if len(request.tasks) == 1:
        return await one_task(request.tasks[0])
    return any(await asyncio.gather(*(one_task(t) for t in request.tasks)))


def describe(requests: Sequence[RecordedRequest]) -> str:
    counts = sorted({r.statements for r in requests})
    tasks = max(len(r.tasks) for r in requests)
    return f"{'/'.join(map(str, counts))} statement(s) per request, on up to {tasks} connection(s) at once"
