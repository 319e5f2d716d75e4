"""The public booking page's API through the gateway, with no login: a business opens its page, a visitor
picks a free time, and the request counts only once the code emailed to the visitor is entered. Wrong codes
lock it, floods are refused with 429, a closed page answers 404, and refused attempts make nothing."""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage
from typing import Any

from platform_dev.testing.plugin import wait_until

from .conftest import Api
from .mailbox import Mailbox
from .test_scheduling import at, open_business

SETTINGS = "/api/v1/business/public-booking"
STAFF_REQUESTS = "/api/v1/appointment-requests"


def page_path(slug: str, rest: str = "") -> str:
    return f"/api/v1/public/booking/{slug}{rest}"


def visitor(ip: str) -> dict[str, str]:
    """Calls from one visitor: the test runs on the trusted local proxy's address, which forwards it."""
    return {"X-Forwarded-For": ip}


def fresh_ip() -> str:
    """A made-up visitor address (a spoofable first entry, then the one the proxy saw), its own rate budget."""
    r = uuid.uuid4().int
    return f"192.0.2.1, 10.{r % 256}.{(r >> 8) % 256}.{(r >> 16) % 256}"


async def open_page(api: Api) -> dict[str, Any]:
    business = await open_business(api)
    slug = f"salon-{uuid.uuid4().hex[:8]}"
    status, settings, _ = await api.call("PUT", SETTINGS, token=business["token"], json={"enabled": True, "slug": slug})
    assert status == 200, settings
    assert settings["enabled"] and settings["url"].endswith(f"/book/{slug}")
    return business | {"slug": slug}


def request_body(business: dict[str, Any], email: str, hour: int = 10, **fields: Any) -> dict[str, Any]:
    return {
        "service_id": business["service"]["id"],
        "start": at(business["day"], hour),
        "name": "Grace Hopper",
        "email": email,
        "phone": "+1 212 555 0101",
        "description": "Colour and cut, first visit",
        "timezone": "Europe/Berlin",
    } | fields


async def emailed_code(mailbox: Mailbox, address: str, nth: int = 1) -> str:
    def arrived() -> list[EmailMessage]:
        return [m for m in mailbox.to(address) if "code" in str(m["Subject"]).lower()]

    await wait_until(lambda: len(arrived()) >= nth, timeout=20)
    found = re.search(r"\b(\d{6})\b", str(arrived()[nth - 1]["Subject"]))
    assert found is not None
    return found[1]


async def staff_requests(api: Api, token: str) -> list[dict[str, Any]]:
    status, page, _ = await api.call("GET", STAFF_REQUESTS, token=token)
    assert status == 200, page
    return list(page["items"])


async def clients_with(api: Api, token: str, email: str) -> list[dict[str, Any]]:
    status, page, _ = await api.call("GET", "/api/v1/clients", token=token, params={"q": email})
    assert status == 200, page
    return [c for c in page["items"] if c["email"] == email]


