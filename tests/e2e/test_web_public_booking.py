"""The public booking page (/book/<slug>) in a real browser (Debian's Chromium, headless, driven by Selenium):
a visitor with no account picks a service, a day and a free time, leaves their details, gets a code by email,
answers the business's booking form questions, mistypes the code once, enters it and sees the confirmation;
staff then have the pending request, and the client record the answers. Driven by the keyboard (keys and
Enter, no clicks), checked by axe-core on every page, screenshotted at desktop and phone width. Staff open the
page, change a service (and give it its own reminders) and a resource, and set the membership expiry reminders in
the settings."""

from __future__ import annotations

import uuid

import aiohttp
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from .mailbox import Mailbox
from .test_public_booking import booking_form_fields, clients_with, emailed_code, open_page
from .test_scheduling import open_business
from .test_web_browser import (  # noqa: F401 - the module's fixtures: the web unit, a browser
    Site,
    browser,
    check_page,
    follow,
    pytestmark,
    replaced,
    set_value,
    site,
    staff_sign_in,
    submit,
    text,
)
from .test_web_staff_billing import fill


def press_enter(driver: WebDriver, element_id: str) -> None:
    """Submit the element's form from the keyboard and wait for the page it leads to."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, element_id).send_keys(Keys.ENTER)
    WebDriverWait(driver, 15).until(replaced(page))
    driver.find_element(By.TAG_NAME, "main")


async def test_a_visitor_books_with_the_emailed_code_keyboard_only(
    site: Site,  # noqa: F811
    mailbox: Mailbox,
    browser: WebDriver,  # noqa: F811
) -> None:
    business = await open_page(site.api)  # scheduling in Europe/Berlin, a "Haircut" with one stylist
    slug, day = business["slug"], business["day"]
    await booking_form_fields(site.api, business["token"])
    email = f"visitor-{uuid.uuid4().hex[:8]}@example.com"

    browser.get(site.at(f"/book/{slug}"))
    assert "Book with Test Studio" in text(browser)
    check_page(browser, site, "public-booking")
    service = browser.find_element(By.XPATH, "//input[@name='service_id']")
    service.send_keys(Keys.SPACE)  # a radio button is chosen with the space bar
    press_enter(browser, service.get_attribute("id") or "")
    set_value(browser, "date", day.isoformat())
    check_page(browser, site)
    press_enter(browser, "date")

    # The free times of that day on the business's clock; 10:00 is one.
    slot = browser.find_element(By.XPATH, "//label[starts-with(normalize-space(), '10:00')]")
    browser.find_element(By.ID, slot.get_attribute("for") or "").send_keys(Keys.SPACE)
    browser.find_element(By.ID, "name").send_keys("Grace Hopper")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "description").send_keys("First visit: a short cut")
    # The business's booking form: a required choice and box, an optional text; its staff-only field is not asked.
    assert "Internal rating" not in text(browser)
    browser.find_element(By.ID, "custom.hair_length").send_keys("Long")
    browser.find_element(By.ID, "custom.terms_accepted").send_keys(Keys.SPACE)
    browser.find_element(By.ID, "custom.allergies").send_keys("Latex")
    check_page(browser, site, "public-booking-details")
    press_enter(browser, "email")

    assert f"/book/{slug}/confirm" in browser.current_url and email in text(browser)
    check_page(browser, site, "public-booking-code")
    code = await emailed_code(mailbox, email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    browser.find_element(By.ID, "code").send_keys(wrong)
    press_enter(browser, "code")
    assert "4 tries left" in text(browser)
    check_page(browser, site)
    browser.find_element(By.ID, "code").send_keys(code)
    press_enter(browser, "code")

    assert f"/book/{slug}/done" in browser.current_url
    assert "Your request is sent" in text(browser) and "Haircut" in text(browser)
    check_page(browser, site, "public-booking-done")
    status, page, _ = await site.api.call("GET", "/api/v1/appointment-requests", token=business["token"])
    assert status == 200, page
    (request,) = page["items"]
    assert request["reference"] in text(browser)
    assert (request["status"], request["message"], request["client_email"]) == (
        "pending",
        "First visit: a short cut",
        email,
    )
    assert request["options"][0]["start"].startswith(day.isoformat())
    (client,) = await clients_with(site.api, business["token"], email)
    status, record, _ = await site.api.call("GET", f"/api/v1/clients/{client['id']}", token=business["token"])
    assert record["custom_fields"] == {"hair_length": "Long", "terms_accepted": True, "allergies": "Latex"}


async def test_the_page_refuses_a_form_without_its_csrf_token_and_a_closed_page_is_not_found(
    site: Site,  # noqa: F811
) -> None:
    business = await open_page(site.api)
    slug = business["slug"]
    async with aiohttp.ClientSession() as session:
        async with session.post(site.at(f"/book/{slug}/requests"), data={"name": "Mallory"}) as r:
            assert r.status == 403
        status, _, _ = await site.api.call(
            "PUT", "/api/v1/business/public-booking", token=business["token"], json={"enabled": False, "slug": slug}
        )
        assert status == 200
        async with session.get(site.at(f"/book/{slug}")) as r:
            assert r.status == 404
    status, page, _ = await site.api.call("GET", "/api/v1/appointment-requests", token=business["token"])
    assert page["items"] == []


async def test_staff_open_the_booking_page_change_a_service_and_a_resource_and_set_expiry_reminders(
    site: Site,  # noqa: F811
    browser: WebDriver,  # noqa: F811
) -> None:
    business = await open_business(site.api)
    token, service = business["token"], business["service"]
    status, room, _ = await site.api.call(
        "POST", "/api/v1/resources", token=token, json={"name": "Room 1", "kind": "room", "capacity": 1}
    )
    assert status == 201, room
    staff_sign_in(browser, site, business["tenant"]["owner_email"])
    slug = f"salon-{uuid.uuid4().hex[:8]}"

    # The booking page: not set up, then opened at the address chosen.
    browser.get(site.at("/settings"))
    follow(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Public booking page"))
    assert "Not set up yet" in text(browser)
    fill(browser, "slug", slug)
    browser.find_element(By.ID, "enabled").send_keys(Keys.SPACE)
    submit(browser, "Save the booking page")
    assert "The booking page is open." in text(browser) and f"/book/{slug}" in text(browser)
    check_page(browser, site, "staff-settings-public-booking")

    # A service changed whole from its own page: its price read in the viewer's locale, a resource it needs.
    browser.get(site.at("/settings/services"))
    follow(browser, browser.find_element(By.LINK_TEXT, "Haircut"))
    assert browser.find_element(By.ID, "price").get_attribute("value") == "45"
    fill(browser, "name", "Haircut and wash")
    fill(browser, "price", "52.50")
    fill(browser, "description", "Wash, cut and dry")
    browser.find_element(By.ID, f"service-resource-{room['id']}").send_keys(Keys.SPACE)
    check_page(browser, site, "staff-settings-service")
    submit(browser, "Save Haircut")
    assert "Haircut and wash is saved." in text(browser)
    _, changed, _ = await site.api.call("GET", f"/api/v1/services/{service['id']}", token=token)
    assert (changed["name"], changed["price"], changed["description"], changed["resource_ids"]) == (
        "Haircut and wash",
        {"amount_minor": 5250, "currency": "EUR"},
        "Wash, cut and dry",
        [room["id"]],
    )
    assert (changed["version"], changed["staff_ids"], changed["bookable_online"]) == (2, service["staff_ids"], True)

    # A resource changed in place.
    browser.get(site.at("/settings/resources"))
    browser.find_element(By.XPATH, "//summary[starts-with(normalize-space(), 'Change')]").click()
    fill(browser, f"name-{room['id']}", "Room A")
    fill(browser, f"capacity-{room['id']}", "2")
    check_page(browser, site, "staff-settings-resources")
    submit(browser, "Save")
    assert "Room A is saved." in text(browser)
    _, resources, _ = await site.api.call("GET", "/api/v1/resources", token=token)
    assert [(r["name"], r["capacity"], r["archived"]) for r in resources["items"]] == [("Room A", 2, False)]

    # Membership expiry reminders: a week before and on the day, by email, at 8:30.
    browser.get(site.at("/settings"))
    follow(browser, browser.find_element(By.LINK_TEXT, "Membership expiry reminders"))
    assert "(the default)" in text(browser)
    fill(browser, "days", "0, -7")
    set_value(browser, "send_at", "08:30")
    for channel in ("sms", "in_app"):
        if browser.find_element(By.ID, f"channel-{channel}").is_selected():
            browser.find_element(By.ID, f"channel-{channel}").send_keys(Keys.SPACE)
    if not browser.find_element(By.ID, "channel-email").is_selected():
        browser.find_element(By.ID, "channel-email").send_keys(Keys.SPACE)
    submit(browser, "Save membership expiry reminders")
    page = text(browser)
    assert "The membership expiry reminders are saved." in page, page
    assert "ends 7 days before the expiry date, on the expiry date, by email, at 8:30" in page, page
    check_page(browser, site, "staff-settings-membership-expiry")
    _, rule, _ = await site.api.call("GET", "/api/v1/membership-expiry-rule", token=token)
    assert (rule["days"], rule["channels"], rule["send_at"], rule["is_default"]) == ([-7, 0], ["email"], "08:30", False)

    # The changed service gets its own reminders: two hours before, to the client, by email.
    browser.get(site.at("/settings/reminders"))
    assert "None: every service follows the reminders above." in text(browser)
    fill(browser, "service-offsets", "2h")
    for box in ("service-audience-staff", "service-channel-sms", "service-channel-in_app"):
        if browser.find_element(By.ID, box).is_selected():
            browser.find_element(By.ID, box).send_keys(Keys.SPACE)
    submit(browser, "Save the service's reminders")
    page = text(browser)
    assert "The service's reminders are saved." in page, page
    assert "Haircut and wash: 2h before, to the client, by email" in page, page
    check_page(browser, site, "staff-settings-reminders")
    _, rules, _ = await site.api.call("GET", "/api/v1/reminder-rules", token=token)
    (own,) = [r for r in rules["items"] if r["service_id"] == service["id"]]
    assert (own["offsets"], own["audiences"], own["channels"]) == (["2h"], ["client"], ["email"])

    # The public page offers the changed service at its new price.
    browser.get(site.at(f"/book/{slug}"))
    assert "Haircut and wash" in text(browser) and "€52.50" in text(browser)
