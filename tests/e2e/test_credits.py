"""The credits ledger through the gateway: a credit type, a charge expiring at the business's midnight, uses
first-expiring-first, balances now and as of earlier, history, a reversal, the portal's own credits, bad input
and another tenant's records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .conftest import Api

PASSWORD = "correct horse battery"
NEW_YORK = ZoneInfo("America/New_York")


async def test_staff_charge_and_use_credits_and_the_client_sees_what_is_left_in_the_portal(api: Api) -> None:
    tenant, other = await api.sign_up("Credits Studio"), await api.sign_up()
    token = tenant["token"]
    client = await api.create_client(token, first_name="Cora", email="cora@example.com")
    credits = f"/api/v1/clients/{client['id']}/credits"

    status, massage, _ = await api.call(
        "POST", "/api/v1/credit-types", token=token, json={"name": "Massage 60", "unit": "session"}
    )
    assert (status, massage["unit"], massage["currency"]) == (201, "session", None)
    status, body, _ = await api.call(
        "POST", "/api/v1/credit-types", token=token, json={"name": "massage 60", "unit": "session"}
    )
    assert (status, body["code"]) == (409, "CREDIT_TYPE_EXISTS")
    status, wallet, _ = await api.call(
        "POST", "/api/v1/credit-types", token=token, json={"name": "Wallet", "currency": "eur"}
    )
    assert (status, wallet["unit"], wallet["currency"]) == (201, "EUR", "EUR")

    status, body, _ = await api.call(
        "PUT",
        "/api/v1/scheduling/settings",
        token=token,
        json={
            "timezone": "America/New_York",
            "slot_rules": {"granularity_minutes": 30, "min_notice_minutes": 0, "horizon_days": 60},
        },
    )
    assert status == 200, body
    # The business's days are New York's. Ten sessions usable through the last day of next month.
    last_day = (datetime.now(NEW_YORK).date().replace(day=1) + timedelta(days=40)).replace(day=1) - timedelta(days=1)
    charge = {"credit_type_id": massage["id"], "amount": 10, "expires_on": last_day.isoformat()}
    status, lot, _ = await api.call(
        "POST", f"{credits}/charges", token=token, json=charge, headers={"Idempotency-Key": "sold-1"}
    )
    assert (status, lot["remaining"]) == (201, 10)
    midnight = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=NEW_YORK)
    assert datetime.fromisoformat(lot["expires_at"]) == midnight
    status, again, _ = await api.call(
        "POST", f"{credits}/charges", token=token, json=charge, headers={"Idempotency-Key": "sold-1"}
    )
    assert (status, again["id"]) == (201, lot["id"])
    before_use = datetime.now(UTC)

    status, used, _ = await api.call(
        "POST", f"{credits}/uses", token=token, json={"credit_type_id": massage["id"], "amount": 1, "note": "visit"}
    )
    assert (status, used["kind"], used["client_change"]) == (201, "use", -1)
    assert sum(e["amount"] for e in used["entries"]) == 0

    status, now, _ = await api.call("GET", credits, token=token)
    assert status == 200
    assert [(b["credit_type"]["name"], b["balance"]) for b in now["balances"]] == [("Massage 60", 9)]
    assert [(x["id"], x["remaining"]) for x in now["balances"][0]["lots"]] == [(lot["id"], 9)]
    status, earlier, _ = await api.call("GET", credits, token=token, params={"as_of": before_use.isoformat()})
    assert (status, earlier["balances"][0]["balance"]) == (200, 10)

    status, body, _ = await api.call(
        "POST", f"{credits}/uses", token=token, json={"credit_type_id": massage["id"], "amount": 10}
    )
    assert (status, body["code"]) == (409, "INSUFFICIENT_CREDITS")
    status, body, _ = await api.call(
        "POST", f"{credits}/charges", token=token, json={"credit_type_id": massage["id"], "amount": 0}
    )
    assert (status, body["errors"][0]["field"]) == (422, "amount")
    status, body, _ = await api.call(
        "POST", f"{credits}/charges", token=token, json={"credit_type_id": str(uuid.uuid4()), "amount": 1}
    )
    assert (status, body["errors"][0]["field"]) == (422, "credit_type_id")

    status, back, _ = await api.call(
        "POST", f"/api/v1/credit-transactions/{used['id']}/reverse", token=token, json={"note": "cancelled"}
    )
    assert (status, back["client_change"], back["reverses_id"]) == (201, 1, used["id"])
    status, body, _ = await api.call("POST", f"/api/v1/credit-transactions/{used['id']}/reverse", token=token, json={})
    assert (status, body["code"]) == (409, "ALREADY_REVERSED")
    status, history, _ = await api.call("GET", f"{credits}/transactions", token=token)
    assert (status, [t["kind"] for t in history["items"]]) == (200, ["reverse", "use", "charge"])

    _, invitation, _ = await api.call("POST", f"/api/v1/clients/{client['id']}/portal-invitation", token=token, json={})
    _, tokens, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    status, mine, _ = await api.call("GET", "/api/v1/portal/credits", token=tokens["access_token"])
    assert (status, mine["client_id"], mine["balances"][0]["balance"]) == (200, client["id"], 10)
    status, _, _ = await api.call("GET", credits, token=tokens["access_token"])
    assert status == 403

    intruder = other["token"]
    status, body, _ = await api.call(
        "POST", f"/api/v1/credit-transactions/{used['id']}/reverse", token=intruder, json={}
    )
    assert status == 404
    status, theirs, _ = await api.call("GET", credits, token=intruder)
    assert (status, theirs["balances"]) == (200, [])


async def test_selling_a_ten_session_package_issues_its_invoice_and_the_portal_shows_what_is_left(api: Api) -> None:
    tenant = await api.sign_up("Package Studio")
    token = tenant["token"]
    client = await api.create_client(token, first_name="Paula", email="paula@example.com")
    _, massage, _ = await api.call(
        "POST", "/api/v1/credit-types", token=token, json={"name": "Massage 60", "unit": "session"}
    )
    status, package, _ = await api.call(
        "POST",
        "/api/v1/packages",
        token=token,
        json={
            "name": "Ten massages",
            "allocations": [{"credit_type_id": massage["id"], "amount": 10}],
            "validity_days": 180,
            "price_minor": 45000,
            "currency": "EUR",
            "tax_rate_bp": 2000,
            "payment_terms_days": 14,
        },
    )
    assert (status, package["invoicing"], package["validity_days"]) == (201, "auto", 180)
    status, body, _ = await api.call(
        "POST",
        "/api/v1/packages",
        token=token,
        json={"name": "Broken", "allocations": [], "price_minor": 1, "currency": "EUR"},
    )
    assert (status, body["errors"][0]["field"]) == (422, "allocations")

    sales = f"/api/v1/clients/{client['id']}/package-sales"
    status, sale, _ = await api.call(
        "POST", sales, token=token, json={"package_id": package["id"]}, headers={"Idempotency-Key": "sale-1"}
    )
    assert status == 201, sale
    assert [(lot["amount"], lot["remaining"]) for lot in sale["lots"]] == [(10, 10)]
    status, again, _ = await api.call(
        "POST", sales, token=token, json={"package_id": package["id"]}, headers={"Idempotency-Key": "sale-1"}
    )
    assert (status, again["id"]) == (201, sale["id"])
    status, invoice, _ = await api.call("GET", f"/api/v1/invoices/{sale['invoice_id']}", token=token)
    assert (status, invoice["status"], invoice["total_minor"]) == (200, "issued", 54000)

    status, _, _ = await api.call(
        "POST",
        f"/api/v1/clients/{client['id']}/credits/uses",
        token=token,
        json={"credit_type_id": massage["id"], "amount": 1, "note": "first visit"},
    )
    assert status == 201
    _, invitation, _ = await api.call("POST", f"/api/v1/clients/{client['id']}/portal-invitation", token=token, json={})
    _, tokens, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    status, mine, _ = await api.call("GET", "/api/v1/portal/credits", token=tokens["access_token"])
    assert status == 200
    (held,) = mine["balances"]
    assert (held["credit_type"]["name"], held["balance"], held["lots"][0]["expires_at"] is not None) == (
        "Massage 60",
        9,
        True,
    )
    status, page, _ = await api.call("GET", "/api/v1/portal/invoices", token=tokens["access_token"])
    assert (status, [i["id"] for i in page["items"]]) == (200, [sale["invoice_id"]])
