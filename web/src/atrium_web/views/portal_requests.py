"""The portal's appointment requests: my requests (status filter), request an appointment, edit a pending
one, cancel (an approved one too, within the business's notice), accept a time staff proposed.

Times are the client's own zone (the session's). The portal API never carries the team's internal notes or
the ticket, and nothing here asks for them.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from atrium_web import custom_fields
from atrium_web.appointment_requests import OPEN_STATUSES, STATUS_LABELS, instants_on_clock
from atrium_web.formatting import today_in
from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, form_errors, formatter, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.portal import hidden, page, permissions, services_by_id

REQUESTS = "/api/v1/portal/appointment-requests"
MAX_DESCRIPTION = 1000
REQUEST_FIELDS = ("service_id", "options", "message", "answers")
# The API's field names as the form's.
FORM_FIELD = {"options": "start", "message": "description"}
ACCEPT_CONFLICTS = {
    "SLOT_TAKEN": "That time was taken meanwhile. Choose another of the proposed times.",
    "SLOT_UNAVAILABLE": "That time is no longer free. Choose another of the proposed times.",
    "REQUEST_NOT_PROPOSED": "This request is no longer awaiting your answer.",
}


async def _allowed(api: UserApi) -> dict[str, bool] | None:
    allowed = await permissions(api)
    return allowed if allowed["view_appointments"] else None


async def _questions(api: UserApi) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The booking request form's questions and the client's answers kept from before (shown as defaults)."""
    found, me = await asyncio.gather(
        api.get("/api/v1/portal/custom-fields", form="booking_request"), api.get("/api/v1/portal/me")
    )
    return [f for f in found["items"] if not f["retired"]], me["custom_fields"]


def _readable(request: web.Request, api: UserApi, detail: str) -> str:
    return instants_on_clock(detail, formatter(request, api.account))


