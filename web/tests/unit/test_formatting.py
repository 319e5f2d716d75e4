"""Dates, times and money as each viewer reads them: their locale and zone, DST on fixed dates."""

from __future__ import annotations

from atrium_web.formatting import Formatter, negotiate_locale, preferred_language, today_in

NBSP = "\u202f"  # CLDR's narrow no-break space before AM/PM


def test_the_browser_languages_pick_the_first_known_locale_by_weight() -> None:
    assert str(negotiate_locale("de-CH,de;q=0.9,en;q=0.8")) == "de_CH"
    assert str(negotiate_locale("xx-YY, fr;q=0.5, en;q=0.7")) == "en"
    assert str(negotiate_locale("")) == "en_US"
    assert str(negotiate_locale("*, q=junk")) == "en_US"


def test_the_browser_languages_pick_the_most_wanted_of_those_offered() -> None:
    offered = ["en", "de"]
    assert preferred_language("de-CH,de;q=0.9,en;q=0.8", offered) == "de"
    assert preferred_language("fr-FR, fr;q=0.9, de;q=0.5, en;q=0.4", offered) == "de"
    assert preferred_language("en;q=0.2, de;q=0.8", offered) == "de"
    assert preferred_language("de;q=0, en-US", offered) == "en"  # q=0: not German
    assert preferred_language("de", ["en", "de-DE"]) == "de-DE"
    assert preferred_language("fr, *;q=0.1", offered) is None
    assert preferred_language("", offered) is None


def test_times_are_shown_on_the_viewers_wall_clock_across_a_dst_change() -> None:
    berlin = Formatter(negotiate_locale("en-US"), "Europe/Berlin")
    # 29 March 2026: clocks go from 02:00 to 03:00 in Berlin; 08:00 UTC is 09:00 before and 10:00 after.
    assert berlin.time("2026-03-28T08:00:00+00:00") == f"9:00{NBSP}AM"
    assert berlin.time("2026-03-30T08:00:00+00:00") == f"10:00{NBSP}AM"
    london = Formatter(negotiate_locale("en-GB"), "Europe/London")
    assert london.time("2026-03-30T08:00:00+00:00") == "09:00"
    assert london.datetime("2026-12-17T13:00:00+00:00", "full") == "Thursday, 17 December 2026, 13:00"
    german = Formatter(negotiate_locale("de-DE"), "Europe/Berlin")
    assert german.date("2026-12-17") == "Donnerstag, 17. Dezember 2026"


def test_money_is_minor_units_in_the_currencys_own_decimals_and_the_viewers_locale() -> None:
    us, de = Formatter(negotiate_locale("en-US"), "UTC"), Formatter(negotiate_locale("de-DE"), "UTC")
    assert us.money({"amount_minor": 123456, "currency": "USD"}) == "$1,234.56"
    assert de.money({"amount_minor": 123456, "currency": "EUR"}) == "1.234,56\xa0€"
    assert us.money({"amount_minor": 500, "currency": "JPY"}) == "¥500"
    assert us.money({"amount_minor": 1005, "currency": "KWD"}) == "KWD1.005"
    assert us.money(None) == ""
    assert us.minutes(90) == "1 h 30 min" and us.minutes(45) == "45 min" and us.minutes(120) == "2 h"


def test_today_is_the_day_where_the_zone_is_not_the_servers() -> None:
    # UTC+14 and UTC-11 are 25 hours apart: one is always a day or two ahead, whatever the server's clock says.
    ahead, behind = today_in("Pacific/Kiritimati"), today_in("Pacific/Pago_Pago")
    assert 1 <= (ahead - behind).days <= 2
