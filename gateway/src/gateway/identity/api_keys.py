"""API keys: a business's machine credentials, scoped to permissions, shown once, stored hashed.

A key is sent as a bearer token (``atrium_sk_...``). Its call acts as a staff principal whose id is the
key's id (so what it does is attributed to the key) and whose permissions are the key's scopes. A revoked
key answers 401 from the next call on (the principals cache is cleared by the row's NOTIFY). Calls made
with keys are rate limited per key and per client IP over fixed windows counted in PostgreSQL, so every
gateway replica counts against the same budget.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.identity.model import Account
from gateway.identity.principals import Principals
from platform_core.errors import LimitExceeded, NotFound, PermissionDenied
from platform_core.ids import new_id

SECRET_PREFIX = "atrium_sk_"
DISPLAYED_CHARACTERS = len(SECRET_PREFIX) + 6


def is_api_key(bearer: str) -> bool:
    return bearer.startswith(SECRET_PREFIX)


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class RateLimited(LimitExceeded):
    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(
            f"rate limit of this {what} reached; retry after {retry_after} s",
            reason="RATE_LIMITED",
            retry_after=retry_after,
        )


@dataclass(frozen=True)
class RateLimits:
    per_key: int
    per_ip: int
    window_seconds: int


class ApiKeys:
    def __init__(self, engine: AsyncEngine, principals: Principals, limits: RateLimits) -> None:
        self._engine = engine
        self._principals = principals
        self._limits = limits

    async def create(self, actor: Account, *, name: str, scopes: list[str]) -> dict[str, Any]:
        _owner_only(actor)
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        key_id = new_id()
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    text(
                        "INSERT INTO api_keys (id, tenant_id, name, display_prefix, secret_hash, scopes, created_by) "
                        "VALUES (:id, :t, :name, :prefix, :hash, :scopes, :by) RETURNING *"
                    ),
                    {
                        "id": key_id,
                        "t": actor.tenant_id,
                        "name": name,
                        "prefix": secret[:DISPLAYED_CHARACTERS],
                        "hash": secret_hash(secret),
                        "scopes": sorted(set(scopes)),
                        "by": actor.id,
                    },
                )
            ).one()
        return _key(row) | {"secret": secret}

    async def list(self, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT * FROM api_keys WHERE tenant_id = :t ORDER BY created_at DESC, id"), {"t": tenant_id}
            )
            return [_key(row) for row in rows]

    async def revoke(self, actor: Account, key_id: uuid.UUID) -> None:
        """Revoking twice changes nothing."""
        _owner_only(actor)
        async with self._engine.begin() as conn:
            found = await conn.scalar(
                text(
                    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE tenant_id = :t AND id = :id "
                    "RETURNING id"
                ),
                {"t": actor.tenant_id, "id": key_id},
            )
        if found is None:
            raise NotFound("API key not found")
        self._principals.forget("api_key", key_id)

    async def count_call(self, account: Account, client_ip: str) -> None:
        """Count a call made with a key, against the key's and the client IP's budget (429 past either)."""
        limits = self._limits
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    text(
                        """
                        INSERT INTO rate_limit_windows AS w (key, window_start, hits)
                        SELECT k, to_timestamp(floor(extract(epoch FROM now()) / :w) * :w), 1
                        FROM unnest(CAST(:keys AS text[])) AS k
                        ON CONFLICT (key, window_start) DO UPDATE SET hits = w.hits + 1
                        RETURNING key, hits,
                            ceil(extract(epoch FROM window_start + make_interval(secs => :w) - now()))::int AS left
                        """
                    ),
                    {"w": limits.window_seconds, "keys": [f"key:{account.api_key_id}", f"ip:{client_ip}"]},
                )
            ).all()
        for row in rows:
            limit, what = (limits.per_key, "API key") if row.key.startswith("key:") else (limits.per_ip, "client IP")
            if row.hits > limit:
                raise RateLimited(what, max(int(row.left), 1))


async def purge_rate_limit_windows(engine: AsyncEngine, window_seconds: int) -> None:
    """Drop the counters of windows long past (the worker runs this now and then)."""
    async with engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM rate_limit_windows WHERE window_start < now() - make_interval(secs => :w * 2)"),
            {"w": window_seconds},
        )


def _owner_only(actor: Account) -> None:
    if actor.api_key_id is not None or actor.role != "owner":
        raise PermissionDenied("only an owner creates and revokes API keys", reason="OWNER_ONLY")


def _key(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "prefix": row.display_prefix,
        "scopes": list(row.scopes),
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at,
    }
