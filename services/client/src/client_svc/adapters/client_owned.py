"""Per-client tables: rows that belong to one client and follow it through a merge, and go on erasure.

One entry per table. Each table has tenant_id and client_id columns; ``key`` is a column that names a
row within the table once client_id is set aside (a note's id, a tag's text, a group's id). Merging
re-points the rows of this list to the survivor and journals them; unmerging points them back; erasing
deletes them. A table another branch adds (attachments, custom field values, contact persons) is one
more line here, e.g. ``ClientOwnedTable("client_attachments", "id")``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from client_svc.domain.merge import OwnedRow, RowMove


@dataclass(frozen=True)
class ClientOwnedTable:
    name: str
    key: str
    # SQL over the row: rows with equal values are one thing per client (the survivor keeps its own copy
    # and a merged client's copy stays with it). None: rows are always distinct.
    same_as: str | None = None
    # Rows of other tables that hang on this one's key and go with it on erasure: (table, column).
    dependents: tuple[tuple[str, str], ...] = ()
    # False: the rows stay with their client through a merge (they only go on erasure). Emails and phones:
    # the merge settles the survivor's primary ones field by field, and the merged client keeps its own.
    follows_merges: bool = True


CLIENT_OWNED_TABLES: tuple[ClientOwnedTable, ...] = (
    ClientOwnedTable("client_notes", "id", dependents=(("client_note_revisions", "note_id"),)),
    ClientOwnedTable("client_tags", "tag", same_as="lower(tag)"),
    ClientOwnedTable("client_group_members", "group_id", same_as="group_id::text"),
    ClientOwnedTable("client_staff_assignments", "staff_id", same_as="staff_id::text"),
    ClientOwnedTable("client_attachments", "id"),
    ClientOwnedTable("client_contact_persons", "id"),
    ClientOwnedTable("client_custom_values", "field_id", same_as="field_id::text"),
    ClientOwnedTable("client_contact_points", "id", follows_merges=False),
    ClientOwnedTable("client_portal_log", "id", follows_merges=False),
)

_BY_NAME = {t.name: t for t in CLIENT_OWNED_TABLES}


async def owned_rows(session: AsyncSession, tenant_id: uuid.UUID, client_ids: Sequence[uuid.UUID]) -> list[OwnedRow]:
    """Every row these clients own, in every per-client table (one statement)."""
    selects = [
        f"SELECT '{t.name}' AS table_name, {t.key}::text AS row_key, client_id, "
        f"{t.same_as or 'NULL'}::text AS same_as FROM {t.name} WHERE tenant_id = :t AND client_id = ANY(:ids)"
        for t in CLIENT_OWNED_TABLES
        if t.follows_merges
    ]
    result = await session.execute(text(" UNION ALL ".join(selects)), {"t": tenant_id, "ids": list(client_ids)})
    return [OwnedRow(r.table_name, r.row_key, r.client_id, r.same_as) for r in result]


async def move_to(
    session: AsyncSession, tenant_id: uuid.UUID, moves: Iterable[RowMove], survivor_id: uuid.UUID
) -> None:
    """Re-point the planned rows from their owners to the survivor."""
    for table, from_client, keys in _grouped(moves):
        await _repoint(session, tenant_id, table, keys, source=from_client, target=survivor_id)


async def move_back(
    session: AsyncSession, tenant_id: uuid.UUID, moves: Iterable[RowMove], survivor_id: uuid.UUID
) -> None:
    """Return moved rows the survivor still has to their original owners (one deleted since stays deleted)."""
    for table, from_client, keys in _grouped(moves):
        await _repoint(session, tenant_id, table, keys, source=survivor_id, target=from_client)


def _grouped(moves: Iterable[RowMove]) -> list[tuple[ClientOwnedTable, uuid.UUID, list[str]]]:
    groups: dict[tuple[str, uuid.UUID], list[str]] = {}
    for m in moves:
        groups.setdefault((m.table, m.from_client), []).append(m.key)
    # A table no longer listed had its rows dropped with it: nothing to move.
    return [(_BY_NAME[name], owner, keys) for (name, owner), keys in sorted(groups.items()) if name in _BY_NAME]


async def _repoint(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    table: ClientOwnedTable,
    keys: list[str],
    *,
    source: uuid.UUID,
    target: uuid.UUID,
) -> None:
    await session.execute(
        text(
            f"UPDATE {table.name} SET client_id = :target "
            f"WHERE tenant_id = :t AND client_id = :source AND {table.key}::text = ANY(:keys)"
        ),
        {"t": tenant_id, "source": source, "target": target, "keys": keys},
    )


async def delete_all(session: AsyncSession, tenant_id: uuid.UUID, client_ids: Sequence[uuid.UUID]) -> None:
    """Delete every per-client row of these clients (erasure), dependents first."""
    for table in CLIENT_OWNED_TABLES:
        for dependent, column in table.dependents:
            await session.execute(
                text(
                    f"DELETE FROM {dependent} d USING {table.name} o WHERE o.tenant_id = :t "
                    f"AND o.client_id = ANY(:ids) AND d.tenant_id = o.tenant_id AND d.{column} = o.{table.key}"
                ),
                {"t": tenant_id, "ids": list(client_ids)},
            )
        await session.execute(
            text(f"DELETE FROM {table.name} WHERE tenant_id = :t AND client_id = ANY(:ids)"),
            {"t": tenant_id, "ids": list(client_ids)},
        )
