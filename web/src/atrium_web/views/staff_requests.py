"""The staff console's appointment requests: the list (status filter with counts, search), a request's
details and history, and its decisions: approve with a technician, decline with a reason, propose other times.

Times are the business's wall clock (the session's zone); the client's own are shown beside them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from atrium_web.appointment_requests import OPEN_STATUSES, STATUS_LABELS, local_input, wall_clock
from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, form_errors, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.booking import quote_in_words, visit_quote
from atrium_web.views.staff import REQUESTS, console

APPROVAL_FIELDS = ("technician_id", "start", "internal_notes", "ticket")
PROPOSAL_FIELDS = ("alternatives", "proposal_technician_id", "note")
MAX_ALTERNATIVES = 3
MAX_QUERY = 100
# The API's 409 codes a decision can meet, as what staff should do next.
DECISION_CONFLICTS = {
    "REQUEST_NOT_PENDING": "This request was decided or answered meanwhile: see its status and history below.",
    "CONCURRENT_CHANGE": "The client changed this request while you were reviewing it. Check it again below.",
}
SLOT_CONFLICTS = frozenset({"SLOT_TAKEN", "SLOT_UNAVAILABLE"})
BOOKING_RULES = frozenset({"BOOKING_BLOCKED", "MAX_ACTIVE_BOOKINGS"})
HISTORY_ACTIONS = {
    "submitted": "Requested",
    "updated": "Edited",
    "proposed": "Other times proposed",
    "approved": "Approved",
    "declined": "Declined",
    "cancelled": "Cancelled",
    "expired": "Expired",
}


def _filter_labels(counts: dict[str, int]) -> dict[str, str]:
    return {"": f"All ({counts['total']})"} | {s: f"{label} ({counts[s]})" for s, label in STATUS_LABELS.items()}


@signed_in("staff")
async def request_list(request: web.Request, api: UserApi) -> web.StreamResponse:
    status = request.query.get("status", "pending")
    if status and status not in STATUS_LABELS:
        status = "pending"
    query = request.query.get("q", "").strip()[:MAX_QUERY]
    page, counts = await asyncio.gather(
        api.get(REQUESTS, status=status, q=query, page_token=request.query.get("page_token", "")),
        api.get(f"{REQUESTS}/counts"),
    )
    return await console(
        request,
        api,
        "staff/requests.html",
        page=page,
        selected=status,
        query=query,
        filters=_filter_labels(counts),
        labels=STATUS_LABELS,
        pending=str(counts["pending"]),
    )


async def _technicians(api: UserApi, service_id: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Who may perform the service (its staff with an active schedule and, where the viewer may read the staff
    list, an account not deactivated), and every staff member's name by id (for the history)."""
    services, schedules, accounts = await asyncio.gather(
        api.get("/api/v1/services"), api.get("/api/v1/staff-schedules"), api.call("GET", "/api/v1/staff")
    )
    performers = next((set(s["staff_ids"]) for s in services["items"] if s["id"] == service_id), None)
    # The staff list needs staff.manage, which the front desk approving requests may not hold.
    listed = accounts.body["items"] if accounts.status == 200 else []
    gone = {m["id"] for m in listed if m["status"] == "deactivated"}
    names = {m["staff_id"]: m["display_name"] for m in schedules["items"]}
    able = [
        m
        for m in schedules["items"]
        if m["active"] and m["staff_id"] not in gone and (performers is None or m["staff_id"] in performers)
    ]
    return able, names


