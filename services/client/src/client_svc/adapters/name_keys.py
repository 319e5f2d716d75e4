"""Typo-tolerant search tables (domain/fuzzy.py; declared in tables.py), kept in step with clients' names.

client_name_words holds the indexed words of each client; tenant_name_keys the dictionary keys of each
distinct word of a tenant. The repository remembers the words of every client it hands out; at commit,
the clients whose words changed get theirs replaced in the same transaction, with the keys of any word
new to the tenant. An erased client has no words, and words no other client of the tenant uses leave the
dictionary with it (a rare concurrent insert of the same word can lose its keys; the word is then found
by prefix only until a client with it is written again).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from client_svc.domain.fuzzy import name_words, word_keys
from client_svc.domain.model import Client

# One round trip per client: its new words, and the keys of those words (already there: nothing happens).
_ADD = text(
    """
    WITH added AS (
        INSERT INTO client_name_words (tenant_id, word, client_id)
        SELECT :t, unnest(CAST(:words AS text[])), :c ON CONFLICT DO NOTHING
    )
    INSERT INTO tenant_name_keys (tenant_id, key, word)
    SELECT :t, unnest(CAST(:keys AS text[])), unnest(CAST(:key_words AS text[])) ON CONFLICT DO NOTHING
    """
)
_REMOVE = text("DELETE FROM client_name_words WHERE tenant_id = :t AND client_id = :c AND word = ANY(:words)")
_FORGET_UNUSED = text(
    "DELETE FROM tenant_name_keys k WHERE k.tenant_id = :t AND k.word = ANY(:words) "
    "AND NOT EXISTS (SELECT 1 FROM client_name_words w WHERE w.tenant_id = k.tenant_id AND w.word = k.word)"
)


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

    async def sync(self, session: AsyncSession, clients: set[Client]) -> None:
        """Write the word changes of these clients (within the transaction, before it commits)."""
        adds: list[dict[str, Any]] = []
        removes: list[dict[str, Any]] = []
        forget: list[dict[str, Any]] = []
        for client in clients:
            before = self._indexed.get(client)
            now = indexed_words(client)
            if before is None or before == now:
                continue
            self._indexed[client] = now
            params: dict[str, uuid.UUID] = {"t": client.tenant_id, "c": client.id}
            if before - now:
                removes.append(params | {"words": sorted(before - now)})
                if client.erased_at is not None:
                    forget.append({"t": client.tenant_id, "words": sorted(before - now)})
            if now - before:
                pairs = sorted((key, word) for word in now - before for key in word_keys(word))
                adds.append(
                    params
                    | {"words": sorted(now - before), "keys": [k for k, _ in pairs], "key_words": [w for _, w in pairs]}
                )
        if removes:
            await session.execute(_REMOVE, removes)
        if forget:
            await session.execute(_FORGET_UNUSED, forget)
        if adds:
            await session.execute(_ADD, adds)
