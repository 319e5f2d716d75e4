"""What the staff console's forms send: amounts in minor units by the viewer's locale, a series' rule, and a
client edit that sends only what changed (the profile whole, as the API replaces it)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from atrium_web.views.booking import series_definition
from atrium_web.views.client_card import _changes
from atrium_web.views.settings import FormError, minor_units


def viewer(language: str) -> Any:
    return make_mocked_request("POST", "/", headers={"Accept-Language": language})


def test_amounts_are_read_in_the_viewers_locale_and_kept_exactly_in_minor_units() -> None:
    assert minor_units("1,030.50", "EUR", viewer("en-US")) == 103050
    assert minor_units("1.030,50", "EUR", viewer("de-DE")) == 103050
    assert minor_units("1500", "JPY", viewer("en-US")) == 1500
    assert minor_units("2.125", "KWD", viewer("en-US")) == 2125
    for bad, currency in (("12.345", "EUR"), ("1.5", "JPY"), ("-3", "EUR"), ("ten", "EUR")):
        with pytest.raises(FormError):
            minor_units(bad, currency, viewer("en-US"))


def test_a_series_is_an_rrule_of_frequency_count_and_interval_on_the_business_clock() -> None:
    values = {
        "client_id": "c",
        "service_id": "s",
        "staff_id": "",
        "first_day": "2026-03-26",
        "first_time": "09:30",
        "frequency": "WEEKLY",
        "interval": "2",
        "count": "500",
        "timezone": "Europe/Berlin",
        "notes": "",
    }
    definition = series_definition(values)
    assert definition["rrule"] == "FREQ=WEEKLY;COUNT=52;INTERVAL=2"  # at most a year of weekly appointments
    assert definition["dtstart"] == "2026-03-26T09:30" and definition["timezone"] == "Europe/Berlin"
    assert definition["segments"] == [{"service_id": "s", "staff_id": None}]  # anyone qualified
    assert series_definition(values | {"frequency": "HOURLY", "interval": "1"})["rrule"] == "FREQ=WEEKLY;COUNT=52"


CLIENT = {
    "first_name": "Ines",
    "last_name": "Moreau",
    "email": "ines@example.com",
    "phone": None,
    "status_id": "st",
    "tags": ["vip"],
    "profile": {
        "kind": "individual",
        "company_name": "",
        "address": {"line1": "", "line2": "", "city": "", "region": "", "postal_code": "", "country": "FR"},
        "date_of_birth": None,
        "preferred_language": "fr",
        "timezone": "",
        "source": "staff",
        "default_invoicing_method": "email",
        "opening_balance": {"amount_minor": 500, "currency": "EUR"},
    },
}
FORM = {
    "first_name": "Ines",
    "last_name": "Moreau",
    "email": "ines@example.com",
    "phone": "",
    "company_name": "",
    "address_line1": "",
    "address_postal_code": "",
    "address_city": "",
    "status_id": "st",
    "tags": "vip",
}


def test_an_edit_sends_only_the_changed_fields_and_the_profile_whole_without_its_opening_balance() -> None:
    assert _changes(CLIENT, FORM) == {}
    assert _changes(CLIENT, FORM | {"last_name": "Moreau-Laurent"}) == {"last_name": "Moreau-Laurent"}
    changed = _changes(CLIENT, FORM | {"address_city": "Lyon"})
    assert set(changed) == {"profile"}
    profile = changed["profile"]
    assert "opening_balance" not in profile and profile["preferred_language"] == "fr"
    assert profile["address"] == CLIENT["profile"]["address"] | {"city": "Lyon"}
