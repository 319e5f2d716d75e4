"""The client portal's own pages in a real browser: a request's page with its history and proposed times, the
waitlist (join, an offer taken), the notifications inbox (unread count in the nav, mark read), the profile,
communication preferences, shared documents, credits and the check-in card, and download my data; what the
client's permissions hide is absent from every page. Each page is checked by axe-core and screenshotted.

Also: two web replicas refreshing one session's tokens at once both get the same new tokens (the gateway's
grace window), and the session lives on.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import segno
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from atrium_web.gateway_api import Gateway
from platform_dev.testing.plugin import wait_until

from . import test_web_browser
from .mailbox import Mailbox
from .test_scheduling import PASSWORD, at, open_business
from .test_web_browser import (
    Site,
    absent,
    accept_invitation,
    check_page,
    follow,
    invited_client,
    replaced,
    request_in_portal,
    set_value,
    submit,
    text,
)

pytestmark = test_web_browser.pytestmark  # skipped, saying why, where Debian's Chromium is not installed
# The web unit in front of its own gateway, and a fresh browser per test, as the browser tests have them.
portal_site = test_web_browser.site
portal_browser = test_web_browser.browser

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def portal_tokens(site: Site, business: dict[str, Any], email: str) -> dict[str, Any]:
    """The client's own API tokens (a sign-in that succeeds: the throttle counts failures only)."""
    status, tokens, _ = await site.api.call(
        "POST",
        "/api/v1/auth/portal/login",
        json={"tenant": business["tenant"]["tenant"]["slug"], "email": email, "password": PASSWORD},
    )
    assert status == 200, tokens
    return dict(tokens)


def press_enter_on(driver: WebDriver, button_text: str) -> None:
    """Focus a button and press Enter, as a keyboard user does, and wait for the page it leads to."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.XPATH, f"//button[starts-with(normalize-space(), {button_text!r})]").send_keys(Keys.ENTER)
    WebDriverWait(driver, 15).until(replaced(page))
    driver.find_element(By.TAG_NAME, "main")


def cookies(driver: WebDriver) -> dict[str, str]:
    return {c["name"]: c["value"] for c in driver.get_cookies()}


def nav(driver: WebDriver) -> str:
    """The navigation's text, what only screen readers hear included."""
    return " ".join(str(driver.find_element(By.CSS_SELECTOR, "nav").get_attribute("textContent")).split())


async def set_portal_access(site: Site, business: dict[str, Any], client_id: str, **permissions: bool) -> None:
    status, access, _ = await site.api.call(
        "PUT",
        f"/api/v1/clients/{client_id}/portal-access",
        token=business["token"],
        json={"enabled": True, "permissions": permissions},
    )
    assert status == 200, access


