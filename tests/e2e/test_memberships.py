"""Memberships through the gateway: sell a 10-session membership → its invoice is issued → book and complete an
appointment → 9 left, shown in the portal → a frozen membership pays for nothing → check in by the card's QR
token → 8 left; bad input, another tenant's subscription, and the portal's own memberships."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from platform_dev.testing.plugin import wait_until

from .conftest import Api

PASSWORD = "correct horse battery"


async def test_a_ten_session_membership_pays_for_a_completed_appointment_and_a_card_check_in(api: Api) -> None:
    tenant = await api.sign_up("Membership Studio")
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
            "name": "Yoga",
            "duration_minutes": 60,
            "price": {"amount_minor": 2000, "currency": "EUR"},
            "staff_ids": [me["id"]],
        },
    )
    assert status == 201, service
    client = await api.create_client(token, first_name="Mona", email="mona@example.com")
    _, session_type, _ = await api.call(
        "POST", "/api/v1/credit-types", token=token, json={"name": "Yoga class", "unit": "session"}
    )
    status, _, _ = await api.call(
        "PUT",
        f"/api/v1/services/{service['id']}/credit-rules",
        token=token,
        json={"rules": [{"credit_type_id": session_type["id"], "units": 1}]},
    )
    assert status == 200
    status, package, _ = await api.call(
        "POST",
        "/api/v1/packages",
        token=token,
        json={
            "name": "Ten classes",
            "allocations": [{"credit_type_id": session_type["id"], "amount": 10}],
            "price_minor": 0,
            "currency": "EUR",
        },
    )
    assert status == 201, package
    status, body, _ = await api.call(
        "POST",
        "/api/v1/memberships",
        token=token,
        json={"name": "Nothing", "duration_count": 1, "duration_unit": "month", "price_minor": 0, "currency": "EUR"},
    )
    assert (status, body["errors"][0]["field"]) == (422, "package_id")
    status, membership, _ = await api.call(
        "POST",
        "/api/v1/memberships",
        token=token,
        json={
            "name": "Ten-class month",
            "package_id": package["id"],
            "duration_count": 1,
            "duration_unit": "month",
            "price_minor": 9000,
            "currency": "EUR",
            "tax_rate_bp": 2000,
            "payment_terms_days": 7,
            "tolerance_days": 3,
            "extras": [{"description": "Joining fee", "price_minor": 1000}],
        },
    )
    assert (status, membership["invoicing"], membership["tolerance_days"]) == (201, "auto", 3)
    status, listed, _ = await api.call("GET", "/api/v1/memberships", token=token)
    assert (status, [m["id"] for m in listed["items"]]) == (200, [membership["id"]])

    # Sell: the invoice (the month and the joining fee, with tax) is issued with the registration, once per key.
    subscriptions = f"/api/v1/clients/{client['id']}/subscriptions"
    status, subscription, _ = await api.call(
        "POST", subscriptions, token=token, json={"membership_id": membership["id"]}, headers={"Idempotency-Key": "m-1"}
    )
    assert status == 201, subscription
    assert (subscription["status"], [(c["amount"], c["remaining"]) for c in subscription["credits"]]) == (
        "active",
        [(10, 10)],
    )
    status, again, _ = await api.call(
        "POST", subscriptions, token=token, json={"membership_id": membership["id"]}, headers={"Idempotency-Key": "m-1"}
    )
    assert (status, again["id"]) == (201, subscription["id"])
    status, invoice, _ = await api.call("GET", f"/api/v1/invoices/{subscription['invoice_id']}", token=token)
    assert (status, invoice["status"], invoice["total_minor"]) == (200, "issued", 12000)

    # Book and complete: the completion takes one session from the membership.
    start = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
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
    status, body, _ = await api.call(
        "POST", f"/api/v1/appointments/{booked['id']}/complete", token=token, json={"version": booked["version"]}
    )
    assert status == 200, body

    _, invitation, _ = await api.call("POST", f"/api/v1/clients/{client['id']}/portal-invitation", token=token, json={})
    _, tokens, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    portal = tokens["access_token"]

    async def portal_left(expected: int) -> bool:
        status, mine, _ = await api.call("GET", "/api/v1/portal/memberships", token=portal)
        return status == 200 and [[c["remaining"] for c in s["credits"]] for s in mine["items"]] == [[expected]]

    await wait_until(lambda: portal_left(9))
    status, mine, _ = await api.call("GET", "/api/v1/portal/memberships", token=portal)
    assert (status, mine["items"][0]["id"], mine["items"][0]["credits"][0]["expires_at"] is not None) == (
        200,
        subscription["id"],
        True,
    )

    # Frozen, the membership pays for nothing; resumed the same day, its expiry is back where it was.
    path = f"/api/v1/subscriptions/{subscription['id']}"
    status, frozen, _ = await api.call("POST", f"{path}/freeze", token=token, json={"days": 10, "reason": "travel"})
    assert (status, frozen["status"]) == (200, "frozen"), frozen
    status, card, _ = await api.call("GET", "/api/v1/portal/membership-card", token=portal)
    assert status == 200
    status, body, _ = await api.call(
        "POST", "/api/v1/check-ins/card", token=token, json={"token": card["token"], "service_id": service["id"]}
    )
    assert (status, body.get("code")) == (409, "INSUFFICIENT_CREDITS"), body
    status, quote, _ = await api.call(
        "GET", f"/api/v1/clients/{client['id']}/credit-quote", token=token, params={"service_id": service["id"]}
    )
    assert (status, quote["covered"]) == (200, False)
    status, body, _ = await api.call("POST", f"{path}/freeze", token=token, json={"days": 3})
    assert (status, body["code"]) == (409, "NOT_FREEZABLE")
    status, resumed, _ = await api.call("POST", f"{path}/resume", token=token)
    assert (status, resumed["status"], resumed["expires_on"]) == (200, "active", subscription["expires_on"])

    # The client shows the card's QR token at the desk; scanning it checks the client in and takes one more.
    status, scanned, _ = await api.call(
        "POST", "/api/v1/check-ins/card", token=token, json={"token": card["token"], "service_id": service["id"]}
    )
    assert (status, scanned["method"], scanned["transaction"]["client_change"]) == (201, "card", -1)
    assert await portal_left(8)

    # Bad input names its field; another business's subscription is not there.
    status, body, _ = await api.call("POST", f"{path}/freeze", token=token, json={"days": 0})
    assert (status, body["errors"][0]["field"]) == (422, "days")
    other = await api.sign_up()
    status, _, _ = await api.call("GET", path, token=other["token"])
    assert status == 404
    status, _, _ = await api.call("POST", f"{path}/cancel", token=other["token"], json={})
    assert status == 404
    status, cancelled, _ = await api.call("POST", f"{path}/cancel", token=token, json={"reason": "moved"})
    assert (status, cancelled["status"]) == (200, "cancelled")


async def test_points_are_earned_for_a_payment_and_a_check_in_and_redeemed_as_money_on_account(api: Api) -> None:
    tenant = await api.sign_up("Loyal Studio")
    token = tenant["token"]
    client = await api.create_client(token, first_name="Lea")
    _, points, _ = await api.call("POST", "/api/v1/credit-types", token=token, json={"name": "Points", "unit": "point"})
    _, wallet, _ = await api.call(
        "POST", "/api/v1/credit-types", token=token, json={"name": "Wallet", "currency": "EUR"}
    )
    status, program, _ = await api.call("GET", "/api/v1/loyalty-program", token=token)
    assert (status, program["enabled"]) == (200, False)
    status, body, _ = await api.call(
        "PUT",
        "/api/v1/loyalty-program",
        token=token,
        json={"points_credit_type_id": wallet["id"], "currency": "EUR", "step_minor": 100, "points_per_step": 1},
    )
    assert (status, body["errors"][0]["field"]) == (422, "points_credit_type_id")
    status, program, _ = await api.call(
        "PUT",
        "/api/v1/loyalty-program",
        token=token,
        json={
            "points_credit_type_id": points["id"],
            "currency": "EUR",
            "step_minor": 1000,
            "points_per_step": 1,
            "points_per_visit": 3,
            "validity_days": 365,
            "reward_credit_type_id": wallet["id"],
            "points_per_reward_unit": 5,
        },
    )
    assert (status, program["enabled"], program["points_per_visit"]) == (200, True, 3), program

    status, paid, _ = await api.call(
        "POST",
        "/api/v1/payments",
        token=token,
        json={"client_id": client["id"], "amount": {"amount_minor": 7000, "currency": "EUR"}, "method": "cash"},
    )
    assert status == 201, paid
    status, _, _ = await api.call("POST", f"/api/v1/clients/{client['id']}/check-ins", token=token, json={})
    assert status == 201
    credits = f"/api/v1/clients/{client['id']}/credits"

    async def held() -> dict[str, int]:
        _, now, _ = await api.call("GET", credits, token=token)
        return {b["credit_type"]["name"]: b["balance"] for b in now["balances"]}

    assert await held() == {"Points": 10}
    redemptions = f"/api/v1/clients/{client['id']}/points/redemptions"
    status, body, _ = await api.call("POST", redemptions, token=token, json={"points": 15})
    assert (status, body["code"]) == (409, "INSUFFICIENT_CREDITS")
    status, used, _ = await api.call(
        "POST", redemptions, token=token, json={"points": 10}, headers={"Idempotency-Key": "redeem-1"}
    )
    assert (status, used["kind"], used["client_change"]) == (201, "use", -10), used
    status, again, _ = await api.call(
        "POST", redemptions, token=token, json={"points": 10}, headers={"Idempotency-Key": "redeem-1"}
    )
    assert (status, again["id"]) == (201, used["id"])
    # The reward is in the wallet's units: minor units of EUR.
    assert await held() == {"Points": 0, "Wallet": 2}
