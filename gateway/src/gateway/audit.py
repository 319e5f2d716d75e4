"""The audit log: every change a signed-in caller makes through the API, per business.

Each successful unsafe operation (POST, PUT, PATCH, DELETE) by a staff member, a portal client or an API
key is recorded with who (kind and id), what (the operation, method and path), which record (the path's
last id, or the id of what was created), the request (secrets removed), the record before (read through
the route table's GET of the same record, where there is one and the change alters it) and after (the
response), and the client IP.
Staff with ``audit.read`` filter it and export it as CSV.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.identity.model import Account

if TYPE_CHECKING:  # the route table imports what handlers need, this module among them
    from gateway.api import Api, Operation

_PATH_PARAM = re.compile(r"{(\w+)}")
# Keys whose values never reach the log: credentials, and addresses that carry one (invitation and reset
# links, calendar feed URLs, authenticator URIs). Webhook URLs go too, as they may hold a receiver's token.
_SECRET_KEYS = re.compile(r"password|secret|token|url|otpauth", re.IGNORECASE)
REDACTED = "[redacted]"
# CSV cells that a spreadsheet would run as a formula are written as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEYS.search(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def record_of(operation: Operation) -> str:
    """The kind of record an operation changes: the path segment naming it ("clients", "staff")."""
    segments = [s for s in operation.path.split("/") if s and s not in ("api", "v1")]
    named = [s for i, s in enumerate(segments) if i + 1 < len(segments) and segments[i + 1].startswith("{")]
    return (named[-1] if named else segments[0] if segments else "").replace("-", "_")


def _payload(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, dict | list):
        return json.loads(json.dumps(result, default=str))
    return None


@dataclass(frozen=True)
class AuditFilters:
    actor_id: str | None = None
    record_id: str | None = None
    record_type: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


_INSERT_ENTRY = (
    "INSERT INTO audit_log (tenant_id, actor_kind, actor_id, action, method, path, record_type, record_id, status, "
    "request, before, after, client_ip) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12::jsonb, $13)"
)


class AuditTrail:
    def __init__(self, engine: AsyncEngine, api: Api) -> None:
        self._engine = engine
        # For each path, the GET that reads one record there (no query needed): the "before" of a change.
        self._readers = {
            op.path: op
            for op in api.operations
            if op.method == "GET" and op.query is None and op.takes_account and not op.produces
        }

    async def around(
        self, operation: Operation, request: web.Request, account: Account, call: Callable[[], Awaitable[Any]]
    ) -> Any:
        reads_before = operation.audit_before and _PATH_PARAM.search(operation.path)
        before = await self._before(operation, request, account) if reads_before else None
        result = await call()
        status = result.status if isinstance(result, web.StreamResponse) else operation.status if result else 204
        if status >= 400:
            return result
        after = _payload(result)
        params = dict(request.match_info)
        record_id = params[_PATH_PARAM.findall(operation.path)[-1]] if params else ""
        if not record_id and isinstance(after, dict):
            record_id = str(after.get("id", ""))
        body = await request.read() if operation.body is not None else b""
        # One statement on the driver, prepared once per connection and committed by itself: the audit row costs
        # one round trip on every change, not a transaction's three and a compile.
        async with self._engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute(
                _INSERT_ENTRY,
                account.tenant_id,
                account.via,
                account.id,
                operation.operation_id,
                operation.method,
                request.path,
                record_of(operation),
                record_id,
                status,
                _json(redact(json.loads(body)) if body else None),
                _json(redact(before)),
                _json(redact(after)),
                request.remote or "",
            )
        return result

    async def _before(self, operation: Operation, request: web.Request, account: Account) -> Any:
        """The record as the GET of its path (or of the nearest enclosing record) shows it now."""
        path = operation.path
        while path:
            reader = self._readers.get(path)
            if reader is not None:
                try:
                    return _payload(await reader.handler(request, account=account))
                except Exception:
                    return None  # the change itself will say what is wrong (e.g. 404)
            path = path.rsplit("/", 1)[0] if "{" in path else ""
        return None

    async def entries(
        self, tenant_id: uuid.UUID, filters: AuditFilters, *, before_id: int | None, limit: int
    ) -> list[dict[str, Any]]:
        conditions = ["tenant_id = :t"]
        params: dict[str, Any] = {"t": tenant_id, "n": limit}
        for column, value in (
            ("actor_id::text", filters.actor_id),
            ("record_id", filters.record_id),
            ("record_type", filters.record_type),
            ("action", filters.action),
        ):
            if value:
                conditions.append(f"{column} = :p{len(params)}")
                params[f"p{len(params)}"] = value
        if filters.since is not None:
            conditions.append("occurred_at >= :since")
            params["since"] = filters.since
        if filters.until is not None:
            conditions.append("occurred_at < :until")
            params["until"] = filters.until
        if before_id is not None:
            conditions.append("id < :before_id")
            params["before_id"] = before_id
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                text(f"SELECT * FROM audit_log WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT :n"), params
            )
            return [_entry(row) for row in rows]

    async def csv_rows(self, tenant_id: uuid.UUID, filters: AuditFilters) -> AsyncIterator[list[str]]:
        """Every entry the filters select, newest first, a page at a time, as CSV cells."""
        yield list(CSV_COLUMNS)
        before_id = None
        while True:
            page = await self.entries(tenant_id, filters, before_id=before_id, limit=1000)
            for entry in page:
                yield [_cell(entry[column]) for column in CSV_COLUMNS]
            if len(page) < 1000:
                return
            before_id = int(page[-1]["id"])


CSV_COLUMNS = (
    "id",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "action",
    "method",
    "path",
    "record_type",
    "record_id",
    "status",
    "client_ip",
    "request",
    "before",
    "after",
)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    cell = value.isoformat() if isinstance(value, datetime) else value if isinstance(value, str) else json.dumps(value)
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _entry(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "occurred_at": row.occurred_at,
        "actor_kind": row.actor_kind,
        "actor_id": str(row.actor_id),
        "action": row.action,
        "method": row.method,
        "path": row.path,
        "record_type": row.record_type,
        "record_id": row.record_id,
        "status": row.status,
        "client_ip": row.client_ip,
        "request": row.request,
        "before": row.before,
        "after": row.after,
    }
