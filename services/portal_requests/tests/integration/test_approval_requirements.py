"""Billing's "requests need approval" outcome as portal_requests keeps it, against PostgreSQL: a redelivered or an
earlier end changes nothing, a later one extends it, and it has lapsed at its instant without anything lifting it
(for booking and on the client card)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from atrium.membership_billing.v1 import events_pb2 as billing_events
from platform_core.db import create_engine, ensure_database, session_factory
from platform_core.grpc.values import timestamp
from platform_core.messaging.consumer import ReceivedEvent
from platform_core.messaging.envelope import build_envelope
from platform_core.migrations import upgrade
from platform_dev.testing.infra import TestInfra
from portal_requests_svc import views
from portal_requests_svc.adapters.approval_requirements import client_requests_need_approval
from portal_requests_svc.adapters.repository import SqlAlchemyRequestRepository
from portal_requests_svc.adapters.tables import clients_needing_approval

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"
DECIDED = datetime(2030, 3, 20, 9, tzinfo=UTC)


def needing(tenant_id: uuid.UUID, client_id: uuid.UUID, until: datetime, reason: str) -> ReceivedEvent:
    payload = billing_events.ClientRequestsNeedApproval(
        client_id=str(client_id), appointment_id=str(uuid.uuid4()), until=timestamp(until), reason=reason
    )
    envelope = build_envelope(
        payload, tenant_id=tenant_id, aggregate_type="client", aggregate_id=client_id, producer="membership_billing"
    )
    return ReceivedEvent(envelope, payload)


async def test_the_later_end_is_kept_and_it_lapses_at_its_instant(infra: TestInfra) -> None:
    url = (
        make_url(infra.postgres_url)
        .set(drivername="postgresql+asyncpg", database=f"{infra.database_prefix}_pr_appr_{uuid.uuid4().hex[:8]}")
        .render_as_string(hide_password=False)
    )
    await ensure_database(url)
    await asyncio.to_thread(upgrade, ALEMBIC_INI, url, create_database=False)
    engine = create_engine(url, pool_size=1)
    sessions = session_factory(engine)
    tenant, client, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    until = DECIDED + timedelta(days=14)

    async def kept() -> list[tuple[datetime, str]]:
        async with sessions() as session:
            rows = await session.execute(
                select(clients_needing_approval.c.until, clients_needing_approval.c.reason).where(
                    clients_needing_approval.c.tenant_id == tenant
                )
            )
            return [(r.until, r.reason) for r in rows]

    try:
        first = needing(tenant, client, until, "3 no-shows within 30 days")
        for event in (first, first, needing(tenant, client, until - timedelta(days=1), "earlier")):
            async with sessions.begin() as session:
                await client_requests_need_approval(session, event)
        assert await kept() == [(until, "3 no-shows within 30 days")]
        later = until + timedelta(days=2)
        async with sessions.begin() as session:
            await client_requests_need_approval(session, needing(tenant, client, later, "4 no-shows within 30 days"))
        assert await kept() == [(later, "4 no-shows within 30 days")]

        async with sessions() as session:
            requests = SqlAlchemyRequestRepository(session)
            assert await requests.needs_approval(tenant, client, later - timedelta(microseconds=1))
            assert not await requests.needs_approval(tenant, client, later)
            assert not await requests.needs_approval(tenant, other, DECIDED)
            assert not await requests.needs_approval(uuid.uuid4(), client, DECIDED)
        # What the client card shows staff.
        assert await views.approval_required_until(engine, tenant, client, DECIDED) == later
        assert await views.approval_required_until(engine, tenant, client, later) is None
    finally:
        await engine.dispose()
