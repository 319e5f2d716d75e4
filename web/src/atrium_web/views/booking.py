"""Booking from the staff console: a new appointment (client, service, staff member, then a free slot from the
real availability), rescheduling by choosing a new slot, and a recurring series with its clash preview.

Every time is on the business's clock (the session's zone). A booking form carries a key made when it was
shown, sent as the Idempotency-Key: a double click or a resent form books once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from atrium_web.booking_terms import payment_in_words, terms_in_words
from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, formatter, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.staff import business_today, console, section, services_by_id

FREQUENCIES = {"WEEKLY": "Every week", "DAILY": "Every day", "MONTHLY": "Every month"}
MAX_OCCURRENCES = 52
# A slot's value in the form: its start instant and the staff member it is for, as the availability gave them.
SLOT_SEPARATOR = "|"


def _day(value: str, default: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return date.fromisoformat(default)


async def _catalogue(api: UserApi) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    services, staff = await asyncio.gather(api.get("/api/v1/services"), api.get("/api/v1/staff-schedules"))
    return services["items"], [s for s in staff["items"] if s["active"]]


async def _client_or_none(api: UserApi, client_id: str) -> dict[str, Any] | None:
    if not client_id:
        return None
    try:
        return dict(await api.get(f"/api/v1/clients/{client_id}"))
    except ApiProblem as problem:
        if problem.status in (400, 404):
            return None
        raise


async def _matching_clients(api: UserApi, q: str) -> list[dict[str, Any]]:
    return list((await api.get("/api/v1/clients", q=q, page_size=10))["items"]) if q else []


async def client_picker_page(
    request: web.Request,
    api: UserApi,
    template: str,
    values: Any,
    errors: dict[str, str],
    *,
    refusals: Mapping[str, str],
    status: int = 200,
    refusal: str = "",
    request_key: str = "",
    **context: Any,
) -> web.StreamResponse:
    """A staff form made for a client found by id or by search, with the catalogue's services and staff (a new
    request, joining the waitlist): the values and field errors it shows, and the booking rule that refused it
    (``refusals`` says each in words), which staff may override."""
    client_id, q = str(values.get("client_id", "")).strip(), str(values.get("q", "")).strip()
    (services, staff), client, candidates = await asyncio.gather(
        _catalogue(api), _client_or_none(api, client_id), _matching_clients(api, q)
    )
    return await console(
        request,
        api,
        template,
        status=status,
        client=client,
        candidates=candidates,
        q=q,
        services=services,
        staff=staff,
        values=values,
        errors=errors,
        refusal=refusal,
        refusal_text=refusals.get(refusal, ""),
        request_key=request_key or str(uuid.uuid4()),
        **context,
    )


async def free_slots(api: UserApi, service_id: str, staff_id: str, day: date) -> list[dict[str, Any]]:
    """The day's free starts for the service (with the staff member, or anyone qualified), on the business's clock."""
    found = await api.get(
        "/api/v1/availability",
        service_ids=service_id,
        staff_ids=staff_id,
        timezone=api.account.timezone,
        **{"from": day.isoformat(), "to": day.isoformat()},
    )
    slots = []
    for slot in found["slots"]:
        staff_for = staff_id or slot["staff_ids"][0]
        slots.append({"start": slot["start"], "value": f"{slot['start']}{SLOT_SEPARATOR}{staff_for}"})
    return slots


def _chosen(query: Mapping[str, str]) -> dict[str, str]:
    return {k: query.get(k, "").strip() for k in ("client_id", "q", "service_id", "staff_id", "on")}


@signed_in("staff")
async def new_appointment(request: web.Request, api: UserApi) -> web.StreamResponse:
    """One page that fills in as the choices are made: client, service and staff member, day, then its slots."""
    chosen = _chosen(request.query)
    day = _day(chosen["on"], business_today(api))
    (services, staff), client, candidates = await asyncio.gather(
        _catalogue(api), _client_or_none(api, chosen["client_id"]), _matching_clients(api, chosen["q"])
    )
    slots = None
    if client and chosen["service_id"]:
        slots = await free_slots(api, chosen["service_id"], chosen["staff_id"], day)
    return await console(
        request,
        api,
        "staff/appointment_new.html",
        chosen=chosen,
        day=day,
        client=client,
        candidates=candidates,
        services=services,
        staff=staff,
        slots=slots,
        request_key=str(uuid.uuid4()),
    )


async def visit_quote(api: UserApi, client_id: str, service_id: str, start: str) -> dict[str, Any]:
    """Which of the client's credits would pay for the visit and the cancellation terms it would be under (a
    section: forbidden for a role without memberships.read, unavailable while billing does not answer)."""
    return await section(api.get(f"/api/v1/clients/{client_id}/credit-quote", service_id=service_id, start=start))


def quote_in_words(request: web.Request, api: UserApi, quote: dict[str, Any]) -> tuple[str, list[str]]:
    """A visit quote section as what pays and the cancellation terms, in the viewer's words (empty unless ok)."""
    if quote["status"] != "ok":
        return "", []
    fmt = formatter(request, api.account)
    credit_type = quote["data"]["credit_type"]
    credit_types = {credit_type["id"]: credit_type} if credit_type else {}
    payment = payment_in_words(fmt, quote["data"])
    return payment, terms_in_words(fmt, quote["data"]["cancellation"], credit_types, booking=True)


