"""Settings pages as rendered from the gateway's shapes and what their forms send: a service changed whole (its
price shown for editing in the viewer's locale and read back exactly), and the public booking page's states."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import make_mocked_request
from multidict import MultiDict

from atrium_web.formatting import Formatter, negotiate_locale
from atrium_web.pages import template_environment
from atrium_web.views.settings import amount_text, minor_units, reminder_body, service_body

ENV = template_environment()
SERVICE = {
    "id": "s1",
    "name": "Colour",
    "description": "Full colour",
    "duration_minutes": 90,
    "buffer_before_minutes": 5,
    "buffer_after_minutes": 10,
    "price": {"amount_minor": 103050, "currency": "EUR"},
    "capacity": 1,
    "bookable_online": False,
    "staff_ids": ["m1"],
    "resource_ids": ["r2"],
    "category": "",
    "colour": "",
    "slot_rules": None,
    "archived": False,
    "version": 4,
}


def render(template: str, path: str, language: str = "en-US", **context: Any) -> str:
    common = {
        "request": make_mocked_request("GET", path),
        "account": None,
        "csrf_token": "t",
        "fmt": Formatter(negotiate_locale(language), "Europe/Berlin"),
        "messages": [],
        "static": lambda name: f"/static/{name}",
        "pending": 0,
    }
    return ENV.get_template(template).render(**common, **context)


def test_a_services_price_is_shown_in_the_viewers_locale_and_read_back_exactly() -> None:
    german = make_mocked_request("POST", "/", headers={"Accept-Language": "de-DE"})
    shown = amount_text(Formatter(negotiate_locale("de-DE"), "UTC"), SERVICE["price"])
    assert shown == "1.030,5"
    form = MultiDict(
        [
            ("name", " Colour "),
            ("description", "Full colour, toner included"),
            ("duration_minutes", "90"),
            ("buffer_before_minutes", "5"),
            ("buffer_after_minutes", "10"),
            ("price", shown),
            ("currency", "eur"),
            ("capacity", "1"),
            ("staff_ids", "m1"),
            ("staff_ids", "m2"),
            ("resource_ids", "r2"),
        ]
    )
    assert service_body(form, german) == {
        "name": "Colour",
        "description": "Full colour, toner included",
        "duration_minutes": 90,
        "buffer_before_minutes": 5,
        "buffer_after_minutes": 10,
        "capacity": 1,
        "price": {"amount_minor": 103050, "currency": "EUR"},
        "staff_ids": ["m1", "m2"],
        "resource_ids": ["r2"],
        "bookable_online": False,  # an unticked box
    }
    assert minor_units(shown, "EUR", german) == SERVICE["price"]["amount_minor"]


def test_the_service_page_fills_its_form_with_the_service_and_its_version() -> None:
    html = render(
        "staff/settings/service.html",
        "/settings/services/s1",
        service=SERVICE,
        price_text="1,030.5",
        staff=[
            {"staff_id": "m1", "display_name": "Mara", "active": True},
            {"staff_id": "m2", "display_name": "Ben", "active": True},
        ],
        resources=[{"id": "r1", "name": "Room 1", "archived": False}, {"id": "r2", "name": "Basin", "archived": True}],
        credit_types=[{"id": "t1", "name": "Massage 60", "unit": "session", "currency": None}],
        units={"t1": 1},
    )
    assert 'name="version" value="4"' in html and 'value="1,030.5"' in html and "Now €1,030.50" in html
    assert 'id="service-staff-m1" name="staff_ids" value="m1" checked' in html
    assert 'id="service-staff-m2" name="staff_ids" value="m2" >' in html
    assert 'value="r2" checked> <label for="service-resource-r2">Basin <span class="muted">(archived)</span>' in html
    assert 'id="bookable_online" name="bookable_online" >' in html
    assert 'name="units-t1" min="0" value="1"' in html and "(session per visit)" in html


def test_the_public_booking_settings_say_whether_the_page_is_open_and_where() -> None:
    url = "https://atrium.example/book/salon-anna"
    opened = render(
        "staff/settings/public_booking.html",
        "/settings/public-booking",
        current={"enabled": True, "slug": "salon-anna", "url": url},
    )
    assert f'Open at <a href="{url}">' in opened and 'value="salon-anna"' in opened
    assert 'id="enabled" name="enabled" checked' in opened
    closed = render(
        "staff/settings/public_booking.html",
        "/settings/public-booking",
        current={"enabled": False, "slug": "salon-anna", "url": url},
    )
    assert "Closed." in closed and 'id="enabled" name="enabled" >' in closed
    new = render(
        "staff/settings/public_booking.html",
        "/settings/public-booking",
        current={"enabled": False, "slug": None, "url": None},
    )
    assert "Not set up yet" in new and 'value=""' in new


def test_reminders_list_the_services_with_their_own_rule_and_offer_one_for_another() -> None:
    business = {"service_id": None, "offsets": ["24h"], "audiences": ["client"], "channels": ["email"]}
    business |= {"quiet_hours": None, "sms_fallback_after": 2, "is_default": True}
    own = business | {
        "service_id": "s1",
        "service_name": "Colour",
        "offsets": ["2d", "3h"],
        "audiences": ["client", "staff"],
        "channels": ["sms", "in_app"],
        "quiet_hours": {"start": "21:00", "end": "08:00"},
        "is_default": False,
    }
    html = render(
        "staff/settings/reminders.html",
        "/settings/reminders",
        rule=business,
        own=[own],
        services=[SERVICE],
        audiences={"client": "The client", "staff": "The staff member"},
        channels={"email": "Email", "sms": "Text message", "in_app": "In the portal"},
    )
    assert (
        "<strong>Colour</strong>: 2d, 3h before, to the client and the staff member, by text message and the portal"
        in html
    )
    assert "quiet 9:00\u202fPM\u20138:00\u202fAM" in html
    assert 'name="service_id" value="s1"' in html and 'value="business"' in html
    # Two forms, one page: the service's fields have their own ids.
    assert html.count('id="offsets"') == 1 and html.count('id="service-offsets"') == 1


def test_a_reminder_rule_is_read_from_its_form() -> None:
    form = MultiDict(
        [
            ("offsets", "24h, 2h ,"),
            ("audiences", "client"),
            ("channels", "email"),
            ("channels", "sms"),
            ("quiet_start", "21:00"),
            ("quiet_end", ""),
        ]
    )
    assert reminder_body(form) == {
        "offsets": ["24h", "2h"],
        "audiences": ["client"],
        "channels": ["email", "sms"],
        "quiet_hours": {"start": "21:00", "end": ""},
    }
