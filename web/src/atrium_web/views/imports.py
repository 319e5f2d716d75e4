"""The client import wizard: upload a file, map its columns, read the dry run's report (and download the
rejected rows to fix), then import. Every step is the gateway's client-import API; the page refreshes itself
while the job works (a meta refresh, no script needed)."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.staff import console

IMPORTS = "/api/v1/client-imports"
WORKING = ("uploading", "validating", "running")
IGNORE = ""  # the mapping select's value for "do not import this column"


def job_path(request: web.Request) -> str:
    return f"{IMPORTS}/{request.match_info['import_id']}"


@signed_in("staff")
async def upload_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await console(request, api, "staff/import_upload.html", error="")


@signed_in("staff")
async def upload(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    file = form.get("file")
    if not isinstance(file, web.FileField) or not file.filename:
        return await console(request, api, "staff/import_upload.html", status=400, error="Choose a CSV or XLSX file.")
    data = aiohttp.FormData()
    data.add_field("file", file.file.read(), filename=file.filename, content_type="application/octet-stream")
    try:
        job = await api.send("POST", IMPORTS, data=data)
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        message = "; ".join(problem.errors.values()) or problem.detail or "The file could not be read."
        return await console(request, api, "staff/import_upload.html", status=400, error=message)
    return redirect(request, f"/clients/import/{job['id']}")


@signed_in("staff")
async def job_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    job = await api.get(job_path(request))
    problems: list[dict[str, Any]] = []
    if job["status"] in ("validated", "completed") and job["counts"]["rejected"]:
        problems = (await api.get(f"{job_path(request)}/problems", page_size=100))["items"]
    return await console(
        request, api, "staff/import_job.html", job=job, problems=problems, working=job["status"] in WORKING
    )


@signed_in("staff")
async def dry_run(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    job = await api.get(job_path(request))
    mapping = [str(form.get(f"column-{i}", IGNORE)) or None for i in range(len(job["columns"]))]
    body = {
        "mapping": mapping,
        "duplicates": str(form.get("duplicates", "skip")),
        "all_or_nothing": form.get("all_or_nothing") == "on",
    }
    try:
        await api.send("POST", f"{job_path(request)}/dry-run", body)
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, "; ".join(problem.errors.values()) or problem.detail)
    return redirect(request, f"/clients/import/{request.match_info['import_id']}")


@signed_in("staff")
async def start(request: web.Request, api: UserApi) -> web.StreamResponse:
    try:
        await api.send("POST", f"{job_path(request)}/start")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        await flash(request, problem.detail or "The import cannot start.")
    return redirect(request, f"/clients/import/{request.match_info['import_id']}")


@signed_in("staff")
async def rejected_rows(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The rejected rows as the gateway writes them (original columns plus `error`), to fix and upload again."""
    reply = await api.call("GET", f"{job_path(request)}/rejected-rows")
    if reply.status >= 400:
        raise ApiProblem.from_body(reply.status, reply.body)
    return web.Response(
        body=reply.raw,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="rejected-rows.csv"'},
    )


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/clients/import", upload_page)
    router.add_post("/clients/import", upload)
    router.add_get("/clients/import/{import_id}", job_page)
    router.add_post("/clients/import/{import_id}/dry-run", dry_run)
    router.add_post("/clients/import/{import_id}/start", start)
    router.add_get("/clients/import/{import_id}/rejected-rows.csv", rejected_rows)
