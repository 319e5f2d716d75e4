"""Atrium on the web, in a real browser (Debian's Chromium, headless, driven by Selenium).

The web unit runs as its own process in front of a gateway whose public URL is the web unit's, as behind
the ingress, so the invitation email's link is followed exactly as sent. Every page of the flows is checked
by axe-core (no serious or critical violations) and the main ones are screenshotted under the run's output.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from axe_selenium_python import Axe
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from platform_dev import devstack
from platform_dev.testing.plugin import wait_until

from .conftest import Api, Stack, extra_gateway, restart_unit, wait_ready
from .mailbox import Mailbox
from .test_scheduling import PASSWORD, at, open_business

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
IMPLICIT_WAIT_SECONDS = 5  # how long a lookup waits for an element still coming (htmx, navigation)
pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)",
)


@dataclass
class Site:
    url: str
    api: Api  # the gateway the web unit talks to
    shots: Path

    def at(self, path: str) -> str:
        return self.url + path


@pytest.fixture(scope="module")
async def site(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    web_port = devstack.free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    shots.mkdir(exist_ok=True)
    async with aiohttp.ClientSession() as session, extra_gateway(stack, session, public_url=web_url) as api:
        env = stack.env | {"ATRIUM_WEB_PORT": str(web_port), "ATRIUM_WEB_GATEWAY_URL": api.stack.base_url}
        env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        log_path = tmp_path_factory.getbasetemp() / "web.log"  # kept with the screenshots
        log = log_path.open("ab")
        process = subprocess.Popen([sys.executable, "-m", "atrium_web", "serve"], env=env, stdout=log, stderr=log)
        try:

            async def ready() -> bool:
                assert process.poll() is None, log_path.read_text()[-3000:]
                try:
                    async with session.get(f"{web_url}/readyz") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_until(ready, timeout=30, interval=0.1)
            yield Site(web_url, api, shots)
            print(f"\nscreenshots of the web pages: {shots}", file=sys.stderr)
        finally:
            process.terminate()
            process.wait(15)
            log.close()


def new_browser(tmp_path_factory: pytest.TempPathFactory) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--lang=en-US",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(IMPLICIT_WAIT_SECONDS)
    return driver


@pytest.fixture
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    driver = new_browser(tmp_path_factory)
    yield driver
    driver.quit()


@pytest.fixture
def staff_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    driver = new_browser(tmp_path_factory)
    yield driver
    driver.quit()


def check_page(driver: WebDriver, site: Site, name: str | None = None) -> None:
    """No serious or critical axe-core violations; a screenshot (desktop and phone width) when named."""
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    serious = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, f"{driver.current_url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}" for v in serious
    )
    if name:
        driver.execute_script("window.scrollTo(0, 0);")
        driver.save_screenshot(str(site.shots / f"{name}.png"))
        driver.set_window_size(390, 844)
        driver.save_screenshot(str(site.shots / f"{name}-phone.png"))
        driver.set_window_size(1280, 900)


def absent(driver: WebDriver, by: str, value: str) -> bool:
    """Whether the loaded page has no such element, asked without the implicit wait (which would spend all of it
    proving an absence)."""
    driver.implicitly_wait(0)
    try:
        return not driver.find_elements(by, value)
    finally:
        driver.implicitly_wait(IMPLICIT_WAIT_SECONDS)


def text(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "main").text)


def replaced(page: WebElement) -> Callable[[WebDriver], bool]:
    """The document ``page`` belonged to is gone. Mid-navigation Chromium may answer a question about the old
    node with an inspector error rather than "stale element": either way the old page is gone."""

    def check(driver: WebDriver) -> bool:
        try:
            page.is_enabled()
        except WebDriverException:  # StaleElementReferenceException included
            return True
        return False

    return check


def submit(driver: WebDriver, button_text: str) -> None:
    """Press a form's button and wait for the page it leads to."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.XPATH, f"//button[starts-with(normalize-space(), {button_text!r})]").click()
    WebDriverWait(driver, 15).until(replaced(page))
    driver.find_element(By.TAG_NAME, "main")  # the new page is there (implicit wait)


