"""Messages the business sent or tried to send (email, SMS, in-app), by delivery state, with the attempts; a
failed or skipped one is sent again from here (after, say, the client's address was corrected)."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, redirect, signed_in
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


# --- the business's wording of each message --------------------------------------------------------

TEMPLATES = "/api/v1/message-templates"


def template_path(request: web.Request) -> str:
    return f"{TEMPLATES}/{quote(request.match_info['kind'])}/{quote(request.match_info['language'])}"


@signed_in("staff")
async def templates(request: web.Request, api: UserApi) -> web.StreamResponse:
    kinds = (await api.get(TEMPLATES))["items"]
    return await console(request, api, "staff/templates.html", kinds=kinds)


async def _editor(
    request: web.Request, api: UserApi, source: str, errors: dict[str, str], status: int = 200
) -> web.StreamResponse:
    """The wording's preview on sample data (the given blocks, or what is in use), beside the editor."""
    kind, language = request.match_info["kind"], request.match_info["language"]
    listed = {k["kind"]: k for k in (await api.get(TEMPLATES))["items"]}
    if kind not in listed or language not in listed[kind]["languages"]:
        raise web.HTTPNotFound()
    try:
        preview = await api.send("POST", f"{template_path(request)}/preview", {"source": source})
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        errors = errors or {"source": "; ".join(problem.errors.values()) or problem.detail}
        preview = await api.send("POST", f"{template_path(request)}/preview", {"source": ""})
        status = 400
    return await console(
        request,
        api,
        "staff/template.html",
        status=status,
        kind=listed[kind],
        language=language,
        source=source,
        preview=preview,
        errors=errors,
    )


@signed_in("staff")
async def template_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await _editor(request, api, "", {})


@signed_in("staff")
async def save_template(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Preview the blocks typed, save them (checked by the API on sample data), or go back to the default."""
    form = await request.post()
    action, source = str(form.get("action", "preview")), str(form.get("source", ""))
    back = f"/settings/messages/{quote(request.match_info['kind'])}/{quote(request.match_info['language'])}"
    if action == "reset":
        return await apply(request, api, "DELETE", template_path(request), None, "The default wording applies.", back)
    if action != "save" or not source.strip():
        return await _editor(request, api, source, {})
    try:
        await api.send("PUT", template_path(request), {"source": source})
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        message = "; ".join(problem.errors.values()) or problem.detail
        return await _editor(request, api, source, {"source": message}, status=400)
    await flash(request, "The wording is saved.")
    return redirect(request, back)


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/messages", messages)
    router.add_post("/messages/{message_id}/resend", resend)
    router.add_get("/settings/messages", templates)
    router.add_get("/settings/messages/{kind}/{language}", template_page)
    router.add_post("/settings/messages/{kind}/{language}", save_template)
