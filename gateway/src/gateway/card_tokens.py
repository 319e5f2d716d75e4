"""Membership card tokens: what a client's card (or the portal's card screen) carries as a QR code, and what
the desk scans to check the client in. A token names the business and the client and is signed with a key
derived from the access-token secret for this purpose alone, so it can never pass for an access token (nor
an access token for it). It does not expire, like a printed card."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import jwt

from platform_core.errors import InvalidArgument

ALGORITHM = "HS256"
AUDIENCE = "atrium-card"


class CardTokens:
    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"atrium membership card v1", hashlib.sha256).digest()

    def issue(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> str:
        return jwt.encode({"aud": AUDIENCE, "tid": str(tenant_id), "sub": str(client_id)}, self._key, ALGORITHM)

    def verify(self, token: str) -> tuple[uuid.UUID, uuid.UUID]:
        """(tenant, client) of a genuine card; InvalidArgument naming ``token`` otherwise."""
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], audience=AUDIENCE)
            return uuid.UUID(claims["tid"]), uuid.UUID(claims["sub"])
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            raise InvalidArgument.single("token", "is not a membership card of this business") from None
