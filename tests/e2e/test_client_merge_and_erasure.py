"""Duplicates merged and unmerged, a client erased, typos forgiven: through the gateway, onto the timeline."""

from __future__ import annotations

import uuid
from typing import Any

from platform_dev.testing.plugin import wait_until

from .conftest import Api

PASSWORD = "correct horse battery"


async def timeline(api: Api, token: str, client_id: str) -> list[dict[str, Any]]:
    status, body, _ = await api.call("GET", f"/api/v1/clients/{client_id}/activity", token=token)
    assert status == 200, body
    return list(body["items"])


async def test_a_merge_moves_records_and_timeline_to_the_survivor_and_its_undo_gives_them_back(api: Api) -> None:
    tenant = await api.sign_up(country="US")
    token = tenant["token"]
    survivor = await api.create_client(token, first_name="Ada", last_name="Lovelace", email="ada@old.example")
    duplicate = await api.create_client(token, first_name="ada", last_name="lovelace", phone="(212) 555-0142")
    await api.call("POST", f"/api/v1/clients/{duplicate['id']}/notes", token=token, json={"body": "Prefers mornings"})
    _, group, _ = await api.call("POST", "/api/v1/client-groups", token=token, json={"name": "Newsletter"})
    await api.call(
        "POST", f"/api/v1/client-groups/{group['id']}/members", token=token, json={"client_ids": [duplicate["id"]]}
    )

    async def created_on_both() -> bool:
        return all([await timeline(api, token, c["id"]) for c in (survivor, duplicate)])

    await wait_until(created_on_both, timeout=10)
    _, pairs, _ = await api.call("GET", "/api/v1/client-duplicates", token=token)
    [pair] = pairs["items"]
    assert {pair["first"]["id"], pair["second"]["id"]} == {survivor["id"], duplicate["id"]}

    for bad, field in (
        ({"survivor_id": survivor["id"], "merged_ids": []}, "merged_ids"),
        ({"survivor_id": survivor["id"], "merged_ids": [duplicate["id"]], "field_choices": {"shoe": "x"}}, None),
        ({"survivor_id": survivor["id"], "merged_ids": ["not-an-id"]}, "merged_ids"),
    ):
        status, body, _ = await api.call("POST", "/api/v1/client-merges", token=token, json=bad)
        assert status == 422, body
        assert field is None or field in {e["field"] for e in body["errors"]}, body

    status, merge, _ = await api.call(
        "POST",
        "/api/v1/client-merges",
        token=token,
        json={
            "survivor_id": survivor["id"],
            "merged_ids": [duplicate["id"]],
            "field_choices": {"last_name": survivor["id"]},
        },
    )
    assert status == 201, merge
    assert merge["undoable"] and merge["unmerged_at"] is None
    assert merge["moved"] == {"notes": 1, "group_members": 1}
    merged = merge["survivor"]
    assert (merged["email"], merged["phone"], merged["last_name"]) == ("ada@old.example", "+12125550142", "Lovelace")

    # The merged-away id answers with the survivor; the list, notes and group show the survivor alone.
    status, resolved, headers = await api.call("GET", f"/api/v1/clients/{duplicate['id']}", token=token)
    assert (status, resolved["id"], resolved["merged_from"]) == (200, survivor["id"], duplicate["id"])
    assert headers["Content-Location"] == f"/api/v1/clients/{survivor['id']}"
    _, page, _ = await api.call("GET", "/api/v1/clients", token=token)
    assert [c["id"] for c in page["items"]] == [survivor["id"]]
    _, notes, _ = await api.call("GET", f"/api/v1/clients/{survivor['id']}/notes", token=token)
    assert [n["body"] for n in notes["items"]] == ["Prefers mornings"]
    _, members, _ = await api.call("GET", "/api/v1/clients", token=token, params={"group_id": group["id"]})
    assert [c["id"] for c in members["items"]] == [survivor["id"]]
    status, body, _ = await api.call(
        "PATCH", f"/api/v1/clients/{duplicate['id']}", token=token, json={"first_name": "X"}
    )
    assert (status, body["code"]) == (409, "CLIENT_MERGED")

    async def merged_timeline() -> bool:
        kinds = [e["kind"] for e in await timeline(api, token, survivor["id"])]
        return kinds.count("client.created") == 2 and "client.merged" in kinds

    await wait_until(merged_timeline, timeout=10)
    assert await timeline(api, token, duplicate["id"]) == await timeline(api, token, survivor["id"])
    _, merges, _ = await api.call("GET", f"/api/v1/clients/{survivor['id']}/merges", token=token)
    assert [m["id"] for m in merges["items"]] == [merge["id"]]

    status, undone, _ = await api.call("POST", f"/api/v1/client-merges/{merge['id']}/undo", token=token)
    assert status == 200, undone
    assert undone["unmerged_at"] and not undone["undoable"]
    assert (undone["survivor"]["phone"], undone["survivor"]["email"]) == (None, "ada@old.example")
    status, restored, _ = await api.call("GET", f"/api/v1/clients/{duplicate['id']}", token=token)
    assert (status, restored["id"], restored["merged_from"], restored["phone"]) == (
        200,
        duplicate["id"],
        None,
        "+12125550142",
    )
    _, notes, _ = await api.call("GET", f"/api/v1/clients/{duplicate['id']}/notes", token=token)
    assert [n["body"] for n in notes["items"]] == ["Prefers mornings"]
    _, members, _ = await api.call("GET", "/api/v1/clients", token=token, params={"group_id": group["id"]})
    assert [c["id"] for c in members["items"]] == [duplicate["id"]]

    async def unmerged_timeline() -> bool:
        survivor_kinds = sorted(e["kind"] for e in await timeline(api, token, survivor["id"]))
        duplicate_kinds = [e["kind"] for e in await timeline(api, token, duplicate["id"])]
        # The survivor's own entries, the merge and its undoing (each changed its phone: client.updated).
        expected = ["client.created", "client.merged", "client.unmerged", "client.updated", "client.updated"]
        return survivor_kinds == expected and duplicate_kinds == ["client.created"]

    await wait_until(unmerged_timeline, timeout=10)
    status, body, _ = await api.call("POST", f"/api/v1/client-merges/{merge['id']}/undo", token=token)
    assert (status, body["code"]) == (409, "MERGE_ALREADY_UNDONE")
    other = await api.sign_up()
    status, _, _ = await api.call("GET", f"/api/v1/client-merges/{merge['id']}", token=other["token"])
    assert status == 404


