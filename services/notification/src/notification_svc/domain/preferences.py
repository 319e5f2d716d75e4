"""Consent: a client always gets transactional messages (its bookings, requests, account); reminders and
marketing it may switch off per channel, in the portal or by the one-click link every such email carries.
Absent a choice, a category is allowed."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from notification_svc.domain.delivery import PlannedMessage

OPTIONAL_CATEGORIES = ("reminders", "marketing")
PREFERENCE_CHANNELS = ("email", "sms", "in_app")
# Failed SMS attempts before a message the client prefers by SMS goes by email instead (unless its rule
# sets its own number).
PREFERRED_SMS_FALLBACK_AFTER = 2


@dataclass(frozen=True)
class Preference:
    category: str
    channel: str
    allowed: bool


def needs_consent(category: str) -> bool:
    return category in OPTIONAL_CATEGORIES


def opted_out_reason(category: str, channel: str) -> str:
    return f"the client opted out of {category} by {channel.replace('_', '-')}"


def by_preferred_sms(
    planned: Sequence[PlannedMessage], client_id: uuid.UUID, *, switched_off: Collection[str] = ()
) -> list[PlannedMessage]:
    """A client who prefers SMS gets by SMS each email planned for it, falling back to email after failing
    (never both delivered). Not what its rule sends by SMS already (the business chose both), nor a
    category the client switched off by SMS (the email it allows goes instead)."""

    def its_email(m: PlannedMessage) -> bool:
        return m.recipient.kind == "client" and m.recipient.id == client_id and m.channel == "email"

    by_sms = {
        (m.source_event_id, m.rule)
        for m in planned
        if m.recipient.kind == "client" and m.recipient.id == client_id and m.channel == "sms"
    }
    return [
        replace(
            m,
            channel="sms",
            fallback_channel="email",
            fallback_after=m.fallback_after or PREFERRED_SMS_FALLBACK_AFTER,
        )
        if its_email(m) and m.category not in switched_off and (m.source_event_id, m.rule) not in by_sms
        else m
        for m in planned
    ]


@dataclass(frozen=True)
class UnsubscribeLink:
    """The link's token names the tenant (to route it) and carries a random secret; only its hash is kept."""

    tenant_id: uuid.UUID
    secret: str

    @property
    def token(self) -> str:
        return f"{self.tenant_id.hex}{self.secret}"

    @property
    def secret_hash(self) -> bytes:
        return hashlib.sha256(self.secret.encode()).digest()

    @classmethod
    def new(cls, tenant_id: uuid.UUID) -> UnsubscribeLink:
        return cls(tenant_id, base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("="))

    @classmethod
    def parse(cls, token: str) -> UnsubscribeLink | None:
        if len(token) != 32 + 43:
            return None
        try:
            tenant_id = uuid.UUID(hex=token[:32])
        except ValueError:
            return None
        return cls(tenant_id, token[32:])
