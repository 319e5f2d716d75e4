"""Forgotten and changed passwords, for staff and portal accounts.

A reset is asked by email address and always answered the same way: whether the address has an account is
never revealed, and requests per address are throttled either way. For an existing account a one-time link
(a random token; only its SHA-256 is stored) goes out as PasswordResetRequested. Using it sets the password
once, ends every session and revokes every access token issued before (the account's token generation).
Changing the password while signed in does the same to every other session and hands back fresh tokens.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from atrium.gateway.v1 import events_pb2 as ev
from gateway.identity.events import emit
from gateway.identity.model import Account
from gateway.identity.passwords import hash_password, verify_password
from gateway.identity.principals import Principals
from gateway.identity.service import IdentityService, ThrottlePolicy
from gateway.identity.tokens import TokenPair, new_opaque_token, token_hash
from platform_core.errors import FieldViolation, InvalidArgument, Unauthenticated
from platform_core.ids import new_id

_TABLES = {"staff": "staff_users", "portal": "portal_accounts"}


class PasswordResets:
    def __init__(
        self,
        engine: AsyncEngine,
        identity: IdentityService,
        principals: Principals,
        *,
        events_prefix: str,
        base_url: str,
        ttl_seconds: int,
        throttle: ThrottlePolicy,
    ) -> None:
        self._engine = engine
        self._identity = identity
        self._principals = principals
        self._prefix = events_prefix
        self._base_url = base_url
        self._ttl = timedelta(seconds=ttl_seconds)
        self._throttle = throttle

    async def request_for_staff(self, email: str) -> None:
        await self._request(
            f"reset:staff:{email}",
            "SELECT s.id, s.tenant_id, NULL::uuid AS client_id, s.email, s.name, "
            "coalesce(nullif(s.language, ''), t.default_language) AS language, t.slug "
            "FROM staff_users s JOIN tenants t ON t.id = s.tenant_id "
            "WHERE s.email = :email AND s.active AND s.password_hash IS NOT NULL",
            {"email": email},
            kind="staff",
        )

    async def request_for_portal(self, tenant_slug: str, email: str) -> None:
        await self._request(
            f"reset:portal:{tenant_slug}:{email}",
            "SELECT p.id, p.tenant_id, p.client_id, p.email, '' AS name, t.default_language AS language, t.slug "
            "FROM portal_accounts p JOIN tenants t ON t.id = p.tenant_id "
            "WHERE t.slug = :slug AND p.email = :email AND p.active",
            {"slug": tenant_slug, "email": email},
            kind="portal",
        )

    async def _request(self, throttle_key: str, query: str, params: dict[str, Any], *, kind: str) -> None:
        await self._identity.refuse_if_locked(throttle_key)
        await self._identity.count_attempt(throttle_key, self._throttle)
        token = new_opaque_token()
        expires_at = datetime.now(UTC) + self._ttl
        async with self._engine.begin() as conn:
            account = (await conn.execute(text(query), params)).first()
            if account is None:
                return
            await conn.execute(
                text(
                    "INSERT INTO password_resets (id, tenant_id, account_kind, account_id, token_hash, expires_at) "
                    "VALUES (:id, :t, :kind, :account, :h, :exp)"
                ),
                {
                    "id": new_id(),
                    "t": account.tenant_id,
                    "kind": kind,
                    "account": account.id,
                    "h": token_hash(token),
                    "exp": expires_at,
                },
            )
            path = "staff/reset-password" if kind == "staff" else f"portal/{account.slug}/reset-password"
            requested = ev.PasswordResetRequested(
                account_kind=kind,
                account_id=str(account.id),
                client_id=str(account.client_id or ""),
                email=account.email,
                name=account.name,
                reset_url=f"{self._base_url}/{path}#token={token}",
                language=account.language,
            )
            requested.expires_at.FromDatetime(expires_at)
            await emit(
                conn,
                self._prefix,
                requested,
                tenant_id=account.tenant_id,
                aggregate_type="staff_member" if kind == "staff" else "portal_account",
                aggregate_id=account.id,
            )

    async def reset(self, token: str, password: str) -> None:
        """Set the new password with a reset link's token; the link works once and ends every session."""
        password_hash = await hash_password(password)
        async with self._engine.begin() as conn:
            reset = (
                await conn.execute(
                    text(
                        "SELECT id, account_kind, account_id, used_at, expires_at <= now() AS expired "
                        "FROM password_resets WHERE token_hash = :h FOR UPDATE"
                    ),
                    {"h": token_hash(token)},
                )
            ).first()
            if reset is None:
                raise InvalidArgument([FieldViolation("token", "is not a valid password reset link")])
            if reset.used_at is not None:
                raise InvalidArgument([FieldViolation("token", "has already been used; ask for a new link")])
            if reset.expired:
                raise InvalidArgument([FieldViolation("token", "has expired; ask for a new link")])
            # Every other link of the account dies with this one.
            await conn.execute(
                text(
                    "UPDATE password_resets SET used_at = now() WHERE account_kind = :k AND account_id = :a "
                    "AND used_at IS NULL"
                ),
                {"k": reset.account_kind, "a": reset.account_id},
            )
            await _set_password(conn, reset.account_kind, reset.account_id, password_hash)
        self._principals.forget(reset.account_kind, reset.account_id)

    async def change(self, account: Account, current_password: str, new_password: str) -> TokenPair:
        """Change the signed-in account's password: every session ends, this caller gets new tokens."""
        table = _TABLES[account.kind]
        async with self._engine.connect() as conn:
            stored = await conn.scalar(text(f"SELECT password_hash FROM {table} WHERE id = :id"), {"id": account.id})
        if not await verify_password(stored, current_password):
            raise InvalidArgument([FieldViolation("current_password", "is not the account's password")])
        password_hash = await hash_password(new_password)
        async with self._engine.begin() as conn:
            await _set_password(conn, account.kind, account.id, password_hash)
            renewed = await self._identity.current_account(conn, account.kind, account.id)
            if renewed is None:
                raise Unauthenticated("account is disabled")
            pair = await self._identity.issue_tokens(conn, renewed, family_id=new_id())
        self._principals.forget(account.kind, account.id)
        return pair


async def _set_password(conn: AsyncConnection, kind: str, account_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute(
        text(f"UPDATE {_TABLES[kind]} SET password_hash = :h, token_generation = token_generation + 1 WHERE id = :id"),
        {"h": password_hash, "id": account_id},
    )
    await conn.execute(
        text(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND principal_kind = :k "
            "AND principal_id = :id"
        ),
        {"k": kind, "id": account_id},
    )
