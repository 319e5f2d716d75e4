"""What the campaign form sends: the message's fields as the template blocks the API takes, the unsubscribe link
added to an email that does not show it, the segment's filters only where given, each refused field named; the
payment reminder rule's days read from a list; a staff-made request's times on the business's clock; request
settings' hold times in minutes."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from atrium_web.views.campaigns import campaign_body, campaign_source
from atrium_web.views.day_rules import MEMBERSHIP_EXPIRY, PAYMENT, reminder_days, rule_body
from atrium_web.views.request_settings import settings_body
from atrium_web.views.settings import FormError
from atrium_web.views.staff_request_new import request_body


def test_an_email_gets_its_subject_text_and_the_unsubscribe_link_once() -> None:
    assert campaign_source("email", "Spring", "Hello {{ name }}") == (
        "{% block subject %}Spring{% endblock %}"
        "{% block text %}Hello {{ name }}\n\nUnsubscribe: {{ unsubscribe_url }}{% endblock %}"
    )
    shown = "Hello. Leave the list: {{unsubscribe_url}}"
    assert campaign_source("email", "S", shown).count("unsubscribe_url") == 1
    assert campaign_source("sms", "ignored", "20% off") == "{% block sms %}20% off{% endblock %}"


def test_the_form_names_what_it_refuses_and_sends_only_the_filters_given() -> None:
    body, errors = campaign_body(
        {"name": " Spring ", "channel": "email", "subject": "Hi", "message": "x", "tag": " vip ", "group_id": ""}
    )
    assert errors == {}
    assert (body["name"], body["segment"], body["rate_per_minute"]) == ("Spring", {"tag": "vip"}, 60)
    _, errors = campaign_body({"channel": "email", "rate_per_minute": "0"})
    assert set(errors) == {"name", "subject", "message", "rate_per_minute"}
    _, errors = campaign_body({"name": "n", "channel": "sms", "message": "m", "rate_per_minute": "6001"})
    assert set(errors) == {"rate_per_minute"}  # a text message has no subject


def test_payment_reminder_days_are_read_from_a_list_and_said_in_words() -> None:
    assert reminder_days("7, -3;0, 7 ,") == [-3, 0, 7]
    assert [PAYMENT.day_in_words(d) for d in (-3, 0, 1)] == [
        "3 days before the due date",
        "on the due date",
        "1 day overdue",
    ]
    assert [MEMBERSHIP_EXPIRY.day_in_words(d) for d in (-7, 0, 3)] == [
        "7 days before the expiry date",
        "on the expiry date",
        "3 days after the expiry (while its tolerance lasts)",
    ]
    assert reminder_days("\u22127, 0") == [-7, 0]  # the minus sign the page's hint shows
    with pytest.raises(FormError, match="days"):
        reminder_days("soon")
    with pytest.raises(FormError, match="days"):
        reminder_days(" , ")
    form = MultiDict({"days": "0, 3", "channel-email": "on", "channel-in_app": "on", "send_at": "08:30"})
    assert rule_body(form) == {"days": [0, 3], "channels": ["email", "in_app"], "send_at": "08:30"}
    with pytest.raises(FormError, match="channels"):
        rule_body(MultiDict({"days": "0"}))


def test_a_staff_request_sends_its_times_on_the_business_clock() -> None:
    form = MultiDict(
        {
            "client_id": "c1",
            "service_id": "s1",
            "time_0": "2026-03-29T02:30",
            "time_1": "",
            "time_2": "2026-03-30T10:00",
        }
    )
    body, errors = request_body(form, "Europe/Berlin")
    assert errors == {}
    assert [o["start"] for o in body["options"]] == ["2026-03-29T02:30:00+01:00", "2026-03-30T10:00:00+02:00"]
    assert (body["override_booking_rules"], "preferred_staff_id" in body) == (False, False)
    _, errors = request_body(MultiDict({"client_id": "c1", "time_0": "tomorrow"}), "Europe/Berlin")
    assert errors == {"options": "Give each time as a date and a time.", "service_id": "Choose a service."}


def test_request_settings_keep_minutes_and_the_version_read() -> None:
    form = MultiDict({"tentative_holds": "on", "proposal_hold_hours": "24", "offer_hold_minutes": "30", "version": "4"})
    assert settings_body(form) == {
        "tentative_holds": True,
        "proposal_hold_minutes": 1440,
        "offer_hold_minutes": 30,
        "ticket_url_pattern": "",
        "version": 4,
    }
    with pytest.raises(FormError, match="proposal hold hours"):
        settings_body(MultiDict({"proposal_hold_hours": "a day"}))
