"""Staff-made appointment requests and the request settings in a real browser: tentative holds switched on (saved
with the version read), a request made for a client who phoned (times on the business's clock), and one for a
client blocked from online booking refused with the reason, then made anyway on request; the held time shown
as tentative on the schedule. Each page is checked by axe-core; the main ones are screenshotted."""

from __future__ import annotations

import re

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from .test_scheduling import open_business
from .test_web_browser import (
    Site,
    check_page,
    follow,
    pytestmark,
    set_value,
    site,
    staff_browser,
    staff_sign_in,
    submit,
    text,
)

__all__ = ["pytestmark", "site", "staff_browser"]  # fixtures and the Chromium skip, shared


async def test_tentative_holds_and_requests_made_by_staff_with_a_blocked_client_overridden(
    site: Site, staff_browser: WebDriver
) -> None:
    business = await open_business(site.api)  # Berlin
    token, day = business["token"], business["day"]
    caller = await site.api.create_client(token, first_name="Olga", last_name="Petrova")
    blocked = await site.api.create_client(token, first_name="Bruno", last_name="Keller")
    status, body, _ = await site.api.call(
        "PUT",
        f"/api/v1/clients/{blocked['id']}/online-booking-block",
        token=token,
        json={"blocked": True, "reason": "Three no-shows"},
    )
    assert status == 200, body
    browser = staff_browser
    staff_sign_in(browser, site, business["tenant"]["owner_email"])

    # Settings: tentative holds on, proposals held a day.
    browser.get(site.at("/settings"))
    follow(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Appointment requests (tentative holds"))
    browser.find_element(By.ID, "tentative_holds").click()
    hours = browser.find_element(By.ID, "proposal_hold_hours")
    hours.clear()
    hours.send_keys("24")
    check_page(browser, site, "staff-request-settings")
    submit(browser, "Save request settings")
    assert "The request settings are saved." in text(browser)
    _, saved, _ = await site.api.call("GET", "/api/v1/appointment-requests/settings", token=token)
    assert (saved["tentative_holds"], saved["proposal_hold_minutes"]) == (True, 1440), saved
    assert browser.find_element(By.ID, "tentative_holds").is_selected()

    # A request for the client who phoned: found by name, a time on the business's clock.
    browser.get(site.at("/requests"))
    follow(browser, browser.find_element(By.LINK_TEXT, "New request"))
    browser.find_element(By.ID, "q").send_keys("Petrova")
    submit(browser, "Find client")
    submit(browser, "Choose client")
    submit(browser, "Make the request")
    assert "Give at least one preferred time." in browser.find_element(By.ID, "options-error").text
    check_page(browser, site, "staff-request-new")
    Select(browser.find_element(By.ID, "service_id")).select_by_visible_text("Haircut (1 h)")
    set_value(browser, "time_0", f"{day.isoformat()}T10:00")
    browser.find_element(By.ID, "message").send_keys("Called in: fringe trim")
    submit(browser, "Make the request")
    page = text(browser)
    assert "is made for the client; it is pending." in page and "Called in: fringe trim" in page, page
    _, listed, _ = await site.api.call(
        "GET", "/api/v1/appointment-requests", token=token, params={"client_id": caller["id"]}
    )
    [made] = listed["items"]
    assert made["status"] == "pending" and made["options"][0]["business_start"].startswith(f"{day.isoformat()}T10:00")

    # With tentative holds the request holds its time: the schedule shows it, linked to the request.
    browser.get(site.at(f"/schedule?view=day&on={day.isoformat()}"))
    held = browser.find_element(By.XPATH, "//li[span[normalize-space()='Tentative']]")
    assert re.search(r"10:00\sAM", held.text), held.text
    assert held.find_element(By.TAG_NAME, "a").get_attribute("href") == site.at(f"/requests/{made['id']}")
    check_page(browser, site, "staff-schedule-tentative")

    # A blocked client: refused with the reason; made anyway when staff tick it, and the history says so.
    browser.get(site.at(f"/requests/new?client_id={blocked['id']}"))
    Select(browser.find_element(By.ID, "service_id")).select_by_visible_text("Haircut (1 h)")
    set_value(browser, "time_0", f"{day.isoformat()}T14:00")
    submit(browser, "Make the request")
    assert "This client is blocked from booking online." in text(browser)
    check_page(browser, site, "staff-request-new-blocked")
    set_value(browser, "time_0", f"{day.isoformat()}T14:00")
    browser.find_element(By.ID, "override_booking_rules").click()
    submit(browser, "Make the request")
    assert "is made for the client; it is pending." in text(browser)
    _, listed, _ = await site.api.call(
        "GET", "/api/v1/appointment-requests", token=token, params={"client_id": blocked["id"]}
    )
    [overridden] = listed["items"]
    assert overridden["status"] == "pending", overridden
