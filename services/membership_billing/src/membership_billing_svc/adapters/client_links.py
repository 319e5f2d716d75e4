"""Set-based changes to the invoices and payments of clients that were merged, unmerged or erased.

A merge moves every invoice and payment of the merged-away clients to the survivor and remembers each move,
so an unmerge returns exactly those records (the ones still with the survivor) to their original clients.
An erasure keeps the financial records (the law requires the business to keep them) but drops the free
text that may describe the person: the notes of invoices and payments. The bill-to name an issued invoice
was issued with stays, as issued.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# (record kind, table): the tables whose rows name a client and follow it through a merge.
CLIENT_RECORDS = (("invoice", "invoices"), ("payment", "payments"))


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
            "UPDATE invoices i SET client_id = :s, version = i.version + 1, updated_at = :at"
            " FROM client_merge_moves mm WHERE mm.tenant_id = :t AND mm.merge_id = :m AND mm.record_kind = 'invoice'"
            " AND i.tenant_id = mm.tenant_id AND i.id = mm.record_id AND i.client_id = mm.original_client_id"
        ),
        params,
    )
    await session.execute(
        text(
            "UPDATE payments p SET client_id = :s"
            " FROM client_merge_moves mm WHERE mm.tenant_id = :t AND mm.merge_id = :m AND mm.record_kind = 'payment'"
            " AND p.tenant_id = mm.tenant_id AND p.id = mm.record_id AND p.client_id = mm.original_client_id"
        ),
        params,
    )


async def restore_unmerged(
    session: AsyncSession, tenant_id: uuid.UUID, *, merge_id: uuid.UUID, survivor_id: uuid.UUID, at: datetime
) -> None:
    params = {"t": tenant_id, "m": merge_id, "s": survivor_id, "at": at}
    await session.execute(
        text(
            "UPDATE invoices i SET client_id = mm.original_client_id, version = i.version + 1, updated_at = :at"
            " FROM client_merge_moves mm WHERE mm.tenant_id = :t AND mm.merge_id = :m AND mm.record_kind = 'invoice'"
            " AND i.tenant_id = mm.tenant_id AND i.id = mm.record_id AND i.client_id = :s"
        ),
        params,
    )
    await session.execute(
        text(
            "UPDATE payments p SET client_id = mm.original_client_id"
            " FROM client_merge_moves mm WHERE mm.tenant_id = :t AND mm.merge_id = :m AND mm.record_kind = 'payment'"
            " AND p.tenant_id = mm.tenant_id AND p.id = mm.record_id AND p.client_id = :s"
        ),
        params,
    )
    await session.execute(
        text("DELETE FROM client_merge_moves WHERE tenant_id = :t AND merge_id = :m"), {"t": tenant_id, "m": merge_id}
    )


async def drop_personal_text(session: AsyncSession, tenant_id: uuid.UUID, client_id: uuid.UUID) -> None:
    params = {"t": tenant_id, "c": client_id}
    await session.execute(
        text("UPDATE invoices SET notes = '' WHERE tenant_id = :t AND client_id = :c AND notes <> ''"), params
    )
    await session.execute(
        text("UPDATE payments SET notes = '' WHERE tenant_id = :t AND client_id = :c AND notes <> ''"), params
    )
