"""Alembic, the same way for every unit: each has its own history in its own database.

Migrations run as a step of their own (``python -m <unit> migrate``), never inside a service's start-up.
A unit's ``migrations/env.py`` is one call to ``run_env``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from platform_core.db import ensure_database


def upgrade(alembic_ini: Path, url: str, *, create_database: bool, revision: str = "head") -> None:
    if create_database:
        asyncio.run(ensure_database(url))
    config = Config(str(alembic_ini))
    config.set_main_option("script_location", str(alembic_ini.parent / "migrations"))
    # ConfigParser treats % as interpolation.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, revision)


def downgrade(alembic_ini: Path, url: str, revision: str = "base") -> None:
    config = Config(str(alembic_ini))
    config.set_main_option("script_location", str(alembic_ini.parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.downgrade(config, revision)


async def upgrade_async(alembic_ini: Path, url: str, *, create_database: bool) -> None:
    """For callers already inside an event loop (tests): Alembic's env runs its own loop in a thread."""
    if create_database:
        await ensure_database(url)
    await asyncio.to_thread(upgrade, alembic_ini, url, create_database=False)


def _run_sync(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


def run_env() -> None:
    """Body of every unit's ``migrations/env.py``."""
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: run migrations through `python -m <unit> migrate`")
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url))