def follow(driver: WebDriver, link: WebElement) -> None:
    page = driver.find_element(By.TAG_NAME, "html")
    link.click()
    WebDriverWait(driver, 15).until(replaced(page))
    driver.find_element(By.TAG_NAME, "main")


def set_value(driver: WebDriver, element_id: str, value: str) -> None:
    # Date and datetime-local widgets take keys in the browser's locale format; the value is what a user picks.
    driver.execute_script("document.getElementById(arguments[0]).value = arguments[1];", element_id, value)


def invitation_link(mailbox: Mailbox, address: str) -> str:
    (message,) = mailbox.to(address)
    found = re.search(r"https?://\S+/portal/accept-invitation#token=\S+", Mailbox.text(message))
    assert found, Mailbox.text(message)
    return found.group(0)


def staff_sign_in(driver: WebDriver, site: Site, email: str) -> None:
    driver.get(site.at("/sign-in"))
    check_page(driver, site, "staff-sign-in")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    submit(driver, "Sign in")


async def invited_client(site: Site, mailbox: Mailbox, business: dict[str, Any], **fields: Any) -> dict[str, Any]:
    email = f"mia-{uuid.uuid4().hex[:8]}@example.com"
    client = await site.api.create_client(business["token"], first_name="Mia", last_name="Rossi", email=email, **fields)
    status, body, _ = await site.api.call(
        "POST", f"/api/v1/clients/{client['id']}/portal-invitation", token=business["token"], json={}
    )
    assert status == 201, body
    await wait_until(lambda: bool(mailbox.to(email)), timeout=30)
    return client | {"link": invitation_link(mailbox, email)}


