"""Name search with typos forgiven (read side).

Two phases, each newest first: the clients whose first or last name starts with every word typed (the
list's prefix search), then the clients found through the typo index (domain/fuzzy.py): every word
typed is a typo away from, or the start of, a word of their first, last or company name. A page token
says which phase to continue and after which id, so pages follow each other without gaps or repeats.

A page is found by ids and names alone (index-only prefix scans, the typo candidates' names checked
here), then only its own clients are read whole by id, all on one connection. Every statement takes what
was typed as bind parameters, so a search with no filter beyond the words (the search box's common case)
runs statements compiled once per shape (how many words, which leads, paged or not) as asyncpg prepared
statements: no statement is built, cache-keyed or compiled per request, and rows skip SQLAlchemy's result
processing. The whole-row read's text never depends on what was typed, so PostgreSQL plans it once per
connection; the small id and name statements are the only ones planned per search (a LIKE pattern needs
its value to use an index). A search with list filters runs the same statements through SQLAlchemy.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    func,
    intersect,
    literal_column,
    not_,
    null,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from client_svc.adapters.tables import client_name_words as words_table
from client_svc.adapters.tables import clients
from client_svc.adapters.tables import tenant_name_keys as keys_table
from client_svc.domain import fuzzy
from client_svc.domain.search import ClientSearch, above_prefix, like_prefix
from client_svc.views import filtered_clients
from platform_core.db import CompiledQuery, planned_once
from platform_core.errors import InvalidArgument

PREFIX_PHASE, TYPO_PHASE = 0, 1
# Typo candidates read per round trip beyond the page itself (some are prefix matches or filtered out).
TYPO_SLACK = 20
# Typo matches are for names typed nearly right, not for browsing: the newest this many candidates count.
MAX_TYPO_CANDIDATES = 5_000
# Statement shapes kept compiled (a shape is a few kilobytes of SQL; searches repeat a handful of shapes).
COMPILED_SHAPES = 256


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


@dataclass(frozen=True)
class _Shape:
    """What decides a search statement's text (with whether it is paged: bind parameter after, only ids below
    it); the values themselves travel as bind parameters."""

    words: int  # name words typed: bind parameters word_0.. (their LIKE patterns)
    lead: int  # the longest word, which the prefix indexes are searched by
    looked_up: tuple[int, ...]  # the typed words long enough to look up: bind parameters keys_<i>
    include_deleted: bool
    bounded: bool  # the lead word has an upper bound (bind parameter lead_below): all but exotic text

    @classmethod
    def of(cls, search: ClientSearch, typed: list[str], *, include_deleted: bool) -> _Shape:
        words = search.name_prefixes
        return cls(
            words=len(words),
            lead=words.index(max(words, key=len)),
            looked_up=tuple(i for i, word in enumerate(typed) if fuzzy.lookup_keys(word)),
            include_deleted=include_deleted,
            bounded=above_prefix(max(words, key=len)) is not None,
        )


def _values(tenant_id: uuid.UUID, search: ClientSearch, typed: list[str]) -> dict[str, Any]:
    """The bind parameters every statement of this search may take (each takes those it names)."""
    values: dict[str, Any] = {"tenant_id": tenant_id}
    values |= {f"word_{i}": like_prefix(word) for i, word in enumerate(search.name_prefixes)}
    lead = max(search.name_prefixes, key=len)
    values |= {"lead_from": lead, "lead_below": above_prefix(lead)}
    values |= {f"keys_{i}": sorted(fuzzy.lookup_keys(word)) for i, word in enumerate(typed)}
    return values


async def find_by_name(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    search: ClientSearch,
    *,
    limit: int,
    page_token: str,
    **filters: Any,
) -> tuple[list[Any], str]:
    """One page of name matches and the token of the next ("" at the end).

    The page is found by ids and names alone (the prefix indexes, then the typo candidates' names), and
    only its own rows are then read whole, on the same connection: a prefix that fills the page never asks
    the typo phase, and no candidate that fails the typo check is read whole."""
    phase, after = decode_cursor(page_token) if page_token else (PREFIX_PHASE, None)
    typed = typed_words(search)
    async with engine.connect() as conn:
        statements = _Statements(conn, tenant_id, search, typed, filters)
        async with statements.planned_once():
            ids, token = await _page_ids(statements, _TypoPhase(statements, typed), phase, after, limit)
            rows = {row.id: row for row in await statements.rows("rows", None, ids=ids)} if ids else {}
    # In the page's order (prefix matches, then typo matches); a client deleted in between drops out.
    return [rows[i] for i in ids if i in rows], token


async def _page_ids(
    statements: _Statements, typo: _TypoPhase, phase: int, after: uuid.UUID | None, limit: int
) -> tuple[list[uuid.UUID], str]:
    """The ids of the page and the next page's token. On the first page of a search with a word long enough
    to forgive a typo in, one statement asks both phases (a name typed in full or with a typo is rarely a
    page of prefix matches); a few letters (a prefix, which usually fills the page) ask the typo phase only
    if the page is not full."""
    found: list[uuid.UUID] = []
    batch: list[Any] | None = None
    if phase == PREFIX_PHASE:
        if after is None and typo.forgives_typos:
            both = await statements.rows(
                "prefix and typo names", None, limit=limit + 1, typo_limit=limit + 1 + TYPO_SLACK
            )
            found = sorted((r.id for r in both if r.phase == PREFIX_PHASE), reverse=True)
            batch = sorted((r for r in both if r.phase == TYPO_PHASE), key=lambda r: r.id, reverse=True)
        else:
            found = [row.id for row in await statements.rows("prefix ids", after, limit=limit + 1)]
        if len(found) > limit:
            return found[:limit], encode_cursor(PREFIX_PHASE, found[limit - 1])
        after = None
    wanted = limit - len(found) + 1  # one more than fits tells whether there is a next page
    if batch is not None:
        matched = (await typo.matches(None, limit + 1, batch))[:wanted]
    else:
        matched = await typo.matches(after, wanted) if typo.possible else []
    page = (found + matched)[:limit]
    if len(found) + len(matched) <= limit:
        return page, ""
    if len(found) == limit:
        return page, encode_cursor(TYPO_PHASE, None)
    return page, encode_cursor(TYPO_PHASE, page[-1])


class _Statements:
    """Runs one search's statements on one connection: compiled once per shape when no filter beyond the
    words applies (the indexes alone answer the prefix phase then), else built with the filters and run
    through SQLAlchemy."""

    def __init__(
        self,
        conn: AsyncConnection,
        tenant_id: uuid.UUID,
        search: ClientSearch,
        typed: list[str],
        filters: dict[str, Any],
    ) -> None:
        self._conn = conn
        self.shape = _Shape.of(search, typed, include_deleted=bool(filters.get("include_deleted")))
        self._values = _values(tenant_id, search, typed)
        self._filters = None if _only_names(filters) else filters

    @contextlib.asynccontextmanager
    async def planned_once(self) -> AsyncIterator[None]:
        """The compiled statements run with plans made once per connection (platform_core.db.planned_once):
        their index conditions are all bind parameters."""
        if self._filters is not None:
            yield
            return
        async with planned_once(self._conn):
            yield

    async def rows(self, kind: str, after: uuid.UUID | None, **values: Any) -> list[Any]:
        """The rows of statement ``kind``, below id ``after`` if given."""
        params = self._values | values | {"after": after}
        if self._filters is None:
            driver: asyncpg.Connection = (await self._conn.get_raw_connection()).driver_connection
            return await _compiled(kind, self.shape, after is not None).fetch(driver, **params)
        statement = _statement(kind, self.shape, after is not None, filtered_clients(_TENANT, **self._filters))
        return list((await self._conn.execute(statement, params)).all())


def _only_names(filters: dict[str, Any]) -> bool:
    """No filter beyond the names (and deleted ones or not): the indexes alone can answer the prefix phase."""
    if filters.get("online_booking_blocked") is not None:  # False filters too
        return False
    return not any(value for name, value in filters.items() if name != "include_deleted")


_TENANT = bindparam("tenant_id", type_=clients.c.tenant_id.type)
_AFTER = bindparam("after", type_=clients.c.id.type)
_BEFORE = bindparam("before", type_=clients.c.id.type)
_LIMIT = bindparam("limit", type_=Integer())
_TYPO_LIMIT = bindparam("typo_limit", type_=Integer())
_IDS = bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))
_NAME_COLUMNS = (clients.c.id, clients.c.first_name, clients.c.last_name, clients.c.company_name)


@functools.lru_cache(maxsize=COMPILED_SHAPES)
def _compiled(kind: str, shape: _Shape, paged: bool) -> CompiledQuery:
    return CompiledQuery.of(
        _statement(kind, shape, paged, filtered_clients(_TENANT, include_deleted=shape.include_deleted), indexed=True)
    )


def _statement(kind: str, shape: _Shape, paged: bool, listed: Select[Any], *, indexed: bool = False) -> Select[Any]:
    """Statement ``kind`` of a search of this shape over the clients ``listed`` (the list's filters).

    prefix ids: the page's prefix matches (``indexed``: with no filter beyond the words, read from the
    prefix indexes alone); typo names: a batch of typo candidates, names only; prefix and typo names: both
    at once, each row with its phase (names only for typo candidates); typo rest: every candidate
    below id ``before``, names only; rows: the clients ``ids`` whole, the one statement that reads the
    view's related data (its text does not depend on what was typed, so PostgreSQL plans it once per
    connection instead of once per search)."""
    every_word = and_(*_every_word(shape))
    below = [clients.c.id < _AFTER] if paged else []
    if kind == "prefix ids":
        if indexed:
            return _prefix_ids(shape, paged)
        return (
            listed.with_only_columns(clients.c.id).where(every_word, *below).order_by(clients.c.id.desc()).limit(_LIMIT)
        )
    if kind == "rows":
        return listed.where(clients.c.id == any_(_IDS))
    if kind == "prefix and typo names":
        prefix = _statement("prefix ids", shape, paged, listed, indexed=indexed).subquery()
        typos = _statement("typo names", shape, paged, listed).subquery()
        no_name = [cast(null(), Text).label(column.name) for column in _NAME_COLUMNS[1:]]
        both = union_all(
            select(literal_column(str(PREFIX_PHASE)).label("phase"), prefix.c.id, *no_name),
            select(literal_column(str(TYPO_PHASE)), *typos.c),
        )
        return select(both.subquery())
    candidates = (
        listed.with_only_columns(*_NAME_COLUMNS)
        .where(not_(every_word), clients.c.id == any_(func.array(_typo_candidates(shape).scalar_subquery())))
        .where(*below)
        .order_by(clients.c.id.desc())
    )
    if kind == "typo names":
        return candidates.limit(_TYPO_LIMIT)
    assert kind == "typo rest", kind
    return candidates.where(clients.c.id < _BEFORE)


def _every_word(shape: _Shape) -> list[ColumnElement[bool]]:
    """Each typed word starts the first or the last name (views.search_conditions, on bind parameters)."""
    return [_starts_a_name(bindparam(f"word_{i}", type_=Text())) for i in range(shape.words)]


def _starts_a_name(pattern: Any) -> ColumnElement[bool]:
    return or_(
        func.lower(clients.c.first_name).like(pattern, escape="\\"),
        func.lower(clients.c.last_name).like(pattern, escape="\\"),
    )


def _prefix_ids(shape: _Shape, paged: bool) -> Select[Any]:
    """The newest ``limit`` ids whose first or last name starts with every word, read from the covering
    prefix indexes (migration 0033) without visiting the table: the longest word leads, the others are
    checked on the index entries."""
    state: list[ColumnElement[bool]] = [clients.c.merged_into.is_(None)]
    if not shape.include_deleted:
        state.append(clients.c.deleted_at.is_(None))
    if paged:
        state.append(clients.c.id < _AFTER)
    branches = [
        select(clients.c.id).where(
            clients.c.tenant_id == _TENANT, *_index_range(func.lower(name), shape), *_every_word(shape), *state
        )
        for name in (clients.c.first_name, clients.c.last_name)
    ]
    matched = union(*branches).subquery()
    return select(matched.c.id).order_by(matched.c.id.desc()).limit(_LIMIT)


def _index_range(name: ColumnElement[str], shape: _Shape) -> list[ColumnElement[bool]]:
    """The lead word's range of the prefix index (its text_pattern_ops operators), stated with bind
    parameters rather than left to the planner to derive from a LIKE pattern: a plan made once, without the
    values, still reads only that range (the LIKE conditions still decide)."""
    lowest = name.op("~>=~", is_comparison=True)(bindparam("lead_from", type_=Text()))
    if not shape.bounded:
        return [lowest]
    return [lowest, name.op("~<~", is_comparison=True)(bindparam("lead_below", type_=Text()))]


class _TypoPhase:
    """Clients found through the typo index that the prefix phase did not list."""

    def __init__(self, statements: _Statements, typed: list[str]) -> None:
        self._statements = statements
        self._typed = typed
        self._check = fuzzy.TypedWords(typed)

    @property
    def possible(self) -> bool:
        return bool(self._statements.shape.looked_up)

    @property
    def forgives_typos(self) -> bool:
        return self.possible and any(len(word) >= fuzzy.MIN_TYPO_WORD for word in self._typed)

    async def matches(self, after: uuid.UUID | None, wanted: int, batch: list[Any] | None = None) -> list[uuid.UUID]:
        """The ids of up to ``wanted`` of them, newest first, after ``after``, whose names pass the exact typo
        check; ``batch``: the first ``wanted + TYPO_SLACK`` candidates' names, when already read."""
        if batch is None:
            batch = await self._statements.rows("typo names", after, typo_limit=wanted + TYPO_SLACK)
        found = [r.id for r in batch if self._passes(r)]
        if len(batch) < wanted + TYPO_SLACK or len(found) >= wanted:
            return found[:wanted]
        # Many candidates, few real matches (a common name): the rest are checked in one more read, rather
        # than batch after batch, each running the candidate lookup again.
        rest = await self._statements.rows("typo rest", after, before=batch[-1].id)
        return found + [r.id for r in rest if self._passes(r)][: wanted - len(found)]

    def _passes(self, row: Any) -> bool:
        return self._check.matches(row.first_name, row.last_name, row.company_name)


def _typo_candidates(shape: _Shape) -> Select[Any] | CompoundSelect[Any]:
    """Newest first: clients having, for every typed word long enough to look up, a word its keys lead to."""
    per_word = [
        select(words_table.c.client_id).where(
            words_table.c.tenant_id == _TENANT,
            words_table.c.word.in_(
                select(keys_table.c.word).where(
                    keys_table.c.tenant_id == _TENANT,
                    keys_table.c.key == any_(bindparam(f"keys_{i}", type_=ARRAY(Text()))),
                )
            ),
        )
        for i in shape.looked_up
    ]
    query = per_word[0] if len(per_word) == 1 else intersect(*per_word)
    return query.order_by(literal_column("client_id").desc()).limit(MAX_TYPO_CANDIDATES)
