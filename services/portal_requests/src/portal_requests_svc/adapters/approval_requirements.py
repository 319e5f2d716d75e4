"""Billing's repeat-offender rule as portal_requests keeps it: the instant until which each client's online
requests wait for staff approval (ClientRequestsNeedApproval). Each tripping no-show is a row of its own, so a
redelivery adds nothing, the latest instant holds whatever the order of arrival, the rows follow their client
through merges (client_changes.FOLLOWING), and a passed instant has simply lapsed."""

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
        # The no-show that tripped the rule names the requirement (the event's own id if billing named none).
        id=uuid.UUID(payload.appointment_id) if payload.appointment_id else event.event_id,
        client_id=uuid.UUID(payload.client_id),
        until=payload.until.ToDatetime(tzinfo=UTC),
        reason=payload.reason,
    )
    await session.execute(statement.on_conflict_do_nothing())