async def test_help_page_flow_invitation_request_approval(
    site: Site, mailbox: Mailbox, browser: WebDriver, staff_browser: WebDriver
) -> None:
    business = await open_business(site.api)  # scheduling in Europe/Berlin, a "Haircut" with one stylist
    day = business["day"]
    client = await invited_client(site, mailbox, business, profile={"timezone": "Europe/London"})
    assert client["link"].startswith(site.url + "/portal/accept-invitation#token=")

    # The client follows the emailed link and sets a password.
    browser.get(client["link"])
    check_page(browser, site, "portal-accept-invitation")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "password_confirm").send_keys(PASSWORD)
    submit(browser, "Set password and sign in")
    assert "Your password is set" in text(browser)
    assert "/portal/appointments" in browser.current_url
    check_page(browser, site, "portal-appointments")

    # Signs out, and back in with the business handle.
    submit(browser, "Sign out")
    assert "/portal/sign-in" in browser.current_url
    browser.find_element(By.ID, "business").send_keys(business["tenant"]["tenant"]["slug"])
    browser.find_element(By.ID, "email").send_keys(client["email"])
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    check_page(browser, site, "portal-sign-in")
    submit(browser, "Sign in")
    assert "/portal/appointments" in browser.current_url

    # Requests an appointment: service -> date -> slot -> description.
    follow(browser, browser.find_element(By.LINK_TEXT, "Request an appointment"))
    check_page(browser, site)
    browser.find_element(By.XPATH, "//label[contains(., 'Haircut')]").click()
    submit(browser, "Next")
    set_value(browser, "date", day.isoformat())
    check_page(browser, site)
    submit(browser, "Show free times")
    # 10:00 in Berlin is 09:00 in London, the client's own zone.
    # (Babel writes CLDR's narrow no-break space between the time and AM/PM.)
    browser.find_element(By.XPATH, "//label[starts-with(normalize-space(), '9:00')]").click()
    browser.find_element(By.ID, "description").send_keys("Short layers, please")
    check_page(browser, site, "portal-request-new")
    submit(browser, "Send request")
    assert "/portal/requests" in browser.current_url
    assert "Your request is sent" in text(browser)
    assert "Pending" in text(browser) and "Short layers, please" in text(browser)
    check_page(browser, site, "portal-requests")

    # Staff see "1 pending", open the request and approve with a technician at another time, internal notes
    # and a ticket (a link through the business's ticket URL pattern).
    status, _, _ = await site.api.call(
        "PUT",
        "/api/v1/appointment-requests/settings",
        token=business["token"],
        json={"ticket_url_pattern": "https://desk.example.com/tickets/{id}"},
    )
    assert status == 200
    staff_sign_in(staff_browser, site, business["tenant"]["owner_email"])
    assert "/today" in staff_browser.current_url
    button = staff_browser.find_element(By.ID, "requests-button")
    assert "1 pending" in button.text
    check_page(staff_browser, site, "staff-today")
    follow(staff_browser, button)
    row = staff_browser.find_element(By.XPATH, "//tbody/tr[td//a[normalize-space()='Mia Rossi']]")
    cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
    # Reference, client, service, requested time (Berlin), duration, status, ticket.
    assert cells[0] == "REQ-1001" and cells[2] == "Haircut" and re.search(r"10:00\sAM", cells[3]), cells
    assert cells[4:] == ["1 h", "Pending", "—"], cells
    assert Select(staff_browser.find_element(By.ID, "status")).first_selected_option.text == "Pending (1)"
    check_page(staff_browser, site, "staff-requests")
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Mia Rossi"))
    details = text(staff_browser)
    assert client["email"] in details and "Short layers, please" in details and "Haircut" in details
    assert "REQ-1001" in details and "Requested, by Mia Rossi" in details
    # What approving it books: paid as usual (the service takes no credits), no cancellation policy.
    assert "Not paid with credits" in details and "No cancellation policy applies" in details, details
    check_page(staff_browser, site, "staff-request-details")
    Select(staff_browser.find_element(By.ID, "technician_id")).select_by_visible_text("Stylist 0")
    set_value(staff_browser, "start", f"{day.isoformat()}T14:00")  # the business's wall clock (Berlin)
    staff_browser.find_element(By.ID, "internal_notes").send_keys(INTERNAL_NOTES)
    staff_browser.find_element(By.ID, "ticket").send_keys("HD-4711")
    submit(staff_browser, "Approve")
    details = text(staff_browser)
    assert "The request is approved" in details and "Approved, by Stylist 0" in details, details
    assert INTERNAL_NOTES in details and re.search(r"2:00\sPM", details), details
    ticket = staff_browser.find_element(By.CSS_SELECTOR, "a[href='https://desk.example.com/tickets/HD-4711']")
    assert "HD-4711" in str(ticket.get_attribute("textContent"))
    check_page(staff_browser, site, "staff-request-approved")
    staff_browser.get(site.at("/requests?status=approved"))
    assert staff_browser.find_element(By.CSS_SELECTOR, "a[href='https://desk.example.com/tickets/HD-4711']")
    assert "0 pending" in staff_browser.find_element(By.ID, "requests-button").text

    # The client sees it approved, at the final time in its own zone (14:00 Berlin = 1:00 PM London).
    browser.get(site.at("/portal/requests"))
    Select(browser.find_element(By.ID, "status")).select_by_visible_text("Approved")
    submit(browser, "Show")
    page = text(browser)
    assert "Approved" in page and "Confirmed for" in page and re.search(r"1:00\sPM", page), page
    check_page(browser, site, "portal-requests-approved")
    browser.get(site.at("/portal/appointments"))
    assert re.search(r"1:00\sPM", text(browser))
    # Add to calendar: the appointment as an .ics file, through the client's session.
    ics = browser.find_element(By.PARTIAL_LINK_TEXT, "Add to calendar").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    async with aiohttp.ClientSession(cookies=cookies) as session, session.get(ics) as response:
        assert response.status == 200 and response.content_type == "text/calendar"
        calendar = await response.text()
        assert "BEGIN:VEVENT" in calendar and "Gate code" not in calendar and "HD-4711" not in calendar
    # The team's notes and the ticket appear nowhere in the portal.
    for path in PORTAL_PAGES:
        browser.get(site.at(path))
        source = browser.page_source
        assert "Gate code" not in source and "HD-4711" not in source, path


INTERNAL_NOTES = "Gate code 4411; she prefers the quiet room"
PORTAL_PAGES = (
    "/portal/appointments",
    "/portal/requests",
    "/portal/requests?status=approved",
    "/portal/requests/new",
    "/portal/invoices",
)


def accept_invitation(driver: WebDriver, client: dict[str, Any]) -> None:
    driver.get(client["link"])
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "password_confirm").send_keys(PASSWORD)
    submit(driver, "Set password and sign in")


