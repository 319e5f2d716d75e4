"""Scheduling's records of clients that were merged, unmerged or erased (client_contract.following).

A merge moves every appointment, recurring series and tentative hold of the merged-away clients to the
survivor, and an unmerge returns them; each appointment's history says so. An erasure keeps the appointments
(they are the business's records, and billing's) but drops the free text that may describe the person (notes,
cancellation reasons and the team's staff notes, also in the history) and revokes the client's calendar feed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from client_contract.following import FollowingTable, MoveHistory, history_of_moves

ERASED_TEXT = "(erased)"
APPOINTMENTS = FollowingTable("appointment", "appointments", touch="version = r.version + 1, updated_at = :at")
FOLLOWING = (
    APPOINTMENTS,
    FollowingTable("series", "recurring_series", touch="version = r.version + 1, updated_at = :at"),
    # A pending request's tentative hold goes where its request goes.
    FollowingTable("slot_hold", "slot_holds"),
)
# An appointment's history shows the client it moved from and to.
RECORD_MOVES = history_of_moves(APPOINTMENTS, MoveHistory("appointment_history", "appointment_id", "changes"))


async def anonymize_client(session: AsyncSession, tenant_id: uuid.UUID, client_id: uuid.UUID, at: datetime) -> None:
    params = {"t": tenant_id, "c": client_id, "erased": ERASED_TEXT, "at": at}
    await session.execute(
        text(
            "UPDATE appointments SET notes = '', staff_notes = '',"
            " cancellation_reason = CASE WHEN cancellation_reason = '' THEN '' ELSE :erased END"
            " WHERE tenant_id = :t AND client_id = :c"
            " AND (notes <> '' OR staff_notes <> '' OR cancellation_reason NOT IN ('', :erased))"
        ),
        params,
    )
    await session.execute(
        text(
            "UPDATE appointment_history h SET changes = h.changes - 'reason' - 'notes'"
            " FROM appointments a WHERE a.tenant_id = :t AND a.client_id = :c"
            " AND h.tenant_id = a.tenant_id AND h.appointment_id = a.id"
            " AND (h.changes ? 'reason' OR h.changes ? 'notes')"
        ),
        params,
    )
    await session.execute(
        text("UPDATE recurring_series SET notes = '' WHERE tenant_id = :t AND client_id = :c AND notes <> ''"), params
    )
    await session.execute(
        text(
            "UPDATE calendar_feeds SET revoked_at = :at, revoked_by = 'system'"
            " WHERE tenant_id = :t AND owner_kind = 'client' AND owner_id = :c AND revoked_at IS NULL"
        ),
        params,
    )
