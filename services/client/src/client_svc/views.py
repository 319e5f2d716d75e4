"""Read side: queries straight to the table, no aggregate loading (cosmicpython's views)."""

from __future__ import annotations

import base64
import functools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    Text,
    any_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from client_svc.adapters.tables import (
    client_contact_points,
    client_group_members,
    client_group_staff,
    client_note_revisions,
    client_notes,
    client_staff_assignments,
    client_statuses,
    client_tags,
    clients,
)
from client_svc.domain.search import ClientSearch, like_prefix
from platform_core.db import CompiledQuery
from platform_core.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

_COLUMNS: tuple[Any, ...] = (
    clients.c.id,
    clients.c.first_name,
    clients.c.last_name,
    clients.c.email,
    clients.c.phone,
    clients.c.created_at,
    clients.c.updated_at,
    clients.c.online_booking_blocked,
    clients.c.online_booking_blocked_until,
    clients.c.deleted_at,
    clients.c.version,
    clients.c.kind,
    clients.c.company_name,
    clients.c.address_line1,
    clients.c.address_line2,
    clients.c.address_city,
    clients.c.address_region,
    clients.c.address_postal_code,
    clients.c.address_country,
    clients.c.date_of_birth,
    clients.c.preferred_language,
    clients.c.timezone,
    clients.c.source,
    clients.c.default_invoicing_method,
    clients.c.opening_balance_minor,
    clients.c.opening_balance_currency,
    clients.c.external_id,
    clients.c.status_id,
    clients.c.merged_into,
    clients.c.erased_at,
    client_statuses.c.label.label("status_label"),
    literal_column(
        "ARRAY(SELECT a.staff_id FROM client_staff_assignments a "
        "WHERE a.tenant_id = clients.tenant_id AND a.client_id = clients.id ORDER BY a.assigned_at, a.staff_id)"
    ).label("assigned_staff_ids"),
    literal_column(
        "ARRAY(SELECT DISTINCT s.staff_id FROM client_group_members m JOIN client_group_staff s "
        "ON s.tenant_id = m.tenant_id AND s.group_id = m.group_id "
        "WHERE m.tenant_id = clients.tenant_id AND m.client_id = clients.id ORDER BY 1)"
    ).label("group_staff_ids"),
    literal_column(
        "ARRAY(SELECT t.tag FROM client_tags t "
        "WHERE t.tenant_id = clients.tenant_id AND t.client_id = clients.id ORDER BY lower(t.tag))"
    ).label("tags"),
    literal_column(
        "(SELECT coalesce(json_agg(json_build_object('kind', p.kind, 'value', p.value, 'label', p.label, "
        "'primary', p.is_primary) ORDER BY p.kind, p.position), '[]') FROM client_contact_points p "
        "WHERE p.tenant_id = clients.tenant_id AND p.client_id = clients.id)",
        type_=JSON,
    ).label("contact_points"),
    literal_column(
        "(SELECT coalesce(json_agg(json_build_object('name', p.name, 'role', p.role, 'email', p.email, "
        "'phone', p.phone) ORDER BY p.position), '[]') FROM client_contact_persons p "
        "WHERE p.tenant_id = clients.tenant_id AND p.client_id = clients.id)",
        type_=JSON,
    ).label("contact_persons"),
    literal_column(
        "(SELECT coalesce(json_agg(json_build_object('key', f.key, 'value', v.value, "
        "'portal', 'portal_profile' = ANY(f.forms) AND f.retired_at IS NULL)), '[]') "
        "FROM client_custom_values v JOIN client_custom_fields f ON f.tenant_id = v.tenant_id AND f.id = v.field_id "
        "WHERE v.tenant_id = clients.tenant_id AND v.client_id = clients.id)",
        type_=JSON,
    ).label("custom_values"),
)
# The status label rides along with every client read.
_CLIENTS = clients.outerjoin(
    client_statuses,
    (client_statuses.c.tenant_id == clients.c.tenant_id) & (client_statuses.c.id == clients.c.status_id),
)


def search_conditions(search: ClientSearch) -> list[ColumnElement[bool]]:
    """Each condition is served by an index of migration 0005 or 0011 (every email and phone, not only the
    primary ones)."""
    p = client_contact_points
    if search.phone:
        return [_has_phone(search.phone)]
    if search.email_prefix:
        return [
            exists().where(
                p.c.tenant_id == clients.c.tenant_id,
                p.c.client_id == clients.c.id,
                p.c.kind == "email",
                func.lower(p.c.value).like(like_prefix(search.email_prefix), escape="\\"),
            )
        ]
    return [
        or_(
            func.lower(clients.c.first_name).like(like_prefix(word), escape="\\"),
            func.lower(clients.c.last_name).like(like_prefix(word), escape="\\"),
        )
        for word in search.name_prefixes
    ]


