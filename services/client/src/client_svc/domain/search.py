"""What a person typed in the search box, read as a phone number, an email or name words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from client_svc.domain.contact import ContactError, normalize_phone, normalize_region
from platform_core.errors import InvalidArgument

MAX_QUERY_LENGTH = 100
_PHONE_CHARACTERS = re.compile(r"^\+?[\d\s().\-/]+$")
MIN_PHONE_DIGITS = 5


@dataclass(frozen=True)
class ClientSearch:
    phone: str | None = None  # E.164
    email_prefix: str | None = None  # lower case
    name_prefixes: tuple[str, ...] = ()  # lower case; every word must start a first or last name


def read_search(query: str, default_region: str) -> ClientSearch | None:
    """None when there is nothing to search for."""
    text = " ".join(query.split())
    if not text:
        return None
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidArgument.single("q", f"must be at most {MAX_QUERY_LENGTH} characters")
    digits = sum(ch.isdigit() for ch in text)
    if _PHONE_CHARACTERS.match(text) and digits >= MIN_PHONE_DIGITS:
        try:
            region = normalize_region(default_region)
            return ClientSearch(phone=normalize_phone(text, region))
        except ContactError:
            pass  # not a number this business could dial: search it as text
    if "@" in text:
        return ClientSearch(email_prefix=text.lower())
    return ClientSearch(name_prefixes=tuple(word.lower() for word in text.split(" ")))


def like_prefix(value: str) -> str:
    """A LIKE pattern matching strings that start with ``value`` (its own wildcards taken literally)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def above_prefix(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix``, in code point order (the order
    of UTF-8 bytes, which text_pattern_ops compares), or None when there is none (``prefix`` is all U+10FFFF):
    the strings starting with ``prefix`` are exactly those from ``prefix`` up to, not including, this one."""
    for end in range(len(prefix), 0, -1):
        following = ord(prefix[end - 1]) + 1
        following = 0xE000 if 0xD800 <= following <= 0xDFFF else following  # surrogates are no characters
        if following <= 0x10FFFF:
            return prefix[: end - 1] + chr(following)
    return None
