"""Manage groups: the business's client groups (create, rename, delete), a group's members (find clients to add,
remove the ones ticked) and the staff assigned to it, who are so assigned to each of its clients."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.staff import console, staff_choices

GROUPS = "/api/v1/client-groups"
MEMBERS_PAGE = 50


def group_path(request: web.Request) -> str:
    return f"{GROUPS}/{request.match_info['group_id']}"


def back_to(request: web.Request) -> str:
    return f"/clients/groups/{request.match_info['group_id']}"


def refusal(problem: ApiProblem, fallback: str) -> str:
    """A refused change in words: its field errors, else its detail (403/404 are the error pages' business)."""
    if problem.status in (403, 404):
        raise problem
    return "; ".join(problem.errors.values()) or problem.detail or fallback


@signed_in("staff")
async def groups_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    groups, staff = await asyncio.gather(api.get(GROUPS), staff_choices(api))
    names = {m["staff_id"]: m["display_name"] for m in staff}
    return await console(request, api, "staff/groups.html", groups=groups["items"], names=names, error="", name="")


@signed_in("staff")
async def create_group(request: web.Request, api: UserApi) -> web.StreamResponse:
    name = str((await request.post()).get("name", "")).strip()
    try:
        created = await api.send("POST", GROUPS, {"name": name})
    except ApiProblem as problem:
        error = "Give the group a name." if not name else refusal(problem, "The group was not created.")
        groups, staff = await asyncio.gather(api.get(GROUPS), staff_choices(api))
        names = {m["staff_id"]: m["display_name"] for m in staff}
        return await console(
            request, api, "staff/groups.html", status=400, groups=groups["items"], names=names, error=error, name=name
        )
    await flash(request, f"The group {created['name']} is created.")
    return redirect(request, f"/clients/groups/{created['id']}")


async def _group(api: UserApi, group_id: str) -> dict[str, Any]:
    """The group (the API lists groups; one is found among them), else the not-found page."""
    found = next((g for g in (await api.get(GROUPS))["items"] if g["id"] == group_id), None)
    if found is None:
        raise web.HTTPNotFound()
    return dict(found)


@signed_in("staff")
async def group_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    group_id = request.match_info["group_id"]
    q = request.query.get("q", "").strip()[:100]
    group, members, staff, found = await asyncio.gather(
        _group(api, group_id),
        api.get(
            "/api/v1/clients",
            group_id=group_id,
            sort="name",
            page_size=MEMBERS_PAGE,
            page_token=request.query.get("page_token", ""),
        ),
        staff_choices(api),
        api.get("/api/v1/clients", q=q, page_size=20) if q else asyncio.sleep(0, {"items": []}),
    )
    member_ids = {c["id"] for c in members["items"]}
    candidates = [c for c in found["items"] if c["id"] not in member_ids]
    return await console(
        request,
        api,
        "staff/group.html",
        group=group,
        members=members,
        staff=staff,
        q=q,
        candidates=candidates,
    )


@signed_in("staff")
async def rename_group(request: web.Request, api: UserApi) -> web.StreamResponse:
    name = str((await request.post()).get("name", "")).strip()
    if not name:
        await flash(request, "Give the group a name.")
        return redirect(request, back_to(request))
    try:
        renamed = await api.send("PATCH", group_path(request), {"name": name})
        await flash(request, f"The group is renamed to {renamed['name']}.")
    except ApiProblem as problem:
        await flash(request, f"Not renamed: {refusal(problem, 'the name was refused')}.")
    return redirect(request, back_to(request))


@signed_in("staff")
async def delete_group(request: web.Request, api: UserApi) -> web.StreamResponse:
    await api.send("DELETE", group_path(request))
    await flash(request, "The group is deleted; its clients stay.")
    return redirect(request, "/clients/groups")


@signed_in("staff")
async def change_members(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Add the clients ticked among the search's matches, or remove the members ticked."""
    form = await request.post()
    client_ids = [str(v) for v in form.getall("client_id", [])]
    removing = request.match_info["change"] == "remove"
    if not client_ids:
        await flash(request, "Tick the clients first.")
        return redirect(request, back_to(request))
    target = f"{group_path(request)}/members" + ("/remove" if removing else "")
    try:
        group = await api.send("POST", target, {"client_ids": client_ids})
        count = len(client_ids)
        clients = f"{count} client{'s' if count != 1 else ''}"
        done = f"{clients} removed from the group." if removing else f"{clients} added to the group."
        await flash(request, f"{done} It has {group['member_count']} now.")
    except ApiProblem as problem:
        await flash(request, f"Nothing changed: {refusal(problem, 'the clients were refused')}.")
    return redirect(request, back_to(request))


@signed_in("staff")
async def set_staff(request: web.Request, api: UserApi) -> web.StreamResponse:
    staff_ids = [str(v) for v in (await request.post()).getall("staff_id", [])]
    try:
        await api.send("PUT", f"{group_path(request)}/staff", {"staff_ids": staff_ids})
        await flash(request, "The group's assigned staff are saved.")
    except ApiProblem as problem:
        await flash(request, f"Not saved: {refusal(problem, 'the staff members were refused')}.")
    return redirect(request, back_to(request))


def register(router: web.UrlDispatcher) -> None:
    """Before the card's ``/clients/{client_id}`` and staff's ``/clients/{client_id}/{action}``."""
    router.add_get("/clients/groups", groups_page)
    router.add_post("/clients/groups", create_group)
    router.add_get("/clients/groups/{group_id}", group_page)
    router.add_post("/clients/groups/{group_id}/rename", rename_group)
    router.add_post("/clients/groups/{group_id}/delete", delete_group)
    router.add_post("/clients/groups/{group_id}/members/{change:add|remove}", change_members)
    router.add_post("/clients/groups/{group_id}/staff", set_staff)
