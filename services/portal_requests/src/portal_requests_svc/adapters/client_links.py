"""Set-based changes to the requests of clients that were merged, unmerged or erased.

A merge moves every request of the merged-away clients to the survivor and remembers each move, so an
unmerge returns exactly those requests (the ones still with the survivor) to their original clients; both
are written into each request's history. An erasure keeps the requests (the business's record of what was
asked and decided) but drops the client's own free text, the message.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def repoint_merged(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    merge_id: uuid.UUID,
    survivor_id: uuid.UUID,
    merged_ids: Sequence[uuid.UUID],
    at: datetime,
) -> None:
    params = {"t": tenant_id, "m": merge_id, "s": survivor_id, "merged": list(merged_ids), "at": at}
    await session.execute(
        text(
            "INSERT INTO client_merge_moves (tenant_id, merge_id, request_id, original_client_id)"
            " SELECT tenant_id, :m, id, client_id FROM appointment_requests"
            " WHERE tenant_id = :t AND client_id = ANY(:merged) AND client_id <> :s"
            " ON CONFLICT DO NOTHING"
        ),
        params,
    )
    await session.execute(
        text(
            "WITH moved AS ("
            "  UPDATE appointment_requests r SET client_id = :s, version = r.version + 1, updated_at = :at"
            "  FROM client_merge_moves mm"
            "  WHERE mm.tenant_id = :t AND mm.merge_id = :m"
            "    AND r.tenant_id = mm.tenant_id AND r.id = mm.request_id AND r.client_id = mm.original_client_id"
            "  RETURNING r.tenant_id, r.id, mm.original_client_id)"
            " INSERT INTO request_history (tenant_id, request_id, at, actor, action, details)"
            " SELECT tenant_id, id, :at, 'system', 'client_merged',"
            "   jsonb_build_object('client_id', jsonb_build_array(original_client_id::text, CAST(:s AS text)))"
            " FROM moved"
        ),
        params,
    )


async def restore_unmerged(
    session: AsyncSession, tenant_id: uuid.UUID, *, merge_id: uuid.UUID, survivor_id: uuid.UUID, at: datetime
) -> None:
    params = {"t": tenant_id, "m": merge_id, "s": survivor_id, "at": at}
    await session.execute(
        text(
            "WITH restored AS ("
            "  UPDATE appointment_requests r SET client_id = mm.original_client_id, version = r.version + 1,"
            "    updated_at = :at"
            "  FROM client_merge_moves mm"
            "  WHERE mm.tenant_id = :t AND mm.merge_id = :m"
            "    AND r.tenant_id = mm.tenant_id AND r.id = mm.request_id AND r.client_id = :s"
            "  RETURNING r.tenant_id, r.id, mm.original_client_id)"
            " INSERT INTO request_history (tenant_id, request_id, at, actor, action, details)"
            " SELECT tenant_id, id, :at, 'system', 'client_unmerged',"
            "   jsonb_build_object('client_id', jsonb_build_array(CAST(:s AS text), original_client_id::text))"
            " FROM restored"
        ),
        params,
    )
    await session.execute(
        text("DELETE FROM client_merge_moves WHERE tenant_id = :t AND merge_id = :m"), {"t": tenant_id, "m": merge_id}
    )


async def drop_client_text(session: AsyncSession, tenant_id: uuid.UUID, client_id: uuid.UUID) -> None:
    await session.execute(
        text("UPDATE appointment_requests SET message = '' WHERE tenant_id = :t AND client_id = :c AND message <> ''"),
        {"t": tenant_id, "c": client_id},
    )
