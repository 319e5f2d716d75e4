"""Read side of the activity timeline."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_svc.adapters.tables import activity_entries as t
from platform_core.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def encode_cursor(occurred_at: datetime, entry_id: uuid.UUID) -> str:
    raw = f"{occurred_at.isoformat()}|{entry_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        when, entry_id = raw.split("|")
        parsed = datetime.fromisoformat(when)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, uuid.UUID(entry_id)
    except ValueError as exc:
        raise InvalidArgument.single("page_token", "is not a page token from this timeline") from exc


def page_size(requested: int) -> int:
    if requested < 0 or requested > MAX_PAGE_SIZE:
        raise InvalidArgument.single("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    return requested or DEFAULT_PAGE_SIZE


async def client_timeline(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    client_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> tuple[list[Row[Any]], str]:
    """Newest first; keyset pagination on (occurred_at, id)."""
    query = select(t).where(t.c.tenant_id == tenant_id, t.c.client_id == client_id)
    if after is not None:
        when, entry_id = after
        query = query.where(or_(t.c.occurred_at < when, and_(t.c.occurred_at == when, t.c.id < entry_id)))
    query = query.order_by(t.c.occurred_at.desc(), t.c.id.desc()).limit(limit + 1)
    async with engine.connect() as conn:
        rows = list((await conn.execute(query)).all())
    token = encode_cursor(rows[limit - 1].occurred_at, rows[limit - 1].id) if len(rows) > limit else ""
    return rows[:limit], token