def _history(item: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    def who(actor: str) -> str:
        kind, _, actor_id = actor.partition(":")
        if kind == "client":
            return item["client_name"] or "The client"
        if kind == "system":
            return "Automatically"
        return names.get(actor_id, "A staff member")

    return [
        {
            "at": entry["at"],
            "who": who(entry["actor"]),
            "what": HISTORY_ACTIONS.get(entry["action"], entry["action"].replace("_", " ").capitalize()),
            "details": entry["details"],
        }
        for entry in item.get("history") or []
    ]


async def _quote(api: UserApi, item: dict[str, Any]) -> dict[str, Any]:
    """While the request is pending: which of the client's credits would pay for it and the cancellation terms
    at the requested time (what approving it books); a client gone meanwhile shows no quote."""
    if item["status"] != "pending":
        return {"status": "none", "data": None}
    try:
        return await visit_quote(api, item["client_id"], item["service_id"], item["requested"]["start"])
    except ApiProblem:
        return {"status": "unavailable", "data": None}


async def _request_page(
    request: web.Request,
    api: UserApi,
    *,
    errors: dict[str, str] | None = None,
    form: Any = None,
    status: int = 200,
    override_offered: bool = False,
) -> web.StreamResponse:
    item = await api.get(f"{REQUESTS}/{request.match_info['request_id']}")
    (technicians, names), quote = await asyncio.gather(_technicians(api, item["service_id"]), _quote(api, item))
    payment, terms = quote_in_words(request, api, quote)
    zone = api.account.timezone
    return await console(
        request,
        api,
        "staff/request.html",
        status=status,
        item=item,
        history=_history(item, names),
        technicians=technicians,
        labels=STATUS_LABELS,
        open_statuses=OPEN_STATUSES,
        default_start=local_input(item["requested"]["start"], zone),
        max_alternatives=MAX_ALTERNATIVES,
        errors=errors or {},
        form=form or {},
        override_offered=override_offered,
        quote=quote,
        payment=payment,
        terms=terms,
    )


@signed_in("staff")
async def request_details(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await _request_page(request, api)


def _version(form: Any) -> int:
    raw = str(form.get("version", "0"))
    return int(raw) if raw.isdigit() else 0


def approval_body(form: Any, zone: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The approve call's body from the form, and the errors of what is missing or malformed."""
    errors: dict[str, str] = {}
    technician = str(form.get("technician_id", "")).strip()
    if not technician:
        errors["technician_id"] = "Assign a technician."
    start = wall_clock(str(form.get("start", "")), zone)
    if start is None:
        errors["start"] = "Give the final date and time."
    body = {
        "technician_id": technician,
        "start": start,
        "internal_notes": str(form.get("internal_notes", "")).strip(),
        "ticket": str(form.get("ticket", "")).strip(),
        "version": _version(form),
        "override_booking_rules": form.get("override_booking_rules") == "on",
    }
    return body, errors


def _decision_errors(problem: ApiProblem, fields: tuple[str, ...]) -> dict[str, str]:
    if problem.status in (403, 404):
        raise problem
    errors = form_errors(problem.errors, *fields)
    if problem.code in DECISION_CONFLICTS:
        errors[""] = DECISION_CONFLICTS[problem.code]
    return errors or {"": problem.detail or "That could not be done."}


@signed_in("staff")
async def approve(request: web.Request, api: UserApi) -> web.StreamResponse:
    request_id = request.match_info["request_id"]
    form = await request.post()
    body, errors = approval_body(form, api.account.timezone)
    override_offered = False
    if not errors:
        try:
            await api.send("POST", f"{REQUESTS}/{request_id}/approve", body)
            await flash(request, "The request is approved and the appointment booked; the client is notified.")
            return redirect(request, f"/requests/{request_id}")
        except ApiProblem as problem:
            errors = _decision_errors(problem, APPROVAL_FIELDS)
            if problem.code in SLOT_CONFLICTS:
                errors = {"start": "That time is no longer free for this technician. Choose another time."}
            elif problem.code in BOOKING_RULES:
                override_offered = True
                errors = {"": f"The client's booking rules refuse it: {problem.detail}"}
    return await _request_page(request, api, errors=errors, form=form, status=400, override_offered=override_offered)


@signed_in("staff")
async def decline(request: web.Request, api: UserApi) -> web.StreamResponse:
    request_id = request.match_info["request_id"]
    form = await request.post()
    reason = str(form.get("reason", "")).strip()
    if not reason:
        errors = {"reason": "Tell the client why (they see this)."}
        return await _request_page(request, api, errors=errors, form=form, status=400)
    try:
        await api.send("POST", f"{REQUESTS}/{request_id}/decline", {"reason": reason})
    except ApiProblem as problem:
        errors = _decision_errors(problem, ("reason",))
        return await _request_page(request, api, errors=errors, form=form, status=400)
    await flash(request, "The request is declined; the client is notified.")
    return redirect(request, f"/requests/{request_id}")


def proposal_body(form: Any, zone: str) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    given = [str(form.get(f"alternative_{n}", "")).strip() for n in range(MAX_ALTERNATIVES)]
    alternatives = [wall_clock(value, zone) for value in given if value]
    if not alternatives:
        errors["alternatives"] = "Give at least one other time."
    elif None in alternatives:
        errors["alternatives"] = "Give each time as a date and a time."
    body: dict[str, Any] = {
        "alternatives": alternatives,
        "note": str(form.get("note", "")).strip(),
        "version": _version(form),
    }
    technician = str(form.get("proposal_technician_id", "")).strip()
    if technician:
        body["technician_id"] = technician
    return body, errors


@signed_in("staff")
async def propose(request: web.Request, api: UserApi) -> web.StreamResponse:
    request_id = request.match_info["request_id"]
    form = await request.post()
    body, errors = proposal_body(form, api.account.timezone)
    if not errors:
        try:
            await api.send("POST", f"{REQUESTS}/{request_id}/propose", body)
            await flash(request, "The other times are proposed; the client is notified and may accept one.")
            return redirect(request, f"/requests/{request_id}")
        except ApiProblem as problem:
            renamed = {("proposal_technician_id" if k == "technician_id" else k): v for k, v in problem.errors.items()}
            problem.errors = renamed
            errors = _decision_errors(problem, PROPOSAL_FIELDS)
    return await _request_page(request, api, errors=errors, form=form, status=400)


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/requests", request_list)
    router.add_get("/requests/{request_id}", request_details)
    router.add_post("/requests/{request_id}/approve", approve)
    router.add_post("/requests/{request_id}/decline", decline)
    router.add_post("/requests/{request_id}/propose", propose)
