"""Changing, deleting, restoring and blocking a client through the gateway; each lands on the timeline."""

from __future__ import annotations

import asyncio
import uuid

from platform_dev.testing.plugin import wait_until

from .conftest import Api, restart_unit, wait_ready


async def kinds(api: Api, token: str, client_id: str) -> list[str]:
    status, body, _ = await api.call("GET", f"/api/v1/clients/{client_id}/activity", token=token)
    assert status == 200, body
    return [entry["kind"] for entry in body["items"]]


async def test_update_delete_restore_and_block_each_reach_the_timeline(api: Api) -> None:
    tenant = await api.sign_up()
    token = tenant["token"]
    client = await api.create_client(token, first_name="Ada", email="ada@example.com")
    path = f"/api/v1/clients/{client['id']}"

    status, updated, _ = await api.call(
        "PATCH", path, token=token, json={"last_name": "Lovelace", "phone": "212 555 0142", "email": ""}
    )
    assert status == 200, updated
    assert (updated["last_name"], updated["phone"], updated["email"]) == ("Lovelace", "+12125550142", None)
    assert updated["version"] == client["version"] + 1

    status, blocked, _ = await api.call(
        "PUT", f"{path}/online-booking-block", token=token, json={"blocked": True, "reason": "three no-shows"}
    )
    assert (status, blocked["online_booking_blocked"]) == (200, True)

    status, deleted, _ = await api.call("DELETE", path, token=token)
    assert status == 200 and deleted["deleted_at"]
    _, page, _ = await api.call("GET", "/api/v1/clients", token=token)
    assert client["id"] not in [c["id"] for c in page["items"]]
    _, page, _ = await api.call("GET", "/api/v1/clients?include_deleted=true", token=token)
    assert client["id"] in [c["id"] for c in page["items"]]
    for method, suffix, payload in (("PATCH", "", {"first_name": "X"}), ("DELETE", "", None)):
        status, body, _ = await api.call(method, path + suffix, token=token, json=payload)
        assert (status, body["code"]) == (409, "CLIENT_DELETED")

    status, restored, _ = await api.call("POST", f"{path}/restore", token=token)
    assert (status, restored["deleted_at"]) == (200, None)
    status, body, _ = await api.call("POST", f"{path}/restore", token=token)
    assert (status, body["code"]) == (409, "CLIENT_NOT_DELETED")

    expected = [
        "client.restored",
        "client.deleted",
        "client.booking_blocked",
        "client.updated",
        "client.created",
    ]

    async def all_recorded() -> bool:
        return await kinds(api, token, client["id"]) == expected

    await wait_until(all_recorded, timeout=10)
    _, timeline, _ = await api.call("GET", f"{path}/activity", token=token)
    summaries = {e["kind"]: e["summary"] for e in timeline["items"]}
    assert summaries["client.updated"] == "Details changed: last name, email, phone"
    assert summaries["client.booking_blocked"] == "Online booking blocked: three no-shows"


async def test_bad_changes_get_422_or_404_and_change_nothing(api: Api) -> None:
    tenant, other = await api.sign_up(), await api.sign_up()
    token = tenant["token"]
    client = await api.create_client(token, first_name="Keep", email="keep@example.com")
    path = f"/api/v1/clients/{client['id']}"
    for payload, fields in (
        ({}, {"body"}),
        ({"first_name": None}, {"first_name"}),
        ({"first_name": "  ", "email": "not-an-email"}, {"first_name", "email"}),
        ({"tenant_id": str(uuid.uuid4())}, {"tenant_id"}),
    ):
        status, body, _ = await api.call("PATCH", path, token=token, json=payload)
        assert status == 422, (payload, body)
        assert {e["field"] for e in body["errors"]} == fields, (payload, body)
    status, body, _ = await api.call("PUT", f"{path}/online-booking-block", token=token, json={"reason": "x"})
    assert (status, {e["field"] for e in body["errors"]}) == (422, {"blocked"})
    for method, suffix, payload in (
        ("PATCH", "", {"first_name": "Stolen"}),
        ("DELETE", "", None),
        ("POST", "/restore", None),
        ("PUT", "/online-booking-block", {"blocked": True}),
    ):
        status, _, _ = await api.call(method, path + suffix, token=other["token"], json=payload)
        assert status == 404, (method, suffix)
    status, unchanged, _ = await api.call("GET", path, token=token)
    assert (status, unchanged) == (200, client)


