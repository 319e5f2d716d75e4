"""Contact details as people type them, normalized: email by email-validator, phone to E.164.

Pure computation (no network: deliverability is not checked), so the domain may use these libraries.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

MAX_EMAIL_LENGTH = 254


class ContactError(ValueError):
    pass


# Pure functions, memoized: an import checks a row's email and phone, then creates the client with them.
@lru_cache(maxsize=4096)
def normalize_email(raw: str) -> str:
    value = raw.strip()
    if len(value) > MAX_EMAIL_LENGTH:
        raise ContactError(f"must be at most {MAX_EMAIL_LENGTH} characters")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ContactError(str(exc)) from exc


def normalize_region(raw: str) -> str | None:
    """An ISO 3166-1 alpha-2 region phonenumbers knows, or None."""
    region = raw.strip().upper()
    if not region:
        return None
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ContactError(f"unknown region {raw!r}")
    return region


@lru_cache(maxsize=4096)
def normalize_phone(raw: str, default_region: str | None) -> str:
    """E.164 form of a number typed as "(212) 555-0142", "+1 212 555 0142" or "2125550142"."""
    value = raw.strip()
    if len(value) > 40:
        raise ContactError("is too long for a phone number")
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException as exc:
        if default_region is None and exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise ContactError("needs a country code (e.g. +1) or a business region") from exc
        raise ContactError("is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ContactError("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