@signed_in("staff")
async def confirm_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The booking before it is made: who, what, when and with whom, which entitlement pays and the cancellation
    terms it is under; "Book" makes it."""
    chosen = _chosen(request.query)
    slot = _slot(request.query)
    back = "/appointments/new?" + urlencode({k: v for k, v in chosen.items() if k != "q"})
    if slot is None or not chosen["client_id"] or not chosen["service_id"]:
        await flash(request, "Choose a time.")
        return redirect(request, back)
    start, staff_id = slot
    (services, staff), client, quote = await asyncio.gather(
        _catalogue(api),
        _client_or_none(api, chosen["client_id"]),
        visit_quote(api, chosen["client_id"], chosen["service_id"], start),
    )
    service = next((s for s in services if s["id"] == chosen["service_id"]), None)
    if client is None or service is None:
        raise web.HTTPNotFound()
    payment, terms = quote_in_words(request, api, quote)
    return await console(
        request,
        api,
        "staff/appointment_confirm.html",
        chosen=chosen,
        slot=str(request.query["slot"]),
        start=start,
        client=client,
        service=service,
        member=next((m for m in staff if m["staff_id"] == staff_id), None),
        notes=request.query.get("notes", "").strip()[:4000],
        quote=quote,
        payment=payment,
        terms=terms,
        back=back,
        request_key=str(uuid.uuid4()),
    )


def _slot(form: Mapping[str, Any]) -> tuple[str, str] | None:
    start, separator, staff_id = str(form.get("slot", "")).partition(SLOT_SEPARATOR)
    return (start, staff_id) if separator and start else None


@signed_in("staff")
async def book(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    client_id, service_id = str(form.get("client_id", "")), str(form.get("service_id", ""))
    staff_choice, day = str(form.get("staff_id", "")), str(form.get("on", ""))
    back = "/appointments/new?" + urlencode(
        {"client_id": client_id, "service_id": service_id, "staff_id": staff_choice, "on": day}
    )
    slot = _slot(form)
    if slot is None:
        await flash(request, "Choose a time.")
        return redirect(request, back)
    start, staff_id = slot
    body = {
        "client_id": client_id,
        "segments": [{"service_id": service_id, "staff_id": staff_id}],
        "start": start,
        "notes": str(form.get("notes", "")).strip()[:4000],
    }
    headers = {"Idempotency-Key": str(form.get("request_key", "")) or str(uuid.uuid4())}
    try:
        booked = await api.send("POST", "/api/v1/appointments", body, headers=headers)
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, f"Not booked: {problem.detail or 'that time is no longer free'}.")
        return redirect(request, back)
    await flash(request, "The appointment is booked.")
    local_day = api_day(booked["start"], api)
    return redirect(request, f"/schedule?view=day&on={local_day}")


def api_day(instant: str, api: UserApi) -> str:
    """The business's calendar day of an instant."""
    return datetime.fromisoformat(instant).astimezone(ZoneInfo(api.account.timezone)).date().isoformat()


