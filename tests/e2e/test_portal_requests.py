"""Appointment requests through the gateway: the client asks in the portal, staff approve, and the
appointment exists in scheduling; each client sees only its own requests; the card and the timeline show them;
the help centre's page ("Managing Client Appointments") walked top to bottom; the races it implies."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from platform_dev.testing.plugin import wait_until

from .conftest import Api, restart_unit, wait_ready
from .test_scheduling import PASSWORD, at, open_business

PORTAL = "/api/v1/portal/appointment-requests"
NEW_YORK = ZoneInfo("America/New_York")


def new_york(moment: str) -> str:
    """The client's wall clock in the tests below (its profile's zone)."""
    return datetime.fromisoformat(moment).astimezone(NEW_YORK).isoformat(timespec="minutes")


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


async def test_a_national_phone_number_in_the_booking_form_is_read_in_the_business_country(api: Api) -> None:
    """The business signed up in the US: "(212) 555-0123" typed in a phone-type question of the booking form is
    accepted from the portal and kept as E.164, as the record's own phone fields are."""
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    status, field, _ = await api.call(
        "POST",
        "/api/v1/custom-fields",
        token=token,
        json={"label": "Emergency phone", "type": "phone", "required": True, "forms": ["booking_request"]},
    )
    assert status == 201, field
    kim = await api.create_client(token, first_name="Kim", email=f"kim-{uuid.uuid4().hex[:6]}@example.com")
    kim_portal = await portal_login(api, token, kim["id"])
    body: dict[str, Any] = {"service_id": service["id"], "options": [{"start": at(day, 10)}]}
    status, refused, _ = await api.call(
        "POST", PORTAL, token=kim_portal, json=body | {"answers": {field["key"]: "555-01"}}
    )
    assert (status, {e["field"] for e in refused["errors"]}) == (422, {f"answers.{field['key']}"}), refused
    status, submitted, _ = await api.call(
        "POST", PORTAL, token=kim_portal, json=body | {"answers": {field["key"]: "(212) 555-0123"}}
    )
    assert status == 201, submitted
    _, client, _ = await api.call("GET", f"/api/v1/clients/{kim['id']}", token=token)
    assert client["custom_fields"] == {field["key"]: "+12125550123"}