def client_select() -> Select[Any]:
    """One client's view row, by the bind parameters tenant_id and client_id."""
    return (
        select(*_COLUMNS)
        .select_from(_CLIENTS)
        .where(clients.c.tenant_id == bindparam("tenant_id"), clients.c.id == bindparam("client_id"))
    )


# The hottest read (every GetClient): compiled once, run as a prepared statement.
_CLIENT_BY_ID = CompiledQuery.of(client_select())


async def client_by_id(engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID) -> Any | None:
    """The client's view row (read as attributes, like the list's rows), or None."""
    return await _CLIENT_BY_ID.first(engine, tenant_id=tenant_id, client_id=client_id)


MAX_MERGE_CHAIN = 20


async def resolved_client(engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID) -> Any | None:
    """The client, or for a merged-away id the client it was merged into (through later merges too)."""
    row = await client_by_id(engine, tenant_id, client_id)
    for _ in range(MAX_MERGE_CHAIN):
        if row is None or row.merged_into is None:
            return row
        row = await client_by_id(engine, tenant_id, row.merged_into)
    return row


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(token: str, field: str = "page_token") -> uuid.UUID:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return uuid.UUID(bytes=raw)
    except ValueError as exc:
        raise InvalidArgument.single(field, "is not a page token from this list") from exc


def _has_phone(phone: str | BindParameter[str]) -> ColumnElement[bool]:
    p = client_contact_points
    return exists().where(
        p.c.tenant_id == clients.c.tenant_id,
        p.c.client_id == clients.c.id,
        p.c.kind == "phone",
        p.c.value == phone,
    )


def _email_starts(
    tenant_id: uuid.UUID | BindParameter[uuid.UUID], pattern: str | BindParameter[str]
) -> ColumnElement[bool]:
    """The few clients with this email start, found by its index, then read by primary key: a plan that would
    rather walk the tenant newest first (a small change in statistics can make it) cannot."""
    p = client_contact_points
    matching = select(p.c.client_id).where(
        p.c.tenant_id == tenant_id,
        p.c.kind == "email",
        func.lower(p.c.value).like(pattern, escape="\\"),
    )
    return clients.c.id == any_(func.array(matching.scalar_subquery()))


@functools.cache
def _contact_search(by_phone: bool, *, include_deleted: bool, only_deleted: bool, paged: bool) -> CompiledQuery:
    """A search by phone or email start with no other filter, newest first (the search box's common case), as a
    statement compiled once per shape: bind parameters tenant_id, value (the E.164 number or the LIKE
    pattern), after (when paged) and limit."""
    tenant_id = bindparam("tenant_id", type_=clients.c.tenant_id.type)
    value = bindparam("value", type_=Text())
    query = filtered_clients(tenant_id, include_deleted=include_deleted, only_deleted=only_deleted)
    query = query.where(_has_phone(value) if by_phone else _email_starts(tenant_id, value))
    if paged:
        query = query.where(clients.c.id < bindparam("after", type_=clients.c.id.type))
    return CompiledQuery.of(query.order_by(clients.c.id.desc()).limit(bindparam("limit", type_=Integer())))


def page_size(requested: int, field: str = "page_size") -> int:
    if requested < 0 or requested > MAX_PAGE_SIZE:
        raise InvalidArgument.single(field, f"must be between 1 and {MAX_PAGE_SIZE}")
    return requested or DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class ListOrder:
    """A sort of the list: its key (ending with the id, so every key is unique) and its direction. A page token
    carries the last row's key, and the next page starts after it (keyset pagination: the same cost at any
    depth; migration 0035 gives each order its index)."""

    key: tuple[ColumnElement[Any], ...]
    descending: bool
    # How the key's values travel in a page token: (to JSON, from JSON) per key column.
    codecs: tuple[tuple[Callable[[Any], Any], Callable[[Any], Any]], ...]


_UUID = (str, uuid.UUID)
_TEXT = (str, str)
_TIME = (lambda t: t.isoformat(), datetime.fromisoformat)
_BY_NAME = (func.lower(clients.c.last_name), func.lower(clients.c.first_name), clients.c.id)
LIST_ORDERS = {
    "newest": ListOrder((clients.c.id,), True, (_UUID,)),
    "oldest": ListOrder((clients.c.id,), False, (_UUID,)),
    "name": ListOrder(_BY_NAME, False, (_TEXT, _TEXT, _UUID)),
    "name_desc": ListOrder(_BY_NAME, True, (_TEXT, _TEXT, _UUID)),
    "updated": ListOrder((clients.c.updated_at, clients.c.id), True, (_TIME, _UUID)),
}
DEFAULT_ORDER = "newest"


