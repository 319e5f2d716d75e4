"""The live state of a signed-in principal, checked on every request.

An access token says who signed in; whether that account may still act, with which role, is read from the
database: a deactivated staff member, a changed role or a password change (which revokes older tokens)
takes effect on the next request, not when the token expires. What was read is cached per process, and
every change of a staff or portal account row (a trigger's NOTIFY) drops the cached entry on every gateway
replica; while the listening connection is down nothing is cached, so no replica acts on stale state.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.identity.model import Account
from gateway.identity.permissions import permissions_of_role

log = logging.getLogger(__name__)

PRINCIPALS_CHANNEL = "atrium_principals"
CACHE_SIZE = 10_000
LAST_USED_RESOLUTION = 60.0


@dataclass(frozen=True)
class PrincipalState:
    active: bool
    generation: int
    # The role's name (a built-in one or the business's own) and what it allows.
    role: str = ""
    permissions: frozenset[str] = frozenset()
    two_factor_pending: bool = False


class Principals:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._states: dict[tuple[str, uuid.UUID], PrincipalState] = {}
        # The account last made current from a cached state, with the token's account it was made from: a
        # request with that token then costs a lookup. Dropped whenever its state is.
        self._live: dict[tuple[str, uuid.UUID], tuple[Account, Account]] = {}
        # API keys by the SHA-256 of their secret; the secret's hash by key id, to forget a revoked one.
        self._keys: dict[bytes, Account] = {}
        self._key_hashes: dict[uuid.UUID, bytes] = {}
        self._key_used: dict[uuid.UUID, float] = {}
        # Counts invalidations, so a read that raced with one is not cached.
        self._epoch = 0
        self._listening = False

    async def current(self, account: Account) -> Account | None:
        """The account with its live role and permissions, or None when its token no longer counts."""
        key = (account.kind, account.id)
        live = self._live.get(key)
        if live is not None and live[0] is account:
            return live[1]
        state = await self._state(account.kind, account.id)
        current = _current(account, state)
        if current is not None and state is not None and self._states.get(key) is state:
            # Until the state is dropped, the same token's account (verified tokens are cached) reads the same.
            self._live[key] = (account, current)
        return current

    async def api_key(self, secret_hash: bytes) -> Account | None:
        """The principal of an API key, or None when the key is unknown or revoked."""
        account = self._keys.get(secret_hash)
        if account is None:
            epoch = self._epoch
            async with self._engine.connect() as conn:
                row = (
                    await conn.execute(
                        text(
                            "SELECT k.id, k.tenant_id, k.scopes, k.revoked_at, t.country, t.max_clients "
                            "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.secret_hash = :h"
                        ),
                        {"h": secret_hash},
                    )
                ).first()
            if row is None or row.revoked_at is not None:
                return None
            account = Account(
                "staff",
                row.id,
                row.tenant_id,
                country=row.country,
                max_clients=row.max_clients or 0,
                permissions=frozenset(row.scopes),
                api_key_id=row.id,
            )
            if self._listening and epoch == self._epoch:
                if len(self._keys) >= CACHE_SIZE:
                    self._drop_all()
                self._keys[secret_hash] = account
                self._key_hashes[row.id] = secret_hash
        await self._note_use(account.id)
        return account

    async def _note_use(self, key_id: uuid.UUID) -> None:
        """Record when a key was last used, at most once a minute per key and process."""
        now = time.monotonic()
        if now - self._key_used.get(key_id, -LAST_USED_RESOLUTION) < LAST_USED_RESOLUTION:
            return
        self._key_used[key_id] = now
        async with self._engine.begin() as conn:
            await conn.execute(text("UPDATE api_keys SET last_used_at = now() WHERE id = :id"), {"id": key_id})

    def forget(self, kind: str, principal_id: uuid.UUID) -> None:
        self._epoch += 1
        if kind == "api_key":
            self._keys.pop(self._key_hashes.pop(principal_id, b""), None)
        elif kind in ("role", "tenant"):
            self._states.clear()  # every member of the role or the business
            self._live.clear()
        else:
            self._states.pop((kind, principal_id), None)
            self._live.pop((kind, principal_id), None)

    async def _state(self, kind: str, principal_id: uuid.UUID) -> PrincipalState | None:
        key = (kind, principal_id)
        cached = self._states.get(key)
        if cached is not None:
            return cached
        epoch = self._epoch
        query = (
            "SELECT s.active, s.token_generation, coalesce(r.name, s.role) AS role, r.permissions, "
            "(t.require_two_factor AND s.totp_enabled_at IS NULL) AS two_factor_pending "
            "FROM staff_users s JOIN tenants t ON t.id = s.tenant_id "
            "LEFT JOIN staff_roles r ON r.id = s.custom_role_id WHERE s.id = :id"
            if kind == "staff"
            else "SELECT active, token_generation, '' AS role, NULL AS permissions, false AS two_factor_pending "
            "FROM portal_accounts WHERE id = :id"
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(query), {"id": principal_id})).first()
        if row is None:
            return None
        permissions = frozenset(row.permissions) if row.permissions is not None else permissions_of_role(row.role)
        state = PrincipalState(row.active, row.token_generation, row.role, permissions, row.two_factor_pending)
        if self._listening and epoch == self._epoch:
            if len(self._states) >= CACHE_SIZE:
                oldest = next(iter(self._states))
                del self._states[oldest]
                self._live.pop(oldest, None)
            self._states[key] = state
        return state

    def _on_notify(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        kind, _, raw_id = payload.partition(":")
        try:
            self.forget(kind, uuid.UUID(raw_id))
        except ValueError:
            self._drop_all()

    def _drop_all(self) -> None:
        self._epoch += 1
        self._states.clear()
        self._live.clear()
        self._keys.clear()
        self._key_hashes.clear()

    async def listen(self, stop: asyncio.Event) -> None:
        """Hold a LISTEN connection for the process's lifetime; reconnect after any failure."""
        while not stop.is_set():
            try:
                async with self._engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver = raw.driver_connection
                    assert driver is not None
                    closed = asyncio.Event()
                    driver.add_termination_listener(lambda *_, ended=closed: ended.set())
                    await driver.add_listener(PRINCIPALS_CHANNEL, self._on_notify)
                    self._drop_all()  # anything cached before may have missed a notification
                    self._listening = True
                    try:
                        await _first_of(stop, closed)
                    finally:
                        self._listening = False
                        self._drop_all()
                        await conn.invalidate()  # never hand a listening connection back to the pool
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("principals LISTEN connection lost; reconnecting", exc_info=True)
                try:
                    await asyncio.wait_for(stop.wait(), 1.0)
                except TimeoutError:
                    pass


def _current(account: Account, state: PrincipalState | None) -> Account | None:
    if account.kind == "portal" and state is None:
        # Its login was removed (an erased client): the portal's own access check answers for it.
        return account
    if state is None or not state.active or state.generation != account.generation:
        return None
    if account.kind == "portal":
        return account
    return dataclasses.replace(
        account, role=state.role, permissions=state.permissions, two_factor_pending=state.two_factor_pending
    )


async def _first_of(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