async def test_the_help_page_managing_client_appointments_top_to_bottom(api: Api) -> None:
    """Help centre 13.5: request → pending badge → list row → details → approve with technician, changed time,
    internal notes and ticket → the appointment carries them → the client sees Approved in its own zone and
    never the internal notes."""
    business = await open_business(api, staff=2)
    token, day, service = business["token"], business["day"], business["service"]
    anna = business["staff_ids"][1]
    status, settings, _ = await api.call(
        "PUT",
        "/api/v1/appointment-requests/settings",
        token=token,
        json={"ticket_url_pattern": "https://desk.example.com/tickets/{id}"},
    )
    assert (status, settings["version"]) == (200, 1), settings
    client = await api.create_client(
        token,
        first_name="Mia",
        last_name="Park",
        email=f"mia-{uuid.uuid4().hex[:6]}@example.com",
        phone="+12125550123",
        profile={"timezone": "America/New_York"},
    )
    portal = await portal_login(api, token, client["id"])

    # 1. The client picks a service, a date and one of the available slots, adds a description and submits.
    status, offered, _ = await api.call("GET", "/api/v1/portal/services", token=portal)
    assert status == 200 and service["id"] in [s["id"] for s in offered["items"]]
    status, slots, _ = await api.call(
        "GET",
        "/api/v1/portal/availability",
        token=portal,
        params={"service_ids": service["id"], "from": day.isoformat(), "to": day.isoformat()},
    )
    assert status == 200, slots
    chosen = next(
        s["start"] for s in slots["slots"] if datetime.fromisoformat(s["start"]) == datetime.fromisoformat(at(day, 10))
    )
    status, submitted, _ = await api.call(
        "POST",
        PORTAL,
        token=portal,
        json={"service_id": service["id"], "options": [{"start": chosen}], "message": "Short layers, please"},
    )
    assert (status, submitted["status"]) == (201, "pending"), submitted
    reference = submitted["reference"]
    assert reference.startswith("REQ-")
    assert "internal_notes" not in submitted and "ticket" not in submitted

    # 2. Staff see "1 pending" and the list row.
    status, counts, _ = await api.call("GET", "/api/v1/appointment-requests/counts", token=token)
    assert (status, counts["pending"], counts["total"]) == (200, 1, 1)
    status, listed, _ = await api.call(
        "GET", "/api/v1/appointment-requests", token=token, params={"status": "pending", "q": reference}
    )
    assert status == 200, listed
    [row] = listed["items"]
    assert (row["id"], row["client_name"], row["service_name"], row["duration_minutes"], row["status"]) == (
        submitted["id"],
        "Mia Park",
        "Haircut",
        60,
        "pending",
    )
    assert row["requested"]["business_start"] == at(day, 10)[:16] + at(day, 10)[19:]  # Berlin wall clock
    assert row["requested"]["local_start"] == new_york(at(day, 10))
    assert (row["ticket"], row["ticket_url"]) == ("", None)
    status, by_name, _ = await api.call("GET", "/api/v1/appointment-requests", token=token, params={"q": "mia par"})
    assert [r["id"] for r in by_name["items"]] == [submitted["id"]]

    # 3. Details: reference, client, email, phone, service, time, duration, status, description, history.
    status, details, _ = await api.call("GET", f"/api/v1/appointment-requests/{submitted['id']}", token=token)
    assert status == 200
    assert (details["reference"], details["client_email"], details["client_phone"]) == (
        reference,
        client["email"],
        "+12125550123",
    )
    assert (details["message"], [h["action"] for h in details["history"]]) == ("Short layers, please", ["submitted"])

    # 4. Approve: the technician is required and must perform the service.
    approve_path = f"/api/v1/appointment-requests/{submitted['id']}/approve"
    status, problem, _ = await api.call("POST", approve_path, token=token, json={"start": at(day, 11)})
    assert (status, [e["field"] for e in problem["errors"]]) == (422, ["technician_id"])
    status, problem, _ = await api.call(
        "POST", approve_path, token=token, json={"start": at(day, 11), "technician_id": str(uuid.uuid4())}
    )
    assert (status, [e["field"] for e in problem["errors"]]) == (422, ["technician_id"])
    status, approved, _ = await api.call(
        "POST",
        approve_path,
        token=token,
        json={
            "technician_id": anna,
            "start": at(day, 11),  # changed from 10:00
            "internal_notes": "Sensitive scalp; use the mild shampoo",
            "ticket": "4711",
            "version": details["version"],
        },
    )
    assert (status, approved["status"], approved["technician_id"]) == (200, "approved", anna), approved
    assert approved["ticket_url"] == "https://desk.example.com/tickets/4711"
    assert datetime.fromisoformat(approved["final"]["start"]) == datetime.fromisoformat(at(day, 11))

    # The appointment exists with the technician, the staff-only notes and the ticket.
    status, appointment, _ = await api.call("GET", f"/api/v1/appointments/{approved['appointment_id']}", token=token)
    assert status == 200, appointment
    assert (appointment["segments"][0]["staff_id"], appointment["staff_notes"], appointment["ticket"]) == (
        anna,
        "Sensitive scalp; use the mild shampoo",
        "4711",
    )
    status, counts, _ = await api.call("GET", "/api/v1/appointment-requests/counts", token=token)
    assert (counts["pending"], counts["approved"]) == (0, 1)

    # 7. The client sees Approved, with the final time in its own zone, and never the internal notes.
    status, mine, _ = await api.call("GET", PORTAL, token=portal, params={"status": "approved"})
    assert (status, [r["id"] for r in mine["items"]]) == (200, [submitted["id"]])
    status, seen, _ = await api.call("GET", f"{PORTAL}/{submitted['id']}", token=portal)
    assert (seen["status"], seen["technician_name"]) == ("approved", "Stylist 1")
    assert seen["final"]["local_start"] == new_york(at(day, 11))
    status, own_appointment, _ = await api.call(
        "GET", f"/api/v1/portal/appointments/{approved['appointment_id']}", token=portal
    )
    assert status == 200
    for body in (seen, *mine["items"], own_appointment):
        assert "Sensitive scalp" not in json.dumps(body) and "4711" not in json.dumps(body)

    async def on_timeline() -> bool:
        _, card, _ = await api.call("GET", f"/api/v1/clients/{client['id']}/card", token=token)
        kinds = {e["kind"] for e in card["timeline"]["data"]["items"]}
        return {"request.submitted", "request.approved"} <= kinds

    await wait_until(on_timeline, timeout=15)