async def test_a_visitor_asks_confirms_with_the_emailed_code_and_staff_see_a_pending_request(
    api: Api, mailbox: Mailbox
) -> None:
    business = await open_page(api)
    token, slug, day = business["token"], business["slug"], business["day"]
    ip = visitor(fresh_ip())

    status, facts, _ = await api.call("GET", page_path(slug))
    assert status == 200, facts
    # The business's one zone: the one its scheduling settings were saved with (open_business).
    assert (facts["name"], facts["timezone"], facts["languages"][0]) == ("Test Studio", "Europe/Berlin", "en")
    status, services, _ = await api.call("GET", page_path(slug, "/services"))
    assert status == 200, services
    (service,) = services["items"]
    assert (service["name"], service["duration_minutes"], service["staff"][0]["name"]) == ("Haircut", 60, "Stylist 0")

    # A staff booking at 11:00 takes that time off the page.
    status, booked, _ = await api.call(
        "POST",
        "/api/v1/appointments",
        token=token,
        json={
            "client_id": (await api.create_client(token))["id"],
            "segments": [{"service_id": service["id"]}],
            "start": at(day, 11),
        },
    )
    assert status == 201, booked
    params = {"service_id": service["id"], "from": day.isoformat(), "to": day.isoformat(), "timezone": "Europe/Berlin"}
    status, free, _ = await api.call("GET", page_path(slug, "/availability"), params=params)
    assert status == 200, free
    starts = {s["local_start"][11:16] for s in free["slots"]}
    assert "10:00" in starts and "11:00" not in starts and "08:00" not in starts

    email = f"grace-{uuid.uuid4().hex[:8]}@example.com"
    # A time the page does not offer is refused before any code is sent.
    status, taken, _ = await api.call(
        "POST", page_path(slug, "/requests"), json=request_body(business, email, hour=11), headers=ip
    )
    assert (status, taken["code"]) == (409, "SLOT_UNAVAILABLE")
    status, bad, _ = await api.call(
        "POST", page_path(slug, "/requests"), json=request_body(business, email, phone="12"), headers=ip
    )
    assert (status, bad["errors"][0]["field"]) == (422, "phone")

    status, started, _ = await api.call(
        "POST", page_path(slug, "/requests"), json=request_body(business, email), headers=ip
    )
    assert status == 202, started
    assert started["email"] == email
    confirm = page_path(slug, f"/requests/{started['verification_id']}/confirm")
    code = await emailed_code(mailbox, email)

    # No code, no request: nothing exists until the code is entered.
    status, missing, _ = await api.call("POST", confirm, json={}, headers=ip)
    assert (status, missing["errors"][0]["field"]) == (422, "code")
    assert await staff_requests(api, token) == []
    assert await clients_with(api, token, email) == []

    status, confirmed, _ = await api.call("POST", confirm, json={"code": code}, headers=ip)
    assert status == 201, confirmed
    assert (confirmed["status"], confirmed["service_name"]) == ("pending", "Haircut")
    assert confirmed["local_start"].startswith(at(day, 10)[:16])
    status, again, _ = await api.call("POST", confirm, json={"code": code}, headers=ip)
    assert (status, again["reference"]) == (201, confirmed["reference"])

    (client,) = await clients_with(api, token, email)
    assert (client["first_name"], client["last_name"]) == ("Grace", "Hopper")
    status, record, _ = await api.call("GET", f"/api/v1/clients/{client['id']}", token=token)
    assert record["profile"]["source"] == "booking_widget"
    (row,) = await staff_requests(api, token)
    assert (row["reference"], row["status"], row["client_id"]) == (confirmed["reference"], "pending", client["id"])
    status, details, _ = await api.call("GET", f"{STAFF_REQUESTS}/{row['id']}", token=token)
    assert (details["message"], details["client_email"]) == ("Colour and cut, first visit", email)

    # A client the business already has is matched by the proven email, not duplicated.
    known = await api.create_client(token, first_name="Ada", email=f"ada-{uuid.uuid4().hex[:8]}@example.com")
    status, started, _ = await api.call(
        "POST", page_path(slug, "/requests"), json=request_body(business, known["email"], hour=14), headers=ip
    )
    assert status == 202, started
    code = await emailed_code(mailbox, known["email"])
    status, confirmed, _ = await api.call(
        "POST", page_path(slug, f"/requests/{started['verification_id']}/confirm"), json={"code": code}, headers=ip
    )
    assert status == 201, confirmed
    assert [c["id"] for c in await clients_with(api, token, known["email"])] == [known["id"]]
    assert {r["client_id"] for r in await staff_requests(api, token)} == {client["id"], known["id"]}


async def booking_form_fields(api: Api, token: str) -> None:
    """A booking request form with a required choice, a required checkbox and an optional note; a field of the
    staff form only, which the page never asks."""
    for field in (
        {"label": "Hair length", "type": "single_choice", "options": ["Short", "Long"], "required": True},
        {"label": "Terms accepted", "type": "checkbox", "required": True},
        {"label": "Allergies", "type": "text"},
    ):
        status, created, _ = await api.call(
            "POST", "/api/v1/custom-fields", token=token, json=field | {"forms": ["booking_request"]}
        )
        assert status == 201, created
    status, created, _ = await api.call(
        "POST", "/api/v1/custom-fields", token=token, json={"label": "Internal rating", "type": "number"}
    )
    assert status == 201, created


