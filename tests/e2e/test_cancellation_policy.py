"""The cancellation and no-show policy through the gateway: set by the owner (malformed ones refused naming the
field), shown to staff and to the client before confirming (an appointment's terms, the booking quote), and
applied by billing from scheduling's events: a late cancel forfeits, an early one gives back what a check-in
took, a no-show consumes, and the third no-show within the period blocks online booking until a date, or (the
rule's other outcome) makes the client's portal requests wait for staff approval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from platform_dev.testing.plugin import wait_until

from .conftest import Api
from .test_portal_requests import PORTAL, portal_login
from .test_scheduling import at, open_business

PASSWORD = "correct horse battery"

POLICY = {
    "windows": [
        {"within_hours": 48, "outcome": {"kind": "fee", "percent": 50}},
        {"within_hours": 24, "outcome": {"kind": "forfeit", "percent": 100}},
    ],
    "no_show": {"kind": "forfeit", "percent": 100},
    "repeat_no_shows": {"no_shows": 3, "period_days": 30, "block_days": 14},
}


async def test_late_cancel_forfeits_early_restores_no_show_consumes_and_the_third_blocks_online_booking(
    api: Api,
) -> None:
    tenant = await api.sign_up("Policy Studio")
    token = tenant["token"]
    _, me, _ = await api.call("GET", "/api/v1/me", token=token)
    status, body, _ = await api.call(
        "PUT",
        f"/api/v1/staff-schedules/{me['id']}",
        token=token,
        json={"display_name": "Mara", "timezone": "Europe/Berlin", "weekly_hours": []},
    )
    assert status == 200, body
    status, service, _ = await api.call(
        "POST",
        "/api/v1/services",
        token=token,
        json={
            "name": "Massage",
            "duration_minutes": 60,
            "price": {"amount_minor": 6000, "currency": "EUR"},
            "staff_ids": [me["id"]],
            "bookable_online": True,
        },
    )
    assert status == 201, service
    client = await api.create_client(token, first_name="Nora", email="nora@example.com")
    _, massage, _ = await api.call(
        "POST", "/api/v1/credit-types", token=token, json={"name": "Massage 60", "unit": "session"}
    )
    await api.call(
        "PUT",
        f"/api/v1/services/{service['id']}/credit-rules",
        token=token,
        json={"rules": [{"credit_type_id": massage["id"], "units": 1}]},
    )
    status, _, _ = await api.call(
        "POST",
        f"/api/v1/clients/{client['id']}/credits/charges",
        token=token,
        json={"credit_type_id": massage["id"], "amount": 10},
    )
    assert status == 201

    status, problem, _ = await api.call(
        "PUT",
        "/api/v1/cancellation-policy",
        token=token,
        json={"windows": [{"within_hours": 24, "within_days": 1, "outcome": {"kind": "forfeit"}}]},
    )
    assert status == 422, problem
    assert {e["field"] for e in problem["errors"]} == {"windows[0]", "windows[0].outcome.percent"}
    status, policy, _ = await api.call("PUT", "/api/v1/cancellation-policy", token=token, json=POLICY)
    assert status == 200, policy
    assert [(w["within_hours"], w["outcome"]["kind"]) for w in policy["windows"]] == [(48, "fee"), (24, "forfeit")]
    status, listed, _ = await api.call("GET", "/api/v1/cancellation-policy", token=token)
    assert (status, listed["business"]["repeat_no_shows"]["no_shows"], listed["services"]) == (200, 3, [])

    _, invitation, _ = await api.call("POST", f"/api/v1/clients/{client['id']}/portal-invitation", token=token, json={})
    _, tokens, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    portal = tokens["access_token"]

    async def sessions_left(expected: int) -> bool:
        status, mine, _ = await api.call("GET", "/api/v1/portal/credits", token=portal)
        return status == 200 and [b["balance"] for b in mine["balances"]] == [expected]

    async def book(start: datetime) -> dict[str, Any]:
        status, booked, _ = await api.call(
            "POST",
            "/api/v1/appointments",
            token=token,
            json={
                "client_id": client["id"],
                "segments": [{"service_id": service["id"], "staff_id": me["id"]}],
                "start": start.isoformat(),
                "override_availability": True,
            },
        )
        assert status == 201, booked
        return booked

    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)

    # The booking quote shows, before confirming, which credits pay and what cancelling would cost.
    in_three_days = hour + timedelta(days=3)
    status, quote, _ = await api.call(
        "GET",
        "/api/v1/portal/credit-quote",
        token=portal,
        params={"service_id": service["id"], "start": in_three_days.isoformat()},
    )
    assert status == 200, quote
    assert quote["covered"]
    assert datetime.fromisoformat(quote["cancellation"]["free_until"]) == in_three_days - timedelta(hours=48)
    [terms] = quote["cancellation"]["services"]
    assert (terms["cancel_now"]["outcome"]["kind"], terms["no_show"]["forfeit"]["units"]) == ("free", 1)

    # Late: cancelled by the client five hours before; the policy keeps the session.
    late = await book(hour + timedelta(hours=5))
    for path, who in (
        (f"/api/v1/appointments/{late['id']}/cancellation-terms", token),
        (f"/api/v1/portal/appointments/{late['id']}/cancellation-terms", portal),
    ):
        status, terms_now, _ = await api.call("GET", path, token=who)
        assert status == 200, terms_now
        [now_terms] = terms_now["services"]
        assert (now_terms["window"]["within_hours"], now_terms["cancel_now"]["forfeit"]["units"]) == (24, 1)
    status, staff_terms, _ = await api.call(
        "GET", f"/api/v1/appointments/{late['id']}/cancellation-terms", token=token, params={"by": "staff"}
    )
    assert (status, staff_terms["services"][0]["cancel_now"]["outcome"]["kind"]) == (200, "free")
    status, body, _ = await api.call(
        "POST", f"/api/v1/portal/appointments/{late['id']}/cancel", token=portal, json={"reason": "ill"}
    )
    assert status == 200, body
    await wait_until(lambda: sessions_left(9))

    # Early: checked in ahead (one taken), then cancelled four days before: the session comes back.
    early = await book(hour + timedelta(days=4))
    status, checked, _ = await api.call(
        "POST",
        f"/api/v1/clients/{client['id']}/check-ins",
        token=token,
        json={"service_id": service["id"], "appointment_id": early["id"]},
    )
    assert (status, checked["transaction"]["client_change"]) == (201, -1)
    assert await sessions_left(8)
    status, body, _ = await api.call(
        "POST", f"/api/v1/portal/appointments/{early['id']}/cancel", token=portal, json={"reason": "travel"}
    )
    assert status == 200, body
    await wait_until(lambda: sessions_left(9))

    # No-shows consume; the third within 30 days blocks online booking for 14 days.
    async def blocked() -> dict[str, Any] | None:
        _, record, _ = await api.call("GET", f"/api/v1/clients/{client['id']}", token=token)
        return record if record["online_booking_blocked"] else None

    for n, hours_ago in enumerate((50, 26, 3), start=1):
        missed = await book(hour - timedelta(hours=hours_ago))
        status, body, _ = await api.call(
            "POST", f"/api/v1/appointments/{missed['id']}/no-show", token=token, json={"version": missed["version"]}
        )
        assert status == 200, body
        await wait_until(lambda left=9 - n: sessions_left(left))
        if n < 3:
            assert await blocked() is None
    record = await wait_until(blocked)
    until = datetime.fromisoformat(record["online_booking_blocked_until"])
    assert timedelta(days=13, hours=23) < until - datetime.now(UTC) <= timedelta(days=14)
    status, problem, _ = await api.call(
        "POST",
        "/api/v1/portal/appointment-requests",
        token=portal,
        json={"service_id": service["id"], "options": [{"start": (hour + timedelta(days=2)).isoformat()}]},
    )
    assert (status, problem["code"]) == (409, "BOOKING_BLOCKED")


async def test_the_third_no_show_holds_the_clients_portal_requests_for_approval_and_staff_book_them(api: Api) -> None:
    business = await open_business(api)
    token, day, service, staff_id = business["token"], business["day"], business["service"], business["staff_ids"][0]
    rule = {"no_shows": 3, "period_days": 30, "block_days": 14, "outcome": "require_approval"}
    status, policy, _ = await api.call(
        "PUT", "/api/v1/cancellation-policy", token=token, json={"repeat_no_shows": rule | {"outcome": "ban"}}
    )
    assert (status, [e["field"] for e in policy["errors"]]) == (422, ["repeat_no_shows.outcome"]), policy
    status, policy, _ = await api.call(
        "PUT", "/api/v1/cancellation-policy", token=token, json={"repeat_no_shows": rule}
    )
    assert (status, policy["repeat_no_shows"]) == (200, rule), policy
    client = await api.create_client(token, first_name="Ola", email=f"ola-{datetime.now(UTC):%H%M%S%f}@example.com")
    portal = await portal_login(api, token, client["id"])

    async def approval_entry() -> dict[str, Any] | None:
        _, activity, _ = await api.call("GET", f"/api/v1/clients/{client['id']}/activity", token=token)
        return next((e for e in activity["items"] if e["kind"] == "billing.requests_need_approval"), None)

    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for hours_ago in (50, 26, 3):
        status, missed, _ = await api.call(
            "POST",
            "/api/v1/appointments",
            token=token,
            json={
                "client_id": client["id"],
                "segments": [{"service_id": service["id"], "staff_id": staff_id}],
                "start": (hour - timedelta(hours=hours_ago)).isoformat(),
                "override_availability": True,
            },
        )
        assert status == 201, missed
        status, body, _ = await api.call(
            "POST", f"/api/v1/appointments/{missed['id']}/no-show", token=token, json={"version": missed["version"]}
        )
        assert status == 200, body
    entry = await wait_until(approval_entry)
    assert entry["summary"].endswith("(3 no-shows within 30 days)"), entry
    # The client is not blocked: it may still ask, and its request waits for staff, saying so kindly.
    _, record, _ = await api.call("GET", f"/api/v1/clients/{client['id']}", token=token)
    assert record["online_booking_blocked"] is False

    async def held_request() -> dict[str, Any] | None:
        # Billing's event reaches portal_requests on its own consumer: the timeline entry above may come first.
        status, mine, _ = await api.call("GET", PORTAL, token=portal)
        held = [r for r in mine["items"] if r["held_for_approval"]]
        if held:
            return held[0]
        if not mine["items"]:
            status, submitted, _ = await api.call(
                "POST", PORTAL, token=portal, json={"service_id": service["id"], "options": [{"start": at(day, 10)}]}
            )
            assert status == 201, submitted
        else:
            status, _, _ = await api.call("POST", f"{PORTAL}/{mine['items'][0]['id']}/cancel", token=portal, json={})
            assert status == 200
        return None

    held = await wait_until(held_request)
    assert held["status"] == "pending"
    status, card, _ = await api.call("GET", f"/api/v1/clients/{client['id']}/card", token=token)
    until = datetime.fromisoformat(card["highlights"]["open_request"]["data"]["approval_required_until"])
    assert (status, card["highlights"]["open_request"]["data"]["open_count"]) == (200, 1)
    assert timedelta(days=13, hours=23) < until - datetime.now(UTC) <= timedelta(days=14)
    status, staff_view, _ = await api.call("GET", f"/api/v1/appointment-requests/{held['id']}", token=token)
    assert (status, staff_view["held_for_approval"]) == (200, True)
    status, approved, _ = await api.call(
        "POST",
        f"/api/v1/appointment-requests/{held['id']}/approve",
        token=token,
        json={"start": at(day, 10), "technician_id": staff_id},
    )
    assert (status, approved["status"]) == (200, "approved"), approved
    status, appointment, _ = await api.call("GET", f"/api/v1/appointments/{approved['appointment_id']}", token=token)
    assert (status, appointment["client_id"], appointment["status"]) == (200, client["id"], "booked")
