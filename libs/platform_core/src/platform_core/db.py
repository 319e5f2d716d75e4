"""Database access: one async engine (asyncpg pool) per process and database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import asyncpg
from sqlalchemy import Select, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# Server defaults as the Table modules state them, matching what the migrations declare.
DEFAULT_EMPTY = text("''")
DEFAULT_FALSE = text("false")
DEFAULT_ONE = text("1")
DEFAULT_ZERO = text("0")

_ASYNCPG = asyncpg_dialect()  # type: ignore[no-untyped-call]
# Literals render as a connected dialect renders them: PostgreSQL's standard_conforming_strings is on (the
# default since 9.1), so a backslash in a literal (a LIKE's ESCAPE '\\') is not doubled.
_ASYNCPG._backslash_escapes = False


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        # Connections are recycled before typical proxy/server idle limits cut them.
        pool_recycle=1800,
    )


async def lock_for_transaction(session: AsyncSession, *key: object) -> None:
    """Wait for, and hold until the transaction ends, the advisory lock named by ``key``: transactions about the
    same thing (one client's submissions, one idempotency key) run one after the other."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": ":".join(map(str, key))}
    )


@dataclass(frozen=True)
class CompiledQuery:
    """A Core select compiled once, at import, for asyncpg: a hot read then costs a prepared statement on a
    pooled connection (asyncpg caches it per connection) and no per-call compilation, cache key or result
    processing. Rows read as attributes, as SQLAlchemy rows do (the engine's connections decode json).

    Parameters are the statement's ``bindparam`` names, given as keywords; a constant in the statement (a
    ``limit(50)``, a comparison with a literal) keeps its own value.
    """

    sql: str
    parameters: tuple[str, ...]
    constants: dict[str, Any]

    @classmethod
    def of(cls, statement: Select[Any]) -> CompiledQuery:
        compiled = statement.compile(dialect=_ASYNCPG)
        parameters = tuple(compiled.positiontup or ())
        constants = {name: compiled.binds[name].value for name in parameters if not compiled.binds[name].required}
        return cls(sql=str(compiled), parameters=parameters, constants=constants)

    def _arguments(self, values: dict[str, object]) -> list[object]:
        return [values[name] if name in values else self.constants[name] for name in self.parameters]

    async def first(self, engine: AsyncEngine, **values: object) -> Any | None:
        """The first row (as attributes), or None."""
        async with engine.connect() as conn:
            driver: asyncpg.Connection = (await conn.get_raw_connection()).driver_connection
            record = await driver.fetchrow(self.sql, *self._arguments(values))
        return None if record is None else SimpleNamespace(**dict(record.items()))

    async def all(self, engine: AsyncEngine, **values: object) -> list[Any]:
        """Every row (as attributes)."""
        async with engine.connect() as conn:
            return await self.fetch((await conn.get_raw_connection()).driver_connection, **values)

    async def fetch(self, driver: asyncpg.Connection, **values: object) -> list[Any]:
        """Every row (as attributes), on a connection already held (several statements on one checkout)."""
        records = await driver.fetch(self.sql, *self._arguments(values))
        return [SimpleNamespace(**dict(record.items())) for record in records]


@contextlib.asynccontextmanager
async def planned_once(conn: AsyncConnection) -> AsyncIterator[asyncpg.Connection]:
    """The connection's asyncpg driver, in a read-only transaction whose prepared statements run with the
    plans PostgreSQL made for them once per connection (plan_cache_mode force_generic_plan): left to choose,
    it plans a statement that takes a LIKE pattern or a range again on every run, which for a small indexed
    read costs more than running it. Only for statements whose plan without the values is checked to be
    the right one (every index condition stated as bind parameters, nothing the planner could instead read
    in index order until a LIMIT: an EXISTS filter under "newest first, LIMIT $n" planned so walks the
    whole table). BEGIN and the setting go in one round trip; a failure inside discards the connection
    rather than return it mid-transaction."""
    driver: asyncpg.Connection = (await conn.get_raw_connection()).driver_connection
    await driver.execute("BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan")
    try:
        yield driver
    except BaseException:
        await conn.invalidate()
        raise
    await driver.execute("COMMIT")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def asyncpg_dsn(url: str) -> str:
    """The libpq-style DSN asyncpg accepts for a SQLAlchemy URL (drops the +asyncpg driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def ensure_database(url: str) -> bool:
    """Create the database of ``url`` if it does not exist yet. Returns True when it was created.

    Used by the migrate step in development and tests; production databases are provisioned.
    """
    target = make_url(url)
    name = target.database
    if not name:
        raise ValueError("database URL names no database")
    maintenance = asyncpg_dsn(target.set(database="postgres").render_as_string(hide_password=False))
    conn = await asyncpg.connect(maintenance)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        try:
            # Identifiers cannot be bound parameters; the name is quoted by PostgreSQL's own rules.
            quoted = await conn.fetchval("SELECT quote_ident($1)", name)
            await conn.execute(f"CREATE DATABASE {quoted}")
        except asyncpg.DuplicateDatabaseError:
            return False  # another migrate step created it first
        return True
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    target = make_url(url)
    maintenance = asyncpg_dsn(target.set(database="postgres").render_as_string(hide_password=False))
    conn = await asyncpg.connect(maintenance)
    try:
        quoted = await conn.fetchval("SELECT quote_ident($1)", target.database)
        await conn.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    finally:
        await conn.close()
