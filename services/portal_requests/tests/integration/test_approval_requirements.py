"""Billing's "requests need approval" outcome as portal_requests keeps it, against PostgreSQL: a redelivered or an
earlier end changes nothing, a later one extends it, it has lapsed at its instant without anything lifting it
(for booking and on the client card), and it follows the client through a merge and back on the undo."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from atrium.client.v1 import events_pb2 as client_events
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
from portal_requests_svc.entrypoints.client_consumers import client_subscriptions

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


def client_event(tenant_id: uuid.UUID, survivor: uuid.UUID, payload: Any) -> ReceivedEvent:
    envelope = build_envelope(
        payload, tenant_id=tenant_id, aggregate_type="client", aggregate_id=survivor, producer="client"
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

    async def kept() -> list[tuple[uuid.UUID, datetime, str]]:
        async with sessions() as session:
            a = clients_needing_approval.c
            rows = await session.execute(
                select(a.client_id, a.until, a.reason).where(a.tenant_id == tenant).order_by(a.until)
            )
            return [(r.client_id, r.until, r.reason) for r in rows]

    async def handle(event: ReceivedEvent) -> None:
        async with sessions.begin() as session:
            if isinstance(event.payload, billing_events.ClientRequestsNeedApproval):
                await client_requests_need_approval(session, event)
                return
            for subscription in client_subscriptions():
                if isinstance(event.payload, subscription.payload_type):
                    await subscription.handler(session, event)

    try:
        first = needing(tenant, client, until, "3 no-shows within 30 days")
        earlier = needing(tenant, client, until - timedelta(days=1), "earlier")
        for event in (first, first, earlier):
            await handle(event)
        # The redelivery added nothing; the earlier end is kept beside and does not shorten it.
        assert [row[1] for row in await kept()] == [until - timedelta(days=1), until]
        assert await views.approval_required_until(engine, tenant, client, DECIDED) == until
        later = until + timedelta(days=2)
        await handle(needing(tenant, client, later, "4 no-shows within 30 days"))

        async with sessions() as session:
            requests = SqlAlchemyRequestRepository(session)
            assert await requests.needs_approval(tenant, client, later - timedelta(microseconds=1))
            assert not await requests.needs_approval(tenant, client, later)
            assert not await requests.needs_approval(tenant, other, DECIDED)
            assert not await requests.needs_approval(uuid.uuid4(), client, DECIDED)
        # What the client card shows staff.
        assert await views.approval_required_until(engine, tenant, client, DECIDED) == later
        assert await views.approval_required_until(engine, tenant, client, later) is None

        # Merged into another record, the requirement holds for the survivor; the undo takes it back.
        merge_id = str(uuid.uuid4())
        await handle(
            client_event(
                tenant,
                other,
                client_events.ClientsMerged(merge_id=merge_id, survivor_id=str(other), merged_ids=[str(client)]),
            )
        )
        assert await views.approval_required_until(engine, tenant, other, DECIDED) == later
        assert await views.approval_required_until(engine, tenant, client, DECIDED) is None
        await handle(
            client_event(
                tenant,
                other,
                client_events.ClientsUnmerged(merge_id=merge_id, survivor_id=str(other), restored_ids=[str(client)]),
            )
        )
        assert await views.approval_required_until(engine, tenant, other, DECIDED) is None
        assert {row[0] for row in await kept()} == {client}
    finally:
        await engine.dispose()
