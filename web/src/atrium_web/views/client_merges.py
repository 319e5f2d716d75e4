"""Duplicates and merging: the likely duplicate pairs, a side-by-side comparison where staff choose the client
that stays and, field by field, whose value survives; the merge's outcome with its undo (within 30 days)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.staff import console

MERGES = "/api/v1/client-merges"
REASONS = {"same_email": "same email", "same_phone": "same phone", "same_name": "same name"}
# The fields staff may take from either client, as the merge API names them, with how each is read.
FIELDS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "company_name": "Company",
    "address": "Address",
    "date_of_birth": "Date of birth",
    "status": "Status",
}


def field_value(client: dict[str, Any], name: str) -> str:
    profile = client["profile"]
    if name == "company_name":
        return str(profile["company_name"])
    if name == "address":
        address = profile["address"]
        return ", ".join(p for p in (address["line1"], address["postal_code"], address["city"]) if p)
    if name == "date_of_birth":
        return str(profile["date_of_birth"] or "")
    if name == "status":
        return str(client.get("status_label") or "")
    return str(client.get(name) or "")


@signed_in("staff")
async def duplicates(request: web.Request, api: UserApi) -> web.StreamResponse:
    pairs = (await api.get("/api/v1/client-duplicates", limit=50))["items"]
    return await console(request, api, "staff/duplicates.html", pairs=pairs, reasons=REASONS)


@signed_in("staff")
async def compare(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Two clients side by side; with only the first, a search for the second."""
    first_id, second_id = request.query.get("first", ""), request.query.get("second", "")
    if not first_id:
        raise web.HTTPSeeOther("/clients/duplicates")
    if not second_id or second_id == first_id:
        q = request.query.get("q", "").strip()
        first, found = await asyncio.gather(
            api.get(f"/api/v1/clients/{first_id}"),
            api.get("/api/v1/clients", q=q, page_size=20) if q else asyncio.sleep(0, {"items": []}),
        )
        candidates = [c for c in found["items"] if c["id"] != first_id]
        return await console(request, api, "staff/merge_pick.html", first=first, q=q, candidates=candidates)
    first, second = await asyncio.gather(
        api.get(f"/api/v1/clients/{first_id}"), api.get(f"/api/v1/clients/{second_id}")
    )
    rows = [
        {"name": name, "label": label, "first": field_value(first, name), "second": field_value(second, name)}
        for name, label in FIELDS.items()
    ]
    return await console(request, api, "staff/merge_compare.html", first=first, second=second, rows=rows)


@signed_in("staff")
async def merge(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    first_id, second_id = str(form.get("first", "")), str(form.get("second", ""))
    survivor = str(form.get("survivor", ""))
    if survivor not in (first_id, second_id):
        await flash(request, "Choose the client that stays.")
        return redirect(request, f"/clients/merge?first={first_id}&second={second_id}")
    merged = second_id if survivor == first_id else first_id
    # A field's radio names the client whose value stays; the survivor's own are left to the default.
    choices = {name: str(form[f"field-{name}"]) for name in FIELDS if form.get(f"field-{name}") == merged}
    body = {"survivor_id": survivor, "merged_ids": [merged], "field_choices": choices}
    try:
        outcome = await api.send("POST", MERGES, body)
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, problem.detail or "The clients could not be merged.")
        return redirect(request, f"/clients/merge?first={first_id}&second={second_id}")
    await flash(request, "The clients are merged. You can undo this for 30 days.")
    return redirect(request, f"/clients/merges/{outcome['id']}")


@signed_in("staff")
async def merge_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    outcome = await api.get(f"{MERGES}/{request.match_info['merge_id']}")
    return await console(request, api, "staff/merge.html", merge=outcome, fields=FIELDS)


@signed_in("staff")
async def undo(request: web.Request, api: UserApi) -> web.StreamResponse:
    merge_id = request.match_info["merge_id"]
    try:
        await api.send("POST", f"{MERGES}/{merge_id}/undo")
        await flash(request, "The merge is undone: both clients are back as they were.")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, problem.detail or "The merge could not be undone.")
    return redirect(request, f"/clients/merges/{merge_id}")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/clients/duplicates", duplicates)
    router.add_get("/clients/merge", compare)
    router.add_post("/clients/merge", merge)
    router.add_get("/clients/merges/{merge_id}", merge_page)
    router.add_post("/clients/merges/{merge_id}/undo", undo)
