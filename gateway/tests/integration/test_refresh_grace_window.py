"""Refresh-token rotation with a grace window: concurrent refreshes of one token (two web replicas serving one
cookie) get the same new tokens; a spent token presented later is reuse and revokes its family."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.identity.service import IdentityService, ThrottlePolicy
from gateway.identity.tokens import AccessTokens, TokenPair, token_hash
from platform_core.errors import Unauthenticated

SECRET = "g" * 40
CONCURRENT = 6


@pytest.fixture
def identity(engine: AsyncEngine) -> IdentityService:
    return IdentityService(
        engine,
        AccessTokens(SECRET, 900),
        refresh_ttl_seconds=3600,
        refresh_grace_seconds=10,
        throttle=ThrottlePolicy(5, 900, 900),
        invitation_ttl_seconds=3600,
        events_prefix="test",
    )


async def signed_in(identity: IdentityService) -> TokenPair:
    _, _, tokens = await identity.sign_up(
        business_name=f"Grace {uuid.uuid4().hex[:8]}",
        country="US",
        timezone_name="UTC",
        email=f"owner-{uuid.uuid4().hex[:8]}@grace.example.com",
        password="a long enough password",
    )
    return tokens


async def refused(identity: IdentityService, refresh_token: str) -> bool:
    try:
        await identity.refresh(refresh_token)
    except Unauthenticated:
        return True
    return False


async def age_rotation(engine: AsyncEngine, refresh_token: str, seconds: int) -> None:
    """Move a rotation into the past, as if the spent token were presented ``seconds`` later."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE refresh_tokens SET rotated_at = rotated_at - make_interval(secs => :s), "
                "revoked_at = revoked_at - make_interval(secs => :s) WHERE token_hash = :h"
            ),
            {"s": seconds, "h": token_hash(refresh_token)},
        )


async def test_concurrent_refreshes_of_one_token_get_the_same_new_tokens(identity: IdentityService) -> None:
    first = await signed_in(identity)
    answers = await asyncio.gather(*(identity.refresh(first.refresh_token) for _ in range(CONCURRENT)))
    assert {a.refresh_token for a in answers} == {answers[0].refresh_token}
    assert {a.access_token for a in answers} == {answers[0].access_token}
    assert answers[0].refresh_token != first.refresh_token
    assert all(0 < a.expires_in <= 900 for a in answers)
    # The family lives on: the shared new token rotates normally.
    after = await identity.refresh(answers[0].refresh_token)
    assert after.refresh_token not in (first.refresh_token, answers[0].refresh_token)


async def test_a_spent_token_presented_after_the_grace_window_revokes_its_family(
    identity: IdentityService, engine: AsyncEngine
) -> None:
    first = await signed_in(identity)
    second = await identity.refresh(first.refresh_token)
    await age_rotation(engine, first.refresh_token, 11)
    assert await refused(identity, first.refresh_token)
    assert await refused(identity, second.refresh_token)  # the whole family is revoked


async def test_within_the_grace_window_a_spent_token_is_refused_once_its_successor_rotated(
    identity: IdentityService,
) -> None:
    first = await signed_in(identity)
    second = await identity.refresh(first.refresh_token)
    third = await identity.refresh(second.refresh_token)
    # The session moved on twice: the first token coming back now is a replay, not a racing refresh.
    assert await refused(identity, first.refresh_token)
    assert await refused(identity, third.refresh_token)


async def test_within_the_grace_window_a_signed_out_session_stays_signed_out(identity: IdentityService) -> None:
    first = await signed_in(identity)
    second = await identity.refresh(first.refresh_token)
    await identity.logout(second.refresh_token)
    assert await refused(identity, first.refresh_token)
    assert await refused(identity, second.refresh_token)


async def test_the_successor_is_derived_from_the_token_and_the_secret_alone() -> None:
    tokens, other_secret = AccessTokens(SECRET, 900), AccessTokens("h" * 40, 900)
    assert tokens.successor_refresh_token("abc") == AccessTokens(SECRET, 60).successor_refresh_token("abc")
    assert tokens.successor_refresh_token("abc") != tokens.successor_refresh_token("abd")
    assert tokens.successor_refresh_token("abc") != other_secret.successor_refresh_token("abc")