def request_in_portal(driver: WebDriver, site: Site, day: date, time_label: str, description: str) -> None:
    """Service -> date -> the slot whose label starts with ``time_label`` (the client's clock) -> description."""
    driver.get(site.at("/portal/requests/new"))
    driver.find_element(By.XPATH, "//label[contains(., 'Haircut')]").click()
    submit(driver, "Next")
    set_value(driver, "date", day.isoformat())
    submit(driver, "Show free times")
    driver.find_element(By.XPATH, f"//label[starts-with(normalize-space(), {time_label!r})]").click()
    driver.find_element(By.ID, "description").send_keys(description)
    submit(driver, "Send request")
    assert "Your request is sent" in text(driver)


async def set_cancellation_notice(api: Api, token: str, minutes: int) -> None:
    status, settings, _ = await api.call("GET", "/api/v1/scheduling/settings", token=token)
    assert status == 200, settings
    fields = ("timezone", "slot_rules", "business_hours", "max_active_bookings_per_client", "follow_up_actions")
    body = {k: settings[k] for k in fields} | {"cancellation_notice_minutes": minutes, "version": settings["version"]}
    status, saved, _ = await api.call("PUT", "/api/v1/scheduling/settings", token=token, json=body)
    assert status == 200, saved


async def test_portal_edits_accepts_a_proposal_and_cancels_within_the_notice(
    site: Site, mailbox: Mailbox, browser: WebDriver, staff_browser: WebDriver
) -> None:
    business = await open_business(site.api)  # Berlin; the client is in London (an hour behind)
    day, token = business["day"], business["token"]
    client = await invited_client(site, mailbox, business, profile={"timezone": "Europe/London"})
    accept_invitation(browser, client)
    request_in_portal(browser, site, day, "9:00", "Fringe trim")

    # The client changes its pending request: the current time is preselected; another time and description.
    follow(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Change request"))
    current = browser.find_element(By.XPATH, "//input[@id=//label[starts-with(normalize-space(), '9:00')]/@for]")
    assert current.is_selected()
    check_page(browser, site, "portal-request-edit")
    browser.find_element(By.XPATH, "//label[starts-with(normalize-space(), '11:00')]").click()
    description = browser.find_element(By.ID, "description")
    description.clear()
    description.send_keys("Fringe trim and a wash")
    submit(browser, "Save changes")
    page = text(browser)
    assert "REQ-1001 is changed." in page and "Fringe trim and a wash" in page and re.search(r"11:00\sAM", page)
    status, listed, _ = await site.api.call("GET", "/api/v1/appointment-requests", token=token)
    (item,) = listed["items"]
    assert status == 200 and item["options"][0]["business_start"].startswith(f"{day.isoformat()}T12:00"), item

    # Staff propose two other times the next day, with a note.
    following = day + timedelta(days=1)
    staff_sign_in(staff_browser, site, business["tenant"]["owner_email"])
    staff_browser.get(site.at(f"/requests/{item['id']}"))
    assert "Edited, by Mia Rossi" in text(staff_browser)
    set_value(staff_browser, "alternative_0", f"{following.isoformat()}T10:00")
    set_value(staff_browser, "alternative_1", f"{following.isoformat()}T15:00")
    staff_browser.find_element(By.ID, "note").send_keys("Thursday is full; would either of these suit?")
    submit(staff_browser, "Propose these times")
    page = text(staff_browser)
    assert "The other times are proposed" in page and "Other times proposed" in page, page
    check_page(staff_browser, site, "staff-request-proposed")

    # The client takes the second one (15:00 Berlin, 2:00 PM London): booked and approved.
    browser.get(site.at("/portal/requests?status=proposed"))
    assert "would either of these suit?" in text(browser)
    check_page(browser, site, "portal-requests-proposed")
    browser.find_element(By.XPATH, "//label[contains(., '2:00')]").click()
    submit(browser, "Accept this time")
    page = text(browser)
    assert "your appointment is booked" in page and "Confirmed for" in page and re.search(r"2:00\sPM", page), page
    status, seen, _ = await site.api.call("GET", f"/api/v1/appointment-requests/{item['id']}", token=token)
    assert (status, seen["status"], seen["final"]["business_start"]) == (
        200,
        "approved",
        f"{following.isoformat()}T15:00+01:00",
    ), seen

    # Cancelling the approved request past the business's notice is refused with the API's reason; within it,
    # the request and its appointment are cancelled.
    await set_cancellation_notice(site.api, token, 525_600)
    submit(browser, "Cancel request")
    page = text(browser)
    assert "This request cannot be cancelled: appointments can be cancelled online until" in page, page
    assert "please contact the business" in page and "Approved" in page
    check_page(browser, site, "portal-request-cancel-refused")
    await set_cancellation_notice(site.api, token, 24 * 60)
    submit(browser, "Cancel request")
    page = text(browser)
    assert "Your request is cancelled." in page and "Cancelled" in page, page
    status, seen, _ = await site.api.call("GET", f"/api/v1/appointments/{seen['appointment_id']}", token=token)
    assert (status, seen["status"]) == (200, "cancelled")

    # A second request is declined with a reason the client reads.
    request_in_portal(browser, site, day, "10:00", "Colour")
    staff_browser.get(site.at("/requests"))
    staff_browser.find_element(By.ID, "q").send_keys("REQ-1002")
    WebDriverWait(staff_browser, 15).until(lambda d: "q=REQ-1002" in d.current_url)
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "REQ-1002"))
    staff_browser.find_element(By.ID, "reason").send_keys("We are closed for a training day.")
    submit(staff_browser, "Decline")
    assert "The request is declined" in text(staff_browser)
    browser.get(site.at("/portal/requests?status=declined"))
    page = text(browser)
    assert "Declined" in page and "We are closed for a training day." in page and "REQ-1002" in page, page
    check_page(browser, site, "portal-requests-declined")


