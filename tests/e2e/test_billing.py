"""Billing through the gateway: invoices and payments by staff, the card's pending payment, the portal's own
invoices, tenant isolation, the card when billing is down, and an issued invoice's email with its PDF."""

from __future__ import annotations

import asyncio
import io
import uuid
from email.message import EmailMessage
from typing import Any

from pypdf import PdfReader

from platform_dev.testing.plugin import wait_until

from .conftest import Api, restart_unit, wait_ready
from .mailbox import Mailbox

PASSWORD = "correct horse battery"


async def issued_invoice(api: Api, token: str, client_id: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    status, draft, _ = await api.call(
        "POST", "/api/v1/invoices", token=token, json={"client_id": client_id, "currency": "EUR", "lines": lines}
    )
    assert status == 201, draft
    status, issued, _ = await api.call("POST", f"/api/v1/invoices/{draft['id']}/issue", token=token, json={})
    assert status == 200, issued
    return issued


async def test_staff_invoice_and_partial_payment_show_as_pending_payment_on_the_card(api: Api) -> None:
    tenant, other = await api.sign_up("Billing Studio"), await api.sign_up()
    token = tenant["token"]
    client = await api.create_client(token, first_name="Bea")

    status, draft, _ = await api.call(
        "POST",
        "/api/v1/invoices",
        token=token,
        json={
            "client_id": client["id"],
            "currency": "EUR",
            "lines": [{"description": "Massage", "quantity": "1.5", "unit_price_minor": 6000, "tax_rate_bp": 1900}],
            "payment_terms_days": 0,
        },
    )
    assert status == 201, draft
    assert (draft["status"], draft["number"], draft["total_minor"]) == ("draft", None, 10710)
    status, edited, _ = await api.call(
        "PATCH", f"/api/v1/invoices/{draft['id']}", token=token, json={"notes": "See you soon", "version": 1}
    )
    assert (status, edited["notes"], edited["total_minor"]) == (200, "See you soon", 10710)
    status, body, _ = await api.call(
        "PATCH",
        f"/api/v1/invoices/{draft['id']}",
        token=token,
        json={"lines": [{"description": "x", "quantity": "0.12345", "unit_price_minor": 1}], "version": 2},
    )
    assert (status, body["errors"][0]["field"]) == (422, "lines[0].quantity")

    status, issued, _ = await api.call(
        "POST", f"/api/v1/invoices/{draft['id']}/issue", token=token, json={"issue_date": "2026-01-05"}
    )
    assert (status, issued["status"], issued["number"], issued["due_date"]) == (200, "issued", 1, "2026-01-05")
    assert issued["bill_to_name"] == "Bea"

    payment = {"client_id": client["id"], "amount": {"amount_minor": 4000, "currency": "EUR"}, "method": "card"}
    status, paid, _ = await api.call(
        "POST", "/api/v1/payments", token=token, json=payment, headers={"Idempotency-Key": "bea-1"}
    )
    assert status == 201, paid
    assert paid["allocations"] == [{"invoice_id": draft["id"], "invoice_number": 1, "amount_minor": 4000}]
    status, again, _ = await api.call(
        "POST", "/api/v1/payments", token=token, json=payment, headers={"Idempotency-Key": "bea-1"}
    )
    assert (status, again["id"]) == (201, paid["id"])
    status, body, _ = await api.call(
        "POST",
        "/api/v1/payments",
        token=token,
        json=payment | {"amount": {"amount_minor": 100, "currency": "USD"}, "invoice_id": draft["id"]},
    )
    assert (status, body["errors"][0]["field"]) == (422, "amount.currency")

    status, card, _ = await api.call("GET", f"/api/v1/clients/{client['id']}/card", token=token)
    assert status == 200
    assert card["highlights"]["pending_payment"] == {
        "status": "ok",
        "data": [
            {
                "currency": "EUR",
                "outstanding_minor": 6710,
                "overdue_minor": 6710,
                "open_invoice_count": 1,
                "oldest_due": {
                    "invoice_id": draft["id"],
                    "number": 1,
                    "due_date": "2026-01-05",
                    "outstanding_minor": 6710,
                },
                "credit_minor": 0,
            }
        ],
    }
    status, listed, _ = await api.call(
        "GET", "/api/v1/invoices", token=token, params={"client_id": client["id"], "status": "partially_paid"}
    )
    assert (status, [i["id"] for i in listed["items"]]) == (200, [draft["id"]])
    status, body, _ = await api.call("GET", "/api/v1/invoices", token=token, params={"status": "open"})
    assert (status, body["errors"][0]["field"]) == (422, "status")

    async def on_timeline() -> bool:
        _, card, _ = await api.call("GET", f"/api/v1/clients/{client['id']}/card", token=token)
        kinds = {e["kind"] for e in card["timeline"]["data"]["items"]} if card["timeline"]["data"] else set()
        return {"billing.invoice_issued", "billing.payment_recorded"} <= kinds

    await wait_until(on_timeline, timeout=15, interval=0.2)

    for method, path in (
        ("GET", f"/api/v1/invoices/{draft['id']}"),
        ("POST", f"/api/v1/invoices/{draft['id']}/void"),
        ("POST", f"/api/v1/payments/{paid['id']}/refund"),
    ):
        status, _, _ = await api.call(method, path, token=other["token"], json={"reason": "not yours"})
        assert status == 404, (method, path)
    status, body, _ = await api.call(
        "POST", "/api/v1/payments", token=other["token"], json=payment | {"invoice_id": draft["id"]}
    )
    assert (status, body["errors"][0]["field"]) == (422, "client_id")

    status, refunded, _ = await api.call(
        "POST", f"/api/v1/payments/{paid['id']}/refund", token=token, json={"reason": "charged twice"}
    )
    assert (status, refunded["status"]) == (200, "refunded")
    status, voided, _ = await api.call(
        "POST", f"/api/v1/invoices/{draft['id']}/void", token=token, json={"reason": "issued in error"}
    )
    assert (status, voided["status"]) == (200, "void")
    status, body, _ = await api.call("POST", f"/api/v1/invoices/{draft['id']}/issue", token=token, json={})
    assert (status, body["code"]) == (409, "INVOICE_NOT_DRAFT")


async def test_a_portal_client_sees_only_its_own_issued_invoices(api: Api) -> None:
    tenant = await api.sign_up("Portal Billing")
    token = tenant["token"]
    mine = await api.create_client(token, first_name="Pam", email="pam@example.com")
    other = await api.create_client(token, first_name="Olaf")
    line = [{"description": "Class pack", "quantity": 2, "unit_price_minor": 1500}]
    own = await issued_invoice(api, token, mine["id"], line)
    _, own_draft, _ = await api.call(
        "POST", "/api/v1/invoices", token=token, json={"client_id": mine["id"], "currency": "EUR", "lines": line}
    )
    theirs = await issued_invoice(api, token, other["id"], line)

    _, invitation, _ = await api.call("POST", f"/api/v1/clients/{mine['id']}/portal-invitation", token=token, json={})
    _, tokens, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    portal = tokens["access_token"]

    status, page, _ = await api.call("GET", "/api/v1/portal/invoices", token=portal)
    assert (status, [i["id"] for i in page["items"]]) == (200, [own["id"]])
    status, seen, _ = await api.call("GET", f"/api/v1/portal/invoices/{own['id']}", token=portal)
    assert (status, seen["total_minor"], seen["number"]) == (200, 3000, own["number"])
    for hidden in (theirs["id"], own_draft["id"], str(uuid.uuid4()), "not-an-id"):
        status, _, _ = await api.call("GET", f"/api/v1/portal/invoices/{hidden}", token=portal)
        assert status == 404, hidden
    status, _, _ = await api.call("GET", "/api/v1/invoices", token=portal)
    assert status == 403

    status, _, _ = await api.call(
        "PUT",
        f"/api/v1/clients/{mine['id']}/portal-access",
        token=token,
        json={"enabled": True, "permissions": {"view_invoices": False}},
    )
    assert status == 200
    status, body, _ = await api.call("GET", "/api/v1/portal/invoices", token=portal)
    assert (status, body["code"]) == (403, "INVOICES_HIDDEN")


async def test_the_card_marks_only_pending_payment_unavailable_while_billing_is_down(api: Api) -> None:
    tenant = await api.sign_up()
    token = tenant["token"]
    client = await api.create_client(token, first_name="Dora")
    billing = api.stack.processes["membership_billing"]
    billing.terminate()
    await asyncio.to_thread(billing.wait, 15)
    try:
        status, card, _ = await api.call("GET", f"/api/v1/clients/{client['id']}/card", token=token)
        assert status == 200
        assert card["highlights"]["pending_payment"] == {"status": "unavailable", "data": None}
        assert card["highlights"]["next_appointment"] == {"status": "ok", "data": None}
        assert card["information"]["status"] == "ok"
    finally:
        api.stack.processes["membership_billing"] = restart_unit(api.stack, "membership_billing")
        await wait_ready(api.session, api.stack.base_url, api.stack.processes, api.stack.log_dir)


async def test_voids_and_refunds_are_for_owners_and_admins(api: Api) -> None:
    tenant = await api.sign_up("Roles Billing")
    token = tenant["token"]
    client = await api.create_client(token, first_name="Rita")
    invoice = await issued_invoice(api, token, client["id"], [{"description": "Class", "unit_price_minor": 2000}])
    status, payment, _ = await api.call(
        "POST",
        "/api/v1/payments",
        token=token,
        json={"client_id": client["id"], "amount": {"amount_minor": 500, "currency": "EUR"}, "method": "cash"},
    )
    assert status == 201, payment
    email = f"desk-{uuid.uuid4().hex[:8]}@example.com"
    status, body, _ = await api.call(
        "POST", "/api/v1/staff", token=token, json={"email": email, "password": PASSWORD, "role": "staff"}
    )
    assert status == 201, body
    _, login, _ = await api.call("POST", "/api/v1/auth/staff/login", json={"email": email, "password": PASSWORD})
    desk = login["access_token"]
    for path, body in (
        (f"/api/v1/invoices/{invoice['id']}/void", {"reason": "mistake"}),
        (f"/api/v1/payments/{payment['id']}/refund", {"reason": "mistake"}),
    ):
        status, problem, _ = await api.call("POST", path, token=desk, json=body)
        assert status == 403, problem
    status, refunded, _ = await api.call(
        "POST", f"/api/v1/payments/{payment['id']}/refund", token=token, json={"reason": "returned"}
    )
    assert (status, refunded["status"]) == (200, "refunded")


async def test_an_issued_invoice_is_emailed_to_the_client_with_its_pdf(api: Api, mailbox: Mailbox) -> None:
    tenant = await api.sign_up("Pdf Studio")
    token = tenant["token"]
    address = f"pia-{uuid.uuid4().hex[:6]}@example.com"
    client = await api.create_client(token, first_name="Pia", email=address)
    invoice = await issued_invoice(api, token, client["id"], [{"description": "Massage", "unit_price_minor": 4500}])

    def invoice_email() -> EmailMessage | None:
        return next((m for m in mailbox.to(address) if str(m["Subject"]).startswith("Invoice")), None)

    email = await wait_until(invoice_email, timeout=60)
    assert f"Invoice {invoice['number']} from Pdf Studio" in str(email["Subject"])
    assert "attached as a PDF" in Mailbox.text(email)
    [pdf] = [p for p in email.walk() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == f"invoice-{invoice['number']}.pdf"
    content = pdf.get_payload(decode=True)
    assert isinstance(content, bytes) and content.startswith(b"%PDF")
    words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert "Massage" in words and "Pdf Studio" in words
