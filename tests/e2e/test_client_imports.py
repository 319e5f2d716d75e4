"""Client import and export through the gateway: upload -> dry run -> import -> poll -> export -> re-import
changes nothing; rejected rows come back as a CSV that imports once fixed."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import aiohttp
from openpyxl import load_workbook

from platform_dev.testing.plugin import wait_until

from .conftest import Api, extra_gateway

PASSWORD = "correct horse battery"
FILE = (
    "Customer ID,First Name,Last Name,E-mail,Mobile,Tags\r\n"
    "c-1,Ada,Lovelace,ada@example.com,(212) 555-0142,vip; early\r\n"
    "c-2,Grace,Hopper,grace@example.com,,\r\n"
    'c-3,Alan,"Turing, Jr",,212 555 0199,\r\n'
    "c-4,,Nameless,not-an-email,,\r\n"
)


async def upload(api: Api, token: str, data: bytes, filename: str, *, raw: bool = False) -> tuple[int, dict[str, Any]]:
    if raw:
        status, body, _ = await api.call(
            "POST",
            "/api/v1/client-imports",
            token=token,
            data=data,
            params={"filename": filename},
            headers={"Content-Type": "text/csv"},
        )
        return status, body
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename, content_type="application/octet-stream")
    status, body, _ = await api.call("POST", "/api/v1/client-imports", token=token, data=form)
    return status, body


async def settle(api: Api, token: str, import_id: str) -> dict[str, Any]:
    async def settled() -> dict[str, Any] | None:
        status, body, _ = await api.call("GET", f"/api/v1/client-imports/{import_id}", token=token)
        assert status == 200, body
        return body if body["status"] in ("validated", "completed", "failed") else None

    result: dict[str, Any] = await wait_until(settled, timeout=60, interval=0.1)
    return result


async def dry_run(api: Api, token: str, import_id: str, **options: Any) -> dict[str, Any]:
    status, body, _ = await api.call("POST", f"/api/v1/client-imports/{import_id}/dry-run", token=token, json=options)
    assert status == 202, body
    return await settle(api, token, import_id)


async def start(api: Api, token: str, import_id: str) -> dict[str, Any]:
    status, body, _ = await api.call("POST", f"/api/v1/client-imports/{import_id}/start", token=token)
    assert status == 202, body
    return await settle(api, token, import_id)


async def download(api: Api, token: str, path: str, **params: str) -> tuple[int, Any, bytes]:
    async with api.session.get(
        api.stack.url(path), headers={"Authorization": f"Bearer {token}"}, params=params
    ) as response:
        return response.status, response.headers, await response.read()


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


async def clients_of(api: Api, token: str) -> dict[str, dict[str, Any]]:
    status, page, _ = await api.call("GET", "/api/v1/clients", token=token, params={"page_size": "200"})
    assert status == 200, page
    return {c["id"]: c for c in page["items"]}


async def test_upload_dry_run_import_poll_export_and_reimport_changes_nothing(api: Api) -> None:
    owner = (await api.sign_up())["token"]

    status, job = await upload(api, owner, FILE.encode(), "clients.csv")
    assert status == 201, job
    assert job["status"] == "uploaded"
    assert [c["suggested_field"] for c in job["columns"]] == [
        "external_id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "tags",
    ]

    checked = await dry_run(api, owner, job["id"])
    assert checked["status"] == "validated", checked
    assert checked["dry_run"] is True
    assert (checked["counts"]["total"], checked["counts"]["created"], checked["counts"]["rejected"]) == (4, 3, 1)
    assert await clients_of(api, owner) == {}

    status, problems, _ = await api.call("GET", f"/api/v1/client-imports/{job['id']}/problems", token=owner)
    assert status == 200, problems
    assert [(r["row"], sorted(p["column"] for p in r["problems"])) for r in problems["items"]] == [
        (5, ["E-mail", "First Name"])
    ]

    done = await start(api, owner, job["id"])
    assert done["status"] == "completed", done
    assert (done["dry_run"], done["counts"]["created"], done["counts"]["rejected"]) == (False, 3, 1)
    imported = await clients_of(api, owner)
    by_name = {c["first_name"]: c for c in imported.values()}
    assert set(by_name) == {"Ada", "Grace", "Alan"}
    assert by_name["Ada"]["phone"] == "+12125550142"
    assert by_name["Ada"]["tags"] == ["early", "vip"]
    assert by_name["Alan"]["last_name"] == "Turing, Jr"
    assert by_name["Ada"]["profile"]["source"] == "import"

    # Each imported client's ClientCreated reaches the timeline.
    async def on_timeline() -> bool:
        _, timeline, _ = await api.call("GET", f"/api/v1/clients/{by_name['Grace']['id']}/activity", token=owner)
        return [e["kind"] for e in timeline["items"]] == ["client.created"]

    await wait_until(on_timeline, timeout=30)

    # Export, as CSV and as XLSX: the same columns the import reads, ids included.
    status, headers, body = await download(api, owner, "/api/v1/clients/export", format="csv")
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/csv")
    assert "attachment" in headers["Content-Disposition"]
    exported = read_csv(body)
    assert exported[0][:3] == ["id", "external_id", "first_name"]
    assert {r[0] for r in exported[1:]} == set(imported)
    status, headers, xlsx = await download(api, owner, "/api/v1/clients/export", format="xlsx", q="ada")
    assert status == 200
    sheet = load_workbook(io.BytesIO(xlsx), read_only=True).worksheets[0]
    rows = [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == exported[0][: len(rows[0])]
    assert [r[2] for r in rows[1:]] == ["Ada"]

    # Importing the export again (raw body this time) changes nothing: no new client, no new version.
    before = {i: (c["version"], c["updated_at"]) for i, c in imported.items()}
    status, again = await upload(api, owner, body, "export.csv", raw=True)
    assert status == 201, again
    assert all(c["suggested_field"] for c in again["columns"])
    checked = await dry_run(api, owner, again["id"], duplicates="update")
    assert (checked["counts"]["unchanged"], checked["counts"]["created"]) == (3, 0), checked
    done = await start(api, owner, again["id"])
    assert (done["status"], done["counts"]["unchanged"], done["counts"]["updated"]) == ("completed", 3, 0)
    after = {i: (c["version"], c["updated_at"]) for i, c in (await clients_of(api, owner)).items()}
    assert after == before

    # The XLSX export imports too.
    status, from_xlsx = await upload(api, owner, xlsx, "ada.xlsx")
    assert (status, from_xlsx["format"]) == (201, "xlsx"), from_xlsx
    checked = await dry_run(api, owner, from_xlsx["id"], duplicates="update")
    assert (checked["counts"]["unchanged"], checked["counts"]["total"]) == (1, 1), checked


async def test_rejected_rows_download_as_a_csv_that_imports_once_fixed(api: Api) -> None:
    owner = (await api.sign_up())["token"]
    _, job = await upload(api, owner, FILE.encode(), "clients.csv")
    await dry_run(api, owner, job["id"])
    await start(api, owner, job["id"])

    status, _, body = await download(api, owner, f"/api/v1/client-imports/{job['id']}/rejected-rows")
    assert status == 200, body
    rejected = read_csv(body)
    assert rejected[0] == ["Customer ID", "First Name", "Last Name", "E-mail", "Mobile", "Tags", "error"]
    assert rejected[1][:4] == ["c-4", "", "Nameless", "not-an-email"]
    assert "First Name: is required" in rejected[1][6]

    rejected[1][1], rejected[1][3] = "Nadia", "nadia@example.com"
    fixed = io.StringIO()
    csv.writer(fixed).writerows(rejected)
    status, again = await upload(api, owner, fixed.getvalue().encode(), "fixed.csv")
    assert status == 201, again
    assert again["columns"][-1] == {"header": "error", "field": None, "suggested_field": None}
    checked = await dry_run(api, owner, again["id"])
    assert (checked["counts"]["created"], checked["counts"]["rejected"]) == (1, 0), checked
    assert (await start(api, owner, again["id"]))["counts"]["created"] == 1
    assert len(await clients_of(api, owner)) == 4


async def test_bad_files_and_bad_requests_get_clear_errors_and_write_nothing(api: Api) -> None:
    owner = (await api.sign_up())["token"]

    status, body = await upload(api, owner, b"\xd0\xcf\x11\xe0 legacy workbook", "clients.xls")
    assert (status, body["errors"][0]["field"]) == (422, "file"), body
    assert ".xls" in body["errors"][0]["message"]

    _, job = await upload(api, owner, b"first_name,email\r\nAda,a@example.com\r\nJos\xe9,j@example.com\r\n", "x.csv")
    checked = await dry_run(api, owner, job["id"])
    assert (checked["status"], checked["error_code"]) == ("failed", "BAD_FILE")
    assert "line 3 is not UTF-8" in checked["error"]

    _, job = await upload(api, owner, b"email\r\na@example.com\r\n", "x.csv")
    status, body, _ = await api.call("POST", f"/api/v1/client-imports/{job['id']}/dry-run", token=owner, json={})
    assert status == 422, body
    assert "missing required column" in body["errors"][0]["message"]
    status, body, _ = await api.call(
        "POST", f"/api/v1/client-imports/{job['id']}/dry-run", token=owner, json={"mapping": ["nonsense"]}
    )
    assert (status, body["errors"][0]["field"]) == (422, "mapping[0]"), body
    status, body, _ = await api.call("POST", f"/api/v1/client-imports/{job['id']}/start", token=owner)
    assert (status, body["code"]) == (409, "IMPORT_NOT_VALIDATED"), body
    status, _, _ = await api.call("GET", f"/api/v1/client-imports/{uuid.uuid4()}", token=owner)
    assert status == 404
    assert await clients_of(api, owner) == {}

    status, _, _ = await api.call("DELETE", f"/api/v1/client-imports/{job['id']}", token=owner)
    assert status == 204
    status, _, _ = await api.call("GET", f"/api/v1/client-imports/{job['id']}", token=owner)
    assert status == 404


async def test_only_owners_and_admins_import_and_export(api: Api) -> None:
    tenant = await api.sign_up()
    email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    status, _, _ = await api.call(
        "POST", "/api/v1/staff", token=tenant["token"], json={"email": email, "password": PASSWORD, "role": "staff"}
    )
    assert status == 201
    _, tokens, _ = await api.call("POST", "/api/v1/auth/staff/login", json={"email": email, "password": PASSWORD})
    staff = tokens["access_token"]
    status, body = await upload(api, staff, FILE.encode(), "clients.csv")
    assert status == 403, body
    status, _, _ = await download(api, staff, "/api/v1/clients/export")
    assert status == 403


async def test_a_file_over_the_limit_gets_413(api: Api) -> None:
    async with extra_gateway(api.stack, api.session, client_import_max_bytes="2048") as small:
        owner = (await small.sign_up())["token"]
        big = FILE.encode() + b"c-9,Many,Rows,,,\r\n" * 200
        for raw in (False, True):
            status, body = await upload(small, owner, big, "big.csv", raw=raw)
            assert (status, body["code"]) == (413, "IMPORT_TOO_LARGE"), body
        status, body = await upload(small, owner, FILE.encode(), "small.csv")
        assert status == 201, body