@signed_in("staff")
async def reschedule_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    appointment = await api.get(f"/api/v1/appointments/{request.match_info['appointment_id']}")
    current_day = api_day(appointment["start"], api)
    day = _day(request.query.get("on", ""), current_day)
    segment = appointment["segments"][0]
    slots, client = await asyncio.gather(
        free_slots(api, segment["service_id"], segment["staff_id"], day),
        _client_or_none(api, appointment["client_id"]),
    )
    return await console(
        request,
        api,
        "staff/appointment_reschedule.html",
        appointment=appointment,
        client=client,
        day=day,
        previous=(day - timedelta(days=1)).isoformat(),
        following=(day + timedelta(days=1)).isoformat(),
        slots=slots,
    )


@signed_in("staff")
async def reschedule(request: web.Request, api: UserApi) -> web.StreamResponse:
    appointment_id = request.match_info["appointment_id"]
    form = await request.post()
    slot = _slot(form)
    if slot is None:
        await flash(request, "Choose the new time.")
        return redirect(
            request, f"/appointments/{appointment_id}/reschedule?{urlencode({'on': str(form.get('on', ''))})}"
        )
    body = {"start": slot[0], "version": int(str(form.get("version", "1")) or 1)}
    try:
        moved = await api.send("POST", f"/api/v1/appointments/{appointment_id}/reschedule", body)
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, f"Not moved: {problem.detail or 'that time is no longer free'}.")
        return redirect(
            request, f"/appointments/{appointment_id}/reschedule?{urlencode({'on': str(form.get('on', ''))})}"
        )
    await flash(request, "The appointment is moved.")
    return redirect(request, f"/schedule?view=day&on={api_day(moved['start'], api)}")


async def _credit_types(api: UserApi) -> dict[str, dict[str, Any]]:
    """Credit types by id, to name forfeited credits; none for a role that may not read them."""
    try:
        return {t["id"]: t for t in (await api.get("/api/v1/credit-types"))["items"]}
    except ApiProblem as problem:
        if problem.status == 403:
            return {}
        raise


@signed_in("staff")
async def cancel_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Before cancelling: the appointment and what cancelling it now costs the client under the business's
    policy (a cancellation staff make), then the reason and "Cancel the appointment"."""
    path = f"/api/v1/appointments/{request.match_info['appointment_id']}"
    appointment = await api.get(path)
    terms, client, services = await asyncio.gather(
        section(api.get(f"{path}/cancellation-terms", by="staff")),
        _client_or_none(api, appointment["client_id"]),
        services_by_id(api),
    )
    lines = []
    if terms["status"] == "ok":
        fmt = formatter(request, api.account)
        lines = terms_in_words(fmt, terms["data"], await _credit_types(api), booking=False)
    back = request.query.get("back", "")
    return await console(
        request,
        api,
        "staff/appointment_cancel.html",
        appointment=appointment,
        client=client,
        services=services,
        terms=terms,
        lines=lines,
        back=back if back.startswith(("/schedule", "/clients/")) else "/schedule",
    )


# --- recurring series ----------------------------------------------------------------------------


def series_definition(values: dict[str, str]) -> dict[str, Any]:
    """The API's series definition from the form: an RFC 5545 rule built from frequency, interval and count."""
    count = max(1, min(MAX_OCCURRENCES, int(values["count"] or 1)))
    interval = max(1, min(12, int(values["interval"] or 1)))
    frequency = values["frequency"] if values["frequency"] in FREQUENCIES else "WEEKLY"
    rule = f"FREQ={frequency};COUNT={count}" + (f";INTERVAL={interval}" if interval > 1 else "")
    return {
        "client_id": values["client_id"],
        "segments": [{"service_id": values["service_id"], "staff_id": values["staff_id"] or None}],
        "rrule": rule,
        "dtstart": f"{values['first_day']}T{values['first_time']}",
        "timezone": values.get("timezone") or None,
        "notes": values.get("notes", "")[:4000],
    }


SERIES_FIELDS = (
    "client_id",
    "q",
    "service_id",
    "staff_id",
    "first_day",
    "first_time",
    "frequency",
    "interval",
    "count",
    "notes",
)


