"""Access tokens (short-lived signed JWTs) and refresh tokens (random, stored hashed, revocable)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

from gateway.identity.model import Account

ISSUER = "atrium"
AUDIENCE = "atrium-api"
ALGORITHM = "HS256"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


class AccessTokens:
    # Verified tokens, so a client's burst of requests pays the signature check once. A token cannot
    # change, so a hit is as good as a fresh check; expiry is still checked on every use.
    CACHE_SIZE = 10_000

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self._verified: dict[str, tuple[Account, int]] = {}
        # A key of its own for rotation, so a successor refresh token is never an HMAC anything else uses.
        self._rotation_key = hmac.new(secret.encode(), b"atrium refresh rotation v1", hashlib.sha256).digest()

    def successor_refresh_token(self, presented: str) -> str:
        """The refresh token that replaces ``presented`` when it is rotated. Derived rather than random, so a
        concurrent refresh of the same token (within the grace window) can be answered the same token again
        without storing it: only its holder and this key can compute it, and only its hash is stored."""
        digest = hmac.new(self._rotation_key, presented.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(self, account: Account, *, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(account.id),
            "tid": str(account.tenant_id),
            "knd": account.kind,
            "rol": account.role,
            "cid": str(account.client_id) if account.client_id else "",
            "ctry": account.country,
            "mxc": account.max_clients,
            "gen": account.generation,
            "iat": issued,
            "exp": issued + self.ttl_seconds,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Account:
        cached = self._verified.get(token)
        if cached is not None:
            account, expires = cached
            if time.time() < expires:
                return account
            del self._verified[token]
        account, expires = self._decode(token)
        if len(self._verified) >= self.CACHE_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest entry
        self._verified[token] = (account, expires)
        return account

    def _decode(self, token: str) -> tuple[Account, int]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "tid", "knd"]},
            )
            kind = claims["knd"]
            if kind not in ("staff", "portal"):
                raise InvalidToken("unknown principal kind")
            account = Account(
                kind=kind,
                id=uuid.UUID(claims["sub"]),
                tenant_id=uuid.UUID(claims["tid"]),
                role=claims.get("rol", ""),
                client_id=uuid.UUID(claims["cid"]) if claims.get("cid") else None,
                country=claims.get("ctry", ""),
                max_clients=int(claims.get("mxc", 0)),
                generation=int(claims.get("gen", 0)),
            )
            return account, int(claims["exp"])
        except (jwt.PyJWTError, ValueError, KeyError) as exc:
            raise InvalidToken(str(exc)) from exc


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """Stored instead of the token: a database leak yields no usable tokens."""
    return hashlib.sha256(token.encode()).digest()