async def test_statuses_are_configured_by_owners_used_by_staff_and_land_on_the_timeline(api: Api) -> None:
    tenant = await api.sign_up()
    owner = tenant["token"]
    status, statuses, _ = await api.call("GET", "/api/v1/client-statuses", token=owner)
    assert status == 200
    lead, active, inactive = statuses["items"]
    assert (lead["label"], active["is_default"]) == ("Lead", True)

    status, vip, _ = await api.call("POST", "/api/v1/client-statuses", token=owner, json={"label": "VIP"})
    assert status == 201, vip
    status, body, _ = await api.call("POST", "/api/v1/client-statuses", token=owner, json={"label": "vip"})
    assert (status, body["code"]) == (409, "STATUS_LABEL_TAKEN")
    status, body, _ = await api.call("DELETE", f"/api/v1/client-statuses/{active['id']}", token=owner)
    assert (status, body["code"]) == (409, "STATUS_DEFAULT")
    order = [vip["id"], lead["id"], active["id"], inactive["id"]]
    status, reordered, _ = await api.call("PUT", "/api/v1/client-statuses/order", token=owner, json={"ids": order})
    assert [s["id"] for s in reordered["items"]] == order
    status, body, _ = await api.call("PUT", "/api/v1/client-statuses/order", token=owner, json={"ids": order[:2]})
    assert (status, {e["field"] for e in body["errors"]}) == (422, {"ids"})

    staff_email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    await api.call(
        "POST",
        "/api/v1/staff",
        token=owner,
        json={"email": staff_email, "password": "correct horse battery", "role": "staff"},
    )
    _, tokens, _ = await api.call(
        "POST", "/api/v1/auth/staff/login", json={"email": staff_email, "password": "correct horse battery"}
    )
    staff = tokens["access_token"]
    status, _, _ = await api.call("POST", "/api/v1/client-statuses", token=staff, json={"label": "Nope"})
    assert status == 403

    client = await api.create_client(staff, first_name="Ada")
    assert client["status_label"] == "Active"
    status, moved, _ = await api.call(
        "PUT", f"/api/v1/clients/{client['id']}/status", token=staff, json={"status_id": vip["id"]}
    )
    assert (status, moved["status_label"]) == (200, "VIP")
    status, body, _ = await api.call(
        "PUT", f"/api/v1/clients/{client['id']}/status", token=staff, json={"status_id": "not-an-id"}
    )
    assert (status, {e["field"] for e in body["errors"]}) == (422, {"status_id"})
    _, page, _ = await api.call("GET", f"/api/v1/clients?status_id={vip['id']}", token=staff)
    assert [c["id"] for c in page["items"]] == [client["id"]]

    async def status_change_recorded() -> bool:
        _, timeline, _ = await api.call("GET", f"/api/v1/clients/{client['id']}/activity", token=staff)
        return any(e["summary"] == "Status changed from Active to VIP" for e in timeline["items"])

    await wait_until(status_change_recorded, timeout=10)