async def test_an_erased_client_is_anonymized_on_the_timeline_and_loses_its_portal_login(api: Api) -> None:
    tenant = await api.sign_up()
    owner = tenant["token"]
    client = await api.create_client(
        owner, first_name="Grace", last_name="Hopper", email="grace@example.com", phone="+1 212 555 0142"
    )
    path = f"/api/v1/clients/{client['id']}"
    await api.call("POST", f"{path}/notes", token=owner, json={"body": "Allergic to latex"})
    await api.call("PUT", f"{path}/online-booking-block", token=owner, json={"blocked": True, "reason": "rude"})
    _, invitation, _ = await api.call("POST", f"{path}/portal-invitation", token=owner, json={})
    status, portal, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    assert status == 201, portal

    async def blocked_on_timeline() -> bool:
        return any("rude" in e["summary"] for e in await timeline(api, owner, client["id"]))

    await wait_until(blocked_on_timeline, timeout=10)

    staff_email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    await api.call(
        "POST", "/api/v1/staff", token=owner, json={"email": staff_email, "password": PASSWORD, "role": "staff"}
    )
    _, tokens, _ = await api.call("POST", "/api/v1/auth/staff/login", json={"email": staff_email, "password": PASSWORD})
    status, _, _ = await api.call("POST", f"{path}/erase", token=tokens["access_token"], json={"confirm": True})
    assert status == 403
    for body in ({}, {"confirm": False}):
        status, problem, _ = await api.call("POST", f"{path}/erase", token=owner, json=body)
        assert (status, [e["field"] for e in problem["errors"]]) == (422, ["confirm"])

    status, erased, _ = await api.call("POST", f"{path}/erase", token=owner, json={"confirm": True})
    assert status == 200, erased
    assert (erased["first_name"], erased["last_name"], erased["email"], erased["phone"]) == (
        "Erased client",
        "",
        None,
        None,
    )
    assert erased["erased_at"] and erased["deleted_at"]
    status, again, _ = await api.call("POST", f"{path}/erase", token=owner, json={"confirm": True})
    assert (status, again) == (200, erased)

    async def anonymized() -> list[dict[str, Any]] | None:
        entries = await timeline(api, owner, client["id"])
        return entries if entries and entries[0]["kind"] == "client.erased" else None

    entries = await wait_until(anonymized, timeout=10)
    assert [e["summary"] for e in entries] == [
        "Personal data erased",
        "Invited to the portal",
        "Online booking blocked",
        "Client was added",
    ], entries
    status, document, _ = await api.call("GET", f"{path}/export", token=owner)
    assert status == 200 and document["notes"] == []
    text = str(document)
    assert "Grace" not in text and "grace@example.com" not in text and "rude" not in text and "latex" not in text

    async def portal_access_off() -> bool:  # the gateway worker forgets the login on ClientErased
        status, body, _ = await api.call("GET", "/api/v1/portal/me", token=portal["access_token"])
        return (status, body.get("code")) == (403, "PORTAL_ACCESS_OFF")

    await wait_until(portal_access_off, timeout=10)
    status, _, _ = await api.call(
        "POST",
        "/api/v1/auth/portal/login",
        json={"tenant": tenant["tenant"]["slug"], "email": "grace@example.com", "password": PASSWORD},
    )
    assert status == 401
    status, body, _ = await api.call("PATCH", path, token=owner, json={"first_name": "Grace"})
    assert (status, body["code"]) == (409, "CLIENT_ERASED")
    _, page, _ = await api.call("GET", "/api/v1/clients", token=owner, params={"q": "Grace"})
    assert page["items"] == []


async def test_a_name_typed_with_typos_finds_the_client(api: Api) -> None:
    tenant = await api.sign_up()
    token = tenant["token"]
    john = await api.create_client(token, first_name="John", last_name="Smith")
    catherine = await api.create_client(token, first_name="Catherine", last_name="Zeta")
    katherine = await api.create_client(token, first_name="Katherine", last_name="Jones")
    for typed, expected in (
        ("Jonh Smiht", [john["id"]]),
        ("Katherine", [katherine["id"], catherine["id"]]),
        ("Catherine", [catherine["id"], katherine["id"]]),
    ):
        status, page, _ = await api.call("GET", "/api/v1/clients", token=token, params={"q": typed})
        assert status == 200, page
        assert [c["id"] for c in page["items"]] == expected, typed
