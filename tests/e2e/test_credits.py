"""The credits ledger through the gateway: a credit type, a charge expiring at the business's midnight, uses
first-expiring-first, balances now and as of earlier, history, a reversal, the portal's own credits, bad input
and another tenant's records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from platform_dev.testing.plugin import wait_until

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

    today = datetime.now(NEW_YORK).date()
    period = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    status, report, _ = await api.call("GET", "/api/v1/reports/credits", token=token, params=period)
    assert (status, report["timezone"]) == (200, "America/New_York")
    rows = [(r["credit_type"]["name"], r["charged"], r["used"], r["restored"], r["clients"]) for r in report["rows"]]
    assert rows == [("Massage 60", 10, 1, 1, 1)]
    status, table, headers = await api.call(
        "GET", "/api/v1/reports/credits", token=token, params=period | {"format": "csv"}
    )
    assert (status, headers["Content-Type"].split(";")[0]) == (200, "text/csv")
    assert table.splitlines() == [
        "credit_type,unit,charged,used,restored,expired,clients",
        "Massage 60,session,10,1,1,0,1",
    ]

    intruder = other["token"]
    status, body, _ = await api.call(
        "POST", f"/api/v1/credit-transactions/{used['id']}/reverse", token=intruder, json={}
    )
    assert status == 404
    status, theirs, _ = await api.call("GET", credits, token=intruder)
    assert (status, theirs["balances"]) == (200, [])


async def test_a_ten_session_package_is_sold_invoiced_and_used_by_a_completed_appointment_and_a_check_in(
    api: Api,
) -> None:
    tenant = await api.sign_up("Package Studio")
    token = tenant["token"]
    _, me, _ = await api.call("GET", "/api/v1/me", token=token)
    status, body, _ = await api.call(
        "PUT",
        f"/api/v1/staff-schedules/{me['id']}",
        token=token,
        json={"display_name": "Mara", "timezone": "America/New_York", "weekly_hours": []},
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
        },
    )
    assert status == 201, service
    client = await api.create_client(token, first_name="Paula", email="paula@example.com")
    _, massage, _ = await api.call(
        "POST", "/api/v1/credit-types", token=token, json={"name": "Massage 60", "unit": "session"}
    )
    status, rules, _ = await api.call(
        "PUT",
        f"/api/v1/services/{service['id']}/credit-rules",
        token=token,
        json={"rules": [{"credit_type_id": massage["id"], "units": 1}]},
    )
    assert (status, rules["rules"]) == (200, [{"credit_type_id": massage["id"], "units": 1}])
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

    # Sell: the invoice is issued with the sale.
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
    status, quote, _ = await api.call(
        "GET", f"/api/v1/clients/{client['id']}/credit-quote", token=token, params={"service_id": service["id"]}
    )
    assert (status, quote["covered"], quote["credit_type"]["id"], quote["units"]) == (200, True, massage["id"], 1)

    # Book and complete: the completion (scheduling's event) takes one session.
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

    async def portal_balance(expected: int) -> bool:
        status, mine, _ = await api.call("GET", "/api/v1/portal/credits", token=portal)
        return status == 200 and [b["balance"] for b in mine["balances"]] == [expected]

    await wait_until(lambda: portal_balance(9))
    status, page, _ = await api.call("GET", "/api/v1/portal/invoices", token=portal)
    assert (status, [i["id"] for i in page["items"]]) == (200, [sale["invoice_id"]])
    status, quote, _ = await api.call(
        "GET", "/api/v1/portal/credit-quote", token=portal, params={"service_id": service["id"]}
    )
    assert (status, quote["covered"], quote["lots"][0]["units"]) == (200, True, 1)

    # A check-in of the same appointment takes nothing more.
    status, same, _ = await api.call(
        "POST",
        f"/api/v1/clients/{client['id']}/check-ins",
        token=token,
        json={"service_id": service["id"], "appointment_id": booked["id"]},
    )
    assert (status, same["transaction"]["client_change"]) == (201, -1)
    assert await portal_balance(9)
    # The client shows the card's token at the desk; scanning it checks the client in and takes one more.
    status, card, _ = await api.call("GET", "/api/v1/portal/membership-card", token=portal)
    assert (status, card["client_id"]) == (200, client["id"])
    status, staff_card, _ = await api.call("GET", f"/api/v1/clients/{client['id']}/membership-card", token=token)
    assert (status, staff_card["token"]) == (200, card["token"])
    status, body, _ = await api.call("POST", "/api/v1/check-ins/card", token=token, json={"token": card["token"] + "x"})
    assert (status, body["errors"][0]["field"]) == (422, "token")
    other = await api.sign_up()
    status, _, _ = await api.call("POST", "/api/v1/check-ins/card", token=other["token"], json={"token": card["token"]})
    assert status == 404
    status, scanned, _ = await api.call(
        "POST", "/api/v1/check-ins/card", token=token, json={"token": card["token"], "service_id": service["id"]}
    )
    assert (status, scanned["method"], scanned["transaction"]["client_change"]) == (201, "card", -1)
    assert await portal_balance(8)
    status, log, _ = await api.call("GET", f"/api/v1/clients/{client['id']}/check-ins", token=token)
    assert (status, [(c["method"], c["appointment_id"]) for c in log["items"]]) == (
        200,
        [("card", None), ("staff", booked["id"])],
    )
