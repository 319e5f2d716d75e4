"""The portal's billing pages in a real browser: the client's memberships with their status, expiry and credits
left, the membership card and a voucher as PDF, an invoice's PDF from its page, the statement of account (days
checked and named when wrong, shown on the page, downloaded as CSV and PDF), and the cancellation terms shown
before an appointment is cancelled, in the client's zone, confirmed by the keyboard alone. Each page is checked
by axe-core and screenshotted at desktop and phone width.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import aiohttp
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from . import test_web_browser
from .mailbox import Mailbox
from .test_scheduling import at, open_business
from .test_web_browser import Site, accept_invitation, check_page, follow, invited_client, set_value, submit, text
from .test_web_portal_pages import cookies, press_enter_on

pytestmark = test_web_browser.pytestmark  # skipped, saying why, where Debian's Chromium is not installed
billing_site = test_web_browser.site
billing_browser = test_web_browser.browser


async def call(site: Site, method: str, path: str, token: str, body: Any = None, expect: int = 200) -> Any:
    status, answer, _ = await site.api.call(
        method, path, token=token, json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert status == expect, answer
    return answer


async def download(browser: WebDriver, href: str) -> tuple[int, str, bytes, str]:
    """A link's file fetched with the browser's session: status, type, body, Content-Disposition."""
    async with aiohttp.ClientSession(cookies=cookies(browser)) as session, session.get(href) as response:
        return (
            response.status,
            response.content_type,
            await response.read(),
            response.headers.get("Content-Disposition", ""),
        )


async def test_memberships_documents_statement_and_cancellation_terms(
    billing_site: Site, mailbox: Mailbox, billing_browser: WebDriver
) -> None:
    site, browser = billing_site, billing_browser
    business = await open_business(site.api)  # Berlin; the client is in London (an hour behind)
    token, day, service = business["token"], business["day"], business["service"]
    client = await invited_client(site, mailbox, business, profile={"timezone": "Europe/London"})

    # A ten-class membership sold to the client: its invoice is issued with it.
    pass_type = await call(site, "POST", "/api/v1/credit-types", token, {"name": "Class pass", "unit": "session"}, 201)
    package = await call(
        site,
        "POST",
        "/api/v1/packages",
        token,
        {
            "name": "Ten",
            "allocations": [{"credit_type_id": pass_type["id"], "amount": 10}],
            "price_minor": 0,
            "currency": "EUR",
        },
        201,
    )
    membership = await call(
        site,
        "POST",
        "/api/v1/memberships",
        token,
        {
            "name": "Ten-class month",
            "package_id": package["id"],
            "duration_count": 1,
            "duration_unit": "month",
            "price_minor": 9000,
            "currency": "EUR",
            "tolerance_days": 3,
        },
        201,
    )
    subscription = await call(
        site, "POST", f"/api/v1/clients/{client['id']}/subscriptions", token, {"membership_id": membership["id"]}, 201
    )
    invoice = await call(site, "GET", f"/api/v1/invoices/{subscription['invoice_id']}", token)

    # The policy: cancelling is free until 48 hours before; not coming costs the full price.
    await call(
        site,
        "PUT",
        "/api/v1/cancellation-policy",
        token,
        {
            "windows": [{"within_hours": 48, "outcome": {"kind": "fee", "percent": 50}}],
            "no_show": {"kind": "fee", "percent": 100},
        },
    )
    booked = await call(
        site,
        "POST",
        "/api/v1/appointments",
        token,
        {"client_id": client["id"], "segments": [{"service_id": service["id"]}], "start": at(day, 10)},
        201,
    )
    accept_invitation(browser, client)

    # Memberships: status, expiry, the credits it gave and what is left, by locale.
    browser.get(site.at("/portal/membership"))
    memberships = browser.find_element(By.XPATH, "//section[@aria-labelledby='memberships']").text
    assert "Ten-class month" in memberships and "Active" in memberships, memberships
    assert "Class pass: 10 sessions" in memberships and "Renewal" in memberships, memberships
    check_page(browser, site, "portal-memberships")
    card = browser.find_element(By.LINK_TEXT, "Print my card (PDF)").get_attribute("href") or ""
    status, content_type, body, disposition = await download(browser, card)
    assert (status, content_type, body[:5]) == (200, "application/pdf", b"%PDF-"), disposition
    voucher = browser.find_element(By.PARTIAL_LINK_TEXT, "Voucher (PDF)").get_attribute("href") or ""
    status, content_type, body, _ = await download(browser, voucher)
    assert (status, content_type, body[:5]) == (200, "application/pdf", b"%PDF-")

    # The invoice from the membership, and its PDF from the invoice's page.
    follow(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Latest invoice"))
    assert f"Invoice {invoice['number']}" in text(browser)
    pdf = browser.find_element(By.PARTIAL_LINK_TEXT, "Download PDF").get_attribute("href") or ""
    status, content_type, body, disposition = await download(browser, pdf)
    assert (status, content_type, body[:5]) == (200, "application/pdf", b"%PDF-") and "attachment" in disposition
    check_page(browser, site, "portal-invoice-with-pdf")

    # The statement: a range backwards is refused naming the field; this year's shows the invoice.
    follow(browser, browser.find_element(By.LINK_TEXT, "Invoices"))
    follow(browser, browser.find_element(By.LINK_TEXT, "Statement of account"))
    set_value(browser, "from", "2026-06-30")
    set_value(browser, "to", "2026-01-01")
    submit(browser, "Show statement")
    assert "cannot be before the first" in browser.find_element(By.ID, "to-error").text
    assert browser.find_element(By.ID, "to").get_attribute("aria-invalid") == "true"
    check_page(browser, site)
    browser.get(site.at(f"/portal/statement?from={invoice['issue_date']}&to={invoice['issue_date']}"))
    page = text(browser)
    assert str(invoice["number"]) in page and re.search(r"Closing balance\s+€90\.00", page), page
    check_page(browser, site, "portal-statement")
    csv_link = browser.find_element(By.LINK_TEXT, "Download CSV").get_attribute("href") or ""
    status, content_type, body, _ = await download(browser, csv_link)
    assert (status, content_type) == (200, "text/csv") and b"closing" in body, body
    status, content_type, body, _ = await download(
        browser, browser.find_element(By.LINK_TEXT, "Download PDF").get_attribute("href") or ""
    )
    assert (status, content_type, body[:5]) == (200, "application/pdf", b"%PDF-")

    # Cancelling: the terms first (free until 48 hours before, 9:00 on the client's London clock), then the
    # keyboard alone confirms.
    browser.get(site.at("/portal/appointments"))
    follow(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Cancel…"))
    assert browser.current_url.endswith(f"/portal/appointments/{booked['id']}/cancel")
    page = text(browser)
    assert "You can cancel free of charge until" in page and re.search(r"9:00\sAM", page), page
    assert re.search(r"Haircut: cancelling now\s+Free of charge", page), page
    assert re.search(r"Haircut: not coming\s+A fee of €45\.00", page), page
    check_page(browser, site, "portal-cancel-terms")
    browser.find_element(By.ID, "reason").send_keys("Travelling")
    press_enter_on(browser, "Cancel this appointment")
    assert "Your appointment is cancelled." in text(browser)
    seen = await call(site, "GET", f"/api/v1/appointments/{booked['id']}", token)
    assert (seen["status"], seen["cancellation_reason"]) == ("cancelled", "Travelling")