async def test_security_csrf_cookies_and_staff_pages(
    site: Site, mailbox: Mailbox, browser: WebDriver, stack: Stack
) -> None:
    business = await open_business(site.api)
    client = await invited_client(site, mailbox, business)
    browser.get(client["link"])
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "password_confirm").send_keys(PASSWORD)
    submit(browser, "Set password and sign in")

    (cookie,) = [c for c in browser.get_cookies() if c["name"] == "atrium_session"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"

    # A portal session cannot open staff pages.
    for path in ("/today", "/requests", "/clients", f"/clients/{client['id']}"):
        browser.get(site.at(path))
        assert "This page is part of the staff console" in text(browser), path
    check_page(browser, site)

    # A form post without the CSRF token is refused and changes nothing.
    async with aiohttp.ClientSession(cookies={"atrium_session": cookie["value"]}) as session:
        async with session.post(site.at("/portal/sign-out"), data={}, allow_redirects=False) as response:
            assert response.status == 403
            assert "This form has expired" in await response.text()
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        async with session.get(site.at("/portal/appointments"), allow_redirects=False) as response:
            assert response.status == 200  # still signed in: the refused sign-out did nothing


async def test_portal_without_invoice_permission_shows_no_invoices(
    site: Site, mailbox: Mailbox, browser: WebDriver, staff_browser: WebDriver
) -> None:
    business = await open_business(site.api)
    client = await invited_client(site, mailbox, business)
    # Staff hide invoices from this client on its card.
    staff_sign_in(staff_browser, site, business["tenant"]["owner_email"])
    staff_browser.get(site.at(f"/clients/{client['id']}"))
    Select(staff_browser.find_element(By.ID, "permission-view_invoices")).select_by_visible_text("Hidden")
    submit(staff_browser, "Save portal access")
    assert "Portal access is saved." in text(staff_browser)
    check_page(staff_browser, site)
    status, access, _ = await site.api.call(
        "GET", f"/api/v1/clients/{client['id']}/portal-access", token=business["token"]
    )
    assert (status, access["enabled"], access["effective"]["view_invoices"]) == (200, True, False), access
    browser.get(client["link"])
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "password_confirm").send_keys(PASSWORD)
    submit(browser, "Set password and sign in")
    for path in ("/portal/appointments", "/portal/requests", "/portal/requests/new"):
        browser.get(site.at(path))
        assert "Invoices" not in browser.find_element(By.TAG_NAME, "body").text, path
        assert absent(browser, By.CSS_SELECTOR, "a[href='/portal/invoices']"), path
    browser.get(site.at("/portal/invoices"))
    assert "does not show invoices" in text(browser)
    check_page(browser, site)