async def test_request_page_waitlist_offer_and_notifications_inbox(
    portal_site: Site, mailbox: Mailbox, portal_browser: WebDriver
) -> None:
    site, browser = portal_site, portal_browser
    business = await open_business(site.api)  # Berlin; the client is in London (an hour behind)
    token, day, service = business["token"], business["day"], business["service"]
    client = await invited_client(site, mailbox, business, profile={"timezone": "Europe/London"})
    accept_invitation(browser, client)
    request_in_portal(browser, site, day, "9:00", "Fringe trim")

    # Staff propose two other times; the client opens the request's own page.
    status, found, _ = await site.api.call(
        "GET", "/api/v1/appointment-requests", token=token, params={"status": "pending"}
    )
    [pending] = found["items"]
    status, proposed, _ = await site.api.call(
        "POST",
        f"/api/v1/appointment-requests/{pending['id']}/propose",
        token=token,
        json={"alternatives": [at(day, 14), at(day, 15)], "note": "The afternoon is free"},
    )
    assert status == 200, proposed
    browser.get(site.at("/portal/requests"))
    follow(browser, browser.find_element(By.PARTIAL_LINK_TEXT, pending["reference"]))
    assert browser.current_url.endswith(f"/portal/requests/{pending['id']}")
    page = text(browser)
    assert "Other times proposed" in page and "The afternoon is free" in page and "Fringe trim" in page
    history = browser.find_element(By.CSS_SELECTOR, "ol.timeline").text
    assert "Requested, by you" in history and "Other times proposed, by the business" in history, history
    # 14:00 in Berlin is 13:00 on the client's London clock.
    assert re.search(r"1:00\sPM", page), page
    check_page(browser, site, "portal-request-proposed")
    browser.find_element(By.XPATH, "//label[contains(., '1:00')]").click()
    submit(browser, "Accept this time")
    assert browser.current_url.endswith(f"/portal/requests/{pending['id']}")  # back on the request's page
    page = text(browser)
    assert "You accepted the time" in page and "Approved" in page and "Confirmed for" in page, page
    assert "Approved, by you" in browser.find_element(By.CSS_SELECTOR, "ol.timeline").text
    assert absent(browser, By.XPATH, "//button[starts-with(normalize-space(), 'Accept this time')]")
    check_page(browser, site, "portal-request-approved")

    # The waitlist: a half-given window is refused and names the field; then the client joins.
    browser.get(site.at("/portal/waitlist"))
    check_page(browser, site, "portal-waitlist-empty")
    Select(browser.find_element(By.ID, "service_id")).select_by_visible_text("Haircut (1 h)")
    set_value(browser, "from_date", day.isoformat())
    set_value(browser, "to_date", (day + timedelta(days=1)).isoformat())
    set_value(browser, "window_start", "09:00")
    submit(browser, "Join the waitlist")
    assert "Give both hours" in browser.find_element(By.ID, "window_end-error").text
    assert browser.find_element(By.ID, "window_end").get_attribute("aria-invalid") == "true"
    check_page(browser, site)
    set_value(browser, "window_end", "12:00")
    submit(browser, "Join the waitlist")
    assert "You are on the waitlist" in text(browser) and "Waiting" in text(browser)
    assert re.search(r"9:00\sAM.12:00\sPM", text(browser)), text(browser)  # the client's hours, by locale

    # A time that suits frees up (11:00 Berlin, 10:00 London): the client is offered it.
    other = await site.api.create_client(token, first_name="Oda", last_name="Berg")
    status, booked, _ = await site.api.call(
        "POST",
        "/api/v1/appointments",
        token=token,
        json={"client_id": other["id"], "segments": [{"service_id": service["id"]}], "start": at(day, 11)},
    )
    assert status == 201, booked
    status, _, _ = await site.api.call(
        "POST",
        f"/api/v1/appointments/{booked['id']}/cancel",
        token=token,
        json={"reason": "moved away", "version": booked["version"]},
    )
    assert status == 200
    tokens = await portal_tokens(site, business, client["email"])
    portal = tokens["access_token"]

    async def offered_and_told() -> bool:
        _, mine, _ = await site.api.call("GET", "/api/v1/portal/waitlist", token=portal)
        _, inbox, _ = await site.api.call("GET", "/api/v1/portal/notifications", token=portal)
        kinds = {n["kind"] for n in inbox["items"]}
        return mine["items"][0]["status"] == "offered" and "waitlist.offer_made" in kinds

    await wait_until(offered_and_told, timeout=60)
    _, inbox, _ = await site.api.call("GET", "/api/v1/portal/notifications", token=portal)
    unread = inbox["unread_count"]
    assert unread >= 2, inbox  # the proposal and the offer
    browser.get(site.at("/portal/waitlist"))
    assert f"Notifications {unread} unread" in nav(browser), nav(browser)
    page = text(browser)
    assert "A time is free for you" in page and re.search(r"10:00\sAM", page), page
    check_page(browser, site, "portal-waitlist-offer")
    press_enter_on(browser, "Book this time")  # the keyboard alone
    assert "your appointment is booked" in text(browser) and "Booked" in text(browser)
    _, appointments, _ = await site.api.call("GET", "/api/v1/portal/appointments", token=portal)
    assert booked["start"] in {a["start"] for a in appointments["items"] if a["status"] == "booked"}, appointments

    # The inbox: newest first, one marked read, then all.
    browser.get(site.at("/portal/notifications"))
    check_page(browser, site, "portal-notifications")
    page = text(browser)
    assert f"{unread} unread" in page, page
    # Each notice links to what it is about.
    assert browser.find_element(By.XPATH, "//li[contains(., 'A time for Haircut')]//a").get_attribute("href") == (
        site.at("/portal/waitlist")
    )
    submit(browser, "Mark as read")  # the newest
    _, inbox, _ = await site.api.call("GET", "/api/v1/portal/notifications", token=portal)
    assert inbox["unread_count"] == unread - 1
    if inbox["unread_count"]:
        submit(browser, "Mark all as read")
        assert "marked as read" in text(browser)
    assert "Nothing unread" in text(browser)
    assert "unread" not in nav(browser)
    _, inbox, _ = await site.api.call("GET", "/api/v1/portal/notifications", token=portal)
    assert inbox["unread_count"] == 0

    # Two web replicas refreshing this session's tokens at once get the same new tokens, and the session
    # lives on (without the grace window the second would revoke the family).
    replicas = [Gateway(site.api.stack.base_url, 10) for _ in range(2)]
    for replica in replicas:
        await replica.start()
    try:
        first, second = await asyncio.gather(*(r.refresh(tokens["refresh_token"]) for r in replicas))
        assert first["refresh_token"] == second["refresh_token"] != tokens["refresh_token"]
        assert first["access_token"] == second["access_token"]
        renewed = await replicas[0].refresh(first["refresh_token"])
        status, me, _ = await site.api.call("GET", "/api/v1/portal/me", token=renewed["access_token"])
        assert (status, me["id"]) == (200, client["id"])
    finally:
        for replica in replicas:
            await replica.close()


