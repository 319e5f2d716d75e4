"""A block of online booking that ends by itself: set over gRPC with its end, never shortened, and lifted by
the sweep once the end has come (two replicas sweeping at once lift it once, with one ClientBookingUnblocked)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as pb
from client_svc.bootstrap import unit_of_work_factory
from client_svc.config import ClientSettings
from client_svc.entrypoints.block_sweeper import BookingBlockSweeper
from platform_core.db import create_engine, session_factory
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.values import aware, timestamp

from .stubs import ClientStubs


@pytest.fixture
async def engine(client_settings: ClientSettings) -> AsyncIterator[AsyncEngine]:
    created = create_engine(client_settings.database_url(client_settings.unit))
    yield created
    await created.dispose()


async def test_a_block_with_an_end_is_lifted_by_the_sweep_once(
    client_channel: grpc.aio.Channel, client_settings: ClientSettings, engine: AsyncEngine
) -> None:
    stub = ClientStubs(client_channel)
    tenant = uuid.uuid4()
    ends = datetime.now(UTC).replace(microsecond=0) + timedelta(days=14)
    with bind_call_context(CallContext(tenant, Principal.service("membership_billing"))):
        client = await stub.CreateClient(pb.CreateClientRequest(first_name="Often", last_name="Absent"))
        blocked = await stub.SetOnlineBookingBlocked(
            pb.SetOnlineBookingBlockedRequest(
                id=client.id, blocked=True, reason="3 no-shows", blocked_until=timestamp(ends)
            )
        )
        assert blocked.online_booking_blocked and aware(blocked.online_booking_blocked_until) == ends
        shorter = await stub.SetOnlineBookingBlocked(
            pb.SetOnlineBookingBlockedRequest(
                id=client.id, blocked=True, blocked_until=timestamp(ends - timedelta(days=3))
            )
        )
        assert aware(shorter.online_booking_blocked_until) == ends
        with pytest.raises(grpc.aio.AioRpcError) as past:
            await stub.SetOnlineBookingBlocked(
                pb.SetOnlineBookingBlockedRequest(
                    id=client.id, blocked=True, blocked_until=timestamp(datetime.now(UTC) - timedelta(hours=1))
                )
            )
        assert past.value.code() is grpc.StatusCode.INVALID_ARGUMENT

    sessions = session_factory(engine)

    def sweeper(at: datetime) -> BookingBlockSweeper:
        return BookingBlockSweeper(
            unit_of_work_factory(sessions, client_settings),
            interval_seconds=60,
            batch_size=1,
            clock=lambda: at,
        )

    await sweeper(ends - timedelta(seconds=1)).run_once()
    with bind_call_context(CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))):
        assert (await stub.GetClient(pb.GetClientRequest(id=client.id))).online_booking_blocked
        await asyncio.gather(sweeper(ends).run_once(), sweeper(ends).run_once())
        lifted = await stub.GetClient(pb.GetClientRequest(id=client.id))
    assert not lifted.online_booking_blocked and not lifted.HasField("online_booking_blocked_until")
    async with engine.connect() as conn:
        subjects = (
            (
                await conn.execute(
                    text("SELECT subject FROM outbox WHERE tenant_id = :t AND subject LIKE '%Booking%' ORDER BY id"),
                    {"t": tenant},
                )
            )
            .scalars()
            .all()
        )
    assert [s.rsplit(".", 1)[-1] for s in subjects] == ["ClientBookingBlocked", "ClientBookingUnblocked"]
