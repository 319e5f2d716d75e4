"""Notifications through the gateway: a staff approval reaches the client's mailbox (a real SMTP server)
with a calendar file of the booked time, and the client's portal inbox shows one unread notice it marks
read; a decline likewise with its reason; another client sees none of it; operators list the messages with
their attempts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar

from platform_dev.testing.plugin import wait_until

from .conftest import Api
from .mailbox import Mailbox
from .test_portal_requests import PORTAL, portal_login
from .test_scheduling import at, open_business

INBOX = "/api/v1/portal/notifications"


async def test_an_approval_is_emailed_with_its_calendar_file_and_shows_unread_in_the_portal_inbox(
    api: Api, mailbox: Mailbox
) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    address = f"mia-{uuid.uuid4().hex[:6]}@example.com"
    # A German client in New York, of a business in Berlin: her language, her clock.
    mia = await api.create_client(
        token,
        first_name="Mia",
        email=address,
        profile={"preferred_language": "de", "timezone": "America/New_York"},
    )
    ben = await api.create_client(token, first_name="Ben", email=f"ben-{uuid.uuid4().hex[:6]}@example.com")
    mia_portal, ben_portal = await portal_login(api, token, mia["id"]), await portal_login(api, token, ben["id"])

    status, submitted, _ = await api.call(
        "POST", PORTAL, token=mia_portal, json={"service_id": service["id"], "options": [{"start": at(day, 10)}]}
    )
    assert status == 201, submitted
    status, approved, _ = await api.call(
        "POST",
        f"/api/v1/appointment-requests/{submitted['id']}/approve",
        token=token,
        json={"start": at(day, 14), "technician_id": business["staff_ids"][0]},
    )
    assert status == 200, approved

    def approval_email() -> object:
        return next((m for m in mailbox.to(address) if str(m["Subject"]).startswith("Bestätigt")), None)

    email = await wait_until(approval_email, timeout=60)
    text = Mailbox.text(email)  # type: ignore[arg-type]
    in_new_york = datetime.fromisoformat(at(day, 14)).astimezone(ZoneInfo("America/New_York"))
    assert "Hallo Mia," in text
    assert f"{in_new_york:%H:%M} (America/New_York)" in text
    [ics] = [p for p in email.walk() if p.get_content_type() == "text/calendar"]  # type: ignore[attr-defined]
    [event] = Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")
    assert event.decoded("dtstart") == datetime.fromisoformat(at(day, 14))

    async def one_unread() -> dict[str, object] | None:
        _, inbox, _ = await api.call("GET", INBOX, token=mia_portal)
        return inbox if inbox["unread_count"] == 1 else None

    inbox = await wait_until(one_unread, timeout=60)
    [notice] = inbox["items"]  # type: ignore[index]
    assert (notice["kind"], notice["read_at"]) == ("request.approved", None)

    status, _, _ = await api.call("GET", INBOX, token=token)  # staff use their own inbox
    assert status == 403
    status, theirs, _ = await api.call("GET", INBOX, token=ben_portal)
    assert (status, theirs["items"], theirs["unread_count"]) == (200, [], 0)
    status, problem, _ = await api.call("POST", f"{INBOX}/{notice['id']}/read", token=ben_portal)
    assert status == 404, problem

    status, marked, _ = await api.call("POST", f"{INBOX}/{notice['id']}/read", token=mia_portal)
    assert (status, marked) == (200, {"marked": 1, "unread_count": 0})
    status, inbox, _ = await api.call("GET", INBOX, token=mia_portal, params={"unread_only": "true"})
    assert (status, inbox["items"]) == (200, [])

    status, staff_inbox, _ = await api.call("GET", "/api/v1/notifications", token=token)
    assert status == 200, staff_inbox

    status, messages, _ = await api.call(
        "GET", "/api/v1/messages", token=token, params={"client_id": mia["id"], "status": "sent"}
    )
    assert status == 200, messages
    sent = {(m["kind"], m["channel"]) for m in messages["items"]}
    assert {("request.received", "email"), ("request.approved", "email")} <= sent
    assert all(m["attempt_log"][-1]["outcome"] == "sent" for m in messages["items"])
    status, problem, _ = await api.call("GET", "/api/v1/messages", token=token, params={"status": "lost"})
    assert (status, problem["errors"][0]["field"]) == (422, "status")
    status, problem, _ = await api.call("POST", f"/api/v1/messages/{messages['items'][0]['id']}/resend", token=token)
    assert (status, problem["code"]) == (409, "MESSAGE_NOT_RESENDABLE")


async def test_a_decline_is_emailed_with_its_reason_and_shows_unread_in_the_portal_inbox(
    api: Api, mailbox: Mailbox
) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    address = f"lea-{uuid.uuid4().hex[:6]}@example.com"
    lea = await api.create_client(token, first_name="Lea", email=address)
    lea_portal = await portal_login(api, token, lea["id"])
    status, submitted, _ = await api.call(
        "POST", PORTAL, token=lea_portal, json={"service_id": service["id"], "options": [{"start": at(day, 10)}]}
    )
    assert status == 201, submitted
    status, declined, _ = await api.call(
        "POST",
        f"/api/v1/appointment-requests/{submitted['id']}/decline",
        token=token,
        json={"reason": "We are closed that week"},
    )
    assert status == 200, declined

    def decline_email() -> object:
        return next((m for m in mailbox.to(address) if "declined" in str(m["Subject"])), None)

    email = await wait_until(decline_email, timeout=60)
    assert "Reason: We are closed that week" in Mailbox.text(email)  # type: ignore[arg-type]

    async def one_unread() -> dict[str, object] | None:
        _, inbox, _ = await api.call("GET", INBOX, token=lea_portal)
        return inbox if inbox["unread_count"] == 1 else None

    inbox = await wait_until(one_unread, timeout=60)
    [notice] = inbox["items"]  # type: ignore[index]
    assert notice["kind"] == "request.declined" and "We are closed that week" in notice["body"]


async def test_a_waitlist_offer_is_emailed_with_its_link_and_taking_it_is_confirmed_with_a_calendar_file(
    api: Api, mailbox: Mailbox
) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    address = f"wes-{uuid.uuid4().hex[:6]}@example.com"
    waiting = await api.create_client(token, first_name="Wes", email=address)
    other = await api.create_client(token, first_name="Oda")
    portal = await portal_login(api, token, waiting["id"])
    status, entry, _ = await api.call(
        "POST",
        "/api/v1/waitlist",
        token=token,
        json={
            "client_id": waiting["id"],
            "service_id": service["id"],
            "from_date": day.isoformat(),
            "to_date": day.isoformat(),
        },
    )
    assert status == 201, entry
    status, booked, _ = await api.call(
        "POST",
        "/api/v1/appointments",
        token=token,
        json={"client_id": other["id"], "segments": [{"service_id": service["id"]}], "start": at(day, 11)},
    )
    assert status == 201, booked
    status, _, _ = await api.call(
        "POST",
        f"/api/v1/appointments/{booked['id']}/cancel",
        token=token,
        json={"reason": "ill", "version": booked["version"]},
    )
    assert status == 200

    def email_titled(start: str) -> Callable[[], EmailMessage | None]:
        return lambda: next((m for m in mailbox.to(address) if str(m["Subject"]).startswith(start)), None)

    offered = await wait_until(email_titled("A time for"), timeout=60)
    assert offered is not None and "/portal/waitlist" in Mailbox.text(offered)

    async def open_offer() -> dict[str, Any] | None:
        _, inbox, _ = await api.call("GET", INBOX, token=portal)
        return inbox if [n["kind"] for n in inbox["items"]] == ["waitlist.offer_made"] else None

    await wait_until(open_offer, timeout=60)
    _, mine, _ = await api.call("GET", "/api/v1/portal/waitlist", token=portal)
    [made] = [o for e in mine["items"] for o in e["offers"] if o["status"] == "open"]
    status, _, _ = await api.call("POST", f"/api/v1/portal/waitlist-offers/{made['id']}/accept", token=portal)
    assert status == 200

    confirmed = await wait_until(email_titled("Confirmed"), timeout=60)
    assert confirmed is not None
    [ics] = [p for p in confirmed.walk() if p.get_content_type() == "text/calendar"]
    [event] = Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")
    assert event.decoded("dtstart") == datetime.fromisoformat(at(day, 11))

    async def on_timeline() -> bool:
        _, timeline, _ = await api.call("GET", f"/api/v1/clients/{waiting['id']}/activity", token=token)
        kinds = {e["kind"] for e in timeline["items"]}
        return {"waitlist.joined", "waitlist.offer_made", "waitlist.offer_accepted"} <= kinds

    await wait_until(on_timeline, timeout=60)


async def test_reminder_rules_are_set_per_business_and_service_and_checked(api: Api) -> None:
    business = await open_business(api)
    token, service = business["token"], business["service"]
    rules = "/api/v1/reminder-rules"
    status, listed, _ = await api.call("GET", rules, token=token)
    assert (status, [r["is_default"] for r in listed["items"]]) == (200, [True])

    rule = {"offsets": ["24h", "2h"], "audiences": ["client", "staff"], "channels": ["email"]}
    status, problem, _ = await api.call("PUT", f"{rules}/business", token=token, json=rule | {"offsets": ["2w"]})
    assert (status, problem["errors"][0]["field"]) == (422, "offsets.0")
    status, problem, _ = await api.call(
        "PUT", f"{rules}/business", token=token, json=rule | {"quiet_hours": {"start": "25:00", "end": "08:00"}}
    )
    assert (status, problem["errors"][0]["field"]) == (422, "quiet_hours.start")
    status, saved, _ = await api.call(
        "PUT", f"{rules}/business", token=token, json=rule | {"quiet_hours": {"start": "21:00", "end": "08:00"}}
    )
    assert (status, saved["offsets"], saved["quiet_hours"]) == (200, ["24h", "2h"], {"start": "21:00", "end": "08:00"})
    status, override, _ = await api.call(
        "PUT", f"{rules}/services/{service['id']}", token=token, json=rule | {"offsets": ["1d"]}
    )
    assert (status, override["service_id"]) == (200, service["id"])
    status, listed, _ = await api.call("GET", rules, token=token)
    assert [(r["service_id"], r["offsets"]) for r in listed["items"]] == [
        (None, ["24h", "2h"]),
        (service["id"], ["1d"]),
    ]

    status, _, _ = await api.call("DELETE", f"{rules}/business", token=token)
    assert status == 204
    status, listed, _ = await api.call("GET", rules, token=token)
    assert [(r["service_id"], r["is_default"]) for r in listed["items"]] == [(None, True), (service["id"], False)]


async def test_a_client_chooses_its_reminders_in_the_portal_and_unknown_unsubscribe_links_are_refused(
    api: Api,
) -> None:
    business = await open_business(api)
    token = business["token"]
    client = await api.create_client(token, first_name="Ivy", email=f"ivy-{uuid.uuid4().hex[:6]}@example.com")
    portal = await portal_login(api, token, client["id"])
    prefs = "/api/v1/portal/notification-preferences"
    status, chosen, _ = await api.call("GET", prefs, token=portal)
    assert status == 200 and all(p["allowed"] for p in chosen["preferences"])
    off = {"preferences": [{"category": "marketing", "channel": "email", "allowed": False}]}
    status, chosen, _ = await api.call("PUT", prefs, token=portal, json=off)
    assert status == 200, chosen
    assert {(p["category"], p["channel"]) for p in chosen["preferences"] if not p["allowed"]} == {
        ("marketing", "email")
    }
    bad = {"preferences": [{"category": "transactional", "channel": "email", "allowed": False}]}
    status, problem, _ = await api.call("PUT", prefs, token=portal, json=bad)
    assert (status, problem["errors"][0]["field"]) == (422, "preferences.0.category")
    status, seen, _ = await api.call("GET", f"/api/v1/clients/{client['id']}/notification-preferences", token=token)
    assert (status, seen["preferences"]) == (200, chosen["preferences"])

    unknown = uuid.uuid4().hex + "A" * 43
    status, _, _ = await api.call("POST", f"/unsubscribe/{unknown}")
    assert status == 404
    status, _, _ = await api.call("POST", "/unsubscribe/not-a-link")
    assert status == 404
    # Twilio's delivery reports are refused unless signed with the account's auth token.
    _, me, _ = await api.call("GET", "/api/v1/me", token=token)
    status, _, _ = await api.call(
        "POST",
        f"/webhooks/twilio/{me['tenant']['id']}/status",
        data={"MessageSid": "SM123", "MessageStatus": "delivered"},
        headers={"X-Twilio-Signature": "forged"},
    )
    assert status == 403


async def test_a_business_rewords_a_message_checked_on_save_previewed_and_reset(api: Api) -> None:
    business = await open_business(api)
    token = business["token"]
    path = "/api/v1/message-templates/appointment.reminder/de"
    status, problem, _ = await api.call(
        "PUT", path, token=token, json={"source": "{% block subject %}{{ secret }}{% endblock %}"}
    )
    assert (status, problem["errors"][0]["field"]) == (422, "source"), problem
    status, problem, _ = await api.call("PUT", path, token=token, json={"source": "{% block subject %}{{ x"})
    assert (status, problem["errors"][0]["field"]) == (422, "source")
    source = "{% block subject %}Bis bald, {{ name }}: {{ when(start) }}{% endblock %}"
    status, preview, _ = await api.call("PUT", path, token=token, json={"source": source})
    assert (status, preview["subject"]) == (200, "Bis bald, Ada Lovelace: Montag, 30. März 2026, 09:00 (Europe/Berlin)")
    assert preview["text"].startswith("Hallo Ada Lovelace,")  # the default's text
    status, listed, _ = await api.call("GET", "/api/v1/message-templates", token=token)
    [reminder] = [k for k in listed["items"] if k["kind"] == "appointment.reminder"]
    assert reminder["overridden"] == ["de"] and "start" in reminder["variables"]
    status, _, _ = await api.call("DELETE", path, token=token)
    assert status == 204
    status, preview, _ = await api.call("POST", f"{path}/preview", token=token, json={})
    assert (status, preview["subject"].split(":")[0]) == (200, "Erinnerung")
    status, problem, _ = await api.call("PUT", "/api/v1/message-templates/account.password_reset/en", token=token,
                                        json={"source": "{% block subject %}x{% endblock %}"})  # fmt: skip
    assert (status, problem["errors"][0]["field"]) == (422, "kind")
