"""Settings pages as rendered from the gateway's shapes and what their forms send: a service changed whole (its
price shown for editing in the viewer's locale and read back exactly), and the public booking page's states."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import make_mocked_request
from multidict import MultiDict

from atrium_web.formatting import Formatter, negotiate_locale
from atrium_web.pages import template_environment
from atrium_web.views.settings import amount_text, minor_units, service_body

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
    )
    assert 'name="version" value="4"' in html and 'value="1,030.5"' in html and "Now €1,030.50" in html
    assert 'id="service-staff-m1" name="staff_ids" value="m1" checked' in html
    assert 'id="service-staff-m2" name="staff_ids" value="m2" >' in html
    assert 'value="r2" checked> <label for="service-resource-r2">Basin <span class="muted">(archived)</span>' in html
    assert 'id="bookable_online" name="bookable_online" >' in html


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
