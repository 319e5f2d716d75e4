"""Who messages go to, as this service knows them from events: clients' contact facts, staff members and
the business itself; and how a recipient's language and zone are chosen."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class ClientContact:
    client_id: uuid.UUID
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    language: str = ""
    timezone: str = ""

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name.strip(), self.last_name.strip()) if p)


@dataclass(frozen=True)
class StaffMember:
    staff_id: uuid.UUID
    email: str
    name: str
    permissions: frozenset[str]
    active: bool
    language: str = ""
    timezone: str = ""


@dataclass(frozen=True)
class BusinessProfile:
    business_name: str = ""
    timezone: str = ""
    language: str = ""


@dataclass(frozen=True)
class Addressee:
    """A recipient resolved for one channel: where to, in which language and zone, and how to greet."""

    address: str
    language: str
    timezone: str
    name: str


def base_language(tag: str) -> str:
    """'de-AT' -> 'de', 'pt_BR' -> 'pt'; '' stays ''."""
    return tag.replace("_", "-").split("-")[0].strip().lower()


def choose_language(available: Collection[str], *preferences: str) -> str:
    """The first preference (exact tag, then its base language) the templates exist in; else English."""
    for tag in preferences:
        if not tag:
            continue
        normalized = tag.replace("_", "-").lower()
        if normalized in available:
            return normalized
        if base_language(tag) in available:
            return base_language(tag)
    return DEFAULT_LANGUAGE


def zone_or_utc(*zones: str) -> ZoneInfo:
    """The first zone that names a real IANA zone; UTC otherwise."""
    for zone in zones:
        if not zone:
            continue
        try:
            return ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def address_for(channel: str, *, email: str, phone: str) -> str:
    return {"email": email, "sms": phone}.get(channel, "")


def missing_address_reason(channel: str, recipient_kind: str) -> str:
    what = {"email": "email address", "sms": "mobile number"}.get(channel, "address")
    return f"the {recipient_kind} has no {what} on record"


@dataclass(frozen=True)
class Delivery:
    """What one claimed message is rendered with: its addressee and business."""

    addressee: Addressee
    business: BusinessProfile
    client_name: str
    # The recipient switched this category off on this channel.
    opted_out: bool = False
    # One-click unsubscribe address of an email that needs consent.
    unsubscribe_url: str = ""
    # The business's own wording of this kind in the recipient's language.
    override: str | None = None
