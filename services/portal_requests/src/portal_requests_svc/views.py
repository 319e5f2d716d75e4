"""Read side: lists (cursor pages, filtered by status, client and text), the count per status, the client
card's summary and a request's history, straight from the tables on the autocommit engine (one round trip per
question: the client's name comes from the kept copy in request_clients, never a call per row)."""

from __future__ import annotations

import base64
import json
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from platform_core.errors import InvalidArgument
from portal_requests_svc.adapters.repository import RequestSettings, request_from_row
from portal_requests_svc.adapters.tables import (
    appointment_requests,
    clients_needing_approval,
    request_client_words,
    request_clients,
    request_history,
    request_settings,
    waitlist_entries,
    waitlist_offers,
)
from portal_requests_svc.adapters.waitlist_repository import entry_from_row
from portal_requests_svc.domain.requests import OPEN, AppointmentRequest, HistoryEntry, Status, reference_number
from portal_requests_svc.domain.waitlist import EntryStatus, WaitlistEntry

DEFAULT_PAGE = 50
MAX_PAGE = 200
MAX_QUERY = 100
r = appointment_requests.c
c = request_clients.c


@dataclass(frozen=True)
class RequestFilter:
    status: Status | None
    client_id: uuid.UUID | None
    query: str = ""


@dataclass(frozen=True)
class RequestView:
    """A request with its client as the business knows it (empty until the client service told)."""

    request: AppointmentRequest
    client_name: str = ""
    client_email: str = ""
    client_phone: str = ""


def status_of(raw: str) -> Status | None:
    if not raw:
        return None
    try:
        return Status(raw)
    except ValueError:
        raise InvalidArgument.single("status", f"must be one of: {', '.join(s.value for s in Status)}") from None


def _token(created_at: datetime, request_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at.isoformat(), str(request_id)]).encode()).decode()


def _untoken(token: str) -> tuple[datetime, uuid.UUID]:
    try:
        created_at, request_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return datetime.fromisoformat(created_at), uuid.UUID(request_id)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument.single("page_token", "is not a token this service gave") from exc


def _with_client() -> Select[Any]:
    return select(appointment_requests, c.name, c.email, c.phone).outerjoin(
        request_clients, and_(c.tenant_id == r.tenant_id, c.client_id == r.client_id)
    )


def _view(row: Any) -> RequestView:
    return RequestView(request_from_row(row), row.name or "", row.email or "", row.phone or "")


def _name_word_starts(tenant_id: uuid.UUID, word: str) -> Select[Any]:
    """Clients with a name word starting with ``word``: a range scan of the text_pattern_ops index (bounds, not
    LIKE, so a generic plan of the prepared statement uses it too)."""
    w = request_client_words.c
    query = select(w.client_id).where(w.tenant_id == tenant_id, w.word.op("~>=~")(word))
    if ord(word[-1]) < sys.maxunicode:
        query = query.where(w.word.op("~<~")(word[:-1] + chr(ord(word[-1]) + 1)))
    return query


def _matching(query: Select[Any], tenant_id: uuid.UUID, text: str) -> Select[Any]:
    """A reference ("REQ-1042", "1042") finds that request; otherwise every word must start a word of the
    client's name."""
    if len(text) > MAX_QUERY:
        raise InvalidArgument.single("query", f"must be at most {MAX_QUERY} characters")
    number = reference_number(text)
    if number is not None:
        return query.where(r.reference_number == number)
    for word in text.lower().split():
        query = query.where(r.client_id.in_(_name_word_starts(tenant_id, word)))
    return query


async def list_requests(
    engine: AsyncEngine, tenant_id: uuid.UUID, where: RequestFilter, page_size: int, page_token: str
) -> tuple[list[RequestView], str]:
    """Pending requests oldest first (the queue staff work through); any other selection newest first."""
    size = min(page_size or DEFAULT_PAGE, MAX_PAGE)
    query = _with_client().where(r.tenant_id == tenant_id)
    if where.status is not None:
        query = query.where(r.status == where.status.value)
    if where.client_id is not None:
        query = query.where(r.client_id == where.client_id)
    if where.query.strip():
        query = _matching(query, tenant_id, where.query.strip())
    ascending = where.status is Status.PENDING
    if page_token:
        after_at, after_id = _untoken(page_token)
        if ascending:
            query = query.where(or_(r.created_at > after_at, and_(r.created_at == after_at, r.id > after_id)))
        else:
            query = query.where(or_(r.created_at < after_at, and_(r.created_at == after_at, r.id < after_id)))
    order = (r.created_at, r.id) if ascending else (r.created_at.desc(), r.id.desc())
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(*order).limit(size + 1))).all()
    more = len(rows) > size
    rows = rows[:size]
    return [_view(row) for row in rows], (_token(rows[-1].created_at, rows[-1].id) if more else "")


