"""The membership-expiry rule through the gateway: the default until a business sets its own, bad input
named by field; a membership sold with a short duration gets the rule's reminders planned (a day offset
keeps the local time: consecutive reminders are whole days apart) and listed among the client's messages."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from platform_dev.testing.plugin import wait_until

from .conftest import Api

RULE = "/api/v1/membership-expiry-rule"


async def test_a_business_rule_plans_a_sold_memberships_expiry_reminders(api: Api) -> None:
    tenant = await api.sign_up("Expiry Studio")
    token = tenant["token"]
    status, rule, _ = await api.call("GET", RULE, token=token)
    assert (status, rule) == (200, {"days": [0, 3], "channels": ["email"], "send_at": "09:00", "is_default": True})
    status, problem, _ = await api.call("PUT", RULE, token=token, json={"days": [61], "send_at": "9"})
    assert status == 422
    assert {e["field"] for e in problem["errors"]} == {"days.0", "send_at"}
    status, rule, _ = await api.call(
        "PUT", RULE, token=token, json={"days": [1, -2, 0], "channels": ["email"], "send_at": "10:00"}
    )
    assert (status, rule) == (200, {"days": [-2, 0, 1], "channels": ["email"], "send_at": "10:00", "is_default": False})
    status, again, _ = await api.call("GET", RULE, token=token)
    assert (status, again) == (200, rule)

    client = await api.create_client(token, first_name="Nina", email="nina@example.com")
    _, session_type, _ = await api.call(
        "POST", "/api/v1/credit-types", token=token, json={"name": "Pilates class", "unit": "session"}
    )
    status, package, _ = await api.call(
        "POST",
        "/api/v1/packages",
        token=token,
        json={
            "name": "Five classes",
            "allocations": [{"credit_type_id": session_type["id"], "amount": 5}],
            "price_minor": 0,
            "currency": "EUR",
        },
    )
    assert status == 201, package
    status, membership, _ = await api.call(
        "POST",
        "/api/v1/memberships",
        token=token,
        json={
            "name": "Pilates week",
            "package_id": package["id"],
            "duration_count": 5,
            "duration_unit": "day",
            "price_minor": 5000,
            "currency": "EUR",
            "tolerance_days": 2,
        },
    )
    assert status == 201, membership
    status, subscription, _ = await api.call(
        "POST",
        f"/api/v1/clients/{client['id']}/subscriptions",
        token=token,
        json={"membership_id": membership["id"]},
        headers={"Idempotency-Key": "expiry-1"},
    )
    assert status == 201, subscription

    async def reminders() -> list[dict[str, Any]] | None:
        _, page, _ = await api.call("GET", "/api/v1/messages", token=token, params={"client_id": client["id"]})
        # Each of the subscription's events plans them again (those planned before cancelled, never sent).
        found = [m for m in page["items"] if m["kind"] == "membership.expiry_reminder" and m["status"] == "planned"]
        assert "membership.expiring" not in {m["kind"] for m in page["items"]}  # replaced by the rule
        return found if len(found) == 3 else None

    planned = sorted(await wait_until(reminders, timeout=60), key=lambda m: m["due_at"])
    assert {m["channel"] for m in planned} == {"email"}
    due = [datetime.fromisoformat(m["due_at"]) for m in planned]
    # Two days before, on the day, one day after (within the two days' tolerance): whole days apart.
    assert [b - a for a, b in pairwise(due)] == [timedelta(days=2), timedelta(days=1)]

    status, reset, _ = await api.call("DELETE", RULE, token=token)
    assert (status, reset["is_default"], reset["days"]) == (200, True, [0, 3])
