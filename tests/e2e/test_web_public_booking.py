"""The public booking page (/book/<slug>) in a real browser (Debian's Chromium, headless, driven by Selenium):
a visitor with no account picks a service, a day and a free time, leaves their details, gets a code by email,
mistypes it once, enters it and sees the confirmation; staff then have the pending request. Driven by the
keyboard (keys and Enter, no clicks), checked by axe-core on every page, screenshotted at desktop and phone
width."""

from __future__ import annotations

import uuid

import aiohttp
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from .mailbox import Mailbox
from .test_public_booking import emailed_code, open_page
from .test_web_browser import (  # noqa: F401 - the module's fixtures: the web unit, a browser
    Site,
    browser,
    check_page,
    pytestmark,
    replaced,
    set_value,
    site,
    text,
)


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
