"""Identity use cases: sign-up, sign-in (staff and portal), token refresh and logout, staff accounts,
portal invitations. Backed by the gateway's own database; raises domain errors the gateway maps to HTTP.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.identity.events import business_profile_changed, staff_member_changed
from gateway.identity.model import GRANTABLE, Account, Tenant, slugify
from gateway.identity.passwords import hash_password, verify_password
from gateway.identity.tokens import AccessTokens, TokenPair, new_opaque_token, token_hash
from gateway.identity.two_factor import accept_code
from platform_core.errors import (
    Conflict,
    FieldViolation,
    InvalidArgument,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from platform_core.ids import new_id

BAD_CREDENTIALS = "invalid email or password"


def _is_uuid(raw: str) -> bool:
    try:
        uuid.UUID(raw)
        return True
    except ValueError:
        return False


class LoginThrottled(LimitExceeded):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "too many failed sign-in attempts; try again later", reason="LOGIN_THROTTLED", retry_after=retry_after
        )


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    window_seconds: int
    lockout_seconds: int


@dataclass(frozen=True)
class Invitation:
    token: str
    email: str
    expires_at: datetime
    id: uuid.UUID | None = None
    business_name: str = ""


class IdentityService:
    def __init__(
        self,
        engine: AsyncEngine,
        tokens: AccessTokens,
        *,
        refresh_ttl_seconds: int,
        refresh_grace_seconds: int,
        throttle: ThrottlePolicy,
        invitation_ttl_seconds: int,
        events_prefix: str,
        default_max_clients: int = 0,
    ) -> None:
        self._engine = engine
        self._tokens = tokens
        self._refresh_ttl = timedelta(seconds=refresh_ttl_seconds)
        self._refresh_grace = timedelta(seconds=refresh_grace_seconds)
        self._throttle = throttle
        self._invitation_ttl = timedelta(seconds=invitation_ttl_seconds)
        self._max_clients = default_max_clients
        self._events_prefix = events_prefix

    # --- sign-up ---------------------------------------------------------------------------------

    async def sign_up(
        self, *, business_name: str, country: str, timezone_name: str, email: str, password: str
    ) -> tuple[Tenant, Account, TokenPair]:
        password_hash = await hash_password(password)
        base_slug = slugify(business_name)
        for attempt in range(5):
            slug = base_slug if attempt == 0 else f"{base_slug[:44]}-{secrets.token_hex(2)}"
            tenant = Tenant(new_id(), business_name.strip(), slug, country, timezone_name)
            owner = Account("staff", new_id(), tenant.id, role="owner", country=country, max_clients=self._max_clients)
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(
                        text(
                            "INSERT INTO tenants (id, name, slug, country, timezone, max_clients) "
                            "VALUES (:id, :name, :slug, :country, :tz, :max)"
                        ),
                        {
                            "id": tenant.id,
                            "name": tenant.name,
                            "slug": slug,
                            "country": country,
                            "tz": timezone_name,
                            "max": self._max_clients or None,
                        },
                    )
                    await conn.execute(
                        text(
                            "INSERT INTO staff_users (id, tenant_id, email, password_hash, role) "
                            "VALUES (:id, :tenant, :email, :hash, 'owner')"
                        ),
                        {"id": owner.id, "tenant": tenant.id, "email": email, "hash": password_hash},
                    )
                    await business_profile_changed(conn, self._events_prefix, tenant.id)
                    await staff_member_changed(conn, self._events_prefix, owner.id)
                    pair = await self.issue_tokens(conn, owner, family_id=new_id())
                return tenant, owner, pair
            except IntegrityError as exc:
                if "staff_users_email_key" in str(exc.orig):
                    raise Conflict("an account with this email already exists", reason="EMAIL_TAKEN") from exc
                if "tenants_slug_key" not in str(exc.orig):
                    raise
        raise Conflict("could not find a free handle for this business name; try another name")

    # --- sign-in ---------------------------------------------------------------------------------

    async def staff_login(self, email: str, password: str, code: str | None = None) -> TokenPair:
        throttle_key = f"staff:{email}"
        row = await self._sign_in(
            throttle_key,
            "SELECT s.id, s.tenant_id, s.password_hash, s.role, s.active, s.token_generation, s.totp_secret, "
            "s.totp_enabled_at, t.country, t.max_clients "
            "FROM staff_users s JOIN tenants t ON t.id = s.tenant_id WHERE s.email = :email",
            {"email": email},
            password,
        )
        if row.totp_enabled_at is not None:
            if not code:
                raise Unauthenticated("this account also needs its two-factor code", reason="TWO_FACTOR_CODE_REQUIRED")
            async with self._engine.begin() as conn:
                accepted = await accept_code(conn, row.id, row.totp_secret, code)
            if not accepted:
                await self.count_attempt(throttle_key)
                raise Unauthenticated(
                    "the two-factor code is wrong or was used already", reason="TWO_FACTOR_CODE_WRONG"
                )
        return await self._issue_new(
            Account(
                "staff",
                row.id,
                row.tenant_id,
                role=row.role,
                country=row.country,
                max_clients=row.max_clients or 0,
                generation=row.token_generation,
            )
        )

    async def portal_login(self, tenant_slug: str, email: str, password: str) -> TokenPair:
        row = await self._sign_in(
            f"portal:{tenant_slug}:{email}",
            "SELECT p.id, p.tenant_id, p.client_id, p.password_hash, p.active, p.token_generation, t.country, "
            "coalesce(a.enabled, true) AS access_enabled FROM portal_accounts p JOIN tenants t ON t.id = p.tenant_id "
            "LEFT JOIN portal_client_access a ON a.tenant_id = p.tenant_id AND a.client_id = p.client_id "
            "WHERE t.slug = :slug AND p.email = :email",
            {"slug": tenant_slug, "email": email},
            password,
        )
        if not row.access_enabled:
            raise PermissionDenied("portal access is switched off for this account", reason="PORTAL_ACCESS_OFF")
        return await self._issue_new(
            Account(
                "portal",
                row.id,
                row.tenant_id,
                client_id=row.client_id,
                country=row.country,
                generation=row.token_generation,
            )
        )

    async def _sign_in(self, throttle_key: str, query: str, params: dict[str, Any], password: str) -> Any:
        """The account row for these credentials, or Unauthenticated; throttled per key.

        The password is verified even when no usable account exists (against a dummy hash), so the answer
        and its timing are the same whether or not the account exists.
        """
        await self.refuse_if_locked(throttle_key)
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(query), params)).first()
        verified = await verify_password(row.password_hash if row is not None and row.active else None, password)
        if row is None or not verified:
            await self.count_attempt(throttle_key)
            raise Unauthenticated(BAD_CREDENTIALS)
        await self._clear_failures(throttle_key)
        return row

    async def _issue_new(self, account: Account) -> TokenPair:
        async with self._engine.begin() as conn:
            return await self.issue_tokens(conn, account, family_id=new_id())

    async def refuse_if_locked(self, key: str) -> None:
        async with self._engine.connect() as conn:
            remaining = await conn.scalar(
                text(
                    "SELECT ceil(extract(epoch FROM locked_until - now()))::int FROM login_throttle "
                    "WHERE key = :key AND locked_until > now()"
                ),
                {"key": key},
            )
        if remaining:
            raise LoginThrottled(max(int(remaining), 1))

    async def count_attempt(self, key: str, policy: ThrottlePolicy | None = None) -> None:
        """Count a failed sign-in (or another throttled attempt) against ``key``; locks it past the policy."""
        policy = policy or self._throttle
        async with self._engine.begin() as conn:
            # One atomic upsert, so concurrent failures on several gateway replicas all count.
            await conn.execute(
                text(
                    """
                    INSERT INTO login_throttle AS t (key, failures, window_started_at, locked_until)
                    VALUES (:key, 1, now(), CASE WHEN :max <= 1 THEN now() + make_interval(secs => :lock) END)
                    ON CONFLICT (key) DO UPDATE SET
                        failures = CASE WHEN t.window_started_at < now() - make_interval(secs => :window)
                                        THEN 1 ELSE t.failures + 1 END,
                        window_started_at = CASE WHEN t.window_started_at < now() - make_interval(secs => :window)
                                                 THEN now() ELSE t.window_started_at END,
                        locked_until = CASE
                            WHEN t.window_started_at >= now() - make_interval(secs => :window)
                                 AND t.failures + 1 >= :max
                            THEN now() + make_interval(secs => :lock)
                            ELSE t.locked_until END
                    """
                ),
                {
                    "key": key,
                    "max": policy.max_failures,
                    "window": policy.window_seconds,
                    "lock": policy.lockout_seconds,
                },
            )

    async def _clear_failures(self, key: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(text("DELETE FROM login_throttle WHERE key = :key"), {"key": key})

    # --- tokens ----------------------------------------------------------------------------------

    async def issue_tokens(self, conn: AsyncConnection, account: Account, *, family_id: uuid.UUID) -> TokenPair:
        refresh = new_opaque_token()
        await self._store_refresh_token(conn, account, refresh, family_id=family_id)
        return TokenPair(self._tokens.issue(account), refresh, self._tokens.ttl_seconds)

    async def _store_refresh_token(
        self, conn: AsyncConnection, account: Account, refresh: str, *, family_id: uuid.UUID
    ) -> uuid.UUID:
        token_id: uuid.UUID = new_id()
        await conn.execute(
            text(
                "INSERT INTO refresh_tokens (id, token_hash, family_id, tenant_id, principal_kind, principal_id, "
                "expires_at) VALUES (:id, :hash, :family, :tenant, :kind, :principal, now() + :ttl)"
            ),
            {
                "id": token_id,
                "hash": token_hash(refresh),
                "family": family_id,
                "tenant": account.tenant_id,
                "kind": account.kind,
                "principal": account.id,
                "ttl": self._refresh_ttl,
            },
        )
        return token_id

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is spent and its successor issued. A spent token presented again
        means it was stolen or replayed, so its whole family is revoked, except within the grace window
        after its rotation while its successor is live: that is a concurrent refresh of the same session
        (two replicas, two tabs), answered the same new tokens."""
        async with self._engine.begin() as conn:
            # The row lock serializes refreshes of one token: the second sees the first's rotation.
            row = (
                await conn.execute(
                    text(
                        "SELECT id, family_id, principal_kind, principal_id, revoked_at, successor_id, "
                        "extract(epoch FROM rotated_at) AS rotated_epoch, "
                        "extract(epoch FROM clock_timestamp()) AS now_epoch, "
                        "rotated_at >= clock_timestamp() - CAST(:grace AS interval) AS in_grace, "
                        "expires_at <= now() AS expired FROM refresh_tokens WHERE token_hash = :hash FOR UPDATE"
                    ),
                    {"hash": token_hash(refresh_token), "grace": self._refresh_grace},
                )
            ).first()
            if row is None or row.expired:
                raise Unauthenticated("refresh token is invalid or expired")
            if row.revoked_at is None:
                account = await self.current_account(conn, row.principal_kind, row.principal_id)
                if account is None:
                    raise Unauthenticated("account is disabled")
                successor = self._tokens.successor_refresh_token(refresh_token)
                successor_id = await self._store_refresh_token(conn, account, successor, family_id=row.family_id)
                rotated = await conn.scalar(
                    text(
                        "UPDATE refresh_tokens SET revoked_at = now(), rotated_at = now(), successor_id = :s "
                        "WHERE id = :id RETURNING extract(epoch FROM rotated_at)"
                    ),
                    {"id": row.id, "s": successor_id},
                )
                return self._rotated_pair(account, successor, float(rotated), now=float(rotated))
            if row.in_grace and await self._is_live(conn, row.successor_id):
                account = await self.current_account(conn, row.principal_kind, row.principal_id)
                if account is None:
                    raise Unauthenticated("account is disabled")
                successor = self._tokens.successor_refresh_token(refresh_token)
                return self._rotated_pair(account, successor, float(row.rotated_epoch), now=float(row.now_epoch))
            await self._revoke_family(conn, row.family_id)
        raise Unauthenticated("refresh token was already used; sign in again")

    def _rotated_pair(self, account: Account, successor: str, rotated_epoch: float, *, now: float) -> TokenPair:
        """The tokens a rotation answers: the access token is issued as at the rotation, so a concurrent
        refresh within the grace window gets the very same one (and the time it has left)."""
        issued = int(rotated_epoch)
        access = self._tokens.issue(account, now=issued)
        return TokenPair(access, successor, max(1, issued + self._tokens.ttl_seconds - int(now)))

    async def _is_live(self, conn: AsyncConnection, token_id: uuid.UUID | None) -> bool:
        if token_id is None:
            return False
        live = await conn.scalar(
            text("SELECT revoked_at IS NULL AND expires_at > now() FROM refresh_tokens WHERE id = :id"),
            {"id": token_id},
        )
        return bool(live)

    async def logout(self, refresh_token: str) -> None:
        async with self._engine.begin() as conn:
            family = await conn.scalar(
                text("SELECT family_id FROM refresh_tokens WHERE token_hash = :hash"),
                {"hash": token_hash(refresh_token)},
            )
            if family is not None:
                await self._revoke_family(conn, family)

    async def _revoke_family(self, conn: AsyncConnection, family_id: uuid.UUID) -> None:
        await conn.execute(
            text("UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = :f AND revoked_at IS NULL"),
            {"f": family_id},
        )

    async def current_account(self, conn: AsyncConnection, kind: str, principal_id: uuid.UUID) -> Account | None:
        if kind == "staff":
            row = (
                await conn.execute(
                    text(
                        "SELECT s.id, s.tenant_id, s.role, s.token_generation, t.country, t.max_clients "
                        "FROM staff_users s JOIN tenants t ON t.id = s.tenant_id WHERE s.id = :id AND s.active"
                    ),
                    {"id": principal_id},
                )
            ).first()
            if row is None:
                return None
            return Account(
                "staff",
                row.id,
                row.tenant_id,
                role=row.role,
                country=row.country,
                max_clients=row.max_clients or 0,
                generation=row.token_generation,
            )
        row = (
            await conn.execute(
                text(
                    "SELECT p.id, p.tenant_id, p.client_id, p.token_generation, t.country FROM portal_accounts p "
                    "JOIN tenants t ON t.id = p.tenant_id "
                    "LEFT JOIN portal_client_access a ON a.tenant_id = p.tenant_id AND a.client_id = p.client_id "
                    "WHERE p.id = :id AND p.active AND coalesce(a.enabled, true)"
                ),
                {"id": principal_id},
            )
        ).first()
        if row is None:
            return None
        return Account(
            "portal",
            row.id,
            row.tenant_id,
            client_id=row.client_id,
            country=row.country,
            generation=row.token_generation,
        )

    # --- accounts --------------------------------------------------------------------------------

    async def describe(self, account: Account) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            tenant = (
                await conn.execute(
                    text("SELECT id, name, slug, country, timezone FROM tenants WHERE id = :id"),
                    {"id": account.tenant_id},
                )
            ).first()
            table = "staff_users" if account.kind == "staff" else "portal_accounts"
            email = await conn.scalar(
                text(f"SELECT email FROM {table} WHERE id = :id AND tenant_id = :t"),
                {"id": account.id, "t": account.tenant_id},
            )
        if tenant is None or email is None:
            raise Unauthenticated("account no longer exists")
        return {
            "kind": account.kind,
            "id": str(account.id),
            "email": email,
            "role": account.role or None,
            "client_id": str(account.client_id) if account.client_id else None,
            "tenant": {
                "id": str(tenant.id),
                "name": tenant.name,
                "slug": tenant.slug,
                "country": tenant.country,
                "timezone": tenant.timezone,
            },
        }

    async def add_staff(self, actor: Account, *, email: str, password: str, role: str) -> dict[str, Any]:
        if role not in GRANTABLE.get(actor.role, set()):
            raise PermissionDenied(f"a {actor.role or 'portal user'} cannot add a staff member with role {role}")
        staff_id = new_id()
        password_hash = await hash_password(password)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO staff_users (id, tenant_id, email, password_hash, role) "
                        "VALUES (:id, :tenant, :email, :hash, :role)"
                    ),
                    {"id": staff_id, "tenant": actor.tenant_id, "email": email, "hash": password_hash, "role": role},
                )
                await staff_member_changed(conn, self._events_prefix, staff_id)
        except IntegrityError as exc:
            if "staff_users_email_key" in str(exc.orig):
                raise Conflict("an account with this email already exists", reason="EMAIL_TAKEN") from exc
            raise
        return {"id": str(staff_id), "email": email, "role": role}

    # --- portal invitations ------------------------------------------------------------------------

    async def invite_to_portal(self, actor: Account, *, client_id: uuid.UUID, email: str) -> Invitation:
        token = new_opaque_token()
        expires_at = datetime.now(UTC) + self._invitation_ttl
        async with self._engine.begin() as conn:
            taken = await conn.scalar(
                text("SELECT client_id FROM portal_accounts WHERE tenant_id = :t AND email = :e AND client_id <> :c"),
                {"t": actor.tenant_id, "e": email, "c": client_id},
            )
            if taken is not None:
                raise Conflict("another client's portal account uses this email", reason="EMAIL_TAKEN")
            invitation_id = new_id()
            business_name = await conn.scalar(text("SELECT name FROM tenants WHERE id = :t"), {"t": actor.tenant_id})
            await conn.execute(
                text(
                    "INSERT INTO portal_invitations (id, tenant_id, client_id, email, token_hash, invited_by, "
                    "expires_at) VALUES (:id, :t, :c, :e, :h, :by, :exp)"
                ),
                {
                    "id": invitation_id,
                    "t": actor.tenant_id,
                    "c": client_id,
                    "e": email,
                    "h": token_hash(token),
                    "by": actor.id,
                    "exp": expires_at,
                },
            )
        return Invitation(token, email, expires_at, invitation_id, business_name or "")

    async def accept_invitation(self, token: str, password: str) -> TokenPair:
        """Set the password chosen by the client; the invitation works once."""
        password_hash = await hash_password(password)
        try:
            return await self._accept_invitation(token, password_hash)
        except IntegrityError as exc:
            # Two clients may share an email, but only one of them signs in to the portal with it.
            if "portal_accounts_tenant_id_email_key" in str(exc.orig):
                raise Conflict(
                    "another client of this business already signs in to the portal with this email; ask the "
                    "business to invite you with another address",
                    reason="EMAIL_TAKEN",
                ) from exc
            raise

    async def _accept_invitation(self, token: str, password_hash: str) -> TokenPair:
        async with self._engine.begin() as conn:
            invitation = (
                await conn.execute(
                    text(
                        "SELECT i.id, i.tenant_id, i.client_id, i.email, t.country FROM portal_invitations i "
                        "JOIN tenants t ON t.id = i.tenant_id WHERE i.token_hash = :h AND i.accepted_at IS NULL "
                        "AND i.expires_at > now() FOR UPDATE OF i"
                    ),
                    {"h": token_hash(token)},
                )
            ).first()
            if invitation is None:
                raise InvalidArgument([FieldViolation("token", "is invalid, expired or already used")])
            created = (
                await conn.execute(
                    text(
                        """
                    INSERT INTO portal_accounts (id, tenant_id, client_id, email, password_hash)
                    VALUES (:id, :t, :c, :e, :h)
                    ON CONFLICT (tenant_id, client_id) DO UPDATE
                        SET email = excluded.email, password_hash = excluded.password_hash, active = true
                    RETURNING id, token_generation
                    """
                    ),
                    {
                        "id": new_id(),
                        "t": invitation.tenant_id,
                        "c": invitation.client_id,
                        "e": invitation.email,
                        "h": password_hash,
                    },
                )
            ).one()
            await conn.execute(
                text("UPDATE portal_invitations SET accepted_at = now() WHERE id = :id"), {"id": invitation.id}
            )
            account = Account(
                "portal",
                created.id,
                invitation.tenant_id,
                client_id=invitation.client_id,
                country=invitation.country,
                generation=created.token_generation,
            )
            return await self.issue_tokens(conn, account, family_id=new_id())

    async def unknown_staff(self, tenant_id: uuid.UUID, staff_ids: list[str]) -> set[str]:
        """The ids among ``staff_ids`` that are not active staff of this tenant."""
        wanted = set(staff_ids)
        parsed = {raw for raw in wanted if _is_uuid(raw)}
        if not parsed:
            return wanted
        async with self._engine.connect() as conn:
            known = {
                str(row.id)
                for row in await conn.execute(
                    text("SELECT id FROM staff_users WHERE tenant_id = :t AND active AND id = ANY(:ids)"),
                    {"t": tenant_id, "ids": [uuid.UUID(raw) for raw in parsed]},
                )
            }
        return wanted - {raw for raw in parsed if str(uuid.UUID(raw)) in known}

    async def staff_members(self, tenant_id: uuid.UUID, staff_ids: list[str]) -> list[dict[str, str]]:
        """id, email and role of these staff users of the tenant, in the order given (unknown ids skipped)."""
        ids = [uuid.UUID(raw) for raw in staff_ids if _is_uuid(raw)]
        if not ids:
            return []
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT id, email, role FROM staff_users WHERE tenant_id = :t AND id = ANY(:ids)"),
                {"t": tenant_id, "ids": ids},
            )
            found = {row.id: {"id": str(row.id), "email": row.email, "role": row.role} for row in rows}
        return [found[i] for i in ids if i in found]

    async def tenant_exists(self, tenant_id: uuid.UUID) -> bool:
        async with self._engine.connect() as conn:
            return bool(await conn.scalar(text("SELECT 1 FROM tenants WHERE id = :id"), {"id": tenant_id}))

    async def ensure_demo(
        self, *, business_name: str, country: str, timezone_name: str, email: str, password: str
    ) -> tuple[str, bool]:
        """The demo tenant and owner for `make run`; returns (tenant slug, created now)."""
        async with self._engine.connect() as conn:
            slug = await conn.scalar(
                text("SELECT t.slug FROM staff_users s JOIN tenants t ON t.id = s.tenant_id WHERE s.email = :e"),
                {"e": email},
            )
        if slug is not None:
            return slug, False
        tenant, _, _ = await self.sign_up(
            business_name=business_name, country=country, timezone_name=timezone_name, email=email, password=password
        )
        return tenant.slug, True


__all__ = ["IdentityService", "Invitation", "LoginThrottled", "NotFound", "ThrottlePolicy"]
