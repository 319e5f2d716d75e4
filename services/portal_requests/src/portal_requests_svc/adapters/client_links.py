"""Portal-requests' records of clients that were merged, unmerged or erased (platform_core.client_following).

A merge moves every request of the merged-away clients to the survivor and an unmerge returns them; both are
written into each request's history. An erasure keeps the requests (the business's record of what was asked
and decided) but drops the client's own free text, the message.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from platform_core.client_following import FollowingTable, MoveHistory, history_of_moves

REQUESTS = FollowingTable("request", "appointment_requests", touch="version = r.version + 1, updated_at = :at")
FOLLOWING = (REQUESTS,)
# A request's history shows the client it moved from and to.
RECORD_MOVES = history_of_moves(REQUESTS, MoveHistory("request_history", "request_id", "details"))


async def drop_client_text(session: AsyncSession, tenant_id: uuid.UUID, client_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        text("UPDATE appointment_requests SET message = '' WHERE tenant_id = :t AND client_id = :c AND message <> ''"),
        {"t": tenant_id, "c": client_id},
    )
