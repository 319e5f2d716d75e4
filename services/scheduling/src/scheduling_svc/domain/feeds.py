"""Calendar feeds: who owns one, who may manage it, and the secret that opens it.

A feed's URL carries ``<tenant id hex>.<feed id hex>.<secret>``. The tenant part lets a caller without an
account (a calendar program) reach the right tenant; the feed id finds the row; the secret, 32 random bytes,
is the credential. Only its SHA-256 is stored, and it is compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from platform_core.errors import InvalidArgument, NotFound, PermissionDenied

OWNER_KINDS = ("staff", "client")
SECRET_BYTES = 32
MANAGER_ROLES = ("owner", "admin")
# What a feed shows: the recent past (for looking back) and the year ahead.
FEED_PAST = timedelta(days=90)
FEED_FUTURE = timedelta(days=365)
# A feed is a calendar, not an export: beyond this many appointments the latest are left out.
MAX_FEED_EVENTS = 10_000


@dataclass(frozen=True)
class FeedOwner:
    kind: str  # staff | client
    id: uuid.UUID

    @classmethod
    def parse(cls, kind: str, raw_id: str) -> FeedOwner:
        if kind not in OWNER_KINDS:
            raise InvalidArgument.single("owner.kind", f"must be one of: {', '.join(OWNER_KINDS)}")
        try:
            return cls(kind, uuid.UUID(raw_id))
        except ValueError:
            raise InvalidArgument.single("owner.id", f"is not a {kind} id") from None


@dataclass(frozen=True)
class Viewer:
    """Who asks, as the call's principal describes them."""

    kind: str  # staff | portal | service
    id: str
    role: str = ""
    client_id: str = ""


def check_may_manage(viewer: Viewer, owner: FeedOwner) -> None:
    """A staff member's feed: that staff member, or an owner or admin. A client's: any staff member, or the
    client itself (portal). Other services act for someone who was already checked."""
    if viewer.kind == "service":
        return
    if owner.kind == "staff":
        if viewer.kind == "staff" and (viewer.id == str(owner.id) or viewer.role in MANAGER_ROLES):
            return
        if viewer.kind == "staff":
            raise PermissionDenied("only owners and admins manage another staff member's calendar feed")
        raise PermissionDenied("staff calendar feeds are managed by staff")
    if viewer.kind == "staff" or (viewer.kind == "portal" and viewer.client_id == str(owner.id)):
        return
    raise NotFound("client not found")


@dataclass(frozen=True)
class CalendarFeed:
    tenant_id: uuid.UUID
    id: uuid.UUID
    owner: FeedOwner
    include_cancelled: bool
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def live(self) -> bool:
        return self.revoked_at is None

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        return now - FEED_PAST, now + FEED_FUTURE


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_secret() -> tuple[str, bytes]:
    """(the secret as it goes in the URL, the hash that is stored)."""
    secret = _b64(secrets.token_bytes(SECRET_BYTES))
    return secret, hash_secret(secret)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def secret_matches(stored_hash: bytes, secret: str) -> bool:
    return hmac.compare_digest(stored_hash, hash_secret(secret))


def token_for(tenant_id: uuid.UUID, feed_id: uuid.UUID, secret: str) -> str:
    return f"{tenant_id.hex}.{feed_id.hex}.{secret}"


@dataclass(frozen=True)
class FeedToken:
    tenant_id: uuid.UUID
    feed_id: uuid.UUID
    secret: str


def parse_token(token: str) -> FeedToken:
    """A token this service issued, or NotFound: a malformed token names no feed."""
    parts = token.split(".")
    if len(parts) != 3 or len(parts[2]) != len(_b64(bytes(SECRET_BYTES))):
        raise NotFound("calendar feed not found")
    try:
        return FeedToken(uuid.UUID(hex=parts[0]), uuid.UUID(hex=parts[1]), parts[2])
    except ValueError:
        raise NotFound("calendar feed not found") from None
