"""Printable documents through the gateway, read back rather than trusted: an invoice's PDF (staff and the
portal; another business's answers 404), the membership card and a voucher, whose QR codes are decoded from
the PDF and then used at the desk to check the client in."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import zxingcpp
from multidict import CIMultiDictProxy
from pypdf import PdfReader

from .conftest import Api

PASSWORD = "correct horse battery"


async def download(api: Api, path: str, token: str) -> tuple[int, bytes, CIMultiDictProxy[str]]:
    async with api.session.get(api.stack.url(path), headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.read(), response.headers


def read_pdf(content: bytes) -> tuple[str, list[str]]:
    """The document's text and the QR codes printed on it (off the event loop: decoding is CPU work)."""
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    codes = [r.text for page in reader.pages for image in page.images for r in zxingcpp.read_barcodes(image.image)]
    return text, codes


async def test_invoice_card_and_voucher_pdfs_read_back_and_the_printed_code_checks_the_client_in(api: Api) -> None:
    tenant, other = await api.sign_up("Zoë's Studio"), await api.sign_up()
    token = tenant["token"]
    client = await api.create_client(token, first_name="Łucja", last_name="Nowak", email="lucja@example.com")
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
            "validity_days": 90,
            "price_minor": 45000,
            "currency": "EUR",
            "tax_rate_bp": 2000,
        },
    )
    assert status == 201, package
    status, sale, _ = await api.call(
        "POST", f"/api/v1/clients/{client['id']}/package-sales", token=token, json={"package_id": package["id"]}
    )
    assert status == 201, sale
    _, invitation, _ = await api.call("POST", f"/api/v1/clients/{client['id']}/portal-invitation", token=token, json={})
    _, tokens, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    portal = tokens["access_token"]

    for path, who in (
        (f"/api/v1/invoices/{sale['invoice_id']}/pdf", token),
        (f"/api/v1/portal/invoices/{sale['invoice_id']}/pdf", portal),
    ):
        status, content, headers = await download(api, path, who)
        assert (status, headers["Content-Type"]) == (200, "application/pdf"), content[:200]
        assert headers["Content-Disposition"] == 'attachment; filename="invoice-1.pdf"'
        text, _ = await asyncio.to_thread(read_pdf, content)
        for expected in ("Zoë's Studio", "Invoice 1", "Łucja Nowak", "Ten massages", "540.00 EUR", "Balance due"):
            assert expected in text, (expected, text)
    status, _, _ = await download(api, f"/api/v1/invoices/{sale['invoice_id']}/pdf", other["token"])
    assert status == 404

    # The card the client prints from the portal checks it in at the desk.
    status, content, _ = await download(api, "/api/v1/portal/membership-card/pdf", portal)
    assert status == 200
    text, codes = await asyncio.to_thread(read_pdf, content)
    assert "Łucja Nowak" in text and len(codes) == 1
    _, card, _ = await api.call("GET", "/api/v1/portal/membership-card", token=portal)
    assert codes == [card["token"]]
    status, checked_in, _ = await api.call("POST", "/api/v1/check-ins/card", token=token, json={"token": codes[0]})
    assert (status, checked_in["client_id"], checked_in["method"]) == (201, client["id"], "card")

    # A voucher of the package's lot: what it holds, and the same check-in code.
    lot_id = sale["lots"][0]["id"]
    vouchers: list[Any] = []
    for path, who in (
        (f"/api/v1/clients/{client['id']}/credit-lots/{lot_id}/voucher", token),
        (f"/api/v1/portal/credit-lots/{lot_id}/voucher", portal),
        (f"/api/v1/clients/{client['id']}/membership-card/pdf", token),
    ):
        status, content, _ = await download(api, path, who)
        assert status == 200, content[:200]
        vouchers.append(await asyncio.to_thread(read_pdf, content))
    assert "10 session — Massage 60" in vouchers[0][0]
    assert [codes for _, codes in vouchers] == [[card["token"]]] * 3
    status, _, _ = await download(
        api, f"/api/v1/clients/{client['id']}/credit-lots/{sale['invoice_id']}/voucher", token
    )
    assert status == 404


