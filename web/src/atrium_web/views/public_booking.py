"""The public booking page, /book/<slug>: a visitor with no account picks a service, a day and one of its
free times, leaves their details, then enters the code the business emails them; the request then waits for
the business's answer. Everything goes through the gateway's public booking API.

The visitor's place in the flow (the request waiting for its code, then the confirmation) is kept in the
session cookie like a signed-in user's tokens; the code itself never is. Times are shown on the business's
scheduling clock, which the page names. The visitor's address is passed on to the gateway, whose rate limits
are per visitor IP.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp_session import get_session

from atrium_web import custom_fields
from atrium_web.formatting import Formatter, negotiate_locale, preferred_language, today_in
from atrium_web.gateway_api import ApiProblem, Reply
from atrium_web.pages import form_errors, redirect, render
from atrium_web.sessions import GATEWAY

PENDING = "public_booking"  # the session's request waiting for its code
DONE = "public_booking_done"  # the session's confirmed request, shown once on the confirmation page
VISITOR_FIELDS = ("name", "email", "phone", "description", "start", "staff_id", "service_id")
REFUSALS = {
    "SLOT_UNAVAILABLE": "That time is no longer free. Choose another time.",
    "RATE_LIMITED": "Too many requests from here. Please wait a while, then try again.",
    "VERIFICATION_LOCKED": "Too many wrong codes were entered. Please send your request again for a new code.",
    "CODE_EXPIRED": "The code has expired. Please send your request again for a new code.",
    "BOOKING_BLOCKED": "Online requests are not possible for you. Please contact the business directly.",
    "CLIENT_DELETED": "Online requests are not possible for you. Please contact the business directly.",
    "TOO_MANY_OPEN_REQUESTS": "You already have the most open requests allowed. Wait for an answer first.",
    "MAX_ACTIVE_BOOKINGS": "You already have the most bookings allowed. Please contact the business.",
}


def _api(slug: str, rest: str = "") -> str:
    return f"/api/v1/public/booking/{quote(slug, safe='')}{rest}"


def _visitor(request: web.Request) -> dict[str, str]:
    """The visitor's address for the gateway's per-IP limits (this unit is a proxy it trusts)."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    remote = request.remote or "unknown"
    return {"X-Forwarded-For": f"{forwarded}, {remote}" if forwarded else remote}


async def _call(request: web.Request, method: str, path: str, **kwargs: Any) -> Reply:
    return await request.app[GATEWAY].request(method, path, headers=_visitor(request), **kwargs)


def _ok(reply: Reply) -> Any:
    if reply.status >= 400:
        raise ApiProblem.from_body(reply.status, reply.body)
    return reply.body


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _refusal(problem: ApiProblem) -> str:
    return REFUSALS.get(problem.code) or problem.detail or "The request could not be sent."


async def _business(request: web.Request, slug: str) -> dict[str, Any]:
    """The open page's business; a closed or unknown page is the not-found page."""
    return dict(_ok(await _call(request, "GET", _api(slug))))


async def _questions(request: web.Request, slug: str) -> list[dict[str, Any]]:
    """The business's booking request form: its questions are answered with the visitor's details."""
    return list(_ok(await _call(request, "GET", _api(slug, "/form")))["fields"])


async def _booking_form(
    request: web.Request,
    slug: str,
    values: Any,
    *,
    errors: dict[str, str],
    status: int = 200,
) -> web.StreamResponse:
    """Service → day → free time and the visitor's details, each step a plain form (no script needed)."""
    business, listed, questions = await asyncio.gather(
        _business(request, slug), _call(request, "GET", _api(slug, "/services")), _questions(request, slug)
    )
    services = {s["id"]: s for s in _ok(listed)["items"]}
    service = services.get(str(values.get("service_id", "")))
    staff_ids = {s["id"] for s in service["staff"]} if service else set()
    staff_id = str(values.get("staff_id", ""))
    staff_id = staff_id if staff_id in staff_ids else ""
    today = today_in(business["timezone"])
    day = _day(str(values.get("date", ""))) if service else None
    slots: list[dict[str, Any]] = []
    zone = business["timezone"]
    if service and day:
        if day < today:
            errors.setdefault("date", "Choose today or a later day.")
        else:
            query = {"service_id": service["id"], "from": day.isoformat(), "to": day.isoformat()}
            if staff_id:
                query["staff_id"] = staff_id
            found = _ok(await _call(request, "GET", _api(slug, "/availability"), params=query))
            slots, zone = found["slots"], found["timezone"]
    return await render(
        request,
        "public/book.html",
        status=status,
        business=business,
        slug=slug,
        services=list(services.values()),
        service=service,
        staff_id=staff_id,
        day=day,
        today=today,
        last_day=today + timedelta(days=365),
        slots=slots,
        zone=zone,
        clock=Formatter(negotiate_locale(request.headers.get("Accept-Language", "")), zone),
        values={name: str(values.get(name, "")) for name in VISITOR_FIELDS},
        questions=questions,
        answers=custom_fields.displayed(questions, {}, values),
        input_name=custom_fields.input_name,
        input_types=custom_fields.INPUT_TYPES,
        errors=errors,
    )


async def booking_page(request: web.Request) -> web.StreamResponse:
    return await _booking_form(request, request.match_info["slug"], request.query, errors={})