def _series_values(source: Any) -> dict[str, str]:
    values = {k: str(source.get(k, "")).strip() for k in SERIES_FIELDS}
    values["interval"] = values["interval"] if values["interval"].isdigit() else "1"
    values["count"] = values["count"] if values["count"].isdigit() else "6"
    values["first_time"] = values["first_time"][:5]
    return values


@signed_in("staff")
async def new_series(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The series form; with "Preview" pressed, each occurrence ok or clashing (why, and the nearest free start)."""
    values = _series_values(request.query)
    (services, staff), client, candidates = await asyncio.gather(
        _catalogue(api), _client_or_none(api, values["client_id"]), _matching_clients(api, values["q"])
    )
    preview, problem = None, None
    payment = ""
    terms: list[str] = []
    quote: dict[str, Any] = {"status": "none", "data": None}
    ready = client and values["service_id"] and values["first_day"] and values["first_time"]
    if request.query.get("preview") and ready:
        values["timezone"] = api.account.timezone
        try:
            preview = await api.send("POST", "/api/v1/recurring-series/preview", series_definition(values))
        except ApiProblem as refused:
            if refused.status in (403, 404):
                raise
            problem = "; ".join(refused.errors.values()) or refused.detail
        first = next((o["occurrence_start"] for o in (preview or {}).get("occurrences", [])), None)
        if first:  # what pays for the first visit and the terms each booking is under
            quote = await visit_quote(api, values["client_id"], values["service_id"], first)
            payment, terms = quote_in_words(request, api, quote)
    return await console(
        request,
        api,
        "staff/series_new.html",
        values=values,
        client=client,
        candidates=candidates,
        services=services,
        staff=staff,
        frequencies=FREQUENCIES,
        preview=preview,
        problem=problem,
        quote=quote,
        payment=payment,
        terms=terms,
        request_key=str(uuid.uuid4()),
    )


@signed_in("staff")
async def create_series(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Books the series with a decision for each clash the preview showed: skip it, or move it to the free start."""
    form = await request.post()
    values = _series_values(form) | {"timezone": api.account.timezone}
    decisions = []
    for key in form:
        if not key.startswith("clash-"):
            continue
        choice = str(form[key])
        occurrence = key.removeprefix("clash-")
        if choice == "skip":
            decisions.append({"occurrence_start": occurrence, "action": "skip"})
        elif choice.startswith("shift:"):
            decisions.append({"occurrence_start": occurrence, "action": "shift", "shift_to": choice[6:]})
    body = series_definition(values) | {"decisions": decisions}
    headers = {"Idempotency-Key": str(form.get("request_key", "")) or str(uuid.uuid4())}
    query = urlencode({k: v for k, v in values.items() if k in SERIES_FIELDS and v})
    try:
        created = await api.send("POST", "/api/v1/recurring-series", body, headers=headers)
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, f"The series is not booked: {problem.detail or 'a time is no longer free'}.")
        return redirect(request, f"/recurring-series/new?{query}&preview=1")
    await flash(request, f"The series is booked: {len(created['booked'])} appointments.")
    return redirect(request, f"/recurring-series/{created['series']['id']}")


@signed_in("staff")
async def series_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    path = f"/api/v1/recurring-series/{request.match_info['series_id']}"
    series, occurrences = await asyncio.gather(api.get(path), api.get(f"{path}/occurrences", page_size=200))
    client = await _client_or_none(api, series["client_id"])
    return await console(
        request, api, "staff/series.html", series=series, occurrences=occurrences["items"], client=client
    )


