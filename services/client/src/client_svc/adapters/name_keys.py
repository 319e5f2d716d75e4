"""The client_name_keys table (typo-tolerant search, domain/fuzzy.py), kept in step with clients' names.

The repository remembers the indexed words of every client it hands out; at commit, the keys of the
clients whose names changed are replaced in the same transaction. An erased client has no keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import Column, Table, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from client_svc.adapters.orm import metadata
from client_svc.domain.fuzzy import keys_of, name_words
from client_svc.domain.model import Client

client_name_keys = Table(
    "client_name_keys",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
)

_INSERT = text(
    "INSERT INTO client_name_keys (tenant_id, key, client_id) "
    "SELECT :t, unnest(CAST(:keys AS text[])), :c ON CONFLICT DO NOTHING"
)
_DELETE = text("DELETE FROM client_name_keys WHERE tenant_id = :t AND client_id = :c AND key = ANY(:keys)")


def indexed_words(client: Client) -> frozenset[str]:
    if client.erased_at is not None:
        return frozenset()
    return name_words(client.first_name, client.last_name, client.company_name)


class NameKeys:
    def __init__(self) -> None:
        self._indexed: dict[Client, frozenset[str]] = {}

    def loaded(self, client: Client) -> None:
        self._indexed.setdefault(client, indexed_words(client))

    def added(self, client: Client) -> None:
        self._indexed[client] = frozenset()

    async def sync(self, session: AsyncSession, clients: Iterable[Client]) -> None:
        """Write the key changes of these clients (call within the transaction, before it commits)."""
        inserts, deletes = [], []
        for client in clients:
            before = self._indexed.get(client)
            now = indexed_words(client)
            if before is None or before == now:
                continue
            old, new = keys_of(before), keys_of(now)
            if new - old:
                inserts.append(self._params(client, new - old))
            if old - new:
                deletes.append(self._params(client, old - new))
            self._indexed[client] = now
        if deletes:
            await session.execute(_DELETE, deletes)
        if inserts:
            await session.execute(_INSERT, inserts)

    @staticmethod
    def _params(client: Client, keys: frozenset[str]) -> dict[str, uuid.UUID | list[str]]:
        return {"t": client.tenant_id, "c": client.id, "keys": sorted(keys)}
