"""Appointment request rules through the gateway: staff make a request for a client (same flow, events and
history, an override of the booking rules kept on record), the booking rules hold on every way to a booking,
every status transition the rules forbid answers 409 and changes nothing, and bad input names its field and
changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from .conftest import Api
from .test_portal_requests import PORTAL, portal_login
from .test_scheduling import at, open_business

STAFF = "/api/v1/appointment-requests"


async def _request(api: Api, token: str, request_id: str) -> dict[str, Any]:
    status, found, _ = await api.call("GET", f"{STAFF}/{request_id}", token=token)
    assert status == 200, found
    return found


async def test_staff_make_a_request_for_a_client_and_an_override_of_its_rules_is_kept(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    client = await api.create_client(
        token, first_name="Ida", last_name="Lund", email=f"ida-{uuid.uuid4().hex[:6]}@x.io"
    )
    body: dict[str, Any] = {
        "client_id": client["id"],
        "service_id": service["id"],
        "options": [{"start": at(day, 10)}, {"start": at(day, 13), "end": at(day, 15)}],
        "message": "Phoned in; prefers mornings",
    }
    # Bad input names the field; another business's or an unknown client is missing; nothing is written.
    for bad, field in (
        (body | {"client_id": "nope"}, "client_id"),
        (body | {"options": []}, "options"),
        (body | {"options": [{"start": at(day.replace(year=day.year - 1), 10)}]}, "options[0].start"),
        ({k: v for k, v in body.items() if k != "service_id"}, "service_id"),
    ):
        status, problem, headers = await api.call("POST", STAFF, token=token, json=bad)
        assert (status, problem["errors"][0]["field"]) == (422, field), problem
        assert headers["Content-Type"].startswith("application/problem+json")
    status, problem, _ = await api.call("POST", STAFF, token=token, json=body | {"client_id": str(uuid.uuid4())})
    assert status == 404, problem

    status, blocked, _ = await api.call(
        "PUT", f"/api/v1/clients/{client['id']}/online-booking-block", token=token, json={"blocked": True}
    )
    assert status == 200, blocked
    status, problem, _ = await api.call("POST", STAFF, token=token, json=body)
    assert (status, problem["code"]) == (409, "BOOKING_BLOCKED")
    status, listed, _ = await api.call("GET", STAFF, token=token, params={"client_id": client["id"]})
    assert (status, listed["items"]) == (200, [])

    key = {"Idempotency-Key": f"desk-{uuid.uuid4().hex}"}
    overridden = body | {"override_booking_rules": True}
    status, made, _ = await api.call("POST", STAFF, token=token, json=overridden, headers=key)
    assert status == 201, made
    status, again, _ = await api.call("POST", STAFF, token=token, json=overridden, headers=key)
    assert (status, again["id"]) == (201, made["id"])
    assert (made["status"], made["channel"], made["client_name"], made["reference"]) == (
        "pending",
        "staff",
        "Ida Lund",
        "REQ-1001",
    )
    detail = await _request(api, token, made["id"])
    submitted = detail["history"][0]
    _, me, _ = await api.call("GET", "/api/v1/me", token=token)
    assert (submitted["action"], submitted["actor"]) == ("submitted", f"staff:{me['id']}")
    assert (submitted["details"]["channel"], submitted["details"]["booking_rules_overridden"]) == ("staff", True)
    # It is the client's request like any other: found by name, counted, and in the client's portal.
    status, found, _ = await api.call("GET", STAFF, token=token, params={"q": "lun"})
    assert (status, [r["id"] for r in found["items"]]) == (200, [made["id"]])
    status, counts, _ = await api.call("GET", f"{STAFF}/counts", token=token)
    assert (status, counts["pending"]) == (200, 1)
    portal = await portal_login(api, token, client["id"])
    status, mine, _ = await api.call("GET", PORTAL, token=portal)
    assert (status, [r["id"] for r in mine["items"]]) == (200, [made["id"]])
    assert "internal_notes" not in mine["items"][0]


async def test_the_active_bookings_limit_counts_open_requests_on_every_way_to_a_booking(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    client = await api.create_client(token, first_name="Ole", email=f"ole-{uuid.uuid4().hex[:6]}@x.io")
    portal = await portal_login(api, token, client["id"])
    first = await _submit(api, portal, service["id"], at(day, 9))
    second = await _submit(api, portal, service["id"], at(day, 10))
    status, settings, _ = await api.call("GET", "/api/v1/scheduling/settings", token=token)
    assert status == 200, settings
    status, settings, _ = await api.call(
        "PUT", "/api/v1/scheduling/settings", token=token, json=settings | {"max_active_bookings_per_client": 2}
    )
    assert status == 200, settings

    # Two open requests fill the limit of two: a third request, by the client or by staff, is refused.
    status, problem, _ = await api.call(
        "POST", PORTAL, token=portal, json={"service_id": service["id"], "options": [{"start": at(day, 11)}]}
    )
    assert (status, problem["code"]) == (409, "MAX_ACTIVE_BOOKINGS")
    staff_body = {"client_id": client["id"], "service_id": service["id"], "options": [{"start": at(day, 11)}]}
    status, problem, _ = await api.call("POST", STAFF, token=token, json=staff_body)
    assert (status, problem["code"]) == (409, "MAX_ACTIVE_BOOKINGS")

    # Approving one of them is fine (it does not count against itself), and so is the other after it.
    technician = business["staff_ids"][0]
    for request, hour in ((first, 9), (second, 10)):
        status, approved, _ = await api.call(
            "POST",
            f"{STAFF}/{request['id']}/approve",
            token=token,
            json={"start": at(day, hour), "technician_id": technician},
        )
        assert (status, approved["status"]) == (200, "approved"), approved

    # Now two upcoming appointments: a proposal taken in the portal is refused, whoever made the request.
    status, made, _ = await api.call("POST", STAFF, token=token, json=staff_body | {"override_booking_rules": True})
    assert status == 201, made
    status, proposed, _ = await api.call(
        "POST", f"{STAFF}/{made['id']}/propose", token=token, json={"alternatives": [at(day, 15)]}
    )
    assert status == 200, proposed
    status, problem, _ = await api.call("POST", f"{PORTAL}/{made['id']}/accept", token=portal, json={"alternative": 0})
    assert (status, problem["code"]) == (409, "MAX_ACTIVE_BOOKINGS")
    assert (await _request(api, token, made["id"]))["status"] == "proposed"


async def _submit(api: Api, portal: str, service_id: str, start: str) -> dict[str, Any]:
    status, submitted, _ = await api.call(
        "POST", PORTAL, token=portal, json={"service_id": service_id, "options": [{"start": start}]}
    )
    assert status == 201, submitted
    return submitted


async def test_every_transition_the_rules_forbid_answers_409_and_changes_nothing(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    technician = business["staff_ids"][0]
    client = await api.create_client(token, first_name="Una", email=f"una-{uuid.uuid4().hex[:6]}@x.io")
    portal = await portal_login(api, token, client["id"])

    approved = await _submit(api, portal, service["id"], at(day, 9))
    status, body, _ = await api.call(
        "POST",
        f"{STAFF}/{approved['id']}/approve",
        token=token,
        json={"start": at(day, 9), "technician_id": technician},
    )
    assert status == 200, body
    declined = await _submit(api, portal, service["id"], at(day, 11))
    status, body, _ = await api.call("POST", f"{STAFF}/{declined['id']}/decline", token=token, json={"reason": "Full"})
    assert status == 200, body
    cancelled = await _submit(api, portal, service["id"], at(day, 12))
    status, body, _ = await api.call("POST", f"{PORTAL}/{cancelled['id']}/cancel", token=portal)
    assert status == 200, body
    pending = await _submit(api, portal, service["id"], at(day, 13))

    approve = {"start": at(day, 15), "technician_id": technician}
    propose = {"alternatives": [at(day, 16)]}
    forbidden: list[tuple[str, str, str, dict[str, Any] | None, str]] = [
        # (who, method path, record, body, code)
        ("staff", f"{STAFF}/{approved['id']}/approve", "approved", approve, "REQUEST_NOT_PENDING"),
        ("staff", f"{STAFF}/{approved['id']}/decline", "approved", {"reason": "x"}, "REQUEST_NOT_PENDING"),
        ("staff", f"{STAFF}/{approved['id']}/propose", "approved", propose, "REQUEST_NOT_PENDING"),
        ("portal", f"{PORTAL}/{approved['id']}/accept", "approved", {"alternative": 0}, "REQUEST_NOT_PROPOSED"),
        ("staff", f"{STAFF}/{declined['id']}/approve", "declined", approve, "REQUEST_NOT_PENDING"),
        ("staff", f"{STAFF}/{declined['id']}/decline", "declined", {"reason": "x"}, "REQUEST_NOT_PENDING"),
        ("portal", f"{PORTAL}/{declined['id']}/cancel", "declined", None, "REQUEST_NOT_PENDING"),
        ("staff", f"{STAFF}/{cancelled['id']}/approve", "cancelled", approve, "REQUEST_NOT_PENDING"),
        ("staff", f"{STAFF}/{cancelled['id']}/propose", "cancelled", propose, "REQUEST_NOT_PENDING"),
        ("portal", f"{PORTAL}/{cancelled['id']}/cancel", "cancelled", None, "REQUEST_NOT_PENDING"),
        ("portal", f"{PORTAL}/{pending['id']}/accept", "pending", {"alternative": 0}, "REQUEST_NOT_PROPOSED"),
    ]
    for who, path, was, body_in, code in forbidden:
        request_id = path.split("/")[-2]
        before = await _request(api, token, request_id)
        status, problem, _ = await api.call("POST", path, token=portal if who == "portal" else token, json=body_in)
        assert (status, problem.get("code")) == (409, code), (path, problem)
        after = await _request(api, token, request_id)
        assert (after["status"], after["version"], len(after["history"])) == (
            was,
            before["version"],
            len(before["history"]),
        ), path
    # Edits are for pending requests only.
    for request in (approved, declined, cancelled):
        status, problem, _ = await api.call(
            "PATCH", f"{PORTAL}/{request['id']}", token=portal, json={"version": 99, "message": "late edit"}
        )
        assert status == 409, problem
        assert (await _request(api, token, request["id"]))["message"] == ""


async def test_bad_input_to_decisions_names_the_field_and_leaves_the_request_pending(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    client = await api.create_client(token, first_name="Eva", email=f"eva-{uuid.uuid4().hex[:6]}@x.io")
    portal = await portal_login(api, token, client["id"])
    pending = await _submit(api, portal, service["id"], at(day, 9))
    technician = business["staff_ids"][0]
    path = f"{STAFF}/{pending['id']}"
    for action, body, field in (
        ("approve", {"start": at(day, 9)}, "technician_id"),
        ("approve", {"start": at(day, 9), "technician_id": str(uuid.uuid4())}, "technician_id"),
        ("approve", {"technician_id": technician}, "start"),
        ("approve", {"start": at(day, 9), "technician_id": technician, "ticket": "a b"}, "ticket"),
        ("approve", {"start": at(day, 9), "technician_id": technician, "internal_notes": "x" * 4001}, "internal_notes"),
        ("decline", {"reason": ""}, "reason"),
        ("propose", {"alternatives": []}, "alternatives"),
        ("propose", {"alternatives": [at(day.replace(year=day.year - 1), 9)]}, "alternatives[0]"),
    ):
        status, problem, _ = await api.call("POST", f"{path}/{action}", token=token, json=body)
        assert (status, problem["errors"][0]["field"]) == (422, field), (action, body, problem)
    for body, field in (
        ({"version": 1, "options": []}, "options"),
        ({"version": 1, "service_id": "nope"}, "service_id"),
        ({"message": "no version"}, "version"),
    ):
        status, problem, _ = await api.call("PATCH", f"{PORTAL}/{pending['id']}", token=portal, json=body)
        assert (status, problem["errors"][0]["field"]) == (422, field), (body, problem)
    after = await _request(api, token, pending["id"])
    assert (after["status"], after["version"], [h["action"] for h in after["history"]]) == (
        "pending",
        pending["version"],
        ["submitted"],
    )


async def test_a_tentative_hold_keeps_the_first_time_from_others_until_the_request_is_decided(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    technician = business["staff_ids"][0]
    status, settings, _ = await api.call("GET", f"{STAFF}/settings", token=token)
    assert (status, settings["tentative_holds"]) == (200, False)
    status, settings, _ = await api.call(
        "PUT", f"{STAFF}/settings", token=token, json=settings | {"tentative_holds": True}
    )
    assert (status, settings["tentative_holds"]) == (200, True), settings
    mia = await api.create_client(token, first_name="Mia", email=f"mia-{uuid.uuid4().hex[:6]}@x.io")
    ben = await api.create_client(token, first_name="Ben", email=f"ben-{uuid.uuid4().hex[:6]}@x.io")
    mia_portal, ben_portal = await portal_login(api, token, mia["id"]), await portal_login(api, token, ben["id"])

    first = await _submit(api, mia_portal, service["id"], at(day, 10))
    assert first["hold"]["staff_id"] == technician and first["hold"]["business_start"].startswith(at(day, 10)[:16])
    # Not offered to other clients, nor taken by their requests (409 naming the time).
    status, slots, _ = await api.call(
        "GET",
        "/api/v1/portal/availability",
        token=ben_portal,
        params={
            "service_ids": service["id"],
            "from": day.isoformat(),
            "to": day.isoformat(),
            "timezone": "Europe/Berlin",
        },
    )
    assert status == 200, slots
    offered = {s["local_start"][11:16] for s in slots["slots"]}
    assert "10:00" not in offered and "11:00" in offered, offered
    status, problem, _ = await api.call(
        "POST", PORTAL, token=ben_portal, json={"service_id": service["id"], "options": [{"start": at(day, 10)}]}
    )
    assert (status, problem["code"] in ("SLOT_TAKEN", "SLOT_UNAVAILABLE")) == (409, True), problem
    assert "10:00" in problem["detail"]
    second = await _submit(api, ben_portal, service["id"], at(day, 11))

    async def tentative() -> list[tuple[str, str]]:
        status, calendar, _ = await api.call(
            "GET", "/api/v1/calendar", token=token, params={"view": "day", "on": day.isoformat()}
        )
        assert status == 200, calendar
        column = next(c for c in calendar["staff"] if c["staff_id"] == technician)
        assert all(t["tentative"] for t in column["tentative"])
        return [(t["request_id"], t["label"]) for t in column["tentative"]]

    assert await tentative() == [(first["id"], first["reference"]), (second["id"], second["reference"])]
    # Approving another request into the held time: 409 naming it; the holder's approval books into it.
    status, problem, _ = await api.call(
        "POST", f"{STAFF}/{second['id']}/approve", token=token, json={"start": at(day, 10), "technician_id": technician}
    )
    assert status == 409 and "10:00" in problem["detail"], problem
    assert (await _request(api, token, second["id"]))["status"] == "pending"
    status, approved, _ = await api.call(
        "POST", f"{STAFF}/{first['id']}/approve", token=token, json={"start": at(day, 10), "technician_id": technician}
    )
    assert (status, approved["status"], approved["hold"]) == (200, "approved", None), approved
    assert await tentative() == [(second["id"], second["reference"])]
    status, declined, _ = await api.call(
        "POST", f"{STAFF}/{second['id']}/decline", token=token, json={"reason": "Away"}
    )
    assert status == 200, declined
    assert await tentative() == []
    status, slots, _ = await api.call(
        "GET",
        "/api/v1/portal/availability",
        token=ben_portal,
        params={
            "service_ids": service["id"],
            "from": day.isoformat(),
            "to": day.isoformat(),
            "timezone": "Europe/Berlin",
        },
    )
    assert "11:00" in {s["local_start"][11:16] for s in slots["slots"]}
