"""Messages the business sent or tried to send (email, SMS, in-app), by delivery state, with the attempts; a
failed or skipped one is sent again from here (after, say, the client's address was corrected)."""

from __future__ import annotations

from aiohttp import web

from atrium_web.pages import signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.settings import apply
from atrium_web.views.staff import client_names, console

STATES = {
    "failed": "Failed",
    "skipped": "Skipped",
    "planned": "Planned",
    "sent": "Sent",
    "delivered": "Delivered",
    "cancelled": "Cancelled",
    "": "All",
}
RESENDABLE = frozenset({"failed", "skipped"})


@signed_in("staff")
async def messages(request: web.Request, api: UserApi) -> web.StreamResponse:
    state = request.query.get("status", "failed")
    state = state if state in STATES else "failed"
    page = await api.get("/api/v1/messages", status=state, page_size=50, page_token=request.query.get("page_token", ""))
    clients = await client_names(api, [m["client_id"] for m in page["items"] if m["client_id"]])
    return await console(
        request,
        api,
        "staff/messages.html",
        page=page,
        clients=clients,
        state=state,
        states=STATES,
        resendable=RESENDABLE,
    )


@signed_in("staff")
async def resend(request: web.Request, api: UserApi) -> web.StreamResponse:
    back = str((await request.post()).get("back", "/messages"))
    path = f"/api/v1/messages/{request.match_info['message_id']}/resend"
    done = "The message is sent again."
    return await apply(request, api, "POST", path, {}, done, back if back.startswith("/messages") else "/messages")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/messages", messages)
    router.add_post("/messages/{message_id}/resend", resend)
