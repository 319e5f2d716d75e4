"""Appointment requests through the gateway: the client asks in the portal, staff approve, and the
appointment exists in scheduling; each client sees only its own requests; the card and the timeline show them;
the help centre's page ("Managing Client Appointments") walked top to bottom; the races it implies."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from platform_core.testing.plugin import wait_until

from .conftest import Api, restart_unit, wait_ready
from .test_scheduling import PASSWORD, at, open_business

PORTAL = "/api/v1/portal/appointment-requests"


async def portal_login(api: Api, token: str, client_id: str) -> str:
    status, invitation, _ = await api.call(
        "POST", f"/api/v1/clients/{client_id}/portal-invitation", token=token, json={}
    )
    assert status == 201, invitation
    status, tokens, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    assert status == 201, tokens
    return str(tokens["access_token"])


async def test_portal_request_approved_by_staff_becomes_an_appointment(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    mia = await api.create_client(token, first_name="Mia", email=f"mia-{uuid.uuid4().hex[:6]}@example.com")
    ben = await api.create_client(token, first_name="Ben", email=f"ben-{uuid.uuid4().hex[:6]}@example.com")
    mia_portal, ben_portal = await portal_login(api, token, mia["id"]), await portal_login(api, token, ben["id"])

    body: dict[str, Any] = {
        "service_id": service["id"],
        "options": [{"start": at(day, 10)}, {"start": at(day, 13), "end": at(day, 16)}],
        "message": "Anna if possible",
    }
    status, submitted, _ = await api.call(
        "POST", PORTAL, token=mia_portal, json=body, headers={"Idempotency-Key": "mia-req-1"}
    )
    assert status == 201, submitted
    assert (submitted["status"], submitted["timezone"]) == ("pending", "Europe/Berlin")
    assert submitted["options"][1]["local_end"] == at(day, 16).replace(":00+", "+")  # the client's wall clock
    status, again, _ = await api.call(
        "POST", PORTAL, token=mia_portal, json=body, headers={"Idempotency-Key": "mia-req-1"}
    )
    assert (status, again["id"]) == (201, submitted["id"])

    status, bad, _ = await api.call("POST", PORTAL, token=mia_portal, json=body | {"options": []})
    assert (status, bad["errors"][0]["field"]) == (422, "options")

    # Another client can neither see nor cancel it; staff cannot use the portal's routes.
    status, _, _ = await api.call("GET", f"{PORTAL}/{submitted['id']}", token=ben_portal)
    assert status == 404
    status, _, _ = await api.call("POST", f"{PORTAL}/{submitted['id']}/cancel", token=ben_portal)
    assert status == 404
    status, mine, _ = await api.call("GET", PORTAL, token=ben_portal)
    assert (status, mine["items"]) == (200, [])

    status, card, _ = await api.call("GET", f"/api/v1/clients/{mia['id']}/card", token=token)
    assert status == 200
    open_request = card["highlights"]["open_request"]
    assert (open_request["status"], open_request["data"]["open_count"]) == ("ok", 1)
    assert open_request["data"]["oldest"]["id"] == submitted["id"]

    status, queue, _ = await api.call(
        "GET", "/api/v1/appointment-requests", token=token, params={"status": "pending", "client_id": mia["id"]}
    )
    assert (status, [r["id"] for r in queue["items"]]) == (200, [submitted["id"]])
    approval = {"start": at(day, 14), "technician_id": business["staff_ids"][0]}
    status, approved, _ = await api.call(
        "POST", f"/api/v1/appointment-requests/{submitted['id']}/approve", token=token, json=approval
    )
    assert (status, approved["status"]) == (200, "approved"), approved
    status, again, _ = await api.call(
        "POST", f"/api/v1/appointment-requests/{submitted['id']}/approve", token=token, json=approval
    )
    assert (status, again["code"]) == (409, "REQUEST_NOT_PENDING")

    status, appointment, _ = await api.call("GET", f"/api/v1/appointments/{approved['appointment_id']}", token=token)
    assert status == 200, appointment
    assert (appointment["client_id"], appointment["source"], datetime.fromisoformat(appointment["start"])) == (
        mia["id"],
        "portal_request",
        datetime.fromisoformat(at(day, 14)),
    )
    status, seen, _ = await api.call("GET", f"{PORTAL}/{submitted['id']}", token=mia_portal)
    assert (status, seen["status"], [h["action"] for h in seen["history"]]) == (
        200,
        "approved",
        ["submitted", "approved"],
    )

    async def on_timeline() -> bool:
        _, card, _ = await api.call("GET", f"/api/v1/clients/{mia['id']}/card", token=token)
        kinds = {e["kind"] for e in card["timeline"]["data"]["items"]}
        return {"request.submitted", "request.approved"} <= kinds

    await wait_until(on_timeline, timeout=15)


async def test_a_blocked_client_is_refused_and_a_client_cancels_its_own_request(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    client = await api.create_client(token, first_name="Zoe", email=f"zoe-{uuid.uuid4().hex[:6]}@example.com")
    portal = await portal_login(api, token, client["id"])
    body = {"service_id": service["id"], "options": [{"start": at(day, 9)}]}

    status, submitted, _ = await api.call("POST", PORTAL, token=portal, json=body)
    assert status == 201, submitted
    status, cancelled, _ = await api.call("POST", f"{PORTAL}/{submitted['id']}/cancel", token=portal)
    assert (status, cancelled["status"], cancelled["cancelled_by"]) == (200, "cancelled", "client")
    status, problem, _ = await api.call(
        "POST", f"/api/v1/appointment-requests/{submitted['id']}/decline", token=token, json={"reason": "late"}
    )
    assert (status, problem["code"]) == (409, "REQUEST_NOT_PENDING")

    status, _, _ = await api.call(
        "PUT", f"/api/v1/clients/{client['id']}/online-booking-block", token=token, json={"blocked": True}
    )
    assert status == 200
    status, problem, _ = await api.call("POST", PORTAL, token=portal, json=body)
    assert (status, problem["code"]) == (409, "BOOKING_BLOCKED")


async def test_the_card_marks_only_the_open_request_highlight_unavailable_when_portal_requests_is_down(
    api: Api,
) -> None:
    tenant = await api.sign_up()
    client = await api.create_client(tenant["token"], first_name="Dora")
    card_path = f"/api/v1/clients/{client['id']}/card"
    unit = api.stack.processes["portal_requests"]
    unit.terminate()
    await asyncio.to_thread(unit.wait, 15)
    try:
        status, card, _ = await api.call("GET", card_path, token=tenant["token"])
        assert status == 200
        assert card["highlights"] == {
            "next_appointment": {"status": "ok", "data": None},
            "pending_payment": {"status": "ok", "data": []},
            "open_request": {"status": "unavailable", "data": None},
        }
        assert card["information"]["status"] == "ok"
    finally:
        api.stack.processes["portal_requests"] = restart_unit(api.stack, "portal_requests")
        await wait_ready(api.session, api.stack.base_url, api.stack.processes, api.stack.log_dir)


async def test_the_portal_answers_the_booking_request_form_with_a_request(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    status, field, _ = await api.call(
        "POST",
        "/api/v1/custom-fields",
        token=token,
        json={"label": "Allergies", "type": "text", "required": True, "forms": ["booking_request"]},
    )
    assert status == 201, field
    lia = await api.create_client(token, first_name="Lia", email=f"lia-{uuid.uuid4().hex[:6]}@example.com")
    lia_portal = await portal_login(api, token, lia["id"])
    status, form, _ = await api.call(
        "GET", "/api/v1/portal/custom-fields", token=lia_portal, params={"form": "booking_request"}
    )
    assert (status, [f["key"] for f in form["items"]]) == (200, ["allergies"])
    body: dict[str, Any] = {"service_id": service["id"], "options": [{"start": at(day, 10)}]}
    status, refused, _ = await api.call("POST", PORTAL, token=lia_portal, json=body)
    assert (status, [e["field"] for e in refused["errors"]]) == (422, ["answers.allergies"])
    status, submitted, _ = await api.call(
        "POST", PORTAL, token=lia_portal, json=body | {"answers": {"allergies": "none"}}
    )
    assert status == 201, submitted
    _, client, _ = await api.call("GET", f"/api/v1/clients/{lia['id']}", token=token)
    assert client["custom_fields"] == {"allergies": "none"}
