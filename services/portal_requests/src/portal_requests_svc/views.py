"""Read side: lists (cursor pages), the client card's summary and a request's history, straight from the
tables on the autocommit engine (one round trip per question, no N+1)."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from platform_core.errors import InvalidArgument
from portal_requests_svc.adapters.repository import request_from_row
from portal_requests_svc.adapters.tables import appointment_requests, request_history
from portal_requests_svc.domain.requests import AppointmentRequest, HistoryEntry, Status

DEFAULT_PAGE = 50
MAX_PAGE = 200
r = appointment_requests.c


@dataclass(frozen=True)
class RequestFilter:
    status: Status | None
    client_id: uuid.UUID | None


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


async def list_requests(
    engine: AsyncEngine, tenant_id: uuid.UUID, where: RequestFilter, page_size: int, page_token: str
) -> tuple[list[AppointmentRequest], str]:
    """Pending requests oldest first (the queue staff work through); any other selection newest first."""
    size = min(page_size or DEFAULT_PAGE, MAX_PAGE)
    query = select(appointment_requests).where(r.tenant_id == tenant_id)
    if where.status is not None:
        query = query.where(r.status == where.status.value)
    if where.client_id is not None:
        query = query.where(r.client_id == where.client_id)
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
    return [request_from_row(row) for row in rows], (_token(rows[-1].created_at, rows[-1].id) if more else "")


async def client_summary(
    engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID
) -> tuple[int, AppointmentRequest | None]:
    """How many requests of the client are open, and the oldest of them."""
    query = (
        select(appointment_requests, func.count().over().label("open_count"))
        .where(r.tenant_id == tenant_id, r.client_id == client_id, r.status == Status.PENDING.value)
        .order_by(r.created_at, r.id)
        .limit(1)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return 0, None
    return int(row.open_count), request_from_row(row)


async def history(engine: AsyncEngine, tenant_id: uuid.UUID, request_id: uuid.UUID) -> list[HistoryEntry]:
    h = request_history.c
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(request_history).where(h.tenant_id == tenant_id, h.request_id == request_id).order_by(h.seq)
            )
        ).all()
    return [HistoryEntry(row.at, row.actor, row.action, dict[str, Any](row.details)) for row in rows]


async def get_request(engine: AsyncEngine, tenant_id: uuid.UUID, request_id: uuid.UUID) -> AppointmentRequest | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(appointment_requests).where(r.tenant_id == tenant_id, r.id == request_id))
        ).first()
    return request_from_row(row) if row else None
