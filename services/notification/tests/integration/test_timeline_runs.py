"""A run of events' timeline entries is placed in one query: each entry lands where recording it alone would
put it (a merged-away client's on its survivor's timeline, through chained merges; an erased one's anonymized)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_svc.config import NotificationSettings
from notification_svc.domain import commands
from notification_svc.domain.merges import Source
from notification_svc.service_layer import handlers
from notification_svc.service_layer.unit_of_work import SqlAlchemyNotificationUnitOfWork
from platform_core.db import session_factory

AT = datetime(2026, 12, 7, 12, tzinfo=UTC)


def source() -> Source:
    return Source(AT, uuid.uuid4(), "atrium.client.v1.ClientsMerged")


async def test_a_run_of_entries_goes_where_each_alone_would(
    engine: AsyncEngine,
    notification_settings: NotificationSettings,
    notification_channel: grpc.aio.Channel,  # the service running: its tables mapped
) -> None:
    tenant = uuid.uuid4()
    plain, first, middle, survivor, erased = (uuid.uuid4() for _ in range(5))

    def uow() -> SqlAlchemyNotificationUnitOfWork:
        return SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=notification_settings.nats_prefix)

    # first was merged into middle, then middle into survivor; erased was erased.
    await handlers.follow_merge(commands.FollowMerge(tenant, uuid.uuid4(), middle, (first,), source()), uow())
    await handlers.follow_merge(commands.FollowMerge(tenant, uuid.uuid4(), survivor, (middle,), source()), uow())
    await handlers.forget_client(commands.ForgetClient(tenant, erased, source()), uow())

    def entry(client_id: uuid.UUID, summary: str) -> commands.RecordActivity:
        return commands.RecordActivity(
            tenant,
            client_id,
            "client.booking_blocked",
            summary,
            AT,
            uuid.uuid4(),
            "atrium.client.v1.ClientBookingBlocked",
        )

    run = (entry(plain, "for plain"), entry(first, "for first"), entry(erased, "for erased"), entry(plain, "again"))
    recorded = await handlers.record_activities(commands.RecordActivities(tenant, run), uow())

    assert [e.client_id for e in recorded] == [plain, survivor, erased, plain]
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT e.client_id, e.summary, e.anonymized_at IS NOT NULL AS anonymized, "
                "(SELECT count(*) FROM activity_merge_moves m WHERE m.entry_id = e.id) AS moves "
                "FROM activity_entries e WHERE e.tenant_id = :t AND e.kind = 'client.booking_blocked'"
            ),
            {"t": tenant},
        )
        found = {r.summary: (r.client_id, r.anonymized, r.moves) for r in rows}
    erased_row = next(v for k, v in found.items() if k not in ("for plain", "for first", "again"))
    assert found["for plain"] == (plain, False, 0) and found["again"] == (plain, False, 0)
    assert found["for first"] == (survivor, False, 2)  # two merges crossed: each unmerge returns it one step
    assert erased_row == (erased, True, 0)
