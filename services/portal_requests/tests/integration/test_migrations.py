"""Revision 0002 on a database that already holds requests: references are given in order per business,
withdrawn requests (and their history) become cancelled by the client, and old approvals keep their start."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from platform_core.db import create_engine, ensure_database
from platform_core.migrations import downgrade, upgrade
from platform_dev.testing.infra import TestInfra

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"
MIGRATED_COLUMNS = ("status", "reference_number", "cancelled_by", "cancelled_at", "start_at")


async def test_withdrawn_requests_become_cancelled_and_every_request_gets_a_reference(infra: TestInfra) -> None:
    url = (
        make_url(infra.postgres_url)
        .set(drivername="postgresql+asyncpg", database=f"{infra.database_prefix}_pr_mig_{uuid.uuid4().hex[:8]}")
        .render_as_string(hide_password=False)
    )
    await ensure_database(url)
    await asyncio.to_thread(upgrade, ALEMBIC_INI, url, create_database=False, revision="0001")
    tenant, other = uuid.uuid4(), uuid.uuid4()
    created = datetime(2030, 1, 1, tzinfo=UTC)
    start = created + timedelta(days=3)
    rows = [
        # (tenant, id, status, created minutes later)
        (tenant, uuid.uuid4(), "withdrawn", 0),
        (tenant, uuid.uuid4(), "approved", 1),
        (other, uuid.uuid4(), "pending", 2),
    ]
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            for tenant_id, request_id, status, minutes in rows:
                at = created + timedelta(minutes=minutes)
                await conn.execute(
                    text(
                        "INSERT INTO appointment_requests (tenant_id, id, client_id, service_id, options, expires_at,"
                        " timezone, status, appointment_id, decided_at, decided_by, created_at, updated_at)"
                        " VALUES (:t, :id, :c, :s, CAST(:options AS jsonb), :start, 'UTC', :status, :appointment,"
                        " :decided, :by, :at, :at)"
                    ),
                    {
                        "t": tenant_id,
                        "id": request_id,
                        "c": uuid.uuid4(),
                        "s": uuid.uuid4(),
                        "options": json.dumps([{"start": start.isoformat(), "end": None}]),
                        "start": start,
                        "status": status,
                        "appointment": uuid.uuid4() if status == "approved" else None,
                        "decided": None if status == "pending" else at,
                        "by": "" if status == "pending" else "someone",
                        "at": at,
                    },
                )
                for action in ("submitted", *([status] if status != "pending" else [])):
                    await conn.execute(
                        text(
                            "INSERT INTO request_history (tenant_id, request_id, at, actor, action, details)"
                            " VALUES (:t, :id, :at, 'system', :action, CAST(:details AS jsonb))"
                        ),
                        {
                            "t": tenant_id,
                            "id": request_id,
                            "at": at,
                            "action": action,
                            "details": json.dumps({"start": start.isoformat()} if action == "approved" else {}),
                        },
                    )
        await asyncio.to_thread(upgrade, ALEMBIC_INI, url, create_database=False)
        async with engine.connect() as conn:
            found = {
                row.id: row
                for row in await conn.execute(
                    text(f"SELECT id, {', '.join(MIGRATED_COLUMNS)} FROM appointment_requests")
                )
            }
            migrated_actions = set((await conn.execute(text("SELECT DISTINCT action FROM request_history"))).scalars())
            counters = dict((await conn.execute(text("SELECT tenant_id, last_number FROM request_counters"))).all())
        # And back: every revision since 0001 undoes itself; the cancelled request is withdrawn again.
        await asyncio.to_thread(downgrade, ALEMBIC_INI, url, "0001")
        async with engine.connect() as conn:
            statuses = dict((await conn.execute(text("SELECT id, status FROM appointment_requests"))).all())
            actions = set((await conn.execute(text("SELECT DISTINCT action FROM request_history"))).scalars())
        await asyncio.to_thread(upgrade, ALEMBIC_INI, url, create_database=False)
    finally:
        await engine.dispose()
    assert statuses == {rows[0][1]: "withdrawn", rows[1][1]: "approved", rows[2][1]: "pending"}
    assert "cancelled" not in actions and "withdrawn" in actions
    withdrawn, approved, pending = (found[r[1]] for r in rows)
    assert (withdrawn.status, withdrawn.cancelled_by, withdrawn.cancelled_at) == ("cancelled", "client", created)
    assert (withdrawn.reference_number, approved.reference_number, pending.reference_number) == (1001, 1002, 1001)
    assert approved.start_at == start
    assert "cancelled" in migrated_actions
    assert counters == {tenant: 1002, other: 1001}
