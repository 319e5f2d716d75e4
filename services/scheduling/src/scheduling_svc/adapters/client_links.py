"""Set-based changes to the appointments and recurring series of clients that were merged, unmerged or
erased.

A merge moves every appointment and series of the merged-away clients to the survivor and remembers each
move, so an unmerge returns exactly those records (the ones still with the survivor) to their original
clients. An erasure keeps the appointments (they are the business's records, and billing's) but drops the
free text that may describe the person (notes, cancellation reasons, also in the history) and revokes the
client's calendar feed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ERASED_TEXT = "(erased)"
# (record kind, table): the tables whose rows name a client and follow it through a merge.
CLIENT_RECORDS = (("appointment", "appointments"), ("series", "recurring_series"))


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
    for kind, table in CLIENT_RECORDS:
        await session.execute(
            text(
                "INSERT INTO client_merge_moves (tenant_id, merge_id, record_kind, record_id, original_client_id)"
                f" SELECT tenant_id, :m, '{kind}', id, client_id FROM {table}"
                " WHERE tenant_id = :t AND client_id = ANY(:merged) AND client_id <> :s"
                " ON CONFLICT DO NOTHING"
            ),
            params,
        )
    await session.execute(
        text(
            "UPDATE recurring_series r SET client_id = :s, version = r.version + 1, updated_at = :at"
            " FROM client_merge_moves mm WHERE mm.tenant_id = :t AND mm.merge_id = :m AND mm.record_kind = 'series'"
            " AND r.tenant_id = mm.tenant_id AND r.id = mm.record_id AND r.client_id = mm.original_client_id"
        ),
        params,
    )
    await session.execute(
        text(
            "WITH moved AS ("
            "  UPDATE appointments a SET client_id = :s, version = a.version + 1, updated_at = :at"
            "  FROM client_merge_moves mm"
            "  WHERE mm.tenant_id = :t AND mm.merge_id = :m AND mm.record_kind = 'appointment'"
            "    AND a.tenant_id = mm.tenant_id AND a.id = mm.record_id AND a.client_id = mm.original_client_id"
            "  RETURNING a.tenant_id, a.id, mm.original_client_id)"
            " INSERT INTO appointment_history (tenant_id, appointment_id, at, actor, action, changes)"
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
            "UPDATE recurring_series r SET client_id = mm.original_client_id, version = r.version + 1,"
            " updated_at = :at FROM client_merge_moves mm"
            " WHERE mm.tenant_id = :t AND mm.merge_id = :m AND mm.record_kind = 'series'"
            " AND r.tenant_id = mm.tenant_id AND r.id = mm.record_id AND r.client_id = :s"
        ),
        params,
    )
    await session.execute(
        text(
            "WITH restored AS ("
            "  UPDATE appointments a SET client_id = mm.original_client_id, version = a.version + 1, updated_at = :at"
            "  FROM client_merge_moves mm"
            "  WHERE mm.tenant_id = :t AND mm.merge_id = :m AND mm.record_kind = 'appointment'"
            "    AND a.tenant_id = mm.tenant_id AND a.id = mm.record_id AND a.client_id = :s"
            "  RETURNING a.tenant_id, a.id, mm.original_client_id)"
            " INSERT INTO appointment_history (tenant_id, appointment_id, at, actor, action, changes)"
            " SELECT tenant_id, id, :at, 'system', 'client_unmerged',"
            "   jsonb_build_object('client_id', jsonb_build_array(CAST(:s AS text), original_client_id::text))"
            " FROM restored"
        ),
        params,
    )
    await session.execute(
        text("DELETE FROM client_merge_moves WHERE tenant_id = :t AND merge_id = :m"), {"t": tenant_id, "m": merge_id}
    )


async def anonymize_client(session: AsyncSession, tenant_id: uuid.UUID, client_id: uuid.UUID, at: datetime) -> None:
    params = {"t": tenant_id, "c": client_id, "erased": ERASED_TEXT, "at": at}
    await session.execute(
        text(
            "UPDATE appointments SET notes = '',"
            " cancellation_reason = CASE WHEN cancellation_reason = '' THEN '' ELSE :erased END"
            " WHERE tenant_id = :t AND client_id = :c AND (notes <> '' OR cancellation_reason NOT IN ('', :erased))"
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
