"""Name search with typos forgiven (read side).

Two phases, each newest first: the clients whose first or last name starts with every word typed (the
list's prefix search), then the clients found through the typo index (domain/fuzzy.py): every word
typed is a typo away from, or the start of, a word of their first, last or company name. A page token
says which phase to continue and after which id, so pages follow each other without gaps or repeats.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    func,
    intersect,
    literal_column,
    not_,
    select,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from client_svc.adapters.tables import client_name_words as words_table
from client_svc.adapters.tables import clients
from client_svc.adapters.tables import tenant_name_keys as keys_table
from client_svc.domain import fuzzy
from client_svc.domain.search import ClientSearch, like_prefix
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
    """One page of name matches and the token of the next ("" at the end).

    On the first page of a search with a word long enough to forgive a typo in, both phases are asked at
    once (two connections): a name typed in full or with a typo costs one round trip. A few letters
    (a prefix, which usually fills the page) ask the typo phase only if the page is not full."""
    phase, after = decode_cursor(page_token) if page_token else (PREFIX_PHASE, None)
    prefix = and_(*search_conditions(search))
    typed = typed_words(search)
    typo = _TypoPhase(engine, tenant_id, typed, prefix, filters)
    rows: list[Row[Any]] = []
    found: list[Row[Any]] | None = None
    if phase == PREFIX_PHASE:
        prefix_query = _prefix_query(tenant_id, search, prefix, filters, after, limit + 1)
        if after is None and typo.forgives_typos:
            rows, found = await asyncio.gather(_fetch(engine, prefix_query), typo.matches(None, limit + 1))
        else:
            rows = await _fetch(engine, prefix_query)
        if len(rows) > limit:
            return rows[:limit], encode_cursor(PREFIX_PHASE, rows[limit - 1].id)
        after = None
    wanted = limit - len(rows) + 1  # one more than fits tells whether there is a next page
    if found is None:
        found = await typo.matches(after, wanted) if typo.possible else []
    page = (rows + found)[:limit]
    if len(rows) + len(found[:wanted]) <= limit:
        return page, ""
    if len(rows) == limit:
        return page, encode_cursor(TYPO_PHASE, None)
    return page, encode_cursor(TYPO_PHASE, page[-1].id)


async def _fetch(engine: AsyncEngine, query: Select[Any]) -> list[Row[Any]]:
    async with engine.connect() as conn:
        return list((await conn.execute(query)).all())


def _prefix_query(
    tenant_id: uuid.UUID,
    search: ClientSearch,
    prefix: ColumnElement[bool],
    filters: dict[str, Any],
    after: uuid.UUID | None,
    limit: int,
) -> Select[Any]:
    query = filtered_clients(tenant_id, **filters)
    if _only_names(filters):
        return query.where(clients.c.id.in_(_prefix_ids(tenant_id, search, filters, after, limit))).order_by(
            clients.c.id.desc()
        )
    if after is not None:
        query = query.where(clients.c.id < after)
    return query.where(prefix).order_by(clients.c.id.desc()).limit(limit)


def _only_names(filters: dict[str, Any]) -> bool:
    """No filter beyond the names (and deleted ones or not): the indexes alone can answer the prefix phase."""
    if filters.get("online_booking_blocked") is not None:  # False filters too
        return False
    return not any(value for name, value in filters.items() if name != "include_deleted")


def _prefix_ids(
    tenant_id: uuid.UUID, search: ClientSearch, filters: dict[str, Any], after: uuid.UUID | None, limit: int
) -> Select[Any]:
    """The newest ``limit`` ids whose first or last name starts with every word, read from the covering
    prefix indexes (migration 0033) without visiting the table: the longest word leads, the others are
    checked on the index entries."""
    words = search.name_prefixes
    lead = max(words, key=len)
    every_word = search_conditions(search)
    state: list[ColumnElement[bool]] = [clients.c.merged_into.is_(None)]
    if not filters.get("include_deleted"):
        state.append(clients.c.deleted_at.is_(None))
    if after is not None:
        state.append(clients.c.id < after)
    branches = [
        select(clients.c.id).where(
            clients.c.tenant_id == tenant_id, func.lower(name).like(like_prefix(lead), escape="\\"), *every_word, *state
        )
        for name in (clients.c.first_name, clients.c.last_name)
    ]
    matched = union(*branches).subquery()
    return select(matched.c.id).order_by(matched.c.id.desc()).limit(limit)


class _TypoPhase:
    """Clients found through the typo index that the prefix phase did not list."""

    def __init__(
        self,
        engine: AsyncEngine,
        tenant_id: uuid.UUID,
        typed: list[str],
        prefix: ColumnElement[bool],
        filters: dict[str, Any],
    ) -> None:
        self._engine = engine
        self._typed = typed
        self._candidates = _typo_candidates(tenant_id, typed)
        self._base = filtered_clients(tenant_id, **filters).where(not_(prefix))

    @property
    def possible(self) -> bool:
        return self._candidates is not None

    @property
    def forgives_typos(self) -> bool:
        return self.possible and any(len(word) >= fuzzy.MIN_TYPO_WORD for word in self._typed)

    async def matches(self, after: uuid.UUID | None, wanted: int) -> list[Row[Any]]:
        """Up to ``wanted`` of them, newest first, after ``after``, whose names pass the exact typo check."""
        assert self._candidates is not None
        # ARRAY(...) makes the candidates an init plan: the rows are then read by primary key for exactly
        # those ids, whatever the planner expects their number to be.
        ids = func.array(self._candidates.scalar_subquery())
        query = self._base.where(clients.c.id == any_(ids))
        if after is not None:
            query = query.where(clients.c.id < after)
        query = query.order_by(clients.c.id.desc())
        batch = await _fetch(self._engine, query.limit(wanted + TYPO_SLACK))
        found = [r for r in batch if self._passes(r)]
        if len(batch) < wanted + TYPO_SLACK or len(found) >= wanted:
            return found[:wanted]
        # Many candidates, few real matches (a common name): the rest are checked on their names alone, in
        # one read, and only the matches are read whole; batch after batch of whole rows would run the
        # candidate lookup again for each.
        names = query.where(clients.c.id < batch[-1].id).with_only_columns(
            clients.c.id, clients.c.first_name, clients.c.last_name, clients.c.company_name
        )
        more = [r.id for r in await _fetch(self._engine, names) if self._passes(r)][: wanted - len(found)]
        if more:
            found += await _fetch(self._engine, self._base.where(clients.c.id.in_(more)).order_by(clients.c.id.desc()))
        return found

    def _passes(self, row: Row[Any]) -> bool:
        return fuzzy.matches(self._typed, row.first_name, row.last_name, row.company_name)


def _typo_candidates(tenant_id: uuid.UUID, typed: list[str]) -> Select[Any] | CompoundSelect[Any] | None:
    """Newest first: clients having, for every typed word long enough to look up, a word its keys lead to
    (None: no word to look up)."""
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
        return None
    query = per_word[0] if len(per_word) == 1 else intersect(*per_word)
    return query.order_by(literal_column("client_id").desc()).limit(MAX_TYPO_CANDIDATES)