async def test_a_visitor_answers_the_booking_form_before_the_code_and_the_answers_reach_the_client(
    api: Api, mailbox: Mailbox
) -> None:
    business = await open_page(api)
    token, slug = business["token"], business["slug"]
    await booking_form_fields(api, token)
    status, form, _ = await api.call("GET", page_path(slug, "/form"))
    assert status == 200, form
    assert [(f["key"], f["type"], f["required"]) for f in form["fields"]] == [
        ("hair_length", "single_choice", True),
        ("terms_accepted", "checkbox", True),
        ("allergies", "text", False),
    ]
    assert form["fields"][0]["options"] == ["Short", "Long"]

    ip = visitor(fresh_ip())
    email = f"answers-{uuid.uuid4().hex[:8]}@example.com"
    # Unanswered required questions, or an answer the field refuses, are named before any code is sent.
    for answers, refused in (
        ({}, {"answers.hair_length", "answers.terms_accepted"}),
        ({"hair_length": "Medium", "terms_accepted": True}, {"answers.hair_length"}),
        ({"hair_length": "Short", "terms_accepted": False}, {"answers.terms_accepted"}),
        ({"hair_length": "Short", "terms_accepted": True, "internal_rating": 5}, {"answers.internal_rating"}),
    ):
        status, problem, _ = await api.call(
            "POST", page_path(slug, "/requests"), json=request_body(business, email, answers=answers), headers=ip
        )
        assert status == 422, problem
        assert {e["field"] for e in problem["errors"]} == refused, answers
    answers = {"hair_length": "long", "terms_accepted": True, "allergies": "Latex"}
    status, started, _ = await api.call(
        "POST", page_path(slug, "/requests"), json=request_body(business, email, answers=answers), headers=ip
    )
    assert status == 202, started
    code = await emailed_code(mailbox, email)
    assert len(mailbox.to(email)) == 1  # the refused attempts sent no code
    status, confirmed, _ = await api.call(
        "POST", page_path(slug, f"/requests/{started['verification_id']}/confirm"), json={"code": code}, headers=ip
    )
    assert status == 201, confirmed
    (client,) = await clients_with(api, token, email)
    status, record, _ = await api.call("GET", f"/api/v1/clients/{client['id']}", token=token)
    assert status == 200, record
    assert record["custom_fields"] == {"hair_length": "Long", "terms_accepted": True, "allergies": "Latex"}
    assert [r["reference"] for r in await staff_requests(api, token)] == [confirmed["reference"]]


async def test_five_wrong_codes_lock_the_request_even_for_the_right_code(api: Api, mailbox: Mailbox) -> None:
    business = await open_page(api)
    ip = visitor(fresh_ip())
    email = f"guess-{uuid.uuid4().hex[:8]}@example.com"
    status, started, _ = await api.call(
        "POST", page_path(business["slug"], "/requests"), json=request_body(business, email), headers=ip
    )
    assert status == 202, started
    code = await emailed_code(mailbox, email)
    confirm = page_path(business["slug"], f"/requests/{started['verification_id']}/confirm")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for tries_left in (4, 3, 2, 1, 0):
        status, refused, _ = await api.call("POST", confirm, json={"code": wrong}, headers=ip)
        assert (status, refused["errors"][0]["field"]) == (422, "code")
        assert (f"{tries_left} tries left" in refused["errors"][0]["message"]) == (tries_left > 0)
    status, locked, _ = await api.call("POST", confirm, json={"code": code}, headers=ip)
    assert (status, locked["code"]) == (409, "VERIFICATION_LOCKED")
    assert await staff_requests(api, business["token"]) == []
    assert await clients_with(api, business["token"], email) == []