async def test_notes_through_the_gateway(api: Api) -> None:
    tenant, other = await api.sign_up(), await api.sign_up()
    token = tenant["token"]
    client = await api.create_client(token, first_name="Noted")
    notes = f"/api/v1/clients/{client['id']}/notes"
    status, note, _ = await api.call("POST", notes, token=token, json={"body": "Allergic to latex"})
    assert status == 201, note
    status, edited, _ = await api.call(
        "PATCH", f"{notes}/{note['id']}", token=token, json={"body": "Allergic to nickel"}
    )
    assert (status, edited["revision"], edited["body"]) == (200, 2, "Allergic to nickel")
    status, page, _ = await api.call("GET", notes, token=token)
    assert [n["body"] for n in page["items"]] == ["Allergic to nickel"]
    status, history, _ = await api.call("GET", f"{notes}/{note['id']}/history", token=token)
    assert [r["body"] for r in history["revisions"]] == ["Allergic to latex", "Allergic to nickel"]

    status, body, _ = await api.call("POST", notes, token=token, json={"body": "   "})
    assert (status, [e["field"] for e in body["errors"]]) == (422, ["body"])
    status, _, _ = await api.call("GET", f"{notes}/{uuid.uuid4()}/history", token=token)
    assert status == 404
    status, _, _ = await api.call("GET", notes, token=other["token"])
    assert status == 404
    status, _, _ = await api.call("POST", notes, token=other["token"], json={"body": "Sneaky"})
    assert status == 404


async def test_a_phone_typed_three_ways_finds_the_same_client_in_a_us_tenant(api: Api) -> None:
    tenant = await api.sign_up(country="US")
    token = tenant["token"]
    ada = await api.create_client(token, first_name="Ada", phone="+1 212 555 0142")
    await api.create_client(token, first_name="Other", phone="+1 212 555 0199")
    for typed in ("(212) 555-0142", "+1 212 555 0142", "2125550142"):
        status, page, _ = await api.call("GET", "/api/v1/clients", token=token, params={"q": typed})
        assert status == 200, page
        assert [c["id"] for c in page["items"]] == [ada["id"]], typed
    status, body, _ = await api.call("GET", "/api/v1/clients", token=token, params={"q": "x" * 101})
    assert (status, [e["field"] for e in body["errors"]]) == (422, ["q"])


async def test_assigned_staff_and_my_clients(api: Api) -> None:
    tenant, other = await api.sign_up(), await api.sign_up()
    owner = tenant["token"]
    email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    _, member, _ = await api.call(
        "POST",
        "/api/v1/staff",
        token=owner,
        json={"email": email, "password": "correct horse battery", "role": "staff"},
    )
    _, tokens, _ = await api.call(
        "POST", "/api/v1/auth/staff/login", json={"email": email, "password": "correct horse battery"}
    )
    staff = tokens["access_token"]
    mine = await api.create_client(owner, first_name="Mine")
    theirs = await api.create_client(owner, first_name="Someone else's")

    status, assigned, _ = await api.call(
        "PUT", f"/api/v1/clients/{mine['id']}/staff", token=owner, json={"staff_ids": [member["id"]]}
    )
    assert (status, assigned["assigned_staff_ids"]) == (200, [member["id"]])
    status, page, _ = await api.call("GET", "/api/v1/clients", token=staff, params={"assigned_to": "me"})
    assert [c["id"] for c in page["items"]] == [mine["id"]]

    outsider = other["owner"]["id"]
    for bad in ([outsider], ["not-an-id"], [str(uuid.uuid4())]):
        status, body, _ = await api.call(
            "PUT", f"/api/v1/clients/{mine['id']}/staff", token=owner, json={"staff_ids": bad}
        )
        assert (status, [e["field"] for e in body["errors"]]) == (422, ["staff_ids"]), bad

    # Assigned to a group, the staff member has its clients too, and the card says how.
    _, group, _ = await api.call("POST", "/api/v1/client-groups", token=owner, json={"name": "Saturday regulars"})
    await api.call(
        "POST", f"/api/v1/client-groups/{group['id']}/members", token=owner, json={"client_ids": [theirs["id"]]}
    )
    group_staff = f"/api/v1/client-groups/{group['id']}/staff"
    status, group, _ = await api.call("PUT", group_staff, token=owner, json={"staff_ids": [member["id"]]})
    assert (status, group.get("staff_ids")) == (200, [member["id"]]), group
    status, page, _ = await api.call("GET", "/api/v1/clients", token=staff, params={"assigned_to": "me"})
    assert [c["id"] for c in page["items"]] == [theirs["id"], mine["id"]]
    assert page["items"][0]["group_staff_ids"] == [member["id"]]
    _, card, _ = await api.call("GET", f"/api/v1/clients/{theirs['id']}/card", token=owner)
    assert [(s["id"], s["via_group"]) for s in card["assigned_staff"]["data"]] == [(member["id"], True)]
    status, body, _ = await api.call("PUT", group_staff, token=owner, json={"staff_ids": [outsider]})
    assert (status, [e["field"] for e in body["errors"]]) == (422, ["staff_ids"])
    status, group, _ = await api.call("PUT", group_staff, token=owner, json={"staff_ids": []})
    assert (status, group["staff_ids"]) == (200, [])
    _, page, _ = await api.call("GET", "/api/v1/clients", token=staff, params={"assigned_to": "me"})
    assert [c["id"] for c in page["items"]] == [mine["id"]]

    async def recorded() -> bool:
        _, timeline, _ = await api.call("GET", f"/api/v1/clients/{mine['id']}/activity", token=owner)
        return any(e["summary"] == "Details changed: assigned staff" for e in timeline["items"])

    await wait_until(recorded, timeout=10)