async def test_client_card_with_billing_stopped_marks_its_section_unavailable(
    site: Site, staff_browser: WebDriver, stack: Stack
) -> None:
    business = await open_business(site.api)
    # Signing in with the keyboard alone: the skip link, then the email and password fields, Enter.
    staff_browser.get(site.at("/sign-in"))
    page = staff_browser.find_element(By.TAG_NAME, "html")
    ActionChains(staff_browser).send_keys(Keys.TAB).perform()
    assert staff_browser.switch_to.active_element.text == "Skip to content"
    ActionChains(staff_browser).send_keys(
        Keys.TAB, business["tenant"]["owner_email"], Keys.TAB, PASSWORD, Keys.ENTER
    ).perform()
    WebDriverWait(staff_browser, 15).until(replaced(page))
    assert "/today" in staff_browser.current_url
    # A new client through the form: a bad email is named and nothing is created; then it is added.
    staff_browser.get(site.at("/clients"))
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "New client"))
    staff_browser.find_element(By.ID, "first_name").send_keys("Noor")
    staff_browser.find_element(By.ID, "last_name").send_keys("Haddad")
    staff_browser.find_element(By.ID, "email").send_keys("noor@@example")
    submit(staff_browser, "Add client")
    assert staff_browser.find_element(By.ID, "email-error").text
    check_page(staff_browser, site, "staff-client-new-error")
    email = staff_browser.find_element(By.ID, "email")
    email.clear()
    email.send_keys("noor@example.com")
    submit(staff_browser, "Add client")
    assert "The client is added." in text(staff_browser)
    client = {"id": staff_browser.current_url.rsplit("/", 1)[1]}
    submit(staff_browser, "Invite to the portal")
    assert "Invitation sent to noor@example.com." in text(staff_browser)
    staff_browser.get(site.at("/clients"))
    staff_browser.find_element(By.ID, "q").send_keys("Noor")
    # Search as you type: htmx swaps the rows in and puts the search in the address.
    WebDriverWait(staff_browser, 15).until(lambda d: "q=Noor" in d.current_url)
    assert staff_browser.find_element(By.LINK_TEXT, "Noor Haddad")
    check_page(staff_browser, site, "staff-clients")
    export = staff_browser.find_element(By.PARTIAL_LINK_TEXT, "Export").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in staff_browser.get_cookies()}
    async with aiohttp.ClientSession(cookies=cookies) as session, session.get(export) as response:
        assert response.status == 200 and response.content_type == "text/csv"
        assert "noor@example.com" in await response.text()
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Noor Haddad"))
    assert "Pending payment: none" in text(staff_browser)
    check_page(staff_browser, site, "staff-client-card")

    billing = stack.processes["membership_billing"]
    billing.terminate()
    # Waited for off the event loop: the span collector in this loop must answer the unit's final trace export.
    await asyncio.to_thread(billing.wait, 15)
    try:
        staff_browser.get(site.at(f"/clients/{client['id']}"))
        page = text(staff_browser)
        assert "Pending payment: unavailable" in page, page
        assert "Noor Haddad" in page and "Contact information" in page
        check_page(staff_browser, site, "staff-client-card-billing-down")
    finally:
        stack.processes["membership_billing"] = restart_unit(stack, "membership_billing")
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, stack.base_url, stack.processes, stack.log_dir)


IMPORT_FILE = (
    "First Name,Last Name,E-mail,Mobile\r\n"
    "Ada,Lovelace,ada@example.com,(212) 555-0142\r\n"
    ",Nameless,nobody@example.com,\r\n"
    "Grace,Hopper,grace@example.com,\r\n"
    "Alan,Turing,not-an-email,\r\n"
    "Edsger,Dijkstra,,212 555 0199\r\n"
)


