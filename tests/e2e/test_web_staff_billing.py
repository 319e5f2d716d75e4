"""The staff console's memberships and cancellation policy in a real browser: a membership defined (a wrong
currency refused, named), a client registered from the card's Memberships tab with its invoice issued, frozen,
resumed, renewed and cancelled; the membership card and the invoice as PDF; the cancellation policy set (a
half-given repeat rule refused, nothing changed), shown in words, and removed; a campaign written to a tag (an
email without a subject refused beside the field), its audience counted, sent once and reported; the payment
reminder rule set and back to the default; credit types and a package defined, the package sold to a client and
credits charged by hand, the client's holdings shown lot by lot.

Each page is checked by axe-core (no serious or critical violations); the main ones are screenshotted.
"""

from __future__ import annotations

import re
import uuid

import aiohttp
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from platform_dev.testing.plugin import wait_until

from .mailbox import Mailbox
from .test_scheduling import open_business
from .test_web_browser import (
    Site,
    absent,
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

__all__ = ["pytestmark", "site", "staff_browser"]  # fixtures and the Chromium skip, shared


async def pdf_at(driver: WebDriver, href: str) -> bytes:
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    async with aiohttp.ClientSession(cookies=cookies) as session, session.get(href) as response:
        assert (response.status, response.content_type) == (200, "application/pdf")
        assert "attachment" in response.headers["Content-Disposition"]
        return await response.read()


def fill(driver: WebDriver, element_id: str, value: str) -> None:
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(value)


async def test_memberships_defined_registered_frozen_resumed_renewed_cancelled_with_pdfs(
    site: Site, staff_browser: WebDriver
) -> None:
    business = await open_business(site.api)
    token = business["token"]
    client = await site.api.create_client(token, first_name="Lena", last_name="Vogel")
    status, pass_type, _ = await site.api.call(
        "POST", "/api/v1/credit-types", token=token, json={"name": "Class pass", "unit": "session"}
    )
    assert status == 201, pass_type
    status, package, _ = await site.api.call(
        "POST",
        "/api/v1/packages",
        token=token,
        json={
            "name": "Ten classes",
            "allocations": [{"credit_type_id": pass_type["id"], "amount": 10}],
            "price_minor": 0,
            "currency": "EUR",
        },
    )
    assert status == 201, package
    browser = staff_browser
    staff_sign_in(browser, site, business["tenant"]["owner_email"])

    # Define: a wrong currency is refused naming it; then the membership is listed.
    browser.get(site.at("/billing"))
    follow(browser, browser.find_element(By.LINK_TEXT, "Memberships"))
    assert "No memberships yet." in text(browser)
    browser.find_element(By.ID, "name").send_keys("Gold month")
    Select(browser.find_element(By.ID, "package_id")).select_by_visible_text("Ten classes")
    fill(browser, "price", "90")
    fill(browser, "currency", "ZZZ")
    fill(browser, "tolerance_days", "3")
    check_page(browser, site, "staff-memberships-define")
    submit(browser, "Define membership")
    assert "Not saved: currency" in text(browser)
    status, listed, _ = await site.api.call("GET", "/api/v1/memberships", token=token)
    assert listed["items"] == []
    browser.find_element(By.ID, "name").send_keys("Gold month")
    Select(browser.find_element(By.ID, "package_id")).select_by_visible_text("Ten classes")
    fill(browser, "price", "90")
    fill(browser, "currency", "EUR")
    fill(browser, "tolerance_days", "3")
    submit(browser, "Define membership")
    page = text(browser)
    assert "Gold month is defined." in page and "Ten classes" in page and "€90.00" in page, page
    check_page(browser, site, "staff-memberships")

    # Register from the card: its invoice is issued with it.
    browser.get(site.at(f"/clients/{client['id']}"))
    follow(browser, browser.find_element(By.LINK_TEXT, "Memberships"))
    assert "No memberships." in text(browser)
    submit(browser, "Register")
    page = text(browser)
    assert "Registered for Gold month. Its invoice is issued." in page, page
    assert "Active" in page and "10 of 10 left" in page, page
    check_page(browser, site, "staff-card-memberships")
    subscriptions = f"/api/v1/clients/{client['id']}/subscriptions"
    _, found, _ = await site.api.call("GET", subscriptions, token=token)
    [subscription] = found["items"]
    _, invoice, _ = await site.api.call("GET", f"/api/v1/invoices/{subscription['invoice_id']}", token=token)
    assert (invoice["status"], invoice["total_minor"]) == ("issued", 9000), invoice

    async def status_now() -> str:
        _, seen, _ = await site.api.call("GET", f"/api/v1/subscriptions/{subscription['id']}", token=token)
        return str(seen["status"])

    # Freeze for two weeks, resume, renew, then cancel with a reason.
    browser.find_element(By.XPATH, "//summary[starts-with(normalize-space(), 'Freeze')]").click()
    fill(browser, f"days-{subscription['id']}", "14")
    fill(browser, f"freeze-reason-{subscription['id']}", "Travelling")
    submit(browser, "Freeze")
    page = text(browser)
    assert "The membership is frozen." in page and "Frozen" in page and "Travelling" in page, page
    assert await status_now() == "frozen"
    check_page(browser, site, "staff-card-membership-frozen")
    submit(browser, "Resume")
    assert "The membership is resumed." in text(browser) and await status_now() == "active"
    submit(browser, "Renew automatically")
    assert "It renews automatically now." in text(browser)
    submit(browser, "Renew")
    assert "The membership is renewed." in text(browser)
    _, seen, _ = await site.api.call("GET", f"/api/v1/subscriptions/{subscription['id']}", token=token)
    assert (len(seen["periods"]), seen["auto_renew"]) == (2, True), seen
    browser.find_element(By.XPATH, "//summary[starts-with(normalize-space(), 'Cancel')]").click()
    fill(browser, f"cancel-reason-{subscription['id']}", "Moved away")
    submit(browser, "Cancel the membership")
    page = text(browser)
    assert "The membership is cancelled." in page and "Moved away" in page, page
    assert await status_now() == "cancelled"
    assert absent(browser, By.XPATH, "//button[starts-with(normalize-space(), 'Renew')]")

    # The membership card and the latest invoice as PDF.
    card = browser.find_element(By.LINK_TEXT, "Print the membership card (PDF)").get_attribute("href") or ""
    assert (await pdf_at(browser, card))[:5] == b"%PDF-"
    follow(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Latest invoice"))
    check_page(browser, site, "staff-invoice-with-pdf")
    pdf = browser.find_element(By.PARTIAL_LINK_TEXT, "Download PDF").get_attribute("href") or ""
    assert (await pdf_at(browser, pdf))[:5] == b"%PDF-"


async def test_the_cancellation_policy_is_set_shown_in_words_and_removed(site: Site, staff_browser: WebDriver) -> None:
    business = await open_business(site.api)
    token = business["token"]
    browser = staff_browser
    staff_sign_in(browser, site, business["tenant"]["owner_email"])
    browser.get(site.at("/settings"))
    follow(browser, browser.find_element(By.LINK_TEXT, "Cancellation and no-show policy"))
    assert "No policy: cancelling and not coming are free." in text(browser)
    check_page(browser, site, "staff-cancellation-policy-none")

    def set_policy() -> None:
        fill(browser, "currency", "EUR")
        fill(browser, "window-0-within", "48")
        Select(browser.find_element(By.ID, "window-0-kind")).select_by_visible_text("A fee")
        fill(browser, "window-0-percent", "50")
        fill(browser, "window-1-within", "1")
        Select(browser.find_element(By.ID, "window-1-unit")).select_by_visible_text(
            "days before, on the appointment's clock"
        )
        Select(browser.find_element(By.ID, "window-1-kind")).select_by_visible_text("A fee")
        fill(browser, "window-1-fee", "30")
        Select(browser.find_element(By.ID, "no_show-kind")).select_by_visible_text("Credits kept")
        fill(browser, "no_shows", "3")

    # Half of the repeat rule is refused, naming what is missing; nothing is saved.
    set_policy()
    submit(browser, "Save the policy")
    assert "Not saved: period days" in text(browser)
    status, policies, _ = await site.api.call("GET", "/api/v1/cancellation-policy", token=token)
    assert (status, policies["business"]) == (200, None)
    set_policy()
    set_value(browser, "period_days", "30")
    set_value(browser, "block_days", "14")
    submit(browser, "Save the policy")
    page = text(browser)
    assert "The cancellation policy is saved." in page, page
    assert "Cancelled later than 48 hours before: a fee of 50 % of the price" in page, page
    assert "Cancelled later than 1 days (on the appointment's clock) before: a fee of €30.00" in page, page
    assert "Not coming: 100 % of the visit's credits kept" in page, page
    assert "3 no-shows within 30 days block online booking for 14 days." in page, page
    check_page(browser, site, "staff-cancellation-policy")
    status, policies, _ = await site.api.call("GET", "/api/v1/cancellation-policy", token=token)
    business_policy = policies["business"]
    assert [(w["within_hours"], w["within_days"]) for w in business_policy["windows"]] == [(48, None), (None, 1)]
    assert business_policy["windows"][1]["outcome"]["fee"] == {"amount_minor": 3000, "currency": "EUR"}
    assert business_policy["repeat_no_shows"] == {
        "no_shows": 3,
        "period_days": 30,
        "block_days": 14,
        "outcome": "block_online_booking",
    }
    # The form shows what is in force, ready to change.
    assert browser.find_element(By.ID, "window-1-fee").get_attribute("value") == "30"

    submit(browser, "Remove the policy")
    assert "The cancellation policy is removed" in text(browser)
    status, policies, _ = await site.api.call("GET", "/api/v1/cancellation-policy", token=token)
    assert policies["business"] is None


async def test_a_campaign_is_written_counted_sent_and_reported_and_payment_reminders_set(
    site: Site, staff_browser: WebDriver, mailbox: Mailbox
) -> None:
    business = await open_business(site.api)
    token = business["token"]
    tag = f"spring-{uuid.uuid4().hex[:6]}"
    mark = uuid.uuid4().hex[:6]
    people = [("Ada", f"ada-{mark}@example.com"), ("Bo", f"bo-{mark}@example.com"), ("Cy", None)]
    for first_name, email in people:
        client = await site.api.create_client(token, first_name=first_name, **({"email": email} if email else {}))
        status, body, _ = await site.api.call(
            "PUT", f"/api/v1/clients/{client['id']}/tags", token=token, json={"tags": [tag]}
        )
        assert status == 200, body
    browser = staff_browser
    staff_sign_in(browser, site, business["tenant"]["owner_email"])

    # Written as plain fields: an email without a subject is refused beside the field, the message kept.
    browser.get(site.at("/today"))
    follow(browser, browser.find_element(By.LINK_TEXT, "Campaigns"))
    assert "No campaigns yet." in text(browser)
    follow(browser, browser.find_element(By.LINK_TEXT, "New campaign"))
    browser.find_element(By.ID, "name").send_keys("Spring offer")
    browser.find_element(By.ID, "tag").send_keys(tag)
    browser.find_element(By.ID, "message").send_keys("Hello {{ name }}, 20% off this week at {{ business_name }}.")
    submit(browser, "Save draft")
    assert "An email needs a subject." in browser.find_element(By.ID, "subject-error").text
    assert browser.find_element(By.ID, "subject").get_attribute("aria-invalid") == "true"
    assert "20% off" in (browser.find_element(By.ID, "message").get_attribute("value") or "")
    check_page(browser, site, "staff-campaign-new")
    browser.find_element(By.ID, "subject").send_keys("Spring at {{ business_name }}")
    submit(browser, "Save draft")
    page = text(browser)
    assert "The campaign is saved as a draft." in page and "Draft" in page, page
    # Three tagged clients, one without an email address: two would get it.
    assert "2 of 3 matching clients would get it now." in page, page
    assert "1 without an email address" in page, page
    check_page(browser, site, "staff-campaign-draft")
    submit(browser, "Send the campaign")
    assert "The campaign is being sent." in text(browser)
    campaign_id = browser.current_url.rsplit("/", 1)[-1]

    async def sent() -> bool:
        _, seen, _ = await site.api.call("GET", f"/api/v1/campaigns/{campaign_id}", token=token)
        return bool(seen["status"] == "sent")

    await wait_until(sent, timeout=60)
    await wait_until(lambda: len(mailbox.to(people[0][1] or "")) == 1, timeout=30)
    browser.get(site.at(f"/campaigns/{campaign_id}"))
    report = browser.find_element(By.XPATH, "//section[@aria-labelledby='report-heading']").text
    assert re.search(r"Sent\s+2", report) and re.search(r"Skipped\s+1", report), report
    assert "The client has no email address on record: 1" in report, report
    assert absent(browser, By.XPATH, "//button[starts-with(normalize-space(), 'Send the campaign')]")
    check_page(browser, site, "staff-campaign-report")
    browser.get(site.at("/campaigns"))
    assert "Spring offer" in text(browser) and "Sent" in text(browser)

    # Payment reminders: three days before, on the day and a week overdue, by email, at 8:30.
    browser.get(site.at("/settings"))
    follow(browser, browser.find_element(By.LINK_TEXT, "Payment reminders"))
    assert "(the default)" in text(browser)
    fill(browser, "days", "7, -3, 0")
    set_value(browser, "send_at", "08:30")
    for channel in ("sms", "in_app"):
        box = browser.find_element(By.ID, f"channel-{channel}")
        if box.is_selected():
            box.click()
    if not browser.find_element(By.ID, "channel-email").is_selected():
        browser.find_element(By.ID, "channel-email").click()
    submit(browser, "Save payment reminders")
    page = text(browser)
    assert "The payment reminders are saved." in page, page
    assert "3 days before the due date, on the due date, 7 days overdue, by email, at 8:30" in page, page
    check_page(browser, site, "staff-payment-reminders")
    _, rule, _ = await site.api.call("GET", "/api/v1/payment-reminder-rule", token=token)
    assert (rule["days"], rule["channels"], rule["send_at"], rule["is_default"]) == (
        [-3, 0, 7],
        ["email"],
        "08:30",
        False,
    )
    submit(browser, "Back to the default")
    assert "back to the default" in text(browser)
    _, rule, _ = await site.api.call("GET", "/api/v1/payment-reminder-rule", token=token)
    assert rule["is_default"] is True


async def test_credit_types_and_a_package_defined_sold_and_credits_charged_to_a_client(
    site: Site, staff_browser: WebDriver
) -> None:
    business = await open_business(site.api)
    token = business["token"]
    client = await site.api.create_client(token, first_name="Noor", last_name=f"Haddad{uuid.uuid4().hex[:6]}")
    browser = staff_browser
    staff_sign_in(browser, site, business["tenant"]["owner_email"])

    # Two credit types: sessions, and money on account.
    browser.get(site.at("/billing"))
    follow(browser, browser.find_element(By.LINK_TEXT, "Credits and packages"))
    assert "No credit types yet" in text(browser)
    fill(browser, "type-name", "Massage 60")
    fill(browser, "type-unit", "session")
    submit(browser, "Define credit type")
    assert "Massage 60 is defined." in text(browser)
    fill(browser, "type-name", "Wallet")
    browser.find_element(By.ID, "type-money").click()
    fill(browser, "type-currency", "EUR")
    submit(browser, "Define credit type")
    assert "money on account, EUR" in text(browser)
    # Points, and a loyalty program: one point per €10 paid and five per visit.
    fill(browser, "type-name", "Points")
    fill(browser, "type-unit", "point")
    submit(browser, "Define credit type")
    assert "No loyalty program yet." in text(browser)
    Select(browser.find_element(By.ID, "points_credit_type_id")).select_by_visible_text("Points")
    fill(browser, "points_per_step", "1")
    fill(browser, "step", "10")
    fill(browser, "loyalty-currency", "EUR")
    fill(browser, "points_per_visit", "5")
    Select(browser.find_element(By.ID, "reward_credit_type_id")).select_by_visible_text("Massage 60")
    fill(browser, "points_per_reward_unit", "10")
    submit(browser, "Save the loyalty program")
    page = " ".join(text(browser).split())
    assert "The loyalty program is saved." in page and "1 for every €10.00 paid and 5 for each visit" in page, page

    # A package of ten sessions and €20 on account, valid 90 days, sold for €450 with its invoice issued.
    fill(browser, "package-name", "Ten massages")
    Select(browser.find_element(By.ID, "type-0")).select_by_visible_text("Massage 60")
    fill(browser, "amount-0", "10")
    Select(browser.find_element(By.ID, "type-1")).select_by_visible_text("Wallet")
    fill(browser, "amount-1", "20")
    fill(browser, "validity_days", "90")
    fill(browser, "package-price", "450")
    fill(browser, "package-currency", "EUR")
    check_page(browser, site, "staff-credits")
    submit(browser, "Define package")
    page = text(browser)
    assert "Ten massages is defined." in page and "10 session, €20.00 Wallet" in page and "90 days" in page, page
    _, packages, _ = await site.api.call("GET", "/api/v1/packages", token=token)
    (package,) = packages["items"]
    assert (package["price_minor"], package["currency"], [a["amount"] for a in package["allocations"]]) == (
        45000,
        "EUR",
        [10, 2000],
    )

    # The client: found, sold the package, charged five more sessions that expire.
    follow(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "A client's credits"))
    fill(browser, "q", client["last_name"])
    submit(browser, "Find")
    submit(browser, "Choose")
    assert "No credits held." in text(browser)
    check_page(browser, site, "staff-client-credits")
    submit(browser, "Sell package")
    assert "The package is sold." in text(browser)
    Select(browser.find_element(By.ID, "credit_type_id")).select_by_visible_text("Massage 60")
    fill(browser, "amount", "5")
    last_day = business["day"].isoformat()
    set_value(browser, "expires_on", last_day)
    fill(browser, "note", "Goodwill")
    submit(browser, "Charge credits")
    assert "The credits are charged." in text(browser)
    check_page(browser, site)
    _, held, _ = await site.api.call("GET", f"/api/v1/clients/{client['id']}/credits", token=token)
    available = {b["credit_type"]["name"]: b["available"] for b in held["balances"]}
    assert available == {"Massage 60": 15, "Wallet": 2000}
    table = browser.find_element(By.XPATH, "//table").text
    assert "15 session" in table and "5 session until" in table and "(Goodwill)" in table, table
    _, invoices, _ = await site.api.call("GET", "/api/v1/invoices", token=token, params={"client_id": client["id"]})
    assert [(i["status"], i["total_minor"]) for i in invoices["items"]] == [("issued", 45000)]

    # A haircut's visit takes one session (the service's page), so checking in for it uses one.
    _, types, _ = await site.api.call("GET", "/api/v1/credit-types", token=token)
    (massage,) = [t for t in types["items"] if t["name"] == "Massage 60"]
    client_page = browser.current_url
    browser.get(site.at(f"/settings/services/{business['service']['id']}"))
    fill(browser, f"units-{massage['id']}", "1")
    submit(browser, "Save what pays")
    assert "What pays for a visit is saved." in text(browser)

    # Checked in from the client's page for a haircut, then at the desk by the card's code (as a scanner types it).
    browser.get(client_page)
    Select(browser.find_element(By.ID, "check-in-service")).select_by_visible_text("Haircut")
    submit(browser, f"Check {client['first_name']} in")
    assert f"{client['first_name']} {client['last_name']} is checked in; used 1 session of Massage 60." in text(browser)
    _, card, _ = await site.api.call("GET", f"/api/v1/clients/{client['id']}/membership-card", token=token)
    follow(browser, browser.find_element(By.LINK_TEXT, "Check-in"))
    check_page(browser, site, "staff-check-in")
    browser.find_element(By.ID, "token").send_keys("not-a-card")
    submit(browser, "Check in")
    assert "Not checked in:" in text(browser)
    browser.find_element(By.ID, "token").send_keys(card["token"])
    submit(browser, "Check in")
    assert f"{client['first_name']} {client['last_name']} is checked in" in text(browser)
    assert "nothing was used" in text(browser)
    _, visits, _ = await site.api.call("GET", f"/api/v1/clients/{client['id']}/check-ins", token=token)
    assert sorted(v["method"] for v in visits["items"]) == ["card", "staff"]
    _, held, _ = await site.api.call("GET", f"/api/v1/clients/{client['id']}/credits", token=token)
    after = {b["credit_type"]["name"]: (b["available"], b["balance"]) for b in held["balances"]}
    assert (after.get("Massage 60"), after.get("Points")) == ((14, 14), (10, 10)), held  # five points a visit

    # The membership form now offers the package.
    browser.get(site.at("/billing/memberships"))
    assert "Ten massages" in browser.find_element(By.ID, "package_id").text
    # Clients may now cancel their own memberships in the portal.
    browser.find_element(By.ID, "clients_may_cancel").click()
    submit(browser, "Save")
    assert "Clients may cancel their own memberships in the portal." in text(browser)
    _, settings, _ = await site.api.call("GET", "/api/v1/membership-settings", token=token)
    assert settings == {"clients_may_cancel": True}

    # The reports: the issued invoice is owed, the charged credits counted, each also as CSV.
    follow(browser, browser.find_element(By.LINK_TEXT, "Reports"))
    page = text(browser)
    assert "€450.00 on 1 invoice" in page, page
    credits = browser.find_element(By.XPATH, "//section[@aria-labelledby='credits-heading']").text
    assert "Massage 60 15 1 0 0 1" in credits and "Wallet €20.00 €0.00" in credits, credits
    check_page(browser, site, "staff-reports")
    href = browser.find_element(By.XPATH, "//a[contains(@href, 'credits.csv')]").get_attribute("href") or ""
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    async with aiohttp.ClientSession(cookies=cookies) as session:
        async with session.get(href) as response:
            assert response.status == 200 and "csv" in response.content_type
            assert "Massage 60" in await response.text()
        # Appointments by service as CSV: the report's own table of one breakdown.
        by_service = browser.find_element(By.PARTIAL_LINK_TEXT, "by service as CSV").get_attribute("href") or ""
        async with session.get(by_service) as response:
            assert response.status == 200 and "csv" in response.content_type, await response.text()

    # The client's statement: the package's invoice with the running balance, and its PDF.
    follow(browser, browser.find_element(By.LINK_TEXT, "Statements"))
    fill(browser, "q", client["last_name"])
    submit(browser, "Find")
    submit(browser, "Choose")
    statement = text(browser)
    assert "In EUR" in statement and "€450.00" in statement, statement
    check_page(browser, site, "staff-statement")
    pdf_link = browser.find_element(By.PARTIAL_LINK_TEXT, "Download PDF").get_attribute("href") or ""
    assert (await pdf_at(browser, pdf_link)).startswith(b"%PDF")

    # Ten of the visits' points buy one more session.
    browser.get(site.at(f"/billing/credits/client?client_id={client['id']}"))
    fill(browser, "points", "10")
    submit(browser, "Redeem points")
    assert "The points are redeemed." in text(browser)
    _, held, _ = await site.api.call("GET", f"/api/v1/clients/{client['id']}/credits", token=token)
    after = {b["credit_type"]["name"]: b["available"] for b in held["balances"]}
    assert (after["Massage 60"], after.get("Points", 0)) == (15, 0), held

    # The history lists every movement; the haircut's use is given back, once.
    history = browser.find_element(By.XPATH, "//section[@aria-labelledby='history-heading']").text
    assert "Used" in history and "Charged" in history and "Goodwill" in history, history
    check_page(browser, site, "staff-client-credits-history")
    (haircut,) = [v for v in visits["items"] if v["method"] == "staff"]
    give_back = f"//form[contains(@action, '/transactions/{haircut['transaction']['id']}/reverse')]"
    page_before = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.XPATH, give_back + "//button").click()
    WebDriverWait(browser, 15).until(replaced(page_before))
    assert "The use is given back." in text(browser)
    assert absent(browser, By.XPATH, give_back)
    _, held, _ = await site.api.call("GET", f"/api/v1/clients/{client['id']}/credits", token=token)
    assert {b["credit_type"]["name"]: b["available"] for b in held["balances"]}["Massage 60"] == 16
