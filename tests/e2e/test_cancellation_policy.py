"""The cancellation and no-show policy through the gateway: set by the owner (malformed ones refused naming the
field), shown to staff and to the client before confirming (an appointment's terms, the booking quote), and
applied by billing from scheduling's events: a late cancel forfeits, an early one gives back what a check-in
took, a no-show consumes, and the third no-show within the period blocks online booking until a date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from platform_dev.testing.plugin import wait_until

from .conftest import Api

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