async def test_requests_are_limited_per_email_and_per_ip_with_retry_after(api: Api, mailbox: Mailbox) -> None:
    business = await open_page(api)
    slug = business["slug"]
    email = f"flood-{uuid.uuid4().hex[:8]}@example.com"
    # Five codes per address and window (ATRIUM_PUBLIC_BOOKING_REQUESTS_PER_EMAIL), from any IPs.
    for _ in range(5):
        status, started, _ = await api.call(
            "POST", page_path(slug, "/requests"), json=request_body(business, email), headers=visitor(fresh_ip())
        )
        assert status == 202, started
    status, limited, headers = await api.call(
        "POST", page_path(slug, "/requests"), json=request_body(business, email), headers=visitor(fresh_ip())
    )
    assert (status, limited["code"]) == (429, "RATE_LIMITED")
    assert int(headers["Retry-After"]) > 0
    await wait_until(lambda: len(mailbox.to(email)) >= 5, timeout=20)

    # Twenty per client IP (ATRIUM_PUBLIC_BOOKING_REQUESTS_PER_IP), whatever the addresses.
    ip = visitor(fresh_ip())
    for i in range(20):
        status, started, _ = await api.call(
            "POST", page_path(slug, "/requests"), json=request_body(business, f"ip{i}-{email}"), headers=ip
        )
        assert status == 202, started
    last = f"last-{email}"
    status, limited, headers = await api.call(
        "POST", page_path(slug, "/requests"), json=request_body(business, last), headers=ip
    )
    assert (status, limited["code"], int(headers["Retry-After"]) > 0) == (429, "RATE_LIMITED", True)
    # Refused attempts send nothing and make nothing.
    await wait_until(lambda: len(mailbox.to(f"ip19-{email}")) == 1, timeout=20)
    assert mailbox.to(email)[5:] == [] and mailbox.to(last) == []
    assert await staff_requests(api, business["token"]) == []


async def test_a_closed_or_unknown_page_answers_404_to_everything(api: Api, mailbox: Mailbox) -> None:
    business = await open_page(api)
    token, slug = business["token"], business["slug"]
    ip = visitor(fresh_ip())
    email = f"late-{uuid.uuid4().hex[:8]}@example.com"
    status, started, _ = await api.call(
        "POST", page_path(slug, "/requests"), json=request_body(business, email), headers=ip
    )
    assert status == 202, started
    code = await emailed_code(mailbox, email)

    status, closed, _ = await api.call("PUT", SETTINGS, token=token, json={"enabled": False, "slug": slug})
    assert (status, closed["enabled"]) == (200, False)
    params = {
        "service_id": business["service"]["id"],
        "from": business["day"].isoformat(),
        "to": business["day"].isoformat(),
    }
    for method, path, body, query in (
        ("GET", page_path(slug), None, None),
        ("GET", page_path(slug, "/services"), None, None),
        ("GET", page_path(slug, "/form"), None, None),
        ("GET", page_path(slug, "/availability"), None, params),
        ("POST", page_path(slug, "/requests"), request_body(business, email), None),
        ("POST", page_path(slug, f"/requests/{started['verification_id']}/confirm"), {"code": code}, None),
        ("GET", page_path(f"unknown-{uuid.uuid4().hex[:8]}"), None, None),
    ):
        status, answer, _ = await api.call(method, path, json=body, params=query, headers=ip)
        assert status == 404, (path, answer)
    assert await staff_requests(api, token) == []

    # Another business cannot take the address while this one holds it, closed or not.
    other = await api.sign_up()
    status, taken, _ = await api.call("PUT", SETTINGS, token=other["token"], json={"enabled": True, "slug": slug})
    assert (status, taken["code"]) == (409, "SLUG_TAKEN")
    status, settings, _ = await api.call("GET", SETTINGS, token=other["token"])
    assert (status, settings) == (200, {"enabled": False, "slug": None, "url": None})


async def test_the_code_email_comes_in_the_visitors_language_when_the_page_offers_it(
    api: Api, mailbox: Mailbox
) -> None:
    business = await open_page(api)
    slug = business["slug"]
    status, facts, _ = await api.call("GET", page_path(slug))
    assert status == 200 and "de" in facts["languages"], facts
    for hour, language, subject_starts in ((10, "de-AT", "Ihr Code"), (14, "fr", "Your code")):
        email = f"visitor-{uuid.uuid4().hex[:8]}@example.com"
        status, started, _ = await api.call(
            "POST",
            page_path(slug, "/requests"),
            json=request_body(business, email, hour=hour, language=language),
            headers=visitor(fresh_ip()),
        )
        assert status == 202, started
        await emailed_code(mailbox, email)
        (message,) = mailbox.to(email)
        assert str(message["Subject"]).startswith(subject_starts), (language, message["Subject"])