async def count_by_status(engine: AsyncEngine, tenant_id: uuid.UUID) -> dict[Status, int]:
    """How many requests the business has in each status (one index-only GROUP BY)."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(r.status, func.count()).where(r.tenant_id == tenant_id).group_by(r.status))
        ).all()
    counts = dict.fromkeys(Status, 0)
    counts.update({Status(status): int(n) for status, n in rows})
    return counts


async def approval_required_until(
    engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID, now: datetime
) -> datetime | None:
    """Until when the client's requests wait for staff approval; None when they do not (or it has lapsed)."""
    a = clients_needing_approval.c
    async with engine.connect() as conn:
        until: datetime | None = await conn.scalar(
            select(func.max(a.until)).where(a.tenant_id == tenant_id, a.client_id == client_id, a.until > now)
        )
    return until


async def client_summary(
    engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID
) -> tuple[int, RequestView | None]:
    """How many requests of the client are open (pending or proposed), and the oldest of them."""
    query = (
        _with_client()
        .add_columns(func.count().over().label("open_count"))
        .where(r.tenant_id == tenant_id, r.client_id == client_id, r.status.in_([s.value for s in OPEN]))
        .order_by(r.created_at, r.id)
        .limit(1)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return 0, None
    return int(row.open_count), _view(row)


async def history(engine: AsyncEngine, tenant_id: uuid.UUID, request_id: uuid.UUID) -> list[HistoryEntry]:
    h = request_history.c
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(request_history).where(h.tenant_id == tenant_id, h.request_id == request_id).order_by(h.seq)
            )
        ).all()
    return [HistoryEntry(row.at, row.actor, row.action, dict[str, Any](row.details)) for row in rows]


async def get_request(engine: AsyncEngine, tenant_id: uuid.UUID, request_id: uuid.UUID) -> RequestView | None:
    async with engine.connect() as conn:
        row = (await conn.execute(_with_client().where(r.tenant_id == tenant_id, r.id == request_id))).first()
    return _view(row) if row else None


async def settings(engine: AsyncEngine, tenant_id: uuid.UUID) -> RequestSettings:
    s = request_settings.c
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(
                    s.ticket_url_pattern, s.version, s.proposal_hold_minutes, s.offer_hold_minutes, s.tentative_holds
                ).where(s.tenant_id == tenant_id)
            )
        ).first()
    return RequestSettings.of(row) if row else RequestSettings()


MAX_WAITLIST = 200


async def waitlist(
    engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID | None, status: str
) -> list[WaitlistEntry]:
    """Waitlist entries with their offers, newest first (two queries)."""
    e, o = waitlist_entries.c, waitlist_offers.c
    if status and status not in {s.value for s in EntryStatus}:
        raise InvalidArgument.single("status", f"must be one of: {', '.join(s.value for s in EntryStatus)}")
    query = select(waitlist_entries).where(e.tenant_id == tenant_id)
    if client_id is not None:
        query = query.where(e.client_id == client_id)
    if status:
        query = query.where(e.status == status)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(e.created_at.desc(), e.id.desc()).limit(MAX_WAITLIST))).all()
        offers = (
            (
                await conn.execute(
                    select(waitlist_offers)
                    .where(o.tenant_id == tenant_id, o.entry_id.in_([r.id for r in rows]))
                    .order_by(o.created_at)
                )
            ).all()
            if rows
            else []
        )
    by_entry: dict[uuid.UUID, list[Any]] = {}
    for offer in offers:
        by_entry.setdefault(offer.entry_id, []).append(offer)
    return [entry_from_row(row, by_entry.get(row.id, [])) for row in rows]
