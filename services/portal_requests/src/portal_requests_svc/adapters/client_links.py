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

from platform_core.client_following import FollowingTable, MergeMove

FOLLOWING = (FollowingTable("request", "appointment_requests", touch="version = r.version + 1, updated_at = :at"),)


async def record_moves_in_history(session: AsyncSession, move: MergeMove, restoring: bool) -> None:
    """A request's history shows the client it moved from and to."""
    now_with = "mm.original_client_id" if restoring else "CAST(:s AS uuid)"
    pair = ("CAST(:s AS uuid)::text", "mm.original_client_id::text")
    moved_from, moved_to = pair if restoring else pair[::-1]
    await session.execute(
        text(
            "INSERT INTO request_history (tenant_id, request_id, at, actor, action, details)"
            f" SELECT r.tenant_id, r.id, :at, 'system', '{'client_unmerged' if restoring else 'client_merged'}',"
            f" jsonb_build_object('client_id', jsonb_build_array({moved_from}, {moved_to}))"
            " FROM client_merge_moves mm"
            " JOIN appointment_requests r ON r.tenant_id = mm.tenant_id AND r.id = mm.record_id"
            f" WHERE mm.tenant_id = :t AND mm.merge_id = :m AND mm.record_kind = 'request' AND r.client_id = {now_with}"
        ),
        move.params,
    )


async def drop_client_text(session: AsyncSession, tenant_id: uuid.UUID, client_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        text("UPDATE appointment_requests SET message = '' WHERE tenant_id = :t AND client_id = :c AND message <> ''"),
        {"t": tenant_id, "c": client_id},
    )
