"""Dates, times, numbers and money in the viewer's locale (Babel) and zone.

Staff see the business's zone, clients their own; the zone is the session's, the locale the browser's
Accept-Language. Money is integer minor units with its currency, never a float on the way in.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time, get_timezone_name
from babel.numbers import format_currency, format_decimal
from babel.units import format_unit

from platform_core.money import minor_unit_exponent

DEFAULT_LOCALE = "en_US"


def today_in(zone: str) -> dt.date:
    """The day it is now where ``zone`` is: "today" on a page is the business's (or the client's) day, not the
    server's, which runs on UTC."""
    return dt.datetime.now(ZoneInfo(zone)).date()


def ranked_languages(accept_language: str) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (weights respected; ties keep their
    order; a weight of 0 means "not this one")."""
    ranked: list[tuple[float, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality + position * 1e-6, tag))
    return [tag for _, tag in sorted(ranked)]


@functools.lru_cache(maxsize=256)
def negotiate_locale(accept_language: str) -> Locale:
    """The first locale of an Accept-Language header that Babel knows (weights respected)."""
    for tag in ranked_languages(accept_language):
        try:
            return Locale.parse(tag.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            continue
    return Locale.parse(DEFAULT_LOCALE)


def preferred_language(accept_language: str, offered: Sequence[str]) -> str | None:
    """Of the ``offered`` languages, the one the browser wants most: a tag offered as it is, else one of the same
    language (de-CH finds de, de finds de-DE); None when it wants none of them."""
    for tag in ranked_languages(accept_language):
        wanted = tag.lower()
        for language in offered:
            if language.lower() == wanted:
                return language
        primary = wanted.split("-")[0]
        for language in offered:
            if language.lower().split("-")[0] == primary:
                return language
    return None


class Formatter:
    """Formatting for one viewer: a locale and a zone."""

    def __init__(self, locale: Locale, zone: str) -> None:
        self.locale = locale
        self.zone = ZoneInfo(zone)

    def elsewhere(self, zone: str) -> Formatter:
        """The same locale on another zone's clock (a client's times beside the business's)."""
        return Formatter(self.locale, zone)

    def local(self, value: str | dt.datetime) -> dt.datetime:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(self.zone)

    def datetime(self, value: str | dt.datetime | None, style: str = "medium") -> str:
        """``full``: the weekday and date in words with the time in hours and minutes (no seconds, no zone:
        pages say once which zone their times are in)."""
        if not value:
            return ""
        if style == "full":
            return f"{self.date(value)}, {self.time(value)}"
        return format_datetime(self.local(value), format=style, tzinfo=self.zone, locale=self.locale)

    def time(self, value: str | dt.datetime | None) -> str:
        if not value:
            return ""
        return format_time(self.local(value), format="short", tzinfo=self.zone, locale=self.locale)

    def clock(self, value: str | None) -> str:
        """A wall-clock time of day (HH:MM, no zone: already the viewer's) in the viewer's locale."""
        if not value:
            return ""
        return format_time(dt.time.fromisoformat(value), format="short", locale=self.locale)

    def date(self, value: str | dt.date | dt.datetime | None, style: str = "full") -> str:
        if not value:
            return ""
        if isinstance(value, str):
            value = self.local(value) if "T" in value else dt.date.fromisoformat(value)
        elif isinstance(value, dt.datetime):
            value = self.local(value)
        return format_date(value, format=style, locale=self.locale)

    def zone_name(self) -> str:
        return str(get_timezone_name(self.zone, locale=self.locale))

    def number(self, value: int | float | Decimal) -> str:
        return str(format_decimal(value, locale=self.locale))

    def money(self, money: dict[str, Any] | None) -> str:
        """A gateway money object ({amount_minor, currency}) in the viewer's locale."""
        if not money:
            return ""
        currency = str(money["currency"])
        amount = Decimal(int(money["amount_minor"])).scaleb(-minor_unit_exponent(currency))
        return str(format_currency(amount, currency, locale=self.locale))

    def file_size(self, size_bytes: int) -> str:
        """Decimal units, as file managers show them (1 kB = 1,000 bytes)."""
        for unit, scale in (("digital-megabyte", 1_000_000), ("digital-kilobyte", 1_000)):
            if size_bytes >= scale:
                return str(format_unit(round(size_bytes / scale, 1), unit, length="short", locale=self.locale))
        return str(format_unit(size_bytes, "digital-byte", length="short", locale=self.locale))

    def minutes(self, value: int) -> str:
        hours, minutes = divmod(int(value), 60)
        if hours and minutes:
            return f"{hours} h {minutes} min"
        return f"{hours} h" if hours else f"{minutes} min"
