"""Identity rules, pure: roles, slugs, what a principal may do."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

ROLES = ("owner", "admin", "staff")
# Who may grant which role: only an owner makes (or unmakes) an owner.
GRANTABLE = {"owner": {"owner", "admin", "staff"}, "admin": {"admin", "staff"}}

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128


def slugify(name: str) -> str:
    """URL-safe tenant handle from a business name: "Café Olé & Co" -> "cafe-ole-co"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:50].strip("-") or "business"


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    name: str
    slug: str
    country: str
    timezone: str


@dataclass(frozen=True)
class Account:
    """A signed-in principal as the token describes it."""

    kind: str  # staff | portal
    id: uuid.UUID
    tenant_id: uuid.UUID
    role: str = ""
    client_id: uuid.UUID | None = None
    country: str = ""
    # The tenant's plan limit on live clients; 0: none.
    max_clients: int = 0
    # Bumped when the account's sessions are revoked (password change): older access tokens stop working.
    generation: int = 0
    # What the principal may do, from its role or its API key's scopes (resolved per request).
    permissions: frozenset[str] = frozenset()
    # The business requires two-factor sign-in and this member has not set it up: only set-up is open.
    two_factor_pending: bool = False
    # Set when the call is made with an API key (then ``id`` is the key's id).
    api_key_id: uuid.UUID | None = None

    @property
    def via(self) -> str:
        """How the caller signed in: "staff", "portal" or "api_key"."""
        return "api_key" if self.api_key_id else self.kind
