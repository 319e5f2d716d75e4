"""The staff console's screens beyond the help-page flow, in a real browser: the client card's edit form, notes
and tabs (Bookings, Payments, Documents), duplicates merged and the merge undone, booking from real availability,
rescheduling by choosing a slot, and a recurring series booked through its clash preview.

Each page is checked by axe-core (no serious or critical violations); the main ones are screenshotted.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from platform_dev.testing.plugin import wait_until

from .mailbox import Mailbox
from .test_scheduling import at, open_business
from .test_web_browser import (
    Site,
    absent,
    browser,
    check_page,
    follow,
    pytestmark,
    replaced,
    set_value,
    site,
    staff_browser,
    staff_sign_in,
    submit,
    text,
)

__all__ = ["browser", "pytestmark", "site", "staff_browser"]  # fixtures and the Chromium skip, shared


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def session_cookies(driver: WebDriver) -> dict[str, str]:
    return {c["name"]: c["value"] for c in driver.get_cookies()}


async def test_client_card_edits_notes_and_its_bookings_payments_and_documents_tabs(
    site: Site, staff_browser: WebDriver, tmp_path: Path
) -> None:
    business = await open_business(site.api)
    token, day, service = business["token"], business["day"], business["service"]
    client = await site.api.create_client(token, first_name="Ines", last_name="Moreau", email="ines@example.com")
    card = f"/clients/{client['id']}"
    staff_sign_in(staff_browser, site, business["tenant"]["owner_email"])

    # Edit fields: a bad email is named beside its field and nothing changes; then the details are saved.
    staff_browser.get(site.at(card))
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Edit details"))
    check_page(staff_browser, site, "staff-client-edit")
    last_name = staff_browser.find_element(By.ID, "last_name")
    last_name.clear()
    last_name.send_keys("Moreau-Laurent")
    email = staff_browser.find_element(By.ID, "email")
    email.clear()
    email.send_keys("ines@@example")
    submit(staff_browser, "Save details")
    assert staff_browser.find_element(By.ID, "email-error").text
    assert staff_browser.find_element(By.ID, "last_name").get_attribute("value") == "Moreau-Laurent"
    check_page(staff_browser, site)
    status, unchanged, _ = await site.api.call("GET", f"/api/v1/clients/{client['id']}", token=token)
    assert (status, unchanged["last_name"], unchanged["email"]) == (200, "Moreau", "ines@example.com")
    email = staff_browser.find_element(By.ID, "email")
    email.clear()
    email.send_keys("ines.moreau@example.com")
    staff_browser.find_element(By.ID, "address_city").send_keys("Lyon")
    staff_browser.find_element(By.ID, "tags").send_keys("vip, colour")
    submit(staff_browser, "Save details")
    page = text(staff_browser)
    assert "The client's details are saved." in page and "Ines Moreau-Laurent" in page, page
    for shown in ("ines.moreau@example.com", "Lyon", "vip", "colour"):
        assert shown in page, (shown, page)
    status, saved, _ = await site.api.call("GET", f"/api/v1/clients/{client['id']}", token=token)
    assert (saved["last_name"], saved["profile"]["address"]["city"], sorted(saved["tags"])) == (
        "Moreau-Laurent",
        "Lyon",
        ["colour", "vip"],
    ), saved

    # A note from the information pane becomes the latest note.
    staff_browser.find_element(By.ID, "note-body").send_keys("Allergic to lavender oil")
    submit(staff_browser, "Add note")
    assert "The note is added." in text(staff_browser)
    information = staff_browser.find_element(By.XPATH, "//section[h2[normalize-space()='Client information']]")
    assert "Allergic to lavender oil" in information.text

    # Bookings: the client's appointment, with a way to reschedule it.
    status, booked, _ = await site.api.call(
        "POST",
        "/api/v1/appointments",
        token=token,
        json={"client_id": client["id"], "segments": [{"service_id": service["id"]}], "start": at(day, 11)},
    )
    assert status == 201, booked
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Bookings"))
    activity = staff_browser.find_element(By.XPATH, "//section[h2[normalize-space()='Activity']]").text
    assert "Haircut" in activity and re.search(r"11:00\sAM", activity) and "booked" in activity, activity
    assert staff_browser.find_element(By.PARTIAL_LINK_TEXT, "Reschedule")
    check_page(staff_browser, site, "staff-client-card-bookings")

    # Payments: the balance, the issued invoice and the payment received, in the viewer's locale.
    lines = [{"description": "Haircut", "unit_price_minor": 4500}]
    status, draft, _ = await site.api.call(
        "POST", "/api/v1/invoices", token=token, json={"client_id": client["id"], "currency": "EUR", "lines": lines}
    )
    assert status == 201, draft
    status, issued, _ = await site.api.call("POST", f"/api/v1/invoices/{draft['id']}/issue", token=token, json={})
    assert status == 200, issued
    payment = {"client_id": client["id"], "amount": {"amount_minor": 2000, "currency": "EUR"}, "method": "card"}
    status, paid, _ = await site.api.call("POST", "/api/v1/payments", token=token, json=payment)
    assert status == 201, paid
    status, massage, _ = await site.api.call(
        "POST", "/api/v1/credit-types", token=token, json={"name": "Massage 60", "unit": "session"}
    )
    assert status == 201, massage
    status, charged, _ = await site.api.call(
        "POST",
        f"/api/v1/clients/{client['id']}/credits/charges",
        token=token,
        json={"credit_type_id": massage["id"], "amount": 5},
    )
    assert status == 201, charged
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Payments"))
    activity = staff_browser.find_element(By.XPATH, "//section[h2[normalize-space()='Activity']]").text
    assert "€25.00 outstanding" in activity and "€45.00" in activity and "€20.00 (card)" in activity, activity
    assert "Massage 60: 5 sessions" in activity, activity

    # Checked in from the Bookings tab: the service's visit takes one session.
    status, rules, _ = await site.api.call(
        "PUT",
        f"/api/v1/services/{service['id']}/credit-rules",
        token=token,
        json={"rules": [{"credit_type_id": massage["id"], "units": 1}]},
    )
    assert status == 200, rules
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Bookings"))
    submit(staff_browser, "Check in")
    assert "Checked in." in text(staff_browser)
    submit(staff_browser, "Check in")
    assert "Not checked in:" in text(staff_browser)  # an appointment is checked in once
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Payments"))
    assert "Massage 60: 4 sessions" in text(staff_browser)
    assert "partially paid" in activity
    check_page(staff_browser, site, "staff-client-card-payments")

    # Documents: upload a file (shared with the client), see it listed, download the same bytes.
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Documents"))
    assert "No documents." in text(staff_browser)
    upload = tmp_path / "consent form.pdf"
    upload.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    staff_browser.find_element(By.ID, "document-file").send_keys(str(upload))
    staff_browser.find_element(By.XPATH, "//label[@for='document-shared']").click()
    submit(staff_browser, "Upload")
    page = text(staff_browser)
    assert "consent form.pdf is uploaded." in page and "shared with the client" in page, page
    check_page(staff_browser, site, "staff-client-card-documents")
    link = staff_browser.find_element(By.LINK_TEXT, "consent form.pdf").get_attribute("href")
    async with aiohttp.ClientSession(cookies=session_cookies(staff_browser)) as session, session.get(link) as got:
        assert got.status == 200 and await got.read() == upload.read_bytes()
        assert "consent" in got.headers["Content-Disposition"]
    submit(staff_browser, "Stop sharing")
    assert "The document is no longer shared." in text(staff_browser)
    status, files, _ = await site.api.call("GET", f"/api/v1/clients/{client['id']}/attachments", token=token)
    assert status == 200 and [f["shared_with_client"] for f in files["items"]] == [False], files

    # The Conversation tab is the default one.
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Conversation"))
    assert staff_browser.find_element(By.CSS_SELECTOR, "nav.tabs a[aria-current='page']").text == "Conversation"


async def test_duplicates_are_merged_with_a_field_choice_and_the_merge_is_undone(
    site: Site, staff_browser: WebDriver
) -> None:
    business = await open_business(site.api)
    token = business["token"]
    kept = await site.api.create_client(token, first_name="Ada", last_name="Lovelace", email="ada@old.example")
    other = await site.api.create_client(token, first_name="ada", last_name="lovelace", phone="(212) 555-0142")
    staff_sign_in(staff_browser, site, business["tenant"]["owner_email"])
    staff_browser.get(site.at("/clients"))
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Duplicates"))
    assert "same name" in text(staff_browser)
    check_page(staff_browser, site, "staff-duplicates")
    follow(staff_browser, staff_browser.find_element(By.PARTIAL_LINK_TEXT, "Compare and merge"))
    check_page(staff_browser, site, "staff-merge-compare")
    # The survivor is Ada Lovelace (whichever column she is in); her name's spelling is kept.
    survivor = staff_browser.find_element(By.XPATH, f"//input[@name='survivor'][@value='{kept['id']}']")
    staff_browser.find_element(By.XPATH, f"//label[@for='{survivor.get_attribute('id')}']").click()
    for field in ("first_name", "last_name"):
        choice = staff_browser.find_element(By.XPATH, f"//input[@name='field-{field}'][@value='{kept['id']}']")
        staff_browser.find_element(By.XPATH, f"//label[@for='{choice.get_attribute('id')}']").click()
    submit(staff_browser, "Merge clients")
    page = text(staff_browser)
    assert "The clients are merged." in page and "Merged into Ada Lovelace" in page, page
    assert "Can be undone until" in page
    check_page(staff_browser, site, "staff-merge-done")
    status, merged, _ = await site.api.call("GET", f"/api/v1/clients/{kept['id']}", token=token)
    assert (merged["first_name"], merged["email"], merged["phone"]) == ("Ada", "ada@old.example", "+12125550142")
    status, listed, _ = await site.api.call("GET", "/api/v1/clients", token=token)
    assert [c["id"] for c in listed["items"]] == [kept["id"]]

    submit(staff_browser, "Undo this merge")
    page = text(staff_browser)
    assert "The merge is undone" in page and "Undone" in page, page
    assert absent(staff_browser, By.XPATH, "//button[normalize-space()='Undo this merge']")
    check_page(staff_browser, site)
    status, listed, _ = await site.api.call("GET", "/api/v1/clients", token=token)
    assert status == 200 and sorted(c["id"] for c in listed["items"]) == sorted([kept["id"], other["id"]])

    # The row menu's merge starts from one client and finds the other by search.
    staff_browser.get(site.at(f"/clients/merge?first={kept['id']}"))
    staff_browser.find_element(By.ID, "q").send_keys("lovelace")
    submit(staff_browser, "Find")
    assert staff_browser.find_element(By.LINK_TEXT, "ada lovelace")
    check_page(staff_browser, site)


async def test_book_from_real_availability_reschedule_by_slot_and_a_recurring_series_with_clashes(
    site: Site, staff_browser: WebDriver
) -> None:
    business = await open_business(site.api, staff=2)  # Berlin; Stylist 0 and Stylist 1 work 9-17
    token, day = business["token"], business["day"]
    client = await site.api.create_client(token, first_name="Lea", last_name="Brandt")
    policy = {
        "windows": [{"within_hours": 48, "outcome": {"kind": "fee", "percent": 50}}],
        "no_show": {"kind": "fee", "percent": 100},
        "applies_to_staff_cancellations": True,
    }
    status, set_policy, _ = await site.api.call("PUT", "/api/v1/cancellation-policy", token=token, json=policy)
    assert status == 200, set_policy
    staff_sign_in(staff_browser, site, business["tenant"]["owner_email"])

    # Book: find the client, choose service, staff member and day, then a free time.
    staff_browser.get(site.at("/schedule"))
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Book an appointment"))
    staff_browser.find_element(By.ID, "q").send_keys("Lea")
    submit(staff_browser, "Find client")
    assert staff_browser.find_element(By.XPATH, "//label[contains(., 'Lea Brandt')]")
    Select(staff_browser.find_element(By.ID, "staff_id")).select_by_visible_text("Stylist 1")
    set_value(staff_browser, "on", day.isoformat())
    submit(staff_browser, "Find client")
    free = [e.text for e in staff_browser.find_elements(By.CSS_SELECTOR, ".slots label")]
    assert free and re.match(r"9:00\sAM", free[0]) and re.match(r"4:00\sPM", free[-1]), free
    check_page(staff_browser, site, "staff-book")
    staff_browser.find_element(By.XPATH, "//label[starts-with(normalize-space(), '10:00')]").click()
    staff_browser.find_element(By.ID, "notes").send_keys("First visit")
    submit(staff_browser, "Continue")
    # Before booking: what pays (no credits for this service) and the terms (free until 48 hours before).
    page = text(staff_browser)
    assert "Not paid with credits" in page and "€45.00" in page, page
    two_days_before = datetime.fromisoformat(at(day - timedelta(days=2), 10))
    assert re.search(rf"Cancelling is free until .*{two_days_before.day}, .*10:00\sAM", page), page
    assert "a fee of 50 % of the price" in page and "Not coming costs a fee of €45.00." in page, page
    check_page(staff_browser, site, "staff-book-confirm")
    submit(staff_browser, "Book")
    assert "The appointment is booked." in text(staff_browser)
    column = staff_browser.find_element(By.XPATH, "//section[h2[normalize-space()='Stylist 1']]")
    assert re.search(r"10:00\sAM", column.text) and "Lea Brandt" in column.text, column.text
    status, page, _ = await site.api.call("GET", f"/api/v1/clients/{client['id']}/appointments", token=token)
    (appointment,) = page["items"]
    assert instant(appointment["start"]) == instant(at(day, 10)), appointment
    assert appointment["segments"][0]["staff_id"] == business["staff_ids"][1]

    # The schedule per staff member: only Stylist 1's column.
    Select(staff_browser.find_element(By.ID, "staff")).select_by_visible_text("Stylist 1")
    submit(staff_browser, "Show")
    assert [h.text for h in staff_browser.find_elements(By.CSS_SELECTOR, ".columns h2")] == ["Stylist 1"]

    # Reschedule by choosing a slot the next day.
    staff_browser.find_element(By.XPATH, "//summary[starts-with(normalize-space(), 'Actions')]").click()
    follow(staff_browser, staff_browser.find_element(By.PARTIAL_LINK_TEXT, "Reschedule"))
    follow(staff_browser, staff_browser.find_element(By.PARTIAL_LINK_TEXT, "Next day"))
    check_page(staff_browser, site, "staff-reschedule")
    staff_browser.find_element(By.XPATH, "//label[starts-with(normalize-space(), '2:30')]").click()
    submit(staff_browser, "Move the appointment")
    assert "The appointment is moved." in text(staff_browser)
    status, moved, _ = await site.api.call("GET", f"/api/v1/appointments/{appointment['id']}", token=token)
    assert (status, instant(moved["start"])) == (200, instant(at(day + timedelta(days=1), 14, 30))), moved

    # A weekly series at 10:00 from the day: the week the business is closed clashes; it is skipped.
    closed = day + timedelta(days=7)
    status, exception, _ = await site.api.call(
        "POST",
        "/api/v1/schedule-exceptions",
        token=token,
        json={"day": closed.isoformat(), "available": False, "label": "Closed"},
    )
    assert status == 201, exception
    staff_browser.get(site.at(f"/recurring-series/new?client_id={client['id']}"))
    Select(staff_browser.find_element(By.ID, "staff_id")).select_by_visible_text("Stylist 0")
    set_value(staff_browser, "first_day", day.isoformat())
    set_value(staff_browser, "first_time", "10:00")
    count = staff_browser.find_element(By.ID, "count")
    count.clear()
    count.send_keys("4")
    submit(staff_browser, "Preview")
    preview = text(staff_browser)
    assert "4 appointments, 1 clashing" in preview and "Clash" in preview, preview
    assert "What pays for the first appointment" in preview and "Not paid with credits" in preview, preview
    check_page(staff_browser, site, "staff-series-preview")
    assert staff_browser.find_element(By.XPATH, "//input[@value='skip']").is_selected()
    submit(staff_browser, "Book the series")
    page = text(staff_browser)
    assert "The series is booked: 3 appointments." in page and "skipped" in page, page
    check_page(staff_browser, site, "staff-series")
    status, listed, _ = await site.api.call("GET", f"/api/v1/clients/{client['id']}/recurring-series", token=token)
    (series,) = listed["items"]
    assert series["rrule"] == "FREQ=WEEKLY;COUNT=4" and series["dtstart"] == f"{day.isoformat()}T10:00", series

    # The first occurrence alone moves to 11:30 the same day by choosing a free time; it stays in the series.
    follow(staff_browser, staff_browser.find_elements(By.PARTIAL_LINK_TEXT, "Move")[0])
    check_page(staff_browser, site, "staff-series-move")
    staff_browser.find_element(By.XPATH, "//label[starts-with(normalize-space(), '11:30')]").click()
    submit(staff_browser, "Move")
    assert "Moved: 1 appointment." in text(staff_browser), text(staff_browser)
    _, occurrences, _ = await site.api.call("GET", f"/api/v1/recurring-series/{series['id']}/occurrences", token=token)
    first = occurrences["items"][0]
    assert instant(first["appointment"]["start"]) == instant(at(day, 11, 30)), first

    # The third and following ones (the third and fourth weeks) are cancelled from the series page.
    summaries = staff_browser.find_elements(By.XPATH, "//summary[starts-with(normalize-space(), 'Cancel')]")
    assert len(summaries) == 3
    summaries[1].click()
    form = staff_browser.find_elements(By.CSS_SELECTOR, "details.menu form")[1]
    Select(form.find_element(By.NAME, "scope")).select_by_visible_text("This and the following ones")
    form.find_element(By.NAME, "reason").send_keys("Course ends early")
    page_now = staff_browser.find_element(By.TAG_NAME, "html")
    form.find_element(By.TAG_NAME, "button").click()
    WebDriverWait(staff_browser, 15).until(replaced(page_now))
    assert "Cancelled: 2 appointments." in text(staff_browser), text(staff_browser)
    _, occurrences, _ = await site.api.call("GET", f"/api/v1/recurring-series/{series['id']}/occurrences", token=token)
    states = [o["state"] for o in occurrences["items"]]
    assert states.count("cancelled") == 2 and states.count("booked") == 1, states


async def test_settings_services_hours_rules_portal_fields_and_staff_members(
    site: Site, staff_browser: WebDriver
) -> None:
    business = await open_business(site.api)  # Berlin, Stylist 0 (the owner) works 9-17, a "Haircut"
    token = business["token"]
    staff_sign_in(staff_browser, site, business["tenant"]["owner_email"])
    staff_browser.get(site.at("/today"))
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Settings"))
    check_page(staff_browser, site)

    # Services: a price typed in the viewer's locale is kept exactly in minor units.
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Services"))
    staff_browser.find_element(By.ID, "name").send_keys("Beard trim")
    duration = staff_browser.find_element(By.ID, "duration_minutes")
    duration.clear()
    duration.send_keys("30")
    staff_browser.find_element(By.ID, "price").send_keys("1,030.50")
    currency = staff_browser.find_element(By.ID, "currency")
    currency.clear()
    currency.send_keys("EUR")
    submit(staff_browser, "Add service")
    page = text(staff_browser)
    assert "Beard trim is added." in page and "€1,030.50" in page and "30 min" in page, page
    check_page(staff_browser, site, "staff-settings-services")
    _, services, _ = await site.api.call("GET", "/api/v1/services", token=token)
    (trim,) = [s for s in services["items"] if s["name"] == "Beard trim"]
    assert trim["price"] == {"amount_minor": 103050, "currency": "EUR"} and trim["staff_ids"] == business["staff_ids"]

    # Staff hours: Monday shortened; a holiday for the whole business.
    staff_browser.get(site.at("/settings/hours"))
    set_value(staff_browser, f"end-{business['staff_ids'][0]}-0", "12:00")
    submit(staff_browser, "Save hours")
    assert "hours are saved" in text(staff_browser)
    _, schedule, _ = await site.api.call("GET", f"/api/v1/staff-schedules/{business['staff_ids'][0]}", token=token)
    monday = next(d for d in schedule["weekly_hours"] if d["weekday"] == 0)
    assert monday["ranges"] == [{"start": "09:00", "end": "12:00"}], schedule
    holiday = business["day"] + timedelta(days=3)
    set_value(staff_browser, "exception-day", holiday.isoformat())
    staff_browser.find_element(By.ID, "exception-label").send_keys("Staff training")
    submit(staff_browser, "Add exception")
    page = text(staff_browser)
    assert "The exception is added." in page and "Whole business" in page and "Staff training" in page, page
    check_page(staff_browser, site, "staff-settings-hours")

    # Booking rules: the cancellation notice in hours.
    staff_browser.get(site.at("/settings/booking-rules"))
    notice = staff_browser.find_element(By.ID, "cancellation_notice_hours")
    notice.clear()
    notice.send_keys("48")
    submit(staff_browser, "Save booking rules")
    assert "The booking rules are saved." in text(staff_browser)
    check_page(staff_browser, site)
    _, rules, _ = await site.api.call("GET", "/api/v1/scheduling/settings", token=token)
    assert rules["cancellation_notice_minutes"] == 48 * 60 and rules["timezone"] == "Europe/Berlin", rules

    # Portal permissions by default: invoices hidden.
    staff_browser.get(site.at("/settings/portal"))
    staff_browser.find_element(By.XPATH, "//label[@for='default-view_invoices']").click()
    submit(staff_browser, "Save portal permissions")
    assert "The portal permissions are saved." in text(staff_browser)
    check_page(staff_browser, site)
    _, defaults, _ = await site.api.call("GET", "/api/v1/portal-settings", token=token)
    assert defaults["view_invoices"] is False, defaults

    # Client statuses and custom fields.
    staff_browser.get(site.at("/settings/client-fields"))
    staff_browser.find_element(By.ID, "status-label").send_keys("Regular")
    submit(staff_browser, "Add status")
    page_now = staff_browser.find_element(By.TAG_NAME, "html")
    staff_browser.find_element(By.XPATH, "//li[starts-with(normalize-space(), 'Regular')]//button").click()
    WebDriverWait(staff_browser, 15).until(replaced(page_now))
    assert "New clients now get this status." in text(staff_browser)
    staff_browser.find_element(By.ID, "field-label").send_keys("Hair type")
    Select(staff_browser.find_element(By.ID, "field-type")).select_by_visible_text("One of a list")
    staff_browser.find_element(By.ID, "field-options").send_keys("straight, wavy, curly")
    submit(staff_browser, "Add field")
    page = text(staff_browser)
    assert "Hair type is added." in page and "straight, wavy, curly" in page, page
    check_page(staff_browser, site, "staff-settings-client-fields")
    _, statuses, _ = await site.api.call("GET", "/api/v1/client-statuses", token=token)
    assert [s["label"] for s in statuses["items"] if s["is_default"]] == ["Regular"], statuses

    # Staff members: invite, change the role, deactivate and reactivate.
    staff_browser.get(site.at("/settings/staff"))
    staff_browser.find_element(By.ID, "invite-email").send_keys("jo@example.com")
    staff_browser.find_element(By.ID, "invite-name").send_keys("Jo")
    submit(staff_browser, "Send invitation")
    assert "An invitation is sent to jo@example.com." in text(staff_browser)
    _, members, _ = await site.api.call("GET", "/api/v1/staff", token=token)
    (jo,) = [m for m in members["items"] if m["email"] == "jo@example.com"]
    assert (jo["role"], jo["status"]) == ("staff", "invited")
    Select(staff_browser.find_element(By.ID, f"role-{jo['id']}")).select_by_visible_text("admin")
    page_now = staff_browser.find_element(By.TAG_NAME, "html")
    staff_browser.find_element(By.XPATH, f"//form[@action='/settings/staff/{jo['id']}/role']//button").click()
    WebDriverWait(staff_browser, 15).until(replaced(page_now))
    assert "The role is now admin." in text(staff_browser)
    submit(staff_browser, "Deactivate")
    assert "The staff member is deactivated." in text(staff_browser)
    check_page(staff_browser, site, "staff-settings-staff")
    submit(staff_browser, "Reactivate")
    assert "The staff member is reactivated." in text(staff_browser)
    _, seen, _ = await site.api.call("GET", f"/api/v1/staff/{jo['id']}", token=token)
    assert seen["role"] == "admin" and seen["status"] != "deactivated", seen


async def test_billing_invoice_created_issued_paid_refunded_and_another_voided(
    site: Site, staff_browser: WebDriver
) -> None:
    business = await open_business(site.api)
    token = business["token"]
    client = await site.api.create_client(token, first_name="Tomas", last_name="Novak")
    staff_sign_in(staff_browser, site, business["tenant"]["owner_email"])
    staff_browser.get(site.at("/billing"))
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "New invoice"))
    staff_browser.find_element(By.ID, "q").send_keys("Novak")
    submit(staff_browser, "Find client")
    submit(staff_browser, "Choose client")
    currency = staff_browser.find_element(By.ID, "currency")
    currency.clear()
    currency.send_keys("EUR")
    staff_browser.find_element(By.ID, "description-0").send_keys("Colour")
    staff_browser.find_element(By.ID, "price-0").send_keys("80")
    staff_browser.find_element(By.ID, "description-1").send_keys("Conditioner")
    quantity = staff_browser.find_element(By.ID, "quantity-1")
    quantity.clear()
    quantity.send_keys("2")
    staff_browser.find_element(By.ID, "price-1").send_keys("12.50")
    check_page(staff_browser, site, "staff-invoice-new")
    submit(staff_browser, "Save draft")
    page = text(staff_browser)
    assert "The draft invoice is saved." in page and "€105.00" in page and "Tomas Novak" in page, page
    # The draft changed: its lines come back filled in, and are replaced whole.
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Change the draft"))
    assert staff_browser.find_element(By.ID, "price-1").get_attribute("value") == "12.5"
    description = staff_browser.find_element(By.ID, "description-0")
    description.clear()
    description.send_keys("Colour and gloss")
    check_page(staff_browser, site, "staff-invoice-draft-edit")
    submit(staff_browser, "Save changes")
    page = text(staff_browser)
    assert "The draft invoice is saved." in page and "Colour and gloss" in page and "€105.00" in page, page
    submit(staff_browser, "Issue invoice")
    page = text(staff_browser)
    assert "The invoice is issued." in page and "issued" in page, page
    amount = staff_browser.find_element(By.ID, "amount")
    assert amount.get_attribute("value") == "105"
    amount.clear()
    amount.send_keys("40")
    Select(staff_browser.find_element(By.ID, "method")).select_by_visible_text("Cash")
    submit(staff_browser, "Record payment")
    page = text(staff_browser)
    assert "The payment is recorded." in page and "partially paid" in page and "€65.00 outstanding" in page, page
    check_page(staff_browser, site, "staff-invoice")
    _, listed, _ = await site.api.call("GET", "/api/v1/invoices", token=token, params={"client_id": client["id"]})
    (invoice,) = listed["items"]
    assert (invoice["status"], invoice["paid_minor"], invoice["total_minor"]) == ("partially_paid", 4000, 10500)

    # The payment is refunded from the payments list; the invoice is open again.
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Payments"))
    staff_browser.find_element(By.XPATH, "//input[@name='reason']").send_keys("Charged twice")
    submit(staff_browser, "Refund")
    page = text(staff_browser)
    assert "The payment is refunded." in page and "Charged twice" in page, page
    check_page(staff_browser, site, "staff-payments")
    _, seen, _ = await site.api.call("GET", f"/api/v1/invoices/{invoice['id']}", token=token)
    assert (seen["status"], seen["outstanding_minor"]) == ("issued", 10500), seen

    # The invoice list by status; then it is voided with a reason.
    staff_browser.get(site.at("/billing?status=issued"))
    assert "Tomas Novak" in text(staff_browser)
    check_page(staff_browser, site, "staff-invoices")
    follow(staff_browser, staff_browser.find_element(By.PARTIAL_LINK_TEXT, str(seen["number"])))
    staff_browser.find_element(By.ID, "reason").send_keys("Issued to the wrong client")
    submit(staff_browser, "Void invoice")
    assert "The invoice is void." in text(staff_browser)
    _, seen, _ = await site.api.call("GET", f"/api/v1/invoices/{invoice['id']}", token=token)
    assert seen["status"] == "void", seen


async def test_a_skipped_message_is_listed_with_its_reason_and_sent_again_once_the_address_is_known(
    site: Site, mailbox: Mailbox, staff_browser: WebDriver
) -> None:
    business = await open_business(site.api)
    token, day, service = business["token"], business["day"], business["service"]
    client = await site.api.create_client(token, first_name="Nils", last_name="Berg")  # no email yet
    status, booked, _ = await site.api.call(
        "POST",
        "/api/v1/appointments",
        token=token,
        json={"client_id": client["id"], "segments": [{"service_id": service["id"]}], "start": at(day, 9)},
    )
    assert status == 201, booked

    async def skipped() -> list[dict[str, Any]]:
        _, found, _ = await site.api.call(
            "GET", "/api/v1/messages", token=token, params={"client_id": client["id"], "status": "skipped"}
        )
        return list(found["items"])

    (message,) = await wait_until(skipped, timeout=60)
    staff_sign_in(staff_browser, site, business["tenant"]["owner_email"])
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Messages"))
    Select(staff_browser.find_element(By.ID, "status")).select_by_visible_text("Skipped")
    submit(staff_browser, "Show")
    row = staff_browser.find_element(By.XPATH, "//tbody/tr[td//a[normalize-space()='Nils Berg']]")
    assert "no email address" in row.text, row.text
    check_page(staff_browser, site, "staff-messages")

    status, _, _ = await site.api.call(
        "PATCH", f"/api/v1/clients/{client['id']}", token=token, json={"email": "nils@example.com"}
    )
    assert status == 200
    submit(staff_browser, "Send again")
    assert "The message is sent again." in text(staff_browser)

    async def delivered() -> bool:
        _, seen, _ = await site.api.call("GET", "/api/v1/messages", token=token, params={"client_id": client["id"]})
        return any(m["id"] == message["id"] and m["status"] in ("sent", "delivered") for m in seen["items"])

    await wait_until(delivered, timeout=60)
    await wait_until(lambda: bool(mailbox.to("nils@example.com")), timeout=30)


async def test_reminder_rules_are_set_for_the_business_and_back_to_the_default(
    site: Site, staff_browser: WebDriver
) -> None:
    business = await open_business(site.api)
    token = business["token"]
    staff_sign_in(staff_browser, site, business["tenant"]["owner_email"])
    staff_browser.get(site.at("/settings/reminders"))
    assert "The business follows the default reminders." in text(staff_browser)
    offsets = staff_browser.find_element(By.ID, "offsets")
    offsets.clear()
    offsets.send_keys("2d, 3h")
    set_value(staff_browser, "quiet_start", "21:00")
    set_value(staff_browser, "quiet_end", "08:00")
    submit(staff_browser, "Save reminders")
    assert "The reminders are saved." in text(staff_browser)
    check_page(staff_browser, site, "staff-settings-reminders")
    _, rules, _ = await site.api.call("GET", "/api/v1/reminder-rules", token=token)
    rule = rules["items"][0]
    assert (rule["offsets"], rule["quiet_hours"], rule["is_default"]) == (
        ["2d", "3h"],
        {"start": "21:00", "end": "08:00"},
        False,
    ), rule
    submit(staff_browser, "Use the default reminders")
    assert "The default reminders apply." in text(staff_browser)
    _, rules, _ = await site.api.call("GET", "/api/v1/reminder-rules", token=token)
    assert rules["items"][0]["is_default"] is True, rules


async def test_a_message_is_reworded_previewed_refused_when_wrong_saved_and_reset(
    site: Site, staff_browser: WebDriver
) -> None:
    business = await open_business(site.api)
    token = business["token"]
    staff_sign_in(staff_browser, site, business["tenant"]["owner_email"])
    staff_browser.get(site.at("/settings/messages"))
    check_page(staff_browser, site, "staff-settings-messages")
    follow(
        staff_browser,
        staff_browser.find_element(By.CSS_SELECTOR, "a[href='/settings/messages/appointment.reminder/de']"),
    )
    assert staff_browser.find_element(By.ID, "preview-subject").text.startswith("Erinnerung")
    source = staff_browser.find_element(By.ID, "source")
    source.send_keys("{% block subject %}{{ secret }}{% endblock %}")
    submit(staff_browser, "Save wording")
    assert staff_browser.find_element(By.ID, "source-error").text
    check_page(staff_browser, site)
    source = staff_browser.find_element(By.ID, "source")
    source.clear()
    source.send_keys("{% block subject %}Bis bald, {{ name }}{% endblock %}")
    submit(staff_browser, "Preview")
    assert staff_browser.find_element(By.ID, "preview-subject").text == "Bis bald, Ada Lovelace"
    _, listed, _ = await site.api.call("GET", "/api/v1/message-templates", token=token)
    assert [k["overridden"] for k in listed["items"] if k["kind"] == "appointment.reminder"] == [[]]
    submit(staff_browser, "Save wording")
    assert "The wording is saved." in text(staff_browser) and "reworded" in text(staff_browser)
    check_page(staff_browser, site, "staff-settings-message-wording")
    _, listed, _ = await site.api.call("GET", "/api/v1/message-templates", token=token)
    assert [k["overridden"] for k in listed["items"] if k["kind"] == "appointment.reminder"] == [["de"]]
    submit(staff_browser, "Back to the default wording")
    assert "The default wording applies." in text(staff_browser)
    assert staff_browser.find_element(By.ID, "preview-subject").text.startswith("Erinnerung")


async def test_manage_groups_assign_staff_custom_fields_the_list_filters_and_the_waitlist_override(
    site: Site, staff_browser: WebDriver
) -> None:
    business = await open_business(site.api, staff=2)  # Stylist 0 (the owner) and Stylist 1
    token, service, stylist_1 = business["token"], business["service"], business["staff_ids"][1]
    ada = await site.api.create_client(token, first_name="Ada", last_name="Lovelace", email="ada@example.com")
    await site.api.create_client(token, first_name="Grace", last_name="Hopper")
    status, allergies, _ = await site.api.call(
        "POST", "/api/v1/custom-fields", token=token, json={"label": "Allergies", "type": "text"}
    )
    assert status == 201, allergies
    staff_sign_in(staff_browser, site, business["tenant"]["owner_email"])

    # Manage groups: create one, add Ada found by search, assign Stylist 1 to it.
    staff_browser.get(site.at("/clients"))
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Manage groups"))
    check_page(staff_browser, site, "staff-groups")
    staff_browser.find_element(By.ID, "group-name").send_keys("Regulars")
    submit(staff_browser, "Create group")
    assert "The group Regulars is created." in text(staff_browser)
    staff_browser.find_element(By.ID, "q").send_keys("Ada")
    submit(staff_browser, "Find")
    staff_browser.find_element(By.XPATH, f"//label[@for='candidate-{ada['id']}']").click()
    submit(staff_browser, "Add to the group")
    assert "1 client added to the group. It has 1 now." in text(staff_browser)
    staff_browser.find_element(By.XPATH, f"//label[@for='staff-{stylist_1}']").click()
    submit(staff_browser, "Save assigned staff")
    assert "The group's assigned staff are saved." in text(staff_browser)
    check_page(staff_browser, site, "staff-group")

    # The list filtered by the group, and by the staff member assigned through it.
    staff_browser.get(site.at("/clients"))
    Select(staff_browser.find_element(By.ID, "group_id")).select_by_visible_text("Regulars")
    submit(staff_browser, "Search")
    rows = staff_browser.find_element(By.ID, "client-rows").text
    assert "Ada Lovelace" in rows and "Grace Hopper" not in rows, rows
    Select(staff_browser.find_element(By.ID, "group_id")).select_by_visible_text("Any")
    Select(staff_browser.find_element(By.ID, "assigned_to")).select_by_visible_text("Stylist 1")
    submit(staff_browser, "Search")
    rows = staff_browser.find_element(By.ID, "client-rows").text
    assert "Ada Lovelace" in rows and "Grace Hopper" not in rows, rows

    # Edit: a custom field and Stylist 0 assigned directly; the card shows both.
    staff_browser.get(site.at(f"/clients/{ada['id']}/edit"))
    staff_browser.find_element(By.ID, f"custom.{allergies['key']}").send_keys("Lavender oil")
    staff_browser.find_element(By.XPATH, f"//label[@for='staff-{business['staff_ids'][0]}']").click()
    submit(staff_browser, "Save details")
    information = staff_browser.find_element(By.XPATH, "//section[h2[normalize-space()='Client information']]").text
    assert "Allergies" in information and "Lavender oil" in information, information
    assert business["tenant"]["owner_email"] in information and "(through a group)" in information, information
    status, saved, _ = await site.api.call("GET", f"/api/v1/clients/{ada['id']}", token=token)
    assert saved["custom_fields"] == {allergies["key"]: "Lavender oil"}, saved
    assert saved["assigned_staff_ids"] == [business["staff_ids"][0]], saved

    # Blocked from online booking on the card; so putting her on the waitlist needs the staff override.
    staff_browser.find_element(By.ID, "block-reason").send_keys("Two late cancellations")
    submit(staff_browser, "Block online booking")
    assert "Online booking is blocked." in text(staff_browser)
    assert staff_browser.find_element(By.XPATH, "//button[normalize-space()='Unblock online booking']")
    status, blocked, _ = await site.api.call("GET", f"/api/v1/clients/{ada['id']}", token=token)
    assert blocked["online_booking_blocked"] is True, blocked
    staff_browser.get(site.at("/schedule"))
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Waitlist"))
    follow(staff_browser, staff_browser.find_element(By.LINK_TEXT, "Put a client on the waitlist"))
    staff_browser.find_element(By.ID, "q").send_keys("Ada")
    submit(staff_browser, "Find client")
    submit(staff_browser, "Choose client")
    Select(staff_browser.find_element(By.ID, "service_id")).select_by_visible_text("Haircut (1 h)")
    set_value(staff_browser, "from_date", business["day"].isoformat())
    set_value(staff_browser, "to_date", (business["day"] + timedelta(days=7)).isoformat())
    submit(staff_browser, "Put on the waitlist")
    assert "This client is blocked from booking online." in text(staff_browser)
    check_page(staff_browser, site, "staff-waitlist-refused")
    staff_browser.find_element(By.XPATH, "//label[@for='override_booking_rules']").click()
    submit(staff_browser, "Put on the waitlist")
    page = text(staff_browser)
    assert "The client is on the waitlist" in page and "Ada Lovelace" in page, page
    assert "booking rules overridden" in page and "Haircut" in page, page
    check_page(staff_browser, site, "staff-waitlist")
    status, entries, _ = await site.api.call("GET", "/api/v1/waitlist", token=token, params={"client_id": ada["id"]})
    (entry,) = entries["items"]
    assert (entry["status"], entry["booking_rules_overridden"], entry["service_id"]) == ("waiting", True, service["id"])
    submit(staff_browser, "Take off the list")
    assert "The client is off the waitlist." in text(staff_browser)
    status, entries, _ = await site.api.call("GET", "/api/v1/waitlist", token=token, params={"client_id": ada["id"]})
    assert [e["status"] for e in entries["items"]] == ["left"], entries
