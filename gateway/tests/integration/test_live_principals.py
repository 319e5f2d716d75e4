"""A signed-in staff member's live state, cached per gateway process: a request with the same token reads the cache,
and a role change, a deactivation or a revocation (sign-out everywhere, a password change) still counts from the
next request on, on every replica, however warm the cache."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.identity.model import Account
from gateway.identity.principals import Principals
from gateway.identity.service import IdentityService, ThrottlePolicy
from gateway.identity.tokens import AccessTokens
from platform_dev.testing.plugin import wait_until

SECRET = "p" * 40


@pytest.fixture
async def replicas(engine: AsyncEngine) -> AsyncIterator[tuple[Principals, Principals]]:
    """Two gateway replicas' caches, each listening for changes."""
    stop = asyncio.Event()
    both = (Principals(engine), Principals(engine))
    listeners = [asyncio.create_task(p.listen(stop)) for p in both]
    await wait_until(lambda: all(p._listening for p in both))
    yield both
    stop.set()
    await asyncio.gather(*listeners, return_exceptions=True)


async def owner_token(engine: AsyncEngine) -> tuple[AccessTokens, str]:
    tokens = AccessTokens(SECRET, 900)
    identity = IdentityService(
        engine,
        tokens,
        refresh_ttl_seconds=3600,
        refresh_grace_seconds=10,
        throttle=ThrottlePolicy(5, 900, 900),
        invitation_ttl_seconds=3600,
        events_prefix="test",
    )
    _, _, pair = await identity.sign_up(
        business_name=f"Live {uuid.uuid4().hex[:8]}",
        country="US",
        timezone_name="UTC",
        email=f"owner-{uuid.uuid4().hex[:8]}@live.example.com",
        password="a long enough password",
    )
    return tokens, pair.access_token


async def change(engine: AsyncEngine, account: Account, assignment: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f"UPDATE staff_users SET {assignment} WHERE id = :id"), {"id": account.id})


async def test_a_cached_account_follows_role_changes_and_revocation_on_every_replica(
    engine: AsyncEngine, replicas: tuple[Principals, Principals]
) -> None:
    tokens, token = await owner_token(engine)
    signed = tokens.verify(token)
    for replica in replicas:
        first = await replica.current(signed)
        assert first is not None and "staff.manage" in first.permissions
        assert await replica.current(tokens.verify(token)) is first  # the same token reads the cache

    await change(engine, signed, "role = 'staff'")
    for replica in replicas:
        await wait_until(lambda r=replica: _lacks(r, tokens.verify(token), "staff.manage"))  # type: ignore[misc]

    await change(engine, signed, "token_generation = token_generation + 1")  # sessions revoked
    for replica in replicas:
        await wait_until(lambda r=replica: _refused(r, tokens.verify(token)))  # type: ignore[misc]
        assert await replica.current(tokens.verify(token)) is None


async def test_a_deactivated_member_is_refused_however_warm_the_cache(
    engine: AsyncEngine, replicas: tuple[Principals, Principals]
) -> None:
    tokens, token = await owner_token(engine)
    for _ in range(3):
        for replica in replicas:
            assert await replica.current(tokens.verify(token)) is not None
    await change(engine, tokens.verify(token), "active = false, deactivated_at = now()")
    for replica in replicas:
        await wait_until(lambda r=replica: _refused(r, tokens.verify(token)))  # type: ignore[misc]


async def test_nothing_is_cached_while_the_replica_does_not_listen(engine: AsyncEngine) -> None:
    tokens, token = await owner_token(engine)
    deaf = Principals(engine)  # never listening: every request reads the database
    assert await deaf.current(tokens.verify(token)) is not None
    await change(engine, tokens.verify(token), "token_generation = token_generation + 1")
    assert await deaf.current(tokens.verify(token)) is None


async def _lacks(replica: Principals, account: Account, permission: str) -> bool:
    current = await replica.current(account)
    return current is not None and permission not in current.permissions


async def _refused(replica: Principals, account: Account) -> bool:
    return await replica.current(account) is None
