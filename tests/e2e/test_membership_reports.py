"""Membership reports and the client's own cancellation, through the gateway: sell two memberships and freeze
one → the balance shows the frozen credits apart → the membership report (JSON and CSV, by day and by month)
counts the new ones, the freeze and what they invoiced, for owners and not for plain staff → the portal may
not cancel until the business allows it, then cancels its own (another's is 404)."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from .conftest import Api

PASSWORD = "correct horse battery"


async def sell(api: Api, token: str, client_id: str, membership_id: str) -> dict[str, Any]:
    status, subscription, _ = await api.call(
        "POST",
        f"/api/v1/clients/{client_id}/subscriptions",
        token=token,
        json={"membership_id": membership_id},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert status == 201, subscription
    return subscription


async def test_the_membership_report_counts_sales_and_freezes_and_clients_cancel_when_allowed(api: Api) -> None:
    tenant = await api.sign_up("Report Studio")
    token = tenant["token"]
    _, classes, _ = await api.call(
        "POST", "/api/v1/credit-types", token=token, json={"name": "Class", "unit": "session"}
    )
    status, package, _ = await api.call(
        "POST",
        "/api/v1/packages",
        token=token,
        json={
            "name": "Ten classes",
            "allocations": [{"credit_type_id": classes["id"], "amount": 10}],
            "price_minor": 0,
            "currency": "USD",
        },
    )
    assert status == 201, package
    status, membership, _ = await api.call(
        "POST",
        "/api/v1/memberships",
        token=token,
        json={
            "name": "=Monthly",  # a name a spreadsheet would run as a formula
            "package_id": package["id"],
            "duration_count": 1,
            "duration_unit": "month",
            "price_minor": 8000,
            "currency": "USD",
        },
    )
    assert status == 201, membership
    ada = await api.create_client(token, first_name="Ada", email=f"ada-{uuid.uuid4().hex[:8]}@example.com")
    bob = await api.create_client(token, first_name="Bob")
    mine = await sell(api, token, ada["id"], membership["id"])
    theirs = await sell(api, token, bob["id"], membership["id"])

    # A freeze keeps the credits in the balance, apart from what can be used now.
    status, frozen, _ = await api.call(
        "POST", f"/api/v1/subscriptions/{theirs['id']}/freeze", token=token, json={"days": 7}
    )
    assert (status, frozen["status"]) == (200, "frozen"), frozen
    status, credits, _ = await api.call("GET", f"/api/v1/clients/{bob['id']}/credits", token=token)
    assert status == 200, credits
    assert [(b["balance"], b["frozen"], b["available"]) for b in credits["balances"]] == [(10, 10, 0)]

    # The subscriptions started on the business's today, in its timezone.
    today = mine["starts_on"]
    assert today == theirs["starts_on"]
    query = {"from": today, "to": today, "period": "day"}
    status, report, _ = await api.call("GET", "/api/v1/reports/memberships", token=token, params=query)
    assert status == 200, report
    assert str(ZoneInfo(report["timezone"])) == report["timezone"]
    counted = [
        (r["period_start"], r["membership_name"], r["new"], r["frozen"], r["expiring"], r["invoiced_minor"])
        for r in report["rows"]
    ]
    assert counted == [(today, "=Monthly", 2, 1, 0, 16000)]
    assert [(t["membership_id"], t["new"], t["invoiced_minor"]) for t in report["totals"]] == [
        (membership["id"], 2, 16000)
    ]
    status, by_month, _ = await api.call(
        "GET", "/api/v1/reports/memberships", token=token, params={"from": today, "to": today}
    )
    assert (status, by_month["period"], [r["period_start"] for r in by_month["rows"]]) == (
        200,
        "month",
        [today[:8] + "01"],
    )
    status, text, headers = await api.call(
        "GET", "/api/v1/reports/memberships", token=token, params=query | {"format": "csv"}
    )
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "period_start",
        "membership_id",
        "membership",
        "currency",
        "new",
        "renewed",
        "expiring",
        "expired",
        "frozen",
        "invoiced_minor",
    ]
    assert rows[1:] == [[today, membership["id"], "'=Monthly", "USD", "2", "0", "0", "0", "1", "16000"]]

    status, problem, _ = await api.call(
        "GET", "/api/v1/reports/memberships", token=token, params={"from": today, "to": "2000-01-01"}
    )
    assert status == 422 and [e["field"] for e in problem["errors"]] == ["to"]
    status, problem, _ = await api.call(
        "GET", "/api/v1/reports/memberships", token=token, params=query | {"period": "year"}
    )
    assert status == 422 and [e["field"] for e in problem["errors"]] == ["period"]
    email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    status, _, _ = await api.call(
        "POST", "/api/v1/staff", token=token, json={"email": email, "password": PASSWORD, "role": "staff"}
    )
    assert status == 201
    status, login, _ = await api.call("POST", "/api/v1/auth/staff/login", json={"email": email, "password": PASSWORD})
    assert status == 200, login
    status, _, _ = await api.call("GET", "/api/v1/reports/memberships", token=login["access_token"], params=query)
    assert status == 403
    other = await api.sign_up()
    status, elsewhere, _ = await api.call("GET", "/api/v1/reports/memberships", token=other["token"], params=query)
    assert (status, elsewhere["rows"], elsewhere["totals"]) == (200, [], [])

    # The portal: cancelling is off until the business allows it; another client's subscription is not there.
    _, invitation, _ = await api.call("POST", f"/api/v1/clients/{ada['id']}/portal-invitation", token=token, json={})
    _, tokens, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    portal = tokens["access_token"]
    status, settings, _ = await api.call("GET", "/api/v1/portal/membership-settings", token=portal)
    assert (status, settings) == (200, {"clients_may_cancel": False})
    cancel_mine = f"/api/v1/portal/subscriptions/{mine['id']}/cancel"
    status, problem, _ = await api.call("POST", cancel_mine, token=portal, json={"reason": "moving"})
    assert (status, problem["code"]) == (403, "CLIENT_CANCELLATION_OFF"), problem
    status, settings, _ = await api.call(
        "PUT", "/api/v1/membership-settings", token=token, json={"clients_may_cancel": True}
    )
    assert (status, settings) == (200, {"clients_may_cancel": True})
    status, settings, _ = await api.call("GET", "/api/v1/membership-settings", token=token)
    assert (status, settings) == (200, {"clients_may_cancel": True})
    status, _, _ = await api.call("POST", f"/api/v1/portal/subscriptions/{theirs['id']}/cancel", token=portal, json={})
    assert status == 404
    status, cancelled, _ = await api.call("POST", cancel_mine, token=portal, json={"reason": "moving"})
    assert (status, cancelled["status"], cancelled["cancel_reason"]) == (200, "cancelled", "moving"), cancelled
    status, problem, _ = await api.call("POST", cancel_mine, token=portal, json={})
    assert (status, problem["code"]) == (409, "NOT_CANCELLABLE")
    status, still, _ = await api.call("GET", f"/api/v1/subscriptions/{theirs['id']}", token=token)
    assert (status, still["status"]) == (200, "frozen")
