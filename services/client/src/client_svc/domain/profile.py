"""The rest of the client record, as typed, validated field by field."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field, fields
from datetime import date
from functools import lru_cache

from platform_core.money import is_currency
from platform_core.validation import Violations

KINDS = ("individual", "business")
SOURCES = ("staff", "import", "portal", "booking_widget")
INVOICING_METHODS = ("email", "portal", "print", "none")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
MAX_BALANCE_MINOR = 10**12
_LIMITS = {"line1": 200, "line2": 200, "city": 100, "region": 100, "postal_code": 20}


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@dataclass(frozen=True)
class Address:
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass(frozen=True)
class Profile:
    kind: str = "individual"
    company_name: str = ""
    address: Address = field(default_factory=Address)
    date_of_birth: date | None = None
    preferred_language: str = ""
    timezone: str = ""
    source: str = "staff"
    default_invoicing_method: str = "email"
    opening_balance_minor: int | None = None
    opening_balance_currency: str | None = None


@dataclass(frozen=True)
class ProfileInput:
    """What the caller sent; strings as typed. A balance counts only with a currency."""

    kind: str = ""
    company_name: str = ""
    address: Address = field(default_factory=Address)
    date_of_birth: str = ""
    preferred_language: str = ""
    timezone: str = ""
    source: str = ""
    default_invoicing_method: str = ""
    opening_balance_minor: int = 0
    opening_balance_currency: str = ""


def read_profile(raw: ProfileInput, *, today: date, violations: Violations) -> Profile:
    """The validated profile; appends a violation per broken rule (field names as the API spells them)."""

    def bad(field: str, message: str) -> None:
        violations.add(f"profile.{field}", message)

    kind = raw.kind.strip() or "individual"
    if kind not in KINDS:
        bad("kind", f"must be one of {', '.join(KINDS)}")
    company = " ".join(raw.company_name.split())
    if len(company) > 200:
        bad("company_name", "must be at most 200 characters")
    elif kind == "business" and not company:
        bad("company_name", "is required for a business")

    address_values = {f.name: " ".join(getattr(raw.address, f.name).split()) for f in fields(Address)}
    address_values["country"] = address_values["country"].upper()
    for name, limit in _LIMITS.items():
        if len(address_values[name]) > limit:
            bad(f"address.{name}", f"must be at most {limit} characters")
    if address_values["country"] and not _COUNTRY.match(address_values["country"]):
        bad("address.country", "must be an ISO 3166-1 alpha-2 code, e.g. US")

    born = None
    if raw.date_of_birth.strip():
        try:
            born = date.fromisoformat(raw.date_of_birth.strip())
        except ValueError:
            bad("date_of_birth", "must be a date like 1990-04-23")
        else:
            if born > today or born.year < 1900:
                bad("date_of_birth", "must be between 1900-01-01 and today")

    language = raw.preferred_language.strip()
    if language and not _LANGUAGE.match(language):
        bad("preferred_language", "must be a language tag like en or fr-CA")
    timezone = raw.timezone.strip()
    if timezone and timezone not in _zones():
        bad("timezone", "must be an IANA timezone, e.g. Europe/Berlin")
    source = raw.source.strip() or "staff"
    if source not in SOURCES:
        bad("source", f"must be one of {', '.join(SOURCES)}")
    invoicing = raw.default_invoicing_method.strip() or "email"
    if invoicing not in INVOICING_METHODS:
        bad("default_invoicing_method", f"must be one of {', '.join(INVOICING_METHODS)}")

    balance: int | None = None
    currency: str | None = None
    if raw.opening_balance_currency.strip():
        currency = raw.opening_balance_currency.strip().upper()
        if not is_currency(currency):
            bad("opening_balance.currency", "must be an ISO 4217 currency code, e.g. USD")
        balance = raw.opening_balance_minor
        if abs(balance) > MAX_BALANCE_MINOR:
            bad("opening_balance.amount_minor", "is out of range")
    elif raw.opening_balance_minor:
        bad("opening_balance.currency", "is required with an amount")

    return Profile(
        kind=kind,
        company_name=company,
        address=Address(**address_values),
        date_of_birth=born,
        preferred_language=language,
        timezone=timezone,
        source=source,
        default_invoicing_method=invoicing,
        opening_balance_minor=balance,
        opening_balance_currency=currency,
    )