@signed_in("staff")
async def cancel_occurrences(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Cancel one occurrence or this and the following ones (the version guards a change made meanwhile)."""
    series_id = request.match_info["series_id"]
    form = await request.post()
    scope = "this_and_following" if form.get("scope") == "this_and_following" else "one"
    body = {
        "occurrence_start": str(form.get("occurrence_start", "")),
        "scope": scope,
        "reason": str(form.get("reason", "")).strip()[:500],
        "version": int(str(form.get("appointment_version" if scope == "one" else "series_version", "0")) or 0),
    }
    try:
        changed = await api.send("POST", f"/api/v1/recurring-series/{series_id}/occurrences/cancel", body)
        await flash(
            request, f"Cancelled: {len(changed['changed'])} appointment{'s' if len(changed['changed']) != 1 else ''}."
        )
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        named = "; ".join(problem.errors.values())
        await flash(request, f"Nothing was cancelled: {named or problem.detail}.")
    return redirect(request, f"/recurring-series/{series_id}")


async def _occurrence(api: UserApi, series_id: str, occurrence_start: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The series and its occurrence starting at ``occurrence_start`` (an instant), else the not-found page."""
    path = f"/api/v1/recurring-series/{series_id}"
    series, occurrences = await asyncio.gather(api.get(path), api.get(f"{path}/occurrences", page_size=200))
    try:
        wanted = datetime.fromisoformat(occurrence_start)
    except ValueError:
        raise web.HTTPNotFound() from None
    found = next((o for o in occurrences["items"] if datetime.fromisoformat(o["occurrence_start"]) == wanted), None)
    if found is None or found["appointment"] is None:
        raise web.HTTPNotFound()
    return series, found


@signed_in("staff")
async def move_occurrence_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    """One occurrence of a series (or it and the following ones) moved by choosing a free time."""
    series_id = request.match_info["series_id"]
    series, occurrence = await _occurrence(api, series_id, request.query.get("occurrence", ""))
    appointment = occurrence["appointment"]
    day = _day(request.query.get("on", ""), api_day(appointment["start"], api))
    segment = appointment["segments"][0]
    slots, client = await asyncio.gather(
        free_slots(api, segment["service_id"], segment["staff_id"], day), _client_or_none(api, series["client_id"])
    )
    return await console(
        request,
        api,
        "staff/series_move.html",
        series=series,
        occurrence=occurrence,
        appointment=appointment,
        client=client,
        day=day,
        previous=(day - timedelta(days=1)).isoformat(),
        following=(day + timedelta(days=1)).isoformat(),
        slots=slots,
    )


@signed_in("staff")
async def move_occurrence(request: web.Request, api: UserApi) -> web.StreamResponse:
    series_id = request.match_info["series_id"]
    form = await request.post()
    occurrence_start = str(form.get("occurrence_start", ""))
    scope = "this_and_following" if form.get("scope") == "this_and_following" else "one"
    back = f"/recurring-series/{series_id}/move?" + urlencode(
        {"occurrence": occurrence_start, "on": str(form.get("on", ""))}
    )
    slot = _slot(form)
    if slot is None:
        await flash(request, "Choose the new time.")
        return redirect(request, back)
    body = {
        "occurrence_start": occurrence_start,
        "scope": scope,
        "start": slot[0],
        # one: the occurrence's appointment's version; this and the following: the series'.
        "version": int(str(form.get("appointment_version" if scope == "one" else "series_version", "0")) or 0),
    }
    try:
        changed = await api.send("POST", f"/api/v1/recurring-series/{series_id}/occurrences/edit", body)
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        named = "; ".join(problem.errors.values())
        await flash(request, f"Not moved: {named or problem.detail or 'that time is no longer free'}.")
        return redirect(request, back)
    moved = len(changed["changed"]) + len(changed["booked"])
    await flash(request, f"Moved: {moved} appointment{'s' if moved != 1 else ''}.")
    # This and the following ones continue in a successor series.
    return redirect(request, f"/recurring-series/{(changed['successor'] or changed['series'])['id']}")


def register(router: web.UrlDispatcher) -> None:
    """Before staff's ``/appointments/{appointment_id}/{action}``."""
    router.add_get("/appointments/new", new_appointment)
    router.add_post("/appointments/new", book)
    router.add_get("/appointments/confirm", confirm_page)
    router.add_get("/appointments/{appointment_id}/reschedule", reschedule_page)
    router.add_get("/appointments/{appointment_id}/cancel", cancel_page)
    router.add_post("/appointments/{appointment_id}/reschedule", reschedule)
    router.add_get("/recurring-series/new", new_series)
    router.add_post("/recurring-series/new", create_series)
    router.add_get("/recurring-series/{series_id}", series_page)
    router.add_post("/recurring-series/{series_id}/cancel", cancel_occurrences)
    router.add_get("/recurring-series/{series_id}/move", move_occurrence_page)
    router.add_post("/recurring-series/{series_id}/move", move_occurrence)
