"""Database access: one async engine (asyncpg pool) per process and database."""

from __future__ import annotations

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


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
