"""One appointment request in the portal: its status, times, the business's answer, the times proposed to
accept, edit or cancel where its status allows, and its history as the client may see it (who did what and
when; a decline's reason, never the team's internal notes, which the portal API does not carry).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium_web.appointment_requests import OPEN_STATUSES, STATUS_LABELS
from atrium_web.pages import signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.portal import hidden, page, permissions

# A history entry's action in the client's words.
HISTORY_ACTIONS = {
    "submitted": "Requested",
    "updated": "Changed",
    "proposed": "Other times proposed",
    "approved": "Approved",
    "declined": "Declined",
    "cancelled": "Cancelled",
    "expired": "Expired (every requested time passed)",
}


def _who(actor: str) -> str:
    # A client's own steps (before a merge too, under its earlier id) are the client's.
    if actor.startswith("client:"):
        return "you"
    if actor == "system":
        return "automatically"
    return "the business"


def history(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "at": entry["at"],
            "what": HISTORY_ACTIONS.get(entry["action"], entry["action"].replace("_", " ").capitalize()),
            "who": _who(entry["actor"]),
            "reason": entry["details"].get("reason", "") if entry["action"] == "declined" else "",
        }
        for entry in item.get("history") or []
    ]


@signed_in("portal")
async def request_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await permissions(api)
    if not allowed["view_appointments"]:
        return await hidden(request, api, "appointment requests", allowed)
    item = await api.get(f"/api/v1/portal/appointment-requests/{request.match_info['request_id']}")
    return await page(
        request,
        api,
        "portal/request.html",
        permissions=allowed,
        item=item,
        history=history(item),
        labels=STATUS_LABELS,
        open_statuses=OPEN_STATUSES,
    )


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/portal/requests/{request_id}", request_page)
