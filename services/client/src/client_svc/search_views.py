"""Name search with typos forgiven (read side).

Two phases, each newest first: the clients whose first or last name starts with every word typed (the
list's prefix search), then the clients found through the typo index (domain/fuzzy.py): every word
typed is a typo away from, or the start of, a word of their first, last or company name. A page token
says which phase to continue and after which id, so pages follow each other without gaps or repeats.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, and_, any_, bindparam, intersect, literal_column, not_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from client_svc.adapters.name_keys import client_name_words as words_table
from client_svc.adapters.name_keys import tenant_name_keys as keys_table
from client_svc.adapters.orm import clients
from client_svc.domain import fuzzy
from client_svc.domain.search import ClientSearch
from client_svc.views import filtered_clients, search_conditions
from platform_core.errors import InvalidArgument

PREFIX_PHASE, TYPO_PHASE = 0, 1
# Typo candidates read per round trip beyond the page itself (some are prefix matches or filtered out).
TYPO_SLACK = 20
# Typo matches are for names typed nearly right, not for browsing: the newest this many candidates count.
MAX_TYPO_CANDIDATES = 5_000


def encode_cursor(phase: int, after: uuid.UUID | None) -> str:
    # A prefix-phase token is a plain id, like every other list's page token.
    raw = after.bytes if phase == PREFIX_PHASE and after else bytes([phase]) + (after.bytes if after else b"")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[int, uuid.UUID | None]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError as exc:
        raise InvalidArgument.single("page_token", "is not a page token from this list") from exc
    if len(raw) == 16:
        return PREFIX_PHASE, uuid.UUID(bytes=raw)
    if len(raw) in (1, 17) and raw[0] == TYPO_PHASE:
        return TYPO_PHASE, uuid.UUID(bytes=raw[1:]) if len(raw) == 17 else None
    raise InvalidArgument.single("page_token", "is not a page token from this list")


def typed_words(search: ClientSearch) -> list[str]:
    return [w for prefix in search.name_prefixes for w in fuzzy.words(prefix)]


async def find_by_name(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    search: ClientSearch,
    *,
    limit: int,
    page_token: str,
    **filters: Any,
) -> tuple[list[Row[Any]], str]:
    """One page of name matches and the token of the next ("" at the end)."""
    phase, after = decode_cursor(page_token) if page_token else (PREFIX_PHASE, None)
    prefix = and_(*search_conditions(search))
    rows: list[Row[Any]] = []
    async with engine.connect() as conn:
        if phase == PREFIX_PHASE:
            query = filtered_clients(tenant_id, **filters).where(prefix)
            if after is not None:
                query = query.where(clients.c.id < after)
            rows = list((await conn.execute(query.order_by(clients.c.id.desc()).limit(limit + 1))).all())
            if len(rows) > limit:
                return rows[:limit], encode_cursor(PREFIX_PHASE, rows[limit - 1].id)
            # Every prefix match was read now if the phase began on this page: those ids need no second look.
            seen = {r.id for r in rows} if after is None else set()
            after = None
        else:
            seen = set()
        typed = typed_words(search)
        candidates = await _typo_candidates(conn, tenant_id, typed)
        if after is not None:
            candidates = [c for c in candidates if c < after]
        candidates = [c for c in candidates if c not in seen]
        found = await _typo_matches(conn, tenant_id, typed, prefix, candidates, limit - len(rows) + 1, filters)
    page = (rows + found)[:limit]
    if len(rows) + len(found) <= limit:
        return page, ""
    if len(rows) == limit:
        return page, encode_cursor(TYPO_PHASE, None)
    return page, encode_cursor(TYPO_PHASE, page[-1].id)


async def _typo_candidates(conn: AsyncConnection, tenant_id: uuid.UUID, typed: list[str]) -> list[uuid.UUID]:
    """Newest first: clients having, for every typed word long enough to look up, a word its keys lead to.

    A query of its own, so the plan starts from these (usually few) ids whatever the planner's estimate."""
    per_word: list[Select[Any]] = []
    for i, word in enumerate(typed):
        keys = fuzzy.lookup_keys(word)
        if keys:
            leads_to = select(keys_table.c.word).where(
                keys_table.c.tenant_id == tenant_id,
                keys_table.c.key == any_(bindparam(f"keys_{i}", sorted(keys), type_=ARRAY(Text))),
            )
            per_word.append(
                select(words_table.c.client_id).where(
                    words_table.c.tenant_id == tenant_id, words_table.c.word.in_(leads_to)
                )
            )
    if not per_word:
        return []
    query = per_word[0] if len(per_word) == 1 else intersect(*per_word)
    newest = query.order_by(literal_column("client_id").desc()).limit(MAX_TYPO_CANDIDATES)
    return list((await conn.execute(newest)).scalars())


async def _typo_matches(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    typed: list[str],
    prefix: ColumnElement[bool],
    candidates: list[uuid.UUID],
    wanted: int,
    filters: dict[str, Any],
) -> list[Row[Any]]:
    """Up to ``wanted`` of the candidates, newest first, that the list's filters keep, that are not prefix
    matches, and whose names pass the exact typo check."""
    found: list[Row[Any]] = []
    base = filtered_clients(tenant_id, **filters).where(not_(prefix))
    while candidates and len(found) < wanted:
        batch = candidates[: (wanted - len(found)) * 4 + TYPO_SLACK]
        candidates = candidates[len(batch) :]
        query = base.where(clients.c.id == any_(bindparam("candidates", batch, type_=ARRAY(PG_UUID(as_uuid=True)))))
        rows = (await conn.execute(query.order_by(clients.c.id.desc()))).all()
        found += [r for r in rows if fuzzy.matches(typed, r.first_name, r.last_name, r.company_name)]
    return found[:wanted]