def list_order(name: str) -> str:
    """The order asked for, checked ("" is the default, newest first)."""
    name = name or DEFAULT_ORDER
    if name not in LIST_ORDERS:
        raise InvalidArgument.single("sort", f"must be one of {', '.join(LIST_ORDERS)}")
    return name


def _list_token(order_name: str, row: Row[Any]) -> str:
    if order_name == DEFAULT_ORDER:
        return encode_cursor(row.id)  # the plain id token every other list uses
    order = LIST_ORDERS[order_name]
    values = [encode(getattr(row, f"sort_key_{i}")) for i, (encode, _) in enumerate(order.codecs)]
    raw = json.dumps([order_name, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after_token(order_name: str, token: str) -> tuple[Any, ...]:
    if order_name == DEFAULT_ORDER:
        return (decode_cursor(token),)
    order = LIST_ORDERS[order_name]
    try:
        name, *values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if name != order_name or len(values) != len(order.codecs):
            raise ValueError("another list's token")
        return tuple(decode(v) for (_, decode), v in zip(order.codecs, values, strict=True))
    except (ValueError, TypeError) as exc:
        raise InvalidArgument.single("page_token", "is not a page token from this list and sort") from exc


async def list_clients(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    *,
    limit: int,
    page_token: str = "",
    sort: str = DEFAULT_ORDER,
    include_deleted: bool = False,
    only_deleted: bool = False,
    online_booking_blocked: bool | None = None,
    status_id: uuid.UUID | None = None,
    search: ClientSearch | None = None,
    assigned_staff_id: uuid.UUID | None = None,
    tag: str = "",
    group_id: uuid.UUID | None = None,
) -> tuple[list[Row[Any]], str]:
    """One page in the order asked for (newest first by default: ids are UUIDv7) and the next page's token
    ("" after the last)."""
    order_name = list_order(sort)
    order = LIST_ORDERS[order_name]
    # The search box's common case: compiled once, run as a prepared statement.
    unfiltered = (
        online_booking_blocked is None
        and status_id is None
        and assigned_staff_id is None
        and not tag
        and group_id is None
    )
    if search is not None and (search.phone or search.email_prefix) and order_name == DEFAULT_ORDER and unfiltered:
        statement = _contact_search(
            bool(search.phone), include_deleted=include_deleted, only_deleted=only_deleted, paged=bool(page_token)
        )
        rows = await statement.all(
            engine,
            tenant_id=tenant_id,
            value=search.phone or like_prefix(search.email_prefix or ""),
            after=decode_cursor(page_token) if page_token else None,
            limit=limit + 1,
        )
        return rows[:limit], encode_cursor(rows[limit - 1].id) if len(rows) > limit else ""
    query = filtered_clients(
        tenant_id,
        include_deleted=include_deleted,
        only_deleted=only_deleted,
        online_booking_blocked=online_booking_blocked,
        status_id=status_id,
        assigned_staff_id=assigned_staff_id,
        tag=tag,
        group_id=group_id,
    )
    if search is not None and search.email_prefix:
        query = query.where(_email_starts(tenant_id, like_prefix(search.email_prefix)))
    elif search is not None:
        query = query.where(*search_conditions(search))
    key = tuple_(*order.key)
    if page_token:
        after = tuple_(*(literal(v) for v in _after_token(order_name, page_token)))
        query = query.where(key < after if order.descending else key > after)
    if order_name != DEFAULT_ORDER:
        query = query.add_columns(*(column.label(f"sort_key_{i}") for i, column in enumerate(order.key)))
    query = query.order_by(*(c.desc() if order.descending else c.asc() for c in order.key)).limit(limit + 1)
    async with engine.connect() as conn:
        rows = list((await conn.execute(query)).all())
    next_token = _list_token(order_name, rows[limit - 1]) if len(rows) > limit else ""
    return rows[:limit], next_token


def filtered_clients(
    tenant_id: uuid.UUID | BindParameter[uuid.UUID],
    *,
    include_deleted: bool = False,
    only_deleted: bool = False,
    online_booking_blocked: bool | None = None,
    status_id: uuid.UUID | None = None,
    assigned_staff_id: uuid.UUID | None = None,
    tag: str = "",
    group_id: uuid.UUID | None = None,
) -> Select[Any]:
    """The clients a list shows, with its filters; merged-away clients never (they resolve to the survivor)."""
    query = select(*_COLUMNS).select_from(_CLIENTS).where(clients.c.tenant_id == tenant_id)
    query = query.where(clients.c.merged_into.is_(None))
    if tag.strip():
        t = client_tags
        query = query.where(
            exists().where(
                t.c.tenant_id == tenant_id,
                func.lower(t.c.tag) == " ".join(tag.split()).lower(),
                t.c.client_id == clients.c.id,
            )
        )
    if group_id is not None:
        m = client_group_members
        query = query.where(
            exists().where(m.c.tenant_id == tenant_id, m.c.group_id == group_id, m.c.client_id == clients.c.id)
        )
    if assigned_staff_id is not None:
        # Assigned directly, or through a group the staff member is assigned to.
        a, m, s = client_staff_assignments, client_group_members, client_group_staff
        query = query.where(
            or_(
                exists().where(
                    a.c.tenant_id == tenant_id, a.c.staff_id == assigned_staff_id, a.c.client_id == clients.c.id
                ),
                exists().where(
                    s.c.tenant_id == tenant_id,
                    s.c.staff_id == assigned_staff_id,
                    m.c.tenant_id == tenant_id,
                    m.c.group_id == s.c.group_id,
                    m.c.client_id == clients.c.id,
                ),
            )
        )
    if status_id is not None:
        query = query.where(clients.c.status_id == status_id)
    if online_booking_blocked is not None:
        query = query.where(clients.c.online_booking_blocked.is_(online_booking_blocked))
    if only_deleted:
        query = query.where(clients.c.deleted_at.is_not(None))
    elif not include_deleted:
        query = query.where(clients.c.deleted_at.is_(None))
    return query


_NOTES = text(
    """
    SELECT n.id, n.client_id, n.author_id, n.created_at, r.body, r.edited_at AS updated_at, r.revision
    FROM client_notes n
    JOIN LATERAL (
        SELECT body, edited_at, revision FROM client_note_revisions
        WHERE tenant_id = n.tenant_id AND note_id = n.id ORDER BY revision DESC LIMIT 1
    ) r ON true
    WHERE n.tenant_id = :tenant AND n.client_id = :client AND (CAST(:after AS uuid) IS NULL OR n.id < :after)
    ORDER BY n.id DESC
    LIMIT :limit
    """
)


async def notes_of_client(
    engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID, *, limit: int, after: uuid.UUID | None
) -> tuple[list[Row[Any]], uuid.UUID | None]:
    """Newest first, each with its current text and revision number."""
    async with engine.connect() as conn:
        rows = list(
            (
                await conn.execute(
                    _NOTES, {"tenant": tenant_id, "client": client_id, "after": after, "limit": limit + 1}
                )
            ).all()
        )
    next_after = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_after


async def note_history(
    engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID, note_id: uuid.UUID
) -> list[Row[Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(client_note_revisions)
            .join(
                client_notes,
                (client_notes.c.tenant_id == client_note_revisions.c.tenant_id)
                & (client_notes.c.id == client_note_revisions.c.note_id),
            )
            .where(
                client_notes.c.tenant_id == tenant_id,
                client_notes.c.client_id == client_id,
                client_notes.c.id == note_id,
            )
            .order_by(client_note_revisions.c.revision)
        )
        return list(result.all())


_DUPLICATE_CANDIDATES = text(
    """
    WITH live AS (
        SELECT id, lower(email) AS email, phone,
               lower(btrim(first_name || ' ' || last_name)) AS full_name
        FROM clients WHERE tenant_id = :tenant AND deleted_at IS NULL AND merged_into IS NULL
    )
    SELECT a.id AS first_id, b.id AS second_id, 'same_email' AS reason
        FROM live a JOIN live b ON a.email = b.email AND a.id < b.id
    UNION ALL
    SELECT a.id, b.id, 'same_phone' FROM live a JOIN live b ON a.phone = b.phone AND a.id < b.id
    UNION ALL
    SELECT a.id, b.id, 'same_name' FROM live a JOIN live b ON a.full_name = b.full_name AND a.id < b.id
        WHERE a.full_name <> ''
    """
)


async def duplicate_candidates(
    engine: AsyncEngine, tenant_id: uuid.UUID
) -> dict[tuple[uuid.UUID, uuid.UUID], set[str]]:
    """Pairs of live clients (first id < second id) with the reasons they may be one person."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_DUPLICATE_CANDIDATES, {"tenant": tenant_id})).all()
    pairs: dict[tuple[uuid.UUID, uuid.UUID], set[str]] = {}
    for row in rows:
        pairs.setdefault((row.first_id, row.second_id), set()).add(row.reason)
    return pairs


async def clients_by_ids(engine: AsyncEngine, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, Row[Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(*_COLUMNS).select_from(_CLIENTS).where(clients.c.tenant_id == tenant_id, clients.c.id.in_(ids))
        )
        return {row.id: row for row in result}
