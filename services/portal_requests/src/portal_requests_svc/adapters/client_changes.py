"""Portal-requests' records of clients that were merged, unmerged, changed or erased
(client_contract.following).

A merge moves every request of the merged-away clients to the survivor and an unmerge returns them; both are
written into each request's history. Approval requirements (billing's repeat no-show rule) move and return
the same way. A change of the client's name, email or phone updates the copy the
request lists show (request_clients), unless a newer one is kept. An erasure keeps the requests (the
business's record of what was asked and decided) but drops the client's own free text, the message, and the
kept name, email and phone.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1 import events_pb2 as client_events
from client_contract.following import FollowingTable, MoveHistory, history_of_moves
from platform_core.messaging.consumer import ReceivedEvent, Subscription

REQUESTS = FollowingTable("request", "appointment_requests", touch="version = r.version + 1, updated_at = :at")
# A survivor's requests wait for approval while any of the merged records' would have (as a booking block does).
APPROVAL_REQUIREMENTS = FollowingTable("approval_requirement", "clients_needing_approval")
FOLLOWING = (REQUESTS, APPROVAL_REQUIREMENTS)
# A request's history shows the client it moved from and to.
RECORD_MOVES = history_of_moves(REQUESTS, MoveHistory("request_history", "request_id", "details"))
ERASED_NAME = "Erased client"


async def drop_client_text(session: AsyncSession, tenant_id: uuid.UUID, client_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        text("UPDATE appointment_requests SET message = '' WHERE tenant_id = :t AND client_id = :c AND message <> ''"),
        {"t": tenant_id, "c": client_id},
    )
    # What the client typed on the public booking page goes too: its confirmed requests, and any other request
    # for a code made with the address kept for it.
    await session.execute(
        text(
            "DELETE FROM public_requests WHERE tenant_id = :t AND (client_id = :c OR email IN ("
            "SELECT lower(email) FROM request_clients WHERE tenant_id = :t AND client_id = :c AND email <> ''))"
        ),
        {"t": tenant_id, "c": client_id},
    )
    # Erased is final: as_of 'infinity' keeps any later (older) description out.
    await session.execute(
        text(
            "UPDATE request_clients SET name = :erased, email = '', phone = '', as_of = 'infinity'"
            " WHERE tenant_id = :t AND client_id = :c"
        ),
        {"t": tenant_id, "c": client_id, "erased": ERASED_NAME},
    )


def client_name(first_name: str, last_name: str) -> str:
    return " ".join(n for n in (first_name, last_name) if n)


async def client_updated(session: AsyncSession, event: ReceivedEvent) -> None:
    """Only clients who asked for something are kept; the submission adds the others when they ask."""
    payload = event.payload
    await session.execute(
        text(
            "UPDATE request_clients SET name = coalesce(nullif(:name, ''), name), email = :email, phone = :phone,"
            " as_of = :at"
            " WHERE tenant_id = :t AND client_id = :c AND as_of < :at"
        ),
        {
            "t": event.tenant_id,
            "c": uuid.UUID(payload.client_id),
            "name": client_name(payload.first_name, payload.last_name),
            "email": payload.email,
            "phone": payload.phone,
            "at": event.envelope.occurred_at.ToDatetime(tzinfo=UTC),
        },
    )


CONTACT_SUBSCRIPTIONS = [Subscription(client_events.ClientUpdated, client_updated)]
