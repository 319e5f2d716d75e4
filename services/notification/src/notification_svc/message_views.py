"""Read side of messages: a recipient's in-app inbox, the operators' list of messages by state, and a
client's timeline with the messages it was sent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notification_svc.domain.delivery import STATUSES
from notification_svc.views import client_timeline, encode_cursor
from platform_core.errors import InvalidArgument


async def inbox(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    audience: str,
    recipient_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[Any, uuid.UUID] | None,
    unread_only: bool,
) -> tuple[list[Row[Any]], int, str]:
    """Newest first (keyset on (created_at, id)), the unread count, and the next page's token."""
    where = "tenant_id = :t AND audience = :a AND recipient_id = :r"
    params: dict[str, Any] = {"t": tenant_id, "a": audience, "r": recipient_id, "limit": limit + 1}
    page_where = where + (" AND read_at IS NULL" if unread_only else "")
    if after is not None:
        page_where += " AND (created_at, id) < (:after_at, :after_id)"
        params |= {"after_at": after[0], "after_id": after[1]}
    # One statement, so the page and the count come from one snapshot.
    query = text(
        f"""
        WITH page AS (
            SELECT id, kind, title, body, created_at, read_at FROM inbox_notifications
            WHERE {page_where} ORDER BY created_at DESC, id DESC LIMIT :limit
        )
        SELECT (SELECT count(*) FROM inbox_notifications WHERE {where} AND read_at IS NULL) AS unread, page.*
        FROM (SELECT 1) AS one LEFT JOIN page ON true
        ORDER BY page.created_at DESC, page.id DESC
        """
    )
    async with engine.connect() as conn:
        result = list((await conn.execute(query, params)).all())
    unread = int(result[0].unread)
    rows = [r for r in result if r.id is not None]
    token = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else ""
    return rows[:limit], unread, token


async def messages(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    *,
    status: str,
    client_id: uuid.UUID | None,
    limit: int,
    after: tuple[Any, uuid.UUID] | None,
    message_id: uuid.UUID | None = None,
) -> tuple[list[Row[Any]], dict[uuid.UUID, list[Row[Any]]], str]:
    """Messages newest first with their attempts (oldest first), and the next page's token."""
    if status and status not in STATUSES:
        raise InvalidArgument.single("status", f"must be one of {', '.join(sorted(STATUSES))}")
    where = "tenant_id = :t"
    params: dict[str, Any] = {"t": tenant_id, "limit": limit + 1}
    if status:
        where += " AND status = :status"
        params["status"] = status
    if client_id is not None:
        where += " AND client_id = :client_id"
        params["client_id"] = client_id
    if message_id is not None:
        where += " AND id = :id"
        params["id"] = message_id
    if after is not None:
        where += " AND (created_at, id) < (:after_at, :after_id)"
        params |= {"after_at": after[0], "after_id": after[1]}
    async with engine.connect() as conn:
        rows = list(
            (
                await conn.execute(
                    text(
                        f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE {where} "
                        "ORDER BY created_at DESC, id DESC LIMIT :limit"
                    ),
                    params,
                )
            ).all()
        )
        page = rows[:limit]
        attempts = await _attempts(conn, tenant_id, [r.id for r in page])
    token = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else ""
    return page, attempts, token


_MESSAGE_COLUMNS = (
    "id, kind, category, channel, recipient_kind, recipient_id, client_id, status, to_address, subject, language, "
    "due_at, sent_at, attempts, last_error, skip_reason, created_at"
)


async def _attempts(
    conn: AsyncConnection, tenant_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Row[Any]]]:
    """Each message's attempts, oldest first."""
    attempts: dict[uuid.UUID, list[Row[Any]]] = {}
    if ids:
        for attempt in await conn.execute(
            text(
                "SELECT message_id, number, channel, at, outcome, error FROM message_attempts "
                "WHERE tenant_id = :t AND message_id = ANY(:ids) ORDER BY message_id, number"
            ),
            {"t": tenant_id, "ids": ids},
        ):
            attempts.setdefault(attempt.message_id, []).append(attempt)
    return attempts


@dataclass(frozen=True)
class ThreadItem:
    """One entry of a client's timeline: something that happened, or a message the client was sent (placed
    when it was planned; its state and attempts as they are now)."""

    at: datetime
    id: uuid.UUID
    activity: Row[Any] | None = None
    message: Row[Any] | None = None
    attempts: tuple[Row[Any], ...] = ()


