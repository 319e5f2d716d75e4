"""Campaigns in the staff console: write one (a name, email or text message, the segment by group, status or
tag, the subject and the message with its variables), see how many clients it would reach now (the segment
less those who opted out and those without an address), send it once, and follow its report (sent,
delivered, failed, skipped with the reasons). The message is written as plain fields; the page turns them into
the template blocks the API takes, and the link to unsubscribe is added to an email that does not show it."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from atrium_web.gateway_api import ApiProblem, GatewayUnavailable
from atrium_web.pages import flash, form_errors, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.staff import console

CAMPAIGNS = "/api/v1/campaigns"
CHANNELS = {"email": "Email", "sms": "Text message"}
STATUSES = {"draft": "Draft", "sending": "Sending", "sent": "Sent"}
VARIABLES = ("name", "client_name", "business_name", "unsubscribe_url")
UNSUBSCRIBE = "{{ unsubscribe_url }}"
FIELDS = ("name", "channel", "subject", "message", "rate_per_minute", "group_id", "status_id", "tag")


def campaign_source(channel: str, subject: str, message: str) -> str:
    """The template blocks of the message: subject and text for an email (which must show the unsubscribe
    link: added on its own line when the message does not), sms for a text message."""
    if channel == "sms":
        return f"{{% block sms %}}{message}{{% endblock %}}"
    if UNSUBSCRIBE not in message.replace("{{unsubscribe_url}}", UNSUBSCRIBE):
        message = f"{message.rstrip()}\n\nUnsubscribe: {UNSUBSCRIBE}"
    return f"{{% block subject %}}{subject}{{% endblock %}}{{% block text %}}{message}{{% endblock %}}"


def campaign_body(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's body from the form's values, and what the form itself refuses, by field."""
    errors: dict[str, str] = {}
    channel = values.get("channel", "") if values.get("channel") in CHANNELS else "email"
    if not values.get("name", "").strip():
        errors["name"] = "Give the campaign a name."
    if channel == "email" and not values.get("subject", "").strip():
        errors["subject"] = "An email needs a subject."
    if not values.get("message", "").strip():
        errors["message"] = "Write the message."
    rate = values.get("rate_per_minute", "").strip() or "60"
    if not rate.isdigit() or not 1 <= int(rate) <= 6000:
        errors["rate_per_minute"] = "From 1 to 6000 messages a minute."
    segment = {key: values[key].strip() for key in ("group_id", "status_id", "tag") if values.get(key, "").strip()}
    body = {
        "name": values.get("name", "").strip(),
        "channel": channel,
        "segment": segment,
        "source": campaign_source(channel, values.get("subject", "").strip(), values.get("message", "").strip()),
        "rate_per_minute": int(rate) if not errors.get("rate_per_minute") else 60,
    }
    return body, errors


async def _segments(api: UserApi) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    groups, statuses = await asyncio.gather(api.get("/api/v1/client-groups"), api.get("/api/v1/client-statuses"))
    return list(groups["items"]), [s for s in statuses["items"] if not s.get("archived")]


async def _form(
    request: web.Request, api: UserApi, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> web.StreamResponse:
    groups, statuses = await _segments(api)
    return await console(
        request,
        api,
        "staff/campaign_new.html",
        status=status,
        values=values,
        errors=errors,
        groups=groups,
        client_statuses=statuses,
        channels=CHANNELS,
        variables=VARIABLES,
    )


@signed_in("staff")
async def campaigns(request: web.Request, api: UserApi) -> web.StreamResponse:
    page = await api.get(CAMPAIGNS, page_size=50, page_token=request.query.get("page_token", ""))
    return await console(request, api, "staff/campaigns.html", page=page, channels=CHANNELS, statuses=STATUSES)


@signed_in("staff")
async def new_campaign(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await _form(request, api, {"channel": "email", "rate_per_minute": "60"}, {})


@signed_in("staff")
async def create_campaign(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    values = {name: str(form.get(name, "")) for name in FIELDS}
    body, errors = campaign_body(values)
    if errors:
        return await _form(request, api, values, errors, status=400)
    try:
        created = await api.send("POST", CAMPAIGNS, body)
    except ApiProblem as problem:
        if problem.status != 422:
            raise
        # The API checks the template as a whole: its errors are about the message the staff member wrote.
        shown = form_errors({("message" if k == "source" else k): m for k, m in problem.errors.items()}, *FIELDS)
        return await _form(request, api, values, shown or {"": problem.detail}, status=400)
    await flash(request, "The campaign is saved as a draft.")
    return redirect(request, f"/campaigns/{created['id']}")


@signed_in("staff")
async def campaign_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    path = f"{CAMPAIGNS}/{request.match_info['campaign_id']}"
    campaign = await api.get(path)
    audience, audience_unavailable = None, False
    if campaign["status"] == "draft":
        # The count asks the client service; without it the page still shows, and says so.
        try:
            audience = await api.get(f"{path}/audience")
        except GatewayUnavailable:
            audience_unavailable = True
    groups, statuses = await _segments(api)
    return await console(
        request,
        api,
        "staff/campaign.html",
        campaign=campaign,
        audience=audience,
        audience_unavailable=audience_unavailable,
        group_names={g["id"]: g["name"] for g in groups},
        status_labels={s["id"]: s["label"] for s in statuses},
        channels=CHANNELS,
        statuses=STATUSES,
    )


@signed_in("staff")
async def send_campaign(request: web.Request, api: UserApi) -> web.StreamResponse:
    campaign_id = request.match_info["campaign_id"]
    try:
        await api.send("POST", f"{CAMPAIGNS}/{campaign_id}/send")
        await flash(request, "The campaign is being sent.")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, f"Not sent: {problem.detail or problem.code}.")
    return redirect(request, f"/campaigns/{campaign_id}")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/campaigns", campaigns)
    router.add_get("/campaigns/new", new_campaign)
    router.add_post("/campaigns/new", create_campaign)
    router.add_get("/campaigns/{campaign_id}", campaign_page)
    router.add_post("/campaigns/{campaign_id}/send", send_campaign)
