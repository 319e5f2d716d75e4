"""Billing's repeat-offender rule as portal_requests keeps it: the instant until which each client's online
requests wait for staff approval (ClientRequestsNeedApproval). A later instant extends it, an earlier or a
redelivered one changes nothing (the database compares), and a passed instant has simply lapsed."""

from __future__ import annotations

import uuid
from datetime import UTC

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from platform_core.messaging.consumer import ReceivedEvent
from portal_requests_svc.adapters.tables import clients_needing_approval


async def client_requests_need_approval(session: AsyncSession, event: ReceivedEvent) -> None:
    payload = event.payload
    statement = pg_insert(clients_needing_approval).values(
        tenant_id=event.tenant_id,
        client_id=uuid.UUID(payload.client_id),
        until=payload.until.ToDatetime(tzinfo=UTC),
        reason=payload.reason,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[clients_needing_approval.c.tenant_id, clients_needing_approval.c.client_id],
            set_={
                "until": statement.excluded.until,
                "reason": statement.excluded.reason,
            },
            where=clients_needing_approval.c.until < statement.excluded.until,
        )
    )