async def test_tags_through_the_gateway(api: Api) -> None:
    tenant = await api.sign_up()
    token = tenant["token"]
    client = await api.create_client(token, first_name="Tagged")
    status, tagged, _ = await api.call(
        "PUT", f"/api/v1/clients/{client['id']}/tags", token=token, json={"tags": ["VIP", " walk-in "]}
    )
    assert (status, tagged["tags"]) == (200, ["VIP", "walk-in"])
    _, page, _ = await api.call("GET", "/api/v1/clients", token=token, params={"tag": "VIP"})
    assert [c["id"] for c in page["items"]] == [client["id"]]
    status, body, _ = await api.call("PUT", f"/api/v1/clients/{client['id']}/tags", token=token, json={"tags": [""]})
    assert status == 422 and body["errors"][0]["field"].startswith("tags")


async def test_the_card_composes_every_section_and_degrades_when_a_service_is_down(api: Api) -> None:
    tenant = await api.sign_up()
    token = tenant["token"]
    client = await api.create_client(token, first_name="Carded")
    await api.call("POST", f"/api/v1/clients/{client['id']}/notes", token=token, json={"body": "First"})
    await api.call("POST", f"/api/v1/clients/{client['id']}/notes", token=token, json={"body": "Latest"})
    await api.call(
        "PUT", f"/api/v1/clients/{client['id']}/staff", token=token, json={"staff_ids": [tenant["owner"]["id"]]}
    )
    card_path = f"/api/v1/clients/{client['id']}/card"

    async def timeline_has_entries() -> bool:
        _, card, _ = await api.call("GET", card_path, token=token)
        return card["timeline"]["status"] == "ok" and len(card["timeline"]["data"]["items"]) >= 2

    await wait_until(timeline_has_entries, timeout=10)
    status, card, _ = await api.call("GET", card_path, token=token)
    assert status == 200
    assert card["information"]["data"]["first_name"] == "Carded"
    assert card["assigned_staff"]["data"] == [
        {"id": tenant["owner"]["id"], "email": tenant["owner_email"], "role": "owner", "via_group": False}
    ]
    assert card["latest_note"]["data"]["body"] == "Latest"
    assert card["highlights"] == {
        "next_appointment": {"status": "ok", "data": None},
        "pending_payment": {"status": "ok", "data": []},
        "open_request": {"status": "ok", "data": {"open_count": 0, "oldest": None, "approval_required_until": None}},
    }

    status, _, _ = await api.call("GET", f"/api/v1/clients/{uuid.uuid4()}/card", token=token)
    assert status == 404

    notification = api.stack.processes["notification"]
    notification.terminate()
    await asyncio.to_thread(notification.wait, 15)
    try:
        status, card, _ = await api.call("GET", card_path, token=token)
        assert status == 200
        assert card["timeline"] == {"status": "unavailable", "data": None}
        assert card["information"]["status"] == card["latest_note"]["status"] == "ok"
    finally:
        api.stack.processes["notification"] = restart_unit(api.stack, "notification")
        await wait_ready(api.session, api.stack.base_url, api.stack.processes, api.stack.log_dir)