async def client_thread(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    client_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> tuple[list[ThreadItem], str]:
    """The activity timeline and the client's messages merged newest first; one keyset (time, id) pages
    both (each side reads at most a page past the cursor)."""
    activity, _ = await client_timeline(engine, tenant_id, client_id, limit=limit + 1, after=after)
    # The messages of clients merged into this one (and into those) are its thread too while the merge holds.
    where = "tenant_id = :t AND recipient_kind = 'client' AND client_id IN (SELECT client_id FROM absorbed)"
    params: dict[str, Any] = {"t": tenant_id, "c": client_id, "limit": limit + 1}
    if after is not None:
        where += " AND (created_at, id) < (:after_at, :after_id)"
        params |= {"after_at": after[0], "after_id": after[1]}
    async with engine.connect() as conn:
        sent = list(
            await conn.execute(
                text(
                    "WITH RECURSIVE absorbed(client_id) AS (SELECT CAST(:c AS uuid) UNION "
                    "SELECT m.merged_client_id FROM timeline_merges m JOIN absorbed a ON m.survivor_id = a.client_id "
                    "WHERE m.tenant_id = :t AND m.unmerged_at IS NULL) "
                    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE {where} "
                    "ORDER BY created_at DESC, id DESC LIMIT :limit"
                ),
                params,
            )
        )
        items = sorted(
            [ThreadItem(r.occurred_at, r.id, activity=r) for r in activity]
            + [ThreadItem(m.created_at, m.id, message=m) for m in sent],
            key=lambda item: (item.at, item.id),
            reverse=True,
        )
        page = items[:limit]
        attempts = await _attempts(conn, tenant_id, [i.id for i in page if i.message is not None])
    token = encode_cursor(items[limit - 1].at, items[limit - 1].id) if len(items) > limit else ""
    return [replace(i, attempts=tuple(attempts.get(i.id, ()))) if i.message is not None else i for i in page], token


async def owns_notification(
    engine: AsyncEngine, tenant_id: uuid.UUID, audience: str, recipient_id: uuid.UUID, notification_id: uuid.UUID
) -> bool:
    async with engine.connect() as conn:
        found = await conn.scalar(
            text(
                "SELECT 1 FROM inbox_notifications WHERE tenant_id = :t AND audience = :a AND recipient_id = :r "
                "AND id = :id"
            ),
            {"t": tenant_id, "a": audience, "r": recipient_id, "id": notification_id},
        )
    return found is not None


async def unread_count(engine: AsyncEngine, tenant_id: uuid.UUID, audience: str, recipient_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            text(
                "SELECT count(*) FROM inbox_notifications WHERE tenant_id = :t AND audience = :a "
                "AND recipient_id = :r AND read_at IS NULL"
            ),
            {"t": tenant_id, "a": audience, "r": recipient_id},
        )
    return int(count or 0)


async def campaigns(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    campaign_id: uuid.UUID | None = None,
) -> tuple[list[Row[Any]], dict[uuid.UUID, list[Row[Any]]], str]:
    """Campaigns newest first, each with its messages counted by (status, skip reason), and the next page's
    token."""
    where = "tenant_id = :t"
    params: dict[str, Any] = {"t": tenant_id, "limit": limit + 1}
    if campaign_id is not None:
        where += " AND id = :id"
        params["id"] = campaign_id
    if after is not None:
        where += " AND (created_at, id) < (:after_at, :after_id)"
        params |= {"after_at": after[0], "after_id": after[1]}
    async with engine.connect() as conn:
        rows = list(
            await conn.execute(
                text(
                    "SELECT id, name, channel, group_id, status_id, tag, source, rate_per_minute, status, recipients, "
                    f"created_by, created_at, started_at FROM campaigns WHERE {where} "
                    "ORDER BY created_at DESC, id DESC LIMIT :limit"
                ),
                params,
            )
        )
        page = rows[:limit]
        counts: dict[uuid.UUID, list[Row[Any]]] = {}
        started = [r.id for r in page if r.started_at is not None]
        if started:
            for count in await conn.execute(
                text(
                    "SELECT source_event_id AS campaign_id, status, skip_reason, count(*) AS n FROM messages "
                    "WHERE tenant_id = :t AND source_event_id = ANY(:ids) GROUP BY 1, 2, 3"
                ),
                {"t": tenant_id, "ids": started},
            ):
                counts.setdefault(count.campaign_id, []).append(count)
    token = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else ""
    return page, counts, token
