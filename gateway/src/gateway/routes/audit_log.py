"""The business's audit log: filter it, page through it, export it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.account_schemas import AuditEntryOut, AuditPage, AuditQuery
from gateway.audit import AuditFilters
from gateway.dependencies import AUDIT
from gateway.identity.model import Account
from gateway.routes.registry import api
from gateway.tabular import CSV_MEDIA_TYPE, CsvWriter


@api.route(
    "GET",
    "/api/v1/audit-log",
    summary="Who changed what, through which client (staff, portal, API key), newest first",
    tag="audit",
    permission="audit.read",
    query=AuditQuery,
    response=AuditPage,
    produces=(CSV_MEDIA_TYPE,),
    description="Every successful POST, PUT, PATCH or DELETE by a signed-in caller or an API key, with the "
    "request (secrets removed), the record before (where the API can read it) and after. Filter by actor, "
    "record, record type, action and time; `format=csv` downloads every matching entry.",
)
async def audit_log(request: web.Request, query: AuditQuery, account: Account) -> Any:
    trail = request.app[AUDIT]
    filters = AuditFilters(
        actor_id=query.actor_id,
        record_id=query.record_id,
        record_type=query.record_type,
        action=query.action,
        since=query.since,
        until=query.until,
    )
    if query.format == "csv":
        response = web.StreamResponse(
            headers={
                "Content-Type": f"{CSV_MEDIA_TYPE}; charset=utf-8",
                "Content-Disposition": 'attachment; filename="audit-log.csv"',
                "Cache-Control": "no-store",
            }
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        writer = CsvWriter()
        async for cells in trail.csv_rows(account.tenant_id, filters):
            writer.row(cells)
            await response.write(writer.take())
        await response.write_eof()
        return response
    before_id = int(query.page_token) if query.page_token else None
    entries = await trail.entries(account.tenant_id, filters, before_id=before_id, limit=query.page_size + 1)
    more = len(entries) > query.page_size
    items = entries[: query.page_size]
    return AuditPage(
        items=[AuditEntryOut.model_validate(e) for e in items],
        next_page_token=items[-1]["id"] if more else None,
    )