async def test_groups_through_the_gateway(api: Api) -> None:
    tenant, other = await api.sign_up(), await api.sign_up()
    token = tenant["token"]
    clients = [await api.create_client(token, first_name=f"G{i}") for i in range(3)]
    status, group, _ = await api.call("POST", "/api/v1/client-groups", token=token, json={"name": "Regulars"})
    assert status == 201
    members = f"/api/v1/client-groups/{group['id']}/members"
    status, group, _ = await api.call("POST", members, token=token, json={"client_ids": [c["id"] for c in clients]})
    assert (status, group["member_count"]) == (200, 3)
    status, group, _ = await api.call("POST", f"{members}/remove", token=token, json={"client_ids": [clients[0]["id"]]})
    assert group["member_count"] == 2
    _, page, _ = await api.call("GET", "/api/v1/clients", token=token, params={"group_id": group["id"]})
    assert sorted(c["id"] for c in page["items"]) == sorted(c["id"] for c in clients[1:])
    status, body, _ = await api.call("POST", "/api/v1/client-groups", token=token, json={"name": "regulars"})
    assert (status, body["code"]) == (409, "GROUP_NAME_TAKEN")
    status, body, _ = await api.call("POST", members, token=token, json={"client_ids": ["nope"]})
    assert (status, body["errors"][0]["field"]) == (422, "client_ids")
    status, _, _ = await api.call("POST", members, token=other["token"], json={"client_ids": [clients[0]["id"]]})
    assert status == 404
    status, _, _ = await api.call("DELETE", f"/api/v1/client-groups/{group['id']}", token=token)
    assert status == 204
    _, groups, _ = await api.call("GET", "/api/v1/client-groups", token=token)
    assert groups["items"] == []


async def test_an_owner_exports_everything_held_about_a_client(api: Api) -> None:
    tenant = await api.sign_up()
    token = tenant["token"]
    client = await api.create_client(token, first_name="Portable", email="p@example.com")
    _, note, _ = await api.call("POST", f"/api/v1/clients/{client['id']}/notes", token=token, json={"body": "v1"})
    await api.call("PATCH", f"/api/v1/clients/{client['id']}/notes/{note['id']}", token=token, json={"body": "v2"})

    async def exported() -> dict | None:
        status, document, headers = await api.call("GET", f"/api/v1/clients/{client['id']}/export", token=token)
        assert status == 200 and "attachment" in headers["Content-Disposition"]
        return document if document["activity"] else None

    document = await wait_until(exported, timeout=10)
    assert document["format"] == "atrium.client-export.v1"
    assert document["client"]["email"] == "p@example.com"
    assert [r["body"] for r in document["notes"][0]["history"]] == ["v1", "v2"]
    assert document["activity"][-1]["kind"] == "client.created"