async def test_a_client_edits_a_pending_request_and_an_edit_racing_an_approval_loses_or_wins_alone(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    technician = business["staff_ids"][0]
    client = await api.create_client(token, first_name="Ines", email=f"ines-{uuid.uuid4().hex[:6]}@example.com")
    portal = await portal_login(api, token, client["id"])
    status, submitted, _ = await api.call(
        "POST", PORTAL, token=portal, json={"service_id": service["id"], "options": [{"start": at(day, 9)}]}
    )
    assert status == 201, submitted
    path = f"{PORTAL}/{submitted['id']}"
    status, edited, _ = await api.call(
        "PATCH", path, token=portal, json={"version": submitted["version"], "options": [{"start": at(day, 13)}]}
    )
    assert (status, edited["requested"]["start"], edited["message"]) == (200, edited["options"][0]["start"], "")
    assert datetime.fromisoformat(edited["requested"]["start"]) == datetime.fromisoformat(at(day, 13))
    status, problem, _ = await api.call(
        "PATCH", path, token=portal, json={"version": submitted["version"], "message": "x"}
    )
    assert (status, problem["code"]) == (409, "CONCURRENT_CHANGE")
    status, problem, _ = await api.call("PATCH", path, token=portal, json={"version": edited["version"], "options": []})
    assert (status, problem["errors"][0]["field"]) == (422, "options")
    status, problem, _ = await api.call("PATCH", path, token=portal, json={"message": "no version"})
    assert (status, problem["errors"][0]["field"]) == (422, "version")

    # Raced: the client edits the version staff are approving. Exactly one of them wins.
    edit = api.call("PATCH", path, token=portal, json={"version": edited["version"], "message": "After lunch"})
    approve = api.call(
        "POST",
        f"/api/v1/appointment-requests/{submitted['id']}/approve",
        token=token,
        json={"start": at(day, 13), "technician_id": technician, "version": edited["version"]},
    )
    (edit_status, _, _), (approve_status, approved, _) = await asyncio.gather(edit, approve)
    assert sorted([edit_status, approve_status]) == [200, 409], (edit_status, approve_status)
    status, final, _ = await api.call("GET", f"/api/v1/appointment-requests/{submitted['id']}", token=token)
    if approve_status == 200:
        assert (final["status"], final["message"]) == ("approved", "")
    else:
        assert (final["status"], final["message"], approved["code"]) == ("pending", "After lunch", "CONCURRENT_CHANGE")


async def test_two_overlapping_requests_approved_at_once_one_is_approved_and_one_answers_409(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    technician = business["staff_ids"][0]
    submitted = []
    for name in ("Ola", "Per"):
        client = await api.create_client(token, first_name=name, email=f"{name}-{uuid.uuid4().hex[:6]}@example.com")
        portal = await portal_login(api, token, client["id"])
        status, request, _ = await api.call(
            "POST", PORTAL, token=portal, json={"service_id": service["id"], "options": [{"start": at(day, 15)}]}
        )
        assert status == 201, request
        submitted.append(request)
    outcomes = await asyncio.gather(
        *(
            api.call(
                "POST",
                f"/api/v1/appointment-requests/{r['id']}/approve",
                token=token,
                json={"start": at(day, 15), "technician_id": technician},
            )
            for r in submitted
        )
    )
    assert sorted(status for status, _, _ in outcomes) == [200, 409]
    [(_, refused, _)] = [o for o in outcomes if o[0] == 409]
    assert refused["code"] in {"SLOT_TAKEN", "SLOT_UNAVAILABLE"}
    status, counts, _ = await api.call("GET", "/api/v1/appointment-requests/counts", token=token)
    assert (counts["approved"], counts["pending"]) == (1, 1)


async def test_cancelling_an_approved_request_cancels_its_appointment_within_the_notice_only(api: Api) -> None:
    business = await open_business(api)  # 24 hours' cancellation notice
    token, day, service = business["token"], business["day"], business["service"]
    technician = business["staff_ids"][0]
    client = await api.create_client(token, first_name="Uma", email=f"uma-{uuid.uuid4().hex[:6]}@example.com")
    portal = await portal_login(api, token, client["id"])
    ids = []
    for hour in (9, 12):
        status, request, _ = await api.call(
            "POST", PORTAL, token=portal, json={"service_id": service["id"], "options": [{"start": at(day, hour)}]}
        )
        status, approved, _ = await api.call(
            "POST",
            f"/api/v1/appointment-requests/{request['id']}/approve",
            token=token,
            json={"start": at(day, hour), "technician_id": technician},
        )
        assert status == 200, approved
        ids.append((request["id"], approved["appointment_id"]))
    (first, first_appointment), (second, _) = ids
    status, cancelled, _ = await api.call("POST", f"{PORTAL}/{first}/cancel", token=portal)
    assert (status, cancelled["status"], cancelled["cancelled_by"]) == (200, "cancelled", "client")
    status, appointment, _ = await api.call("GET", f"/api/v1/appointments/{first_appointment}", token=token)
    assert (appointment["status"], appointment["cancelled_by"]) == ("cancelled", "client")
    status, problem, _ = await api.call("POST", f"{PORTAL}/{first}/cancel", token=portal)
    assert (status, problem["code"]) == (409, "REQUEST_NOT_PENDING")

    # The business now wants 30 days' notice: ten days ahead, the client can no longer cancel online.
    status, current, _ = await api.call("GET", "/api/v1/scheduling/settings", token=token)
    status, _, _ = await api.call(
        "PUT", "/api/v1/scheduling/settings", token=token, json=current | {"cancellation_notice_minutes": 30 * 24 * 60}
    )
    assert status == 200
    status, problem, _ = await api.call("POST", f"{PORTAL}/{second}/cancel", token=portal)
    assert (status, problem["code"]) == (409, "CANCELLATION_WINDOW_PASSED")
    status, still, _ = await api.call("GET", f"{PORTAL}/{second}", token=portal)
    assert still["status"] == "approved"
    status, cancelled_list, _ = await api.call("GET", PORTAL, token=portal, params={"status": "cancelled"})
    assert [r["id"] for r in cancelled_list["items"]] == [first]


async def test_a_counter_offer_accepted_twice_at_once_books_one_appointment(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    technician = business["staff_ids"][0]
    client = await api.create_client(token, first_name="Ada", email=f"ada-{uuid.uuid4().hex[:6]}@example.com")
    portal = await portal_login(api, token, client["id"])
    status, submitted, _ = await api.call(
        "POST", PORTAL, token=portal, json={"service_id": service["id"], "options": [{"start": at(day, 9)}]}
    )
    assert status == 201, submitted
    propose_path = f"/api/v1/appointment-requests/{submitted['id']}/propose"
    status, problem, _ = await api.call("POST", propose_path, token=token, json={"alternatives": []})
    assert (status, problem["errors"][0]["field"]) == (422, "alternatives")
    status, proposed, _ = await api.call(
        "POST",
        propose_path,
        token=token,
        json={"alternatives": [at(day, 14), at(day, 15)], "technician_id": technician, "note": "9:00 is gone"},
    )
    assert (status, proposed["status"], len(proposed["proposal"]["alternatives"])) == (200, "proposed", 2), proposed
    status, seen, _ = await api.call("GET", f"{PORTAL}/{submitted['id']}", token=portal)
    assert (seen["status"], seen["proposal"]["note"]) == ("proposed", "9:00 is gone")
    status, counts, _ = await api.call("GET", "/api/v1/appointment-requests/counts", token=token)
    assert (counts["proposed"], counts["pending"]) == (1, 0)

    accept_path = f"{PORTAL}/{submitted['id']}/accept"
    status, problem, _ = await api.call("POST", accept_path, token=portal, json={"alternative": 5})
    assert (status, problem["errors"][0]["field"]) == (422, "alternative")
    outcomes = await asyncio.gather(
        *(api.call("POST", accept_path, token=portal, json={"alternative": i}) for i in (0, 1))
    )
    assert sorted(status for status, _, _ in outcomes) == [200, 409]
    [(_, accepted, _)] = [o for o in outcomes if o[0] == 200]
    [(_, refused, _)] = [o for o in outcomes if o[0] == 409]
    assert (accepted["status"], refused["code"]) == ("approved", "REQUEST_NOT_PROPOSED")
    status, mine, _ = await api.call("GET", "/api/v1/portal/appointments", token=portal, params={"view": "upcoming"})
    assert [a["id"] for a in mine["items"]] == [accepted["appointment_id"]]


async def test_a_freed_slot_is_offered_to_the_waitlist_and_two_acceptances_book_it_once(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    waiting = await api.create_client(token, first_name="Wes", email=f"wes-{uuid.uuid4().hex[:6]}@example.com")
    other = await api.create_client(token, first_name="Oda")
    portal = await portal_login(api, token, waiting["id"])
    status, problem, _ = await api.call(
        "POST",
        "/api/v1/portal/waitlist",
        token=portal,
        json={
            "service_id": service["id"],
            "from_date": day.isoformat(),
            "to_date": day.isoformat(),
            "window_start": "9",
        },
    )
    assert (status, problem["errors"][0]["field"]) == (422, "window_start")
    status, entry, _ = await api.call(
        "POST",
        "/api/v1/waitlist",
        token=token,
        json={
            "client_id": waiting["id"],
            "service_id": service["id"],
            "from_date": day.isoformat(),
            "to_date": day.isoformat(),
        },
    )
    assert (status, entry["status"], entry["joined_by"]) == (201, "waiting", "staff"), entry
    status, booked, _ = await api.call(
        "POST",
        "/api/v1/appointments",
        token=token,
        json={"client_id": other["id"], "segments": [{"service_id": service["id"]}], "start": at(day, 11)},
    )
    assert status == 201, booked
    status, _, _ = await api.call(
        "POST",
        f"/api/v1/appointments/{booked['id']}/cancel",
        token=token,
        json={"reason": "ill", "version": booked["version"]},
    )
    assert status == 200

    async def offer() -> dict[str, Any] | None:
        _, mine, _ = await api.call("GET", "/api/v1/portal/waitlist", token=portal)
        offers = [o for e in mine["items"] for o in e["offers"] if o["status"] == "open"]
        return offers[0] if offers else None

    made = await wait_until(offer, timeout=20)
    assert datetime.fromisoformat(made["start"]) == datetime.fromisoformat(at(day, 11))
    path = f"/api/v1/portal/waitlist-offers/{made['id']}/accept"
    outcomes = await asyncio.gather(*(api.call("POST", path, token=portal) for _ in range(2)))
    assert sorted(status for status, _, _ in outcomes) == [200, 409]
    [(_, accepted, _)] = [o for o in outcomes if o[0] == 200]
    [(_, refused, _)] = [o for o in outcomes if o[0] == 409]
    assert (accepted["status"], refused["code"]) == ("booked", "OFFER_NOT_OPEN")
    status, mine, _ = await api.call("GET", "/api/v1/portal/appointments", token=portal, params={"view": "upcoming"})
    assert [a["id"] for a in mine["items"]] == [accepted["offers"][0]["appointment_id"]]


async def test_staff_put_a_blocked_client_on_the_waitlist_past_its_booking_rules_and_its_offer_books(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    blocked = await api.create_client(token, first_name="Bea", email=f"bea-{uuid.uuid4().hex[:6]}@example.com")
    other = await api.create_client(token, first_name="Ole")
    portal = await portal_login(api, token, blocked["id"])
    status, _, _ = await api.call(
        "PUT", f"/api/v1/clients/{blocked['id']}/online-booking-block", token=token, json={"blocked": True}
    )
    assert status == 200
    body = {
        "client_id": blocked["id"],
        "service_id": service["id"],
        "from_date": day.isoformat(),
        "to_date": day.isoformat(),
    }
    status, problem, _ = await api.call("POST", "/api/v1/waitlist", token=token, json=body)
    assert (status, problem["code"]) == (409, "BOOKING_BLOCKED")
    status, entry, _ = await api.call(
        "POST", "/api/v1/waitlist", token=token, json=body | {"override_booking_rules": True}
    )
    assert (status, entry["booking_rules_overridden"], entry["joined_by"]) == (201, True, "staff"), entry
    status, booked, _ = await api.call(
        "POST",
        "/api/v1/appointments",
        token=token,
        json={"client_id": other["id"], "segments": [{"service_id": service["id"]}], "start": at(day, 13)},
    )
    assert status == 201, booked
    status, _, _ = await api.call(
        "POST",
        f"/api/v1/appointments/{booked['id']}/cancel",
        token=token,
        json={"reason": "moved away", "version": booked["version"]},
    )
    assert status == 200

    async def offer() -> dict[str, Any] | None:
        _, mine, _ = await api.call("GET", "/api/v1/portal/waitlist", token=portal)
        offers = [o for e in mine["items"] for o in e["offers"] if o["status"] == "open"]
        return offers[0] if offers else None

    made = await wait_until(offer, timeout=20)
    # Still blocked, the client takes the offer: staff's override holds for it.
    status, accepted, _ = await api.call("POST", f"/api/v1/portal/waitlist-offers/{made['id']}/accept", token=portal)
    assert (status, accepted["status"]) == (200, "booked"), accepted
    status, appointment, _ = await api.call(
        "GET", f"/api/v1/appointments/{accepted['offers'][0]['appointment_id']}", token=token
    )
    assert (status, appointment["client_id"], appointment["status"]) == (200, blocked["id"], "booked"), appointment


async def test_a_portal_login_whose_client_was_merged_away_sees_the_survivors_requests_and_appointments(
    api: Api,
) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    survivor = await api.create_client(token, first_name="Kim", last_name="Survivor")
    merged = await api.create_client(token, first_name="Kim", email=f"kim-{uuid.uuid4().hex[:6]}@example.com")
    portal = await portal_login(api, token, merged["id"])
    status, submitted, _ = await api.call(
        "POST", PORTAL, token=portal, json={"service_id": service["id"], "options": [{"start": at(day, 10)}]}
    )
    assert status == 201, submitted
    status, booked, _ = await api.call(
        "POST",
        "/api/v1/appointments",
        token=token,
        json={"client_id": survivor["id"], "segments": [{"service_id": service["id"]}], "start": at(day, 15)},
    )
    assert status == 201, booked
    status, merge, _ = await api.call(
        "POST", "/api/v1/client-merges", token=token, json={"survivor_id": survivor["id"], "merged_ids": [merged["id"]]}
    )
    assert status == 201, merge

    async def survivors_request() -> dict[str, Any] | None:
        _, mine, _ = await api.call("GET", PORTAL, token=portal)
        found = [r for r in mine["items"] if r["id"] == submitted["id"]]
        return found[0] if found and found[0]["client_id"] == survivor["id"] else None

    # The merge's event re-points the request; the gateway sees the merge within its survivor TTL.
    moved = await wait_until(survivors_request, timeout=30)
    assert moved["client_id"] == survivor["id"]
    status, appointments, _ = await api.call(
        "GET", "/api/v1/portal/appointments", token=portal, params={"view": "upcoming"}
    )
    assert (status, [a["id"] for a in appointments["items"]]) == (200, [booked["id"]])
    status, cancelled, _ = await api.call("POST", f"{PORTAL}/{submitted['id']}/cancel", token=portal)
    assert (status, cancelled["status"]) == (200, "cancelled")
