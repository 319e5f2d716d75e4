"""Consent: a client always gets transactional messages (its bookings, requests, account); reminders and
marketing it may switch off per channel, in the portal or by the one-click link every such email carries.
Absent a choice, a category is allowed."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass

OPTIONAL_CATEGORIES = ("reminders", "marketing")
PREFERENCE_CHANNELS = ("email", "sms", "in_app")


@dataclass(frozen=True)
class Preference:
    category: str
    channel: str
    allowed: bool


def needs_consent(category: str) -> bool:
    return category in OPTIONAL_CATEGORIES


def opted_out_reason(category: str, channel: str) -> str:
    return f"the client opted out of {category} by {channel.replace('_', '-')}"


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