async def send_request(request: web.Request) -> web.StreamResponse:
    slug = request.match_info["slug"]
    form = await request.post()
    values = {name: str(form.get(name, "")).strip() for name in (*VISITOR_FIELDS, "date", "timezone")}
    answers, errors = custom_fields.answers(await _questions(request, slug), form)
    if not values["start"]:
        errors["start"] = "Choose a time."
    for name, label in (("name", "your name"), ("email", "your email address")):
        if not values[name]:
            errors[name] = f"Enter {label}."
    if not errors:
        body: dict[str, Any] = {
            "service_id": values["service_id"],
            "start": values["start"],
            "name": values["name"],
            "email": values["email"],
            "phone": values["phone"],
            "description": values["description"],
            "answers": answers,
        }
        if values["staff_id"]:
            body["preferred_staff_id"] = values["staff_id"]
        if values["timezone"]:
            body["timezone"] = values["timezone"]
        # The code's email in the browser's language, when the business's emails come in it (else its own).
        business = await _business(request, slug)
        language = preferred_language(request.headers.get("Accept-Language", ""), business["languages"])
        if language:
            body["language"] = language
        reply = await _call(request, "POST", _api(slug, "/requests"), json=body)
        if reply.status == 202:
            session = await get_session(request)
            session.pop(DONE, None)
            session[PENDING] = {
                "slug": slug,
                "verification_id": reply.body["verification_id"],
                "email": reply.body["email"],
                "expires_at": reply.body["expires_at"],
                # The clock the visitor saw the times on.
                "timezone": values["timezone"],
            }
            return redirect(request, f"/book/{quote(slug, safe='')}/confirm")
        problem = ApiProblem.from_body(reply.status, reply.body)
        if problem.status == 404:
            raise problem
        answer_errors, others = custom_fields.split_problems(problem.errors, "answers.")
        errors = form_errors(others, *VISITOR_FIELDS) | answer_errors
        if "preferred_staff_id" in problem.errors:
            errors[""] = "Choose someone else, or anyone."
        if problem.code in REFUSALS or not errors:
            errors[""] = _refusal(problem)
        elif answer_errors:
            errors[""] = "Please check the answers marked below."
    return await _booking_form(request, slug, form, errors=errors, status=400)


async def _pending(request: web.Request, slug: str) -> dict[str, Any] | None:
    pending = (await get_session(request)).get(PENDING)
    return pending if isinstance(pending, dict) and pending.get("slug") == slug else None


async def _code_form(
    request: web.Request,
    slug: str,
    pending: dict[str, Any],
    *,
    error: str = "",
    restart: bool = False,
    status: int = 200,
) -> web.StreamResponse:
    business = await _business(request, slug)
    zone = pending.get("timezone") or business["timezone"]
    clock = Formatter(negotiate_locale(request.headers.get("Accept-Language", "")), zone)
    return await render(
        request,
        "public/confirm.html",
        status=status,
        business=business,
        slug=slug,
        pending=pending,
        clock=clock,
        error=error,
        restart=restart,
    )


async def code_page(request: web.Request) -> web.StreamResponse:
    slug = request.match_info["slug"]
    pending = await _pending(request, slug)
    if pending is None:
        return redirect(request, f"/book/{quote(slug, safe='')}")
    return await _code_form(request, slug, pending)


async def confirm_code(request: web.Request) -> web.StreamResponse:
    slug = request.match_info["slug"]
    pending = await _pending(request, slug)
    if pending is None:
        return redirect(request, f"/book/{quote(slug, safe='')}")
    code = "".join(str((await request.post()).get("code", "")).split())
    if not (len(code) == 6 and code.isdigit()):
        return await _code_form(request, slug, pending, error="Enter the six digits from the email.", status=400)
    reply = await _call(
        request, "POST", _api(slug, f"/requests/{pending['verification_id']}/confirm"), json={"code": code}
    )
    if reply.status == 201:
        session = await get_session(request)
        session.pop(PENDING, None)
        session[DONE] = {"slug": slug, **reply.body}
        return redirect(request, f"/book/{quote(slug, safe='')}/done")
    problem = ApiProblem.from_body(reply.status, reply.body)
    if problem.status == 404:
        raise problem
    if problem.status == 422:
        wrong = problem.errors.get("code") or "That code is wrong."
        return await _code_form(request, slug, pending, error=f"That code is wrong: {wrong}", status=400)
    # Locked, expired, refused for the client, or too many tries from here: starting again is the way on.
    restart = problem.code in ("VERIFICATION_LOCKED", "CODE_EXPIRED")
    return await _code_form(request, slug, pending, error=_refusal(problem), restart=restart, status=400)


async def done_page(request: web.Request) -> web.StreamResponse:
    slug = request.match_info["slug"]
    done = (await get_session(request)).get(DONE)
    if not isinstance(done, dict) or done.get("slug") != slug:
        return redirect(request, f"/book/{quote(slug, safe='')}")
    business = await _business(request, slug)
    clock = Formatter(negotiate_locale(request.headers.get("Accept-Language", "")), done["timezone"])
    return await render(request, "public/done.html", business=business, slug=slug, done=done, clock=clock)


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/book/{slug}", booking_page)
    router.add_post("/book/{slug}/requests", send_request)
    router.add_get("/book/{slug}/confirm", code_page)
    router.add_post("/book/{slug}/confirm", confirm_code)
    router.add_get("/book/{slug}/done", done_page)
