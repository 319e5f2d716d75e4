"""The portal login follows the client record: deleting a client suspends its portal login (sign-in, refresh
and live tokens are refused at once, through the principal cache's NOTIFY), restoring it lifts that, and its
unanswered invitations stop working; erasing it forgets the login for good. Driven by the client service's
events, consumed by the gateway worker."""

from __future__ import annotations

import uuid

from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from atrium.client.v1 import events_pb2 as client_events
from platform_core.messaging.consumer import EventConsumer, ReceivedEvent, Subscription

CONSUMER_NAME = "gateway-portal-logins"


async def suspend_portal_login(session: AsyncSession, event: ReceivedEvent) -> None:
    params = {"t": event.tenant_id, "c": uuid.UUID(event.payload.client_id)}
    await session.execute(
        text("UPDATE portal_accounts SET active = false WHERE tenant_id = :t AND client_id = :c AND active"), params
    )
    await session.execute(
        text(
            "UPDATE portal_invitations SET expires_at = now() "
            "WHERE tenant_id = :t AND client_id = :c AND accepted_at IS NULL AND expires_at > now()"
        ),
        params,
    )


async def resume_portal_login(session: AsyncSession, event: ReceivedEvent) -> None:
    await session.execute(
        text("UPDATE portal_accounts SET active = true WHERE tenant_id = :t AND client_id = :c AND NOT active"),
        {"t": event.tenant_id, "c": uuid.UUID(event.payload.client_id)},
    )


async def forget_portal_login(session: AsyncSession, event: ReceivedEvent) -> None:
    """Erasure: the client's portal account (its email) and invitations go, its sessions end and portal access is
    switched off (so even a live access token is refused at once). Repeatable."""
    params = {"t": event.tenant_id, "c": uuid.UUID(event.payload.client_id)}
    await session.execute(
        text(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL "
            "AND principal_kind = 'portal' AND principal_id IN "
            "(SELECT id FROM portal_accounts WHERE tenant_id = :t AND client_id = :c)"
        ),
        params,
    )
    for table in ("portal_invitations", "portal_accounts"):
        await session.execute(text(f"DELETE FROM {table} WHERE tenant_id = :t AND client_id = :c"), params)
    await session.execute(
        text(
            "INSERT INTO portal_client_access (tenant_id, client_id, enabled) VALUES (:t, :c, false) "
            "ON CONFLICT (tenant_id, client_id) DO UPDATE SET enabled = false, view_appointments = NULL, "
            "view_invoices = NULL, view_documents = NULL, edit_profile = NULL"
        ),
        params,
    )


def portal_login_consumer(
    js: JetStreamContext, prefix: str, sessions: async_sessionmaker[AsyncSession]
) -> EventConsumer:
    return EventConsumer(
        name=CONSUMER_NAME,
        js=js,
        prefix=prefix,
        sessions=sessions,
        subscriptions=[
            Subscription(client_events.ClientDeleted, suspend_portal_login),
            Subscription(client_events.ClientRestored, resume_portal_login),
            Subscription(client_events.ClientErased, forget_portal_login),
        ],
    )