async def test_a_statement_as_json_csv_and_pdf_for_staff_and_the_portal(api: Api) -> None:
    tenant = await api.sign_up("Statement Studio")
    token = tenant["token"]
    client = await api.create_client(token, first_name="Stella", email="stella@example.com")
    _, draft, _ = await api.call(
        "POST",
        "/api/v1/invoices",
        token=token,
        json={
            "client_id": client["id"],
            "currency": "EUR",
            "lines": [{"description": "Facial", "quantity": "1", "unit_price_minor": 8000, "tax_rate_bp": 0}],
        },
    )
    status, issued, _ = await api.call("POST", f"/api/v1/invoices/{draft['id']}/issue", token=token, json={})
    assert status == 200, issued
    payment = {"client_id": client["id"], "amount": {"amount_minor": 3000, "currency": "EUR"}, "method": "card"}
    status, paid, _ = await api.call(
        "POST", "/api/v1/payments", token=token, json=payment, headers={"Idempotency-Key": "stmt-1"}
    )
    assert status == 201, paid
    day = issued["issue_date"]
    period = {"from": day, "to": day}

    status, statement, _ = await api.call(
        "GET", f"/api/v1/clients/{client['id']}/statement", token=token, params=period
    )
    assert status == 200, statement
    [eur] = statement["currencies"]
    assert (eur["opening_balance_minor"], eur["invoiced_minor"], eur["paid_minor"]) == (0, 8000, 3000)
    assert (eur["balance_due_minor"], eur["paid_to_date_minor"], eur["credit_minor"]) == (5000, 3000, 0)
    assert [(e["kind"], e["amount_minor"], e["balance_minor"]) for e in eur["entries"]] == [
        ("invoice", 8000, 8000),
        ("payment", -3000, 5000),
    ]
    status, table, headers = await api.call(
        "GET",
        f"/api/v1/clients/{client['id']}/statement",
        token=token,
        params=period | {"format": "csv", "detail": "summary"},
    )
    assert (status, headers["Content-Type"].split(";")[0]) == (200, "text/csv")
    assert table.splitlines()[1] == "EUR,0,8000,3000,0,5000,3000,5000,0"
    status, problem, _ = await api.call(
        "GET", f"/api/v1/clients/{client['id']}/statement", token=token, params={"from": day, "to": "2000-01-01"}
    )
    assert (status, problem["errors"][0]["field"]) == (422, "to")

    # The outstanding balances report ages the same 50.00 by its due date.
    status, owed, _ = await api.call("GET", "/api/v1/reports/outstanding-balances", token=token)
    assert status == 200, owed
    [row] = owed["clients"]
    assert (row["client_id"], row["client_name"], row["outstanding_minor"], row["open_invoices"]) == (
        client["id"],
        "Stella",
        5000,
        1,
    )
    assert row["aging"]["not_due_minor"] + row["overdue_minor"] == 5000
    assert owed["totals"] == [
        {
            "currency": "EUR",
            "clients": 1,
            "outstanding_minor": 5000,
            "overdue_minor": row["overdue_minor"],
            "aging": row["aging"],
        }
    ]
    status, table, _ = await api.call(
        "GET", "/api/v1/reports/outstanding-balances", token=token, params={"format": "csv"}
    )
    assert status == 200 and table.splitlines()[1].startswith(f"{client['id']},Stella,EUR,1,5000,")

    _, invitation, _ = await api.call("POST", f"/api/v1/clients/{client['id']}/portal-invitation", token=token, json={})
    _, tokens, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    status, mine, _ = await api.call("GET", "/api/v1/portal/statement", token=tokens["access_token"], params=period)
    assert (status, mine["currencies"][0]["balance_due_minor"]) == (200, 5000)
    status, content, headers = await download(
        api, f"/api/v1/portal/statement?from={day}&to={day}&format=pdf", tokens["access_token"]
    )
    assert (status, headers["Content-Type"]) == (200, "application/pdf")
    text, _ = await asyncio.to_thread(read_pdf, content)
    for expected in ("Statement Studio", "Statement of account", "Stella", "Invoice 1", "50.00 EUR"):
        assert expected in text, (expected, text)
