"""The gateway's integration events (atrium.gateway.v1), written to its outbox in the caller's transaction."""

from __future__ import annotations

import uuid

from google.protobuf.message import Message
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from atrium.gateway.v1 import events_pb2 as ev
from gateway.identity.permissions import permissions_of_role
from platform_core.messaging.envelope import build_envelope
from platform_core.messaging.outbox import add_to_outbox

PRODUCER = "gateway"


async def emit(
    conn: AsyncConnection,
    prefix: str,
    payload: Message,
    *,
    tenant_id: uuid.UUID,
    aggregate_type: str,
    aggregate_id: uuid.UUID,
) -> None:
    envelope = build_envelope(
        payload, tenant_id=tenant_id, aggregate_type=aggregate_type, aggregate_id=aggregate_id, producer=PRODUCER
    )
    await add_to_outbox(conn, prefix, [envelope])


async def staff_member_changed(conn: AsyncConnection, prefix: str, staff_id: uuid.UUID) -> None:
    """StaffMemberChanged with the member as the row now stands (call after the change, same transaction)."""
    row = (
        await conn.execute(
            text(
                "SELECT s.id, s.tenant_id, s.email, s.name, coalesce(r.name, s.role) AS role, r.permissions, "
                "s.active, s.language, s.timezone, t.default_language, t.timezone AS tenant_timezone "
                "FROM staff_users s JOIN tenants t ON t.id = s.tenant_id "
                "LEFT JOIN staff_roles r ON r.id = s.custom_role_id WHERE s.id = :id"
            ),
            {"id": staff_id},
        )
    ).one()
    payload = ev.StaffMemberChanged(
        staff_user_id=str(row.id),
        email=row.email,
        name=row.name,
        role=row.role,
        permissions=sorted(row.permissions if row.permissions is not None else permissions_of_role(row.role)),
        active=row.active,
        language=row.language or row.default_language,
        timezone=row.timezone or row.tenant_timezone,
    )
    await emit(conn, prefix, payload, tenant_id=row.tenant_id, aggregate_type="staff_member", aggregate_id=row.id)


async def business_profile_changed(conn: AsyncConnection, prefix: str, tenant_id: uuid.UUID) -> None:
    row = (
        await conn.execute(
            text("SELECT name, country, timezone, default_language FROM tenants WHERE id = :id"), {"id": tenant_id}
        )
    ).one()
    payload = ev.BusinessProfileChanged(
        business_name=row.name, country=row.country, timezone=row.timezone, default_language=row.default_language
    )
    await emit(conn, prefix, payload, tenant_id=tenant_id, aggregate_type="tenant", aggregate_id=tenant_id)
