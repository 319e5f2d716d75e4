"""The audit log: who changed which record through which client, before and after, filterable, exportable."""

from __future__ import annotations

import asyncio
import csv
import io
import json

from .conftest import Api


async def test_changes_are_logged_with_who_before_and_after_and_can_be_filtered_and_exported(api: Api) -> None:
    tenant, other = await api.sign_up(), await api.sign_up()
    owner = tenant["token"]
    client = await api.create_client(owner, first_name="Ada", last_name="Byron")
    status, _, _ = await api.call(
        "PATCH", f"/api/v1/clients/{client['id']}", token=owner, json={"last_name": "Lovelace"}
    )
    assert status == 200
    _, key, _ = await api.call(
        "POST", "/api/v1/api-keys", token=owner, json={"name": "sync", "scopes": ["clients.read", "clients.write"]}
    )
    by_key = await api.create_client(key["secret"], first_name="Keyed")
    await api.create_client(other["token"], first_name="Elsewhere")

    status, page, _ = await api.call("GET", "/api/v1/audit-log", token=owner)
    assert status == 200
    entries = page["items"]
    assert [(e["actor_kind"], e["action"], e["record_id"]) for e in entries] == [
        ("api_key", "create_client", by_key["id"]),
        ("staff", "create_api_key", key["id"]),
        ("staff", "update_client", client["id"]),
        ("staff", "create_client", client["id"]),
    ]
    keyed, key_made, update = entries[0], entries[1], entries[2]
    assert keyed["actor_id"] == key["id"] and keyed["after"]["first_name"] == "Keyed"
    assert key_made["after"]["secret"] == "[redacted]"
    assert (update["record_type"], update["method"], update["actor_id"]) == ("clients", "PATCH", tenant["owner"]["id"])
    assert (update["before"]["last_name"], update["after"]["last_name"]) == ("Byron", "Lovelace")
    assert update["request"] == {"last_name": "Lovelace"}

    status, filtered, _ = await api.call("GET", "/api/v1/audit-log", token=owner, params={"record_id": client["id"]})
    assert [e["action"] for e in filtered["items"]] == ["update_client", "create_client"]
    status, first, _ = await api.call("GET", "/api/v1/audit-log", token=owner, params={"page_size": "3"})
    status, rest, _ = await api.call(
        "GET", "/api/v1/audit-log", token=owner, params={"page_size": "3", "page_token": first["next_page_token"]}
    )
    assert [e["id"] for e in first["items"] + rest["items"]] == [e["id"] for e in entries] and not rest[
        "next_page_token"
    ]

    status, exported, headers = await api.call(
        "GET", "/api/v1/audit-log", token=owner, params={"format": "csv", "actor_id": key["id"]}
    )
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.lstrip("\ufeff"))))
    assert [(r["actor_kind"], r["action"], r["record_id"]) for r in rows] == [
        ("api_key", "create_client", by_key["id"])
    ]
    assert json.loads(rows[0]["after"])["first_name"] == "Keyed"

    # Another business sees only its own; staff without audit.read see nothing.
    _, theirs, _ = await api.call("GET", "/api/v1/audit-log", token=other["token"])
    assert [e["action"] for e in theirs["items"]] == ["create_client"]
    status, problem, _ = await api.call("GET", "/api/v1/audit-log", token=key["secret"])
    assert (status, problem["code"]) == (403, "PERMISSION_REQUIRED")


async def test_concurrent_changes_each_have_their_entry_when_answered_and_refused_ones_none(api: Api) -> None:
    owner = (await api.sign_up())["token"]

    async def create(n: int) -> tuple[int, str]:
        # Every third is refused: by the gateway (a wrong type) or by the client service (an unusable email).
        body: dict[str, object] = {"first_name": f"Concurrent {n}"}
        if n % 3 == 1:
            body["first_name"] = n
        elif n % 3 == 2:
            body["email"] = "not an address"
        status, answer, _ = await api.call("POST", "/api/v1/clients", token=owner, json=body)
        return status, answer["id"] if status == 201 else ""

    answers = await asyncio.gather(*(create(n) for n in range(30)))

    created = sorted(client_id for status, client_id in answers if status == 201)
    assert len(created) == 10 and {status for status, _ in answers} == {201, 422}
    # Every change answered is already logged, once; the refused requests left nothing.
    status, page, _ = await api.call("GET", "/api/v1/audit-log", token=owner, params={"page_size": "100"})
    assert status == 200
    assert sorted(e["record_id"] for e in page["items"]) == created
    assert {(e["action"], e["status"]) for e in page["items"]} == {("create_client", 201)}


async def test_a_check_in_is_logged_as_what_it_added_without_reading_the_client_before(api: Api) -> None:
    tenant = await api.sign_up()
    owner = tenant["token"]
    client = await api.create_client(owner, first_name="Ada", last_name="Byron")
    _, kind, _ = await api.call("POST", "/api/v1/credit-types", token=owner, json={"name": "Visit", "unit": "session"})
    service_id = "5f0c6d2e-8a51-4c1e-9a43-6d2f1f7a9b10"
    status, _, _ = await api.call(
        "PUT",
        f"/api/v1/services/{service_id}/credit-rules",
        token=owner,
        json={"rules": [{"credit_type_id": kind["id"], "units": 1}]},
    )
    assert status == 200
    status, _, _ = await api.call(
        "POST",
        f"/api/v1/clients/{client['id']}/credits/charges",
        token=owner,
        json={"credit_type_id": kind["id"], "amount": 2},
    )
    assert status == 201
    status, check_in, _ = await api.call(
        "POST", f"/api/v1/clients/{client['id']}/check-ins", token=owner, json={"service_id": service_id}
    )
    assert status == 201

    status, page, _ = await api.call("GET", "/api/v1/audit-log", token=owner, params={"action": "check_in"})
    assert status == 200
    (entry,) = page["items"]
    assert (entry["record_type"], entry["record_id"]) == ("clients", client["id"])
    assert entry["before"] is None and entry["after"]["id"] == check_in["id"]
    assert entry["request"] == {"service_id": service_id}