@signed_in("portal")
async def my_requests(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await _allowed(api)
    if allowed is None:
        return await hidden(request, api, "appointment requests", await permissions(api))
    status = request.query.get("status", "")
    if status not in STATUS_LABELS:
        status = ""
    found = await api.get(REQUESTS, status=status, page_token=request.query.get("page_token", ""))
    return await page(
        request,
        api,
        "portal/requests.html",
        permissions=allowed,
        page=found,
        selected=status,
        labels=STATUS_LABELS,
        open_statuses=OPEN_STATUSES,
    )


async def _decide(request: web.Request, api: UserApi, action: str, body: Any, done: str, refused: str) -> None:
    request_id = request.match_info["request_id"]
    try:
        await api.send("POST", f"{REQUESTS}/{request_id}/{action}", body)
        await flash(request, done)
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        message = ACCEPT_CONFLICTS.get(problem.code) if action == "accept" else None
        await flash(request, message or f"{refused}: {_readable(request, api, problem.detail)}")


async def _back(request: web.Request) -> str:
    """Back to the request's own page when the form came from there, else to my requests."""
    target = str((await request.post()).get("next", ""))
    return target if target == f"/portal/requests/{request.match_info['request_id']}" else "/portal/requests"


@signed_in("portal")
async def cancel_request(request: web.Request, api: UserApi) -> web.StreamResponse:
    await _decide(request, api, "cancel", None, "Your request is cancelled.", "This request cannot be cancelled")
    return redirect(request, await _back(request))


@signed_in("portal")
async def accept_time(request: web.Request, api: UserApi) -> web.StreamResponse:
    raw = str((await request.post()).get("alternative", ""))
    if not raw.isdigit():
        await flash(request, "Choose one of the proposed times.")
    else:
        done = "You accepted the time: your appointment is booked."
        await _decide(request, api, "accept", {"alternative": int(raw)}, done, "That time cannot be booked")
    return redirect(request, await _back(request))


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _same_instant(a: str, b: str) -> bool:
    try:
        return datetime.fromisoformat(a.replace("Z", "+00:00")) == datetime.fromisoformat(b.replace("Z", "+00:00"))
    except ValueError:
        return False


async def _request_form(
    request: web.Request,
    api: UserApi,
    allowed: dict[str, bool],
    *,
    errors: dict[str, str],
    description: str,
    status: int = 200,
    values: Any = None,
    editing: dict[str, Any] | None = None,
) -> web.StreamResponse:
    """Service → date → free time → description; editing, the request's own choices are the defaults."""
    values = values if values is not None else request.query
    services = await services_by_id(api)
    current = editing["options"][0] if editing else None
    service_id = str(values.get("service_id", "")) or (editing["service_id"] if editing else "")
    service = services.get(service_id)
    today = today_in(api.account.timezone)
    day = _day(str(values.get("date", "")) or (current["local_start"][:10] if current else "")) if service else None
    chosen = str(values.get("start", ""))
    slots: list[dict[str, Any]] = []
    if service and day:
        if day < today:
            errors.setdefault("date", "Choose today or a later day.")
        else:
            found = await api.get(
                "/api/v1/portal/availability",
                service_ids=service["id"],
                **{"from": day.isoformat(), "to": day.isoformat()},
                timezone=api.account.timezone,
            )
            slots = found["slots"]
    if not chosen and current:
        chosen = next((s["start"] for s in slots if _same_instant(s["start"], current["start"])), "")
    base = f"/portal/requests/{editing['id']}/edit" if editing else "/portal/requests/new"
    # A new request answers the business's booking form (an edit changes the request only).
    questions, kept = await _questions(api) if not editing and slots else ([], {})
    return await page(
        request,
        api,
        "portal/request_new.html",
        status=status,
        permissions=allowed,
        services=list(services.values()),
        service=service,
        day=day,
        today=today,
        last_day=today + timedelta(days=365),
        slots=slots,
        chosen=chosen,
        submission=str(values.get("submission", "")) or str(uuid.uuid4()),
        description=description,
        errors=errors,
        editing=editing,
        steps_action=base,
        submit_action=base if editing else "/portal/requests",
        questions=questions,
        answers=custom_fields.displayed(questions, kept, values if status != 200 else None),
        input_name=custom_fields.input_name,
        input_types=custom_fields.INPUT_TYPES,
    )


@signed_in("portal")
async def new_request(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await _allowed(api)
    if allowed is None:
        return await hidden(request, api, "appointment requests", await permissions(api))
    return await _request_form(request, api, allowed, errors={}, description="")


def _problem_errors(problem: ApiProblem) -> dict[str, str]:
    if problem.status in (403, 404):
        raise problem
    answer_errors, others = custom_fields.split_problems(problem.errors, "answers.")
    errors = form_errors(others, *REQUEST_FIELDS)
    errors = {FORM_FIELD.get(k, k): v for k, v in errors.items()} | answer_errors
    return errors or {"": problem.detail or "The request could not be sent."}


def _form_checks(start: str, description: str, *, start_required: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if start_required and not start:
        errors["start"] = "Choose a time."
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = "Keep the description within 1,000 characters."
    return errors


@signed_in("portal")
async def submit_request(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    start, description = str(form.get("start", "")), str(form.get("description", ""))
    answers, errors = custom_fields.answers((await _questions(api))[0], form)
    errors |= _form_checks(start, description, start_required=True)
    if not errors:
        try:
            await api.send(
                "POST",
                REQUESTS,
                {
                    "service_id": str(form.get("service_id", "")),
                    "options": [{"start": start}],
                    "message": description,
                    "timezone": api.account.timezone,
                    "answers": answers,
                },
                # One request however often the form is sent (double click, retried post).
                headers={"Idempotency-Key": str(form.get("submission", "")) or str(uuid.uuid4())},
            )
            await flash(request, "Your request is sent. You will be notified when the business answers.")
            return redirect(request, "/portal/requests")
        except ApiProblem as problem:
            errors = _problem_errors(problem)
    return await _request_form(
        request, api, await permissions(api), errors=errors, description=description, status=400, values=form
    )


async def _pending_request(request: web.Request, api: UserApi) -> dict[str, Any] | None:
    item: dict[str, Any] = await api.get(f"{REQUESTS}/{request.match_info['request_id']}")
    if item["status"] != "pending":
        status = STATUS_LABELS[item["status"]].lower()
        await flash(request, f"{item['reference']} is {status}: only a pending request can be changed.")
        return None
    return item


@signed_in("portal")
async def edit_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    allowed = await _allowed(api)
    if allowed is None:
        return await hidden(request, api, "appointment requests", await permissions(api))
    item = await _pending_request(request, api)
    if item is None:
        return redirect(request, "/portal/requests")
    return await _request_form(request, api, allowed, errors={}, description=item["message"], editing=item)


@signed_in("portal")
async def edit_request(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Only what changed is sent (omitted fields stay), with the version read: changed since, it says so."""
    item = await _pending_request(request, api)
    if item is None:
        return redirect(request, "/portal/requests")
    form = await request.post()
    start, description = str(form.get("start", "")), str(form.get("description", ""))
    errors = _form_checks(start, description, start_required=False)
    version = str(form.get("version", ""))
    if not errors:
        body: dict[str, Any] = {"version": int(version) if version.isdigit() else item["version"]}
        service_id = str(form.get("service_id", ""))
        if service_id and service_id != item["service_id"]:
            body["service_id"] = service_id
        if start and not _same_instant(start, item["options"][0]["start"]):
            body["options"] = [{"start": start}]
        if description != item["message"]:
            body["message"] = description
        try:
            await api.send("PATCH", f"{REQUESTS}/{item['id']}", body)
            await flash(request, f"{item['reference']} is changed.")
            return redirect(request, "/portal/requests")
        except ApiProblem as problem:
            if problem.code == "REQUEST_NOT_PENDING":
                await flash(request, f"{item['reference']} was answered meanwhile, so it was not changed.")
                return redirect(request, "/portal/requests")
            if problem.code == "CONCURRENT_CHANGE":
                errors = {"": "This request changed since you opened it. Check it below and save again."}
            else:
                errors = _problem_errors(problem)
        item = await api.get(f"{REQUESTS}/{item['id']}")  # the version and values as they are now
    return await _request_form(
        request,
        api,
        await permissions(api),
        errors=errors,
        description=description,
        status=400,
        values=form,
        editing=item,
    )


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/portal/requests", my_requests)
    router.add_get("/portal/requests/new", new_request)
    router.add_post("/portal/requests", submit_request)
    router.add_get("/portal/requests/{request_id}/edit", edit_page)
    router.add_post("/portal/requests/{request_id}/edit", edit_request)
    router.add_post("/portal/requests/{request_id}/cancel", cancel_request)
    router.add_post("/portal/requests/{request_id}/accept", accept_time)