async def test_the_whole_record_of_a_business_client(api: Api) -> None:
    tenant = await api.sign_up()
    token = tenant["token"]
    profile = {
        "kind": "business",
        "company_name": "Acme Repairs",
        "address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
        "preferred_language": "en",
        "timezone": "America/Chicago",
        "default_invoicing_method": "portal",
        "opening_balance": {"amount_minor": 12_500, "currency": "usd"},
    }
    status, client, _ = await api.call(
        "POST", "/api/v1/clients", token=token, json={"first_name": "", "profile": profile}
    )
    assert status == 201, client
    assert client["profile"]["company_name"] == "Acme Repairs"
    assert client["profile"]["opening_balance"] == {"amount_minor": 12_500, "currency": "USD"}
    assert client["profile"]["source"] == "staff"

    status, updated, _ = await api.call(
        "PATCH",
        f"/api/v1/clients/{client['id']}",
        token=token,
        json={"profile": profile | {"date_of_birth": "1990-04-23", "kind": "individual"}, "first_name": "Wile"},
    )
    assert status == 200, updated
    assert (updated["profile"]["kind"], updated["profile"]["date_of_birth"]) == ("individual", "1990-04-23")

    bad = {"kind": "business", "address": {"country": "XY1"}, "timezone": "Mars/Base", "date_of_birth": "not a date"}
    status, body, _ = await api.call("POST", "/api/v1/clients", token=token, json={"first_name": "", "profile": bad})
    assert status == 422
    assert {e["field"] for e in body["errors"]} >= {"profile.address.country", "profile.date_of_birth"}
    status, body, _ = await api.call(
        "POST",
        "/api/v1/clients",
        token=token,
        json={"first_name": "", "profile": {"kind": "business", "timezone": "Mars/Base"}},
    )
    assert (status, {e["field"] for e in body["errors"]}) == (422, {"profile.company_name", "profile.timezone"})


async def test_duplicates_through_the_gateway(api: Api) -> None:
    tenant = await api.sign_up(country="US")
    token = tenant["token"]
    first = await api.create_client(token, first_name="Jo", phone="(212) 555-0142")
    second = await api.create_client(token, first_name="Joanna", phone="+1 212 555 0142")
    status, pairs, _ = await api.call("GET", "/api/v1/client-duplicates", token=token)
    assert status == 200
    [pair] = pairs["items"]
    assert {pair["first"]["id"], pair["second"]["id"]} == {first["id"], second["id"]}
    assert pair["reasons"] == ["same_phone"] and 0 < pair["score"] < 1
    status, _, _ = await api.call("GET", "/api/v1/client-duplicates?limit=0", token=token)
    assert status == 422


async def test_the_list_sorts_and_filters_blocked_and_deleted_clients_through_the_gateway(api: Api) -> None:
    token = (await api.sign_up())["token"]
    zed = await api.create_client(token, first_name="Zed", last_name="Adams")
    amy = await api.create_client(token, first_name="Amy", last_name="Young")
    gone = await api.create_client(token, first_name="Gone", last_name="Baker")
    block = f"/api/v1/clients/{zed['id']}/online-booking-block"
    assert (await api.call("PUT", block, token=token, json={"blocked": True}))[0] == 200
    assert (await api.call("DELETE", f"/api/v1/clients/{gone['id']}", token=token))[0] == 200

    async def names(**params: str) -> list[str]:
        status, page, _ = await api.call("GET", "/api/v1/clients", token=token, params=params)
        assert status == 200, page
        return [c["first_name"] for c in page["items"]]

    assert await names() == ["Amy", "Zed"]
    assert await names(sort="name") == ["Zed", "Amy"]
    assert await names(sort="oldest", blocked="false") == ["Amy"]
    assert await names(blocked="true") == ["Zed"]
    assert await names(only_deleted="true") == ["Gone"]
    status, body, _ = await api.call("GET", "/api/v1/clients", token=token, params={"sort": "age"})
    assert (status, [e["field"] for e in body["errors"]]) == (422, ["sort"])
    status, body, _ = await api.call("GET", "/api/v1/clients", token=token, params={"q": "young", "sort": "name"})
    assert (status, [e["field"] for e in body["errors"]]) == (422, ["sort"])
    assert await names(q="young") == [amy["first_name"]]