async def test_profile_preferences_documents_credits_card_and_my_data(
    portal_site: Site, mailbox: Mailbox, portal_browser: WebDriver
) -> None:
    site, browser = portal_site, portal_browser
    business = await open_business(site.api)
    token = business["token"]
    client = await invited_client(site, mailbox, business, profile={"timezone": "Europe/London"})
    await set_portal_access(site, business, client["id"], edit_profile=True)
    base = f"/api/v1/clients/{client['id']}/attachments"
    for filename, shared in (("care-plan.pdf", "true"), ("staff-only.pdf", "false")):
        status, body, _ = await site.api.call(
            "POST",
            base,
            token=token,
            data=PDF,
            headers={"Content-Type": "application/pdf"},
            params={"filename": filename, "shared_with_client": shared},
        )
        assert status == 201, body
    status, pass_type, _ = await site.api.call(
        "POST", "/api/v1/credit-types", token=token, json={"name": "Class pass", "unit": "session"}
    )
    assert status == 201, pass_type
    status, charged, _ = await site.api.call(
        "POST",
        f"/api/v1/clients/{client['id']}/credits/charges",
        token=token,
        json={"credit_type_id": pass_type["id"], "amount": 10, "expires_on": business["day"].isoformat()},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert status == 201, charged
    for field in (
        {"label": "Hair type", "key": "hair_type", "type": "single_choice", "options": ["Fine", "Thick"]},
        {"label": "Shoe size", "key": "shoe_size", "type": "number"},
    ):
        status, body, _ = await site.api.call(
            "POST", "/api/v1/custom-fields", token=token, json=field | {"forms": ["staff", "portal_profile"]}
        )
        assert status == 201, body
    accept_invitation(browser, client)

    # Profile: the business lets this client edit; a bad email is refused naming the field, nothing changes.
    browser.get(site.at("/portal/profile"))
    check_page(browser, site, "portal-profile")
    email = browser.find_element(By.ID, "email")
    email.clear()
    email.send_keys("not-an-email")
    submit(browser, "Save my details")
    assert browser.find_element(By.ID, "email-error").text
    check_page(browser, site)
    status, seen, _ = await site.api.call("GET", f"/api/v1/clients/{client['id']}", token=token)
    assert seen["email"] == client["email"]
    email = browser.find_element(By.ID, "email")
    email.clear()
    email.send_keys(client["email"])
    last_name = browser.find_element(By.ID, "last_name")
    last_name.clear()
    last_name.send_keys("Rossi-Bianchi")
    Select(browser.find_element(By.ID, "custom.hair_type")).select_by_visible_text("Thick")
    browser.find_element(By.ID, "custom.shoe_size").send_keys("38.5")
    submit(browser, "Save my details")
    assert "Your details are saved." in text(browser)
    status, seen, _ = await site.api.call("GET", f"/api/v1/clients/{client['id']}", token=token)
    assert (seen["last_name"], seen["email"]) == ("Rossi-Bianchi", client["email"])
    assert seen["custom_fields"] == {"hair_type": "Thick", "shoe_size": 38.5}, seen
    assert Select(browser.find_element(By.ID, "custom.hair_type")).first_selected_option.text == "Thick"

    # Communication preferences: reminders by email off, the rest stays on.
    follow(browser, browser.find_element(By.LINK_TEXT, "Communication preferences"))
    check_page(browser, site, "portal-preferences")
    reminders_by_email = browser.find_element(By.ID, "reminders-email")
    assert reminders_by_email.is_selected()
    reminders_by_email.click()
    submit(browser, "Save preferences")
    assert "preferences are saved" in text(browser)
    assert not browser.find_element(By.ID, "reminders-email").is_selected()
    status, prefs, _ = await site.api.call(
        "GET", f"/api/v1/clients/{client['id']}/notification-preferences", token=token
    )
    allowed = {(p["category"], p["channel"]): p["allowed"] for p in prefs["preferences"]}
    assert allowed[("reminders", "email")] is False and allowed.get(("marketing", "email"), True) is True, prefs

    # A calendar subscription: its secret address shown once, read without an account, then stopped.
    browser.get(site.at("/portal/appointments"))
    follow(browser, browser.find_element(By.LINK_TEXT, "Subscribe in your calendar app"))
    check_page(browser, site, "portal-calendar")
    submit(browser, "Make a calendar link")
    feed_url = browser.find_element(By.ID, "feed-url").get_attribute("value") or ""
    assert feed_url.startswith(site.at("/ical/")), feed_url
    check_page(browser, site, "portal-calendar-issued")
    async with aiohttp.ClientSession() as session, session.get(feed_url) as response:
        assert response.status == 200 and response.content_type == "text/calendar"
    browser.get(site.at("/portal/calendar"))
    assert absent(browser, By.ID, "feed-url")  # shown once only
    submit(browser, "Stop this link")
    assert "calendar link is stopped" in text(browser)
    async with aiohttp.ClientSession() as session, session.get(feed_url) as response:
        assert response.status == 404

    # Shared documents: only the shared one, downloaded through the session.
    follow(browser, browser.find_element(By.LINK_TEXT, "Documents"))
    assert "care-plan.pdf" in text(browser) and "staff-only.pdf" not in text(browser)
    check_page(browser, site, "portal-documents")
    link = browser.find_element(By.LINK_TEXT, "care-plan.pdf").get_attribute("href") or ""
    async with aiohttp.ClientSession(cookies=cookies(browser)) as session, session.get(link) as response:
        assert response.status == 200 and response.content_type == "application/pdf"
        assert "care-plan.pdf" in response.headers["Content-Disposition"]
        assert await response.read() == PDF

    # Credits with their expiry, and the check-in card whose QR code carries the client's card token.
    follow(browser, browser.find_element(By.LINK_TEXT, "Memberships and credits"))
    page = text(browser)
    assert "Class pass: 10 sessions" in page, page
    check_page(browser, site, "portal-membership")
    tokens = await portal_tokens(site, business, client["email"])
    _, card, _ = await site.api.call("GET", "/api/v1/portal/membership-card", token=tokens["access_token"])
    qr = browser.find_element(By.CSS_SELECTOR, "img.qr").get_attribute("src")
    assert qr == segno.make(card["token"], error="m").svg_data_uri(scale=4, border=4, dark="#000", light="#fff")
    status, checked_in, _ = await site.api.call(
        "POST", "/api/v1/check-ins/card", token=token, json={"token": card["token"]}
    )
    assert status == 201, checked_in

    # An issued invoice: its lines, tax and totals in the browser's locale.
    status, draft, _ = await site.api.call(
        "POST",
        "/api/v1/invoices",
        token=token,
        json={
            "client_id": client["id"],
            "currency": "EUR",
            "lines": [{"description": "Colour", "quantity": "1.5", "unit_price_minor": 4000, "tax_rate_bp": 1900}],
        },
    )
    assert status == 201, draft
    status, issued, _ = await site.api.call("POST", f"/api/v1/invoices/{draft['id']}/issue", token=token, json={})
    assert status == 200, issued
    follow(browser, browser.find_element(By.LINK_TEXT, "Invoices"))
    follow(browser, browser.find_element(By.LINK_TEXT, str(issued["number"])))
    page = text(browser)
    # 1.5 at €40.00 = €60.00 net, 19 % tax €11.40, €71.40 in all, all of it open.
    assert "Colour" in page and "1.5" in page and "19 %" in page, page
    assert re.search(r"Total\s+€71\.40", page) and re.search(r"Outstanding\s+€71\.40", page), page
    check_page(browser, site, "portal-invoice")

    # Download my data: what the portal shows, as one JSON file.
    browser.get(site.at("/portal/profile"))
    link = browser.find_element(By.LINK_TEXT, "Download my data").get_attribute("href") or ""
    async with aiohttp.ClientSession(cookies=cookies(browser)) as session, session.get(link) as response:
        assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
        data = json.loads(await response.read())
    assert data["profile"]["last_name"] == "Rossi-Bianchi"
    assert [d["filename"] for d in data["documents"]] == ["care-plan.pdf"]
    assert [c["balance"] for c in data["credits"]] == [10]
    assert [i["number"] for i in data["invoices"]] == [issued["number"]]
    assert {"appointments", "appointment_requests", "waitlist", "invoices", "notifications"} <= data.keys()


async def test_what_the_permissions_hide_is_absent_from_every_page(
    portal_site: Site, mailbox: Mailbox, portal_browser: WebDriver
) -> None:
    site, browser = portal_site, portal_browser
    business = await open_business(site.api)
    client = await invited_client(site, mailbox, business)
    await set_portal_access(
        site, business, client["id"], view_appointments=False, view_invoices=False, view_documents=False
    )
    accept_invitation(browser, client)
    assert browser.current_url.endswith("/portal/notifications")  # signed in where there is something to see
    for path in ("/portal/notifications", "/portal/profile", "/portal/preferences", "/portal/membership"):
        browser.get(site.at(path))
        for hidden in ("/portal/appointments", "/portal/requests", "/portal/waitlist", "/portal/invoices"):
            assert absent(browser, By.CSS_SELECTOR, f"a[href='{hidden}']"), (path, hidden)
        assert absent(browser, By.CSS_SELECTOR, "a[href='/portal/documents']"), path
        assert "Invoices" not in nav(browser) and "Credits" not in nav(browser), path
    # The membership page keeps the card but not the credits, which billing's permission covers.
    browser.get(site.at("/portal/membership"))
    assert browser.find_elements(By.CSS_SELECTOR, "img.qr") and "credits" not in text(browser).lower()
    check_page(browser, site, "portal-membership-card-only")
    # The profile is read-only: this business does not let clients edit.
    browser.get(site.at("/portal/profile"))
    assert absent(browser, By.ID, "email") and "contact" in text(browser)
    hidden_pages = (
        ("/portal/documents", "documents"),
        ("/portal/waitlist", "the waitlist"),
        ("/portal/calendar", "appointments"),
        ("/portal/invoices", "invoices"),
    )
    for path, what in hidden_pages:
        browser.get(site.at(path))
        assert f"does not show {what}" in text(browser), path
    check_page(browser, site)
    link = site.at("/portal/my-data.json")
    async with aiohttp.ClientSession(cookies=cookies(browser)) as session, session.get(link) as response:
        data = json.loads(await response.read())
    assert not {"appointments", "appointment_requests", "invoices", "credits", "documents"} & data.keys(), data.keys()