async def test_import_a_csv_with_two_bad_rows_through_the_wizard(
    site: Site, staff_browser: WebDriver, tmp_path: Path
) -> None:
    business = await open_business(site.api)
    staff_sign_in(staff_browser, site, business["tenant"]["owner_email"])
    staff_browser.get(site.at("/clients"))
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Import clients"))
    check_page(staff_browser, site, "staff-import-upload")
    upload = tmp_path / "clients.csv"
    upload.write_text(IMPORT_FILE, encoding="utf-8")
    staff_browser.find_element(By.ID, "file").send_keys(str(upload))
    submit(staff_browser, "Upload")

    # The suggested mapping is preselected; the dry run reads every row and changes nothing.
    assert Select(staff_browser.find_element(By.ID, "column-2")).first_selected_option.text == "Email"
    check_page(staff_browser, site, "staff-import-mapping")
    submit(staff_browser, "Dry run")
    WebDriverWait(staff_browser, 60).until(lambda d: "Dry run: what the import would do" in text(d))
    report = text(staff_browser)
    assert re.search(r"To create\s+3\b", report) and re.search(r"Rejected\s+2\b", report), report
    rows = [
        r.find_elements(By.TAG_NAME, "td")[0].text for r in staff_browser.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]
    assert rows[:2] == ["3", "5"], rows
    check_page(staff_browser, site, "staff-import-dry-run")
    status, page, _ = await site.api.call("GET", "/api/v1/clients", token=business["token"])
    assert (status, page["items"]) == (200, [])

    # The rejected rows download as CSV (original columns plus the error), through the browser's session.
    link = staff_browser.find_element(By.PARTIAL_LINK_TEXT, "Download the rejected rows").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in staff_browser.get_cookies()}
    async with aiohttp.ClientSession(cookies=cookies) as session, session.get(link) as response:
        assert response.status == 200 and response.content_type == "text/csv"
        lines = (await response.text()).strip().splitlines()
    assert lines[0].lstrip("\ufeff").startswith("First Name,Last Name,E-mail,Mobile") and "error" in lines[0]
    assert len(lines) == 3 and "Nameless" in lines[1] and "not-an-email" in lines[2]

    submit(staff_browser, "Import 3 clients")
    WebDriverWait(staff_browser, 60).until(lambda d: "Imported" in text(d))
    assert re.search(r"Created\s+3\b", text(staff_browser))
    check_page(staff_browser, site, "staff-import-done")
    staff_browser.get(site.at("/clients"))
    names = text(staff_browser)
    assert "Ada Lovelace" in names and "Grace Hopper" in names and "Edsger Dijkstra" in names
    assert "Turing" not in names


async def test_staff_schedule_shows_the_day_per_staff_member_and_cancels(site: Site, staff_browser: WebDriver) -> None:
    business = await open_business(site.api)
    day, service = business["day"], business["service"]
    client = await site.api.create_client(business["token"], first_name="Lea", last_name="Brandt")
    status, booked, _ = await site.api.call(
        "POST",
        "/api/v1/appointments",
        token=business["token"],
        json={"client_id": client["id"], "segments": [{"service_id": service["id"]}], "start": at(day, 11)},
    )
    assert status == 201, booked
    staff_sign_in(staff_browser, site, business["tenant"]["owner_email"])
    staff_browser.get(site.at(f"/schedule?view=week&on={day.isoformat()}"))
    check_page(staff_browser, site, "staff-schedule-week")
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Day view"))
    staff_browser.get(site.at(f"/schedule?view=day&on={day.isoformat()}"))
    column = staff_browser.find_element(By.XPATH, "//section[h2[normalize-space()='Stylist 0']]")
    assert re.search(r"11:00\sAM", column.text) and "Lea Brandt" in column.text and "booked" in column.text
    check_page(staff_browser, site, "staff-schedule-day")
    staff_browser.find_element(By.XPATH, "//summary[starts-with(normalize-space(), 'Actions')]").click()
    # Before cancelling: the terms (no policy here, so free), then the reason.
    follow(staff_browser, staff_browser.find_element(By.PARTIAL_LINK_TEXT, "Cancel…"))
    assert "No cancellation policy applies" in text(staff_browser), text(staff_browser)
    check_page(staff_browser, site, "staff-appointment-cancel")
    staff_browser.find_element(By.ID, "reason").send_keys("Stylist ill")
    submit(staff_browser, "Cancel the appointment")
    assert "Cancelled." in text(staff_browser) and "cancelled" in text(staff_browser)
    status, seen, _ = await site.api.call("GET", f"/api/v1/appointments/{booked['id']}", token=business["token"])
    assert (status, seen["status"]) == (200, "cancelled")
