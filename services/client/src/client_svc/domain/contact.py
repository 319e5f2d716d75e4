"""Contact details as people type them, normalized: email by email-validator, phone to E.164.

Pure computation (no network: deliverability is not checked), so the domain may use these libraries.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence

import phonenumbers
from email_validator import EmailNotValidError, validate_email

MAX_EMAIL_LENGTH = 254


class ContactError(ValueError):
    pass


# A check's result: (True, the normalized value) or (False, why the value is refused).
Checked = tuple[bool, str]


class _Results:
    """Results of a pure check by its input, the latest ``size`` kept: an import checks a row's email and phone,
    then creates the client with them; and its worker processes check a batch's values ahead, here learned."""

    def __init__(self, check: Callable[..., str], size: int) -> None:
        self._check = check
        self._size = size
        self._known: dict[Hashable, Checked] = {}

    def result(self, *key: Hashable) -> str:
        found = self._known.get(key)
        if found is None:
            found = self._run(key)
            self._keep(key, found)
        valid, text = found
        if not valid:
            raise ContactError(text)
        return text

    def _run(self, key: tuple[Hashable, ...]) -> Checked:
        try:
            return True, self._check(*key)
        except ContactError as exc:
            return False, str(exc)

    def check_all(self, keys: Iterable[tuple[Hashable, ...]]) -> list[Checked]:
        return [self._run(key) for key in keys]

    def learn(self, keys: Sequence[tuple[Hashable, ...]], results: Sequence[Checked]) -> None:
        for key, found in zip(keys, results, strict=True):
            self._keep(key, found)

    def _keep(self, key: Hashable, found: Checked) -> None:
        self._known[key] = found
        while len(self._known) > self._size:
            del self._known[next(iter(self._known))]  # the oldest


def _email(raw: str) -> str:
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


def _phone(raw: str, default_region: str | None) -> str:
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


# Larger than an import's batch (ATRIUM_IMPORT_BATCH_ROWS at most 10,000), so a batch checked ahead stays known.
_EMAILS = _Results(_email, 20_000)
_PHONES = _Results(_phone, 20_000)


def normalize_email(raw: str) -> str:
    """The address as email-validator normalizes it; ContactError when it is none."""
    return _EMAILS.result(raw)


def normalize_phone(raw: str, default_region: str | None) -> str:
    """E.164 form of a number typed as "(212) 555-0142", "+1 212 555 0142" or "2125550142"."""
    return _PHONES.result(raw, default_region)


def check_contacts(
    emails: Sequence[str], phones: Sequence[tuple[str, str | None]]
) -> tuple[list[Checked], list[Checked]]:
    """Check emails and (phone, default region) pairs, all of them, results in order (for another process)."""
    return _EMAILS.check_all((e,) for e in emails), _PHONES.check_all(phones)


def learn_contacts(
    emails: Sequence[str],
    email_results: Sequence[Checked],
    phones: Sequence[tuple[str, str | None]],
    phone_results: Sequence[Checked],
) -> None:
    """Results of ``check_contacts`` run elsewhere: normalize_email and normalize_phone answer them as their own."""
    _EMAILS.learn([(e,) for e in emails], email_results)
    _PHONES.learn(phones, phone_results)
