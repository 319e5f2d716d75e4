"""TOTP two-factor sign-in for staff (RFC 6238 through pyotp): enrol, confirm, switch off, check a code.

A code is accepted for the current 30-second step or its neighbours (clock drift), and only once: the step
of the last accepted code is stored, and a code of that step or an earlier one is refused, decided by one
conditional UPDATE (so two replicas cannot both accept it).
"""

from __future__ import annotations

import hmac
import time
import uuid
from typing import Any

import pyotp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.identity.model import Account
from gateway.identity.passwords import verify_password
from gateway.identity.principals import Principals
from platform_core.errors import Conflict, FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied

ISSUER = "Atrium"
DRIFT_STEPS = 1


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code this is (within the allowed drift), or None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(int(now))
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(int(now), counter_offset=offset), code):
            return current + offset
    return None


async def accept_code(conn: AsyncConnection, staff_id: uuid.UUID, secret: str, code: str) -> bool:
    """Whether ``code`` is valid now and not used before; records its step when it is."""
    step = matching_step(secret, code, time.time())
    if step is None:
        return False
    taken = await conn.scalar(
        text(
            "UPDATE staff_users SET totp_last_step = :step WHERE id = :id "
            "AND (totp_last_step IS NULL OR totp_last_step < :step) RETURNING id"
        ),
        {"id": staff_id, "step": step},
    )
    return taken is not None


class TwoFactor:
    def __init__(self, engine: AsyncEngine, principals: Principals) -> None:
        self._engine = engine
        self._principals = principals

    async def start(self, account: Account) -> dict[str, Any]:
        """A new secret to add to an authenticator app; sign-in asks for codes once it is confirmed."""
        _staff_only(account)
        secret = pyotp.random_base32()
        async with self._engine.begin() as conn:
            email = await conn.scalar(
                text(
                    "UPDATE staff_users SET totp_secret = :s, totp_enabled_at = NULL, totp_last_step = NULL "
                    "WHERE id = :id AND totp_enabled_at IS NULL RETURNING email"
                ),
                {"s": secret, "id": account.id},
            )
        if email is None:
            raise Conflict("two-factor sign-in is already on; switch it off first", reason="TWO_FACTOR_ON")
        uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
        return {"secret": secret, "otpauth_uri": uri}

    async def confirm(self, account: Account, code: str) -> None:
        _staff_only(account)
        async with self._engine.begin() as conn:
            secret = await conn.scalar(
                text("SELECT totp_secret FROM staff_users WHERE id = :id AND totp_enabled_at IS NULL FOR UPDATE"),
                {"id": account.id},
            )
            if secret is None:
                raise FailedPrecondition("start two-factor set-up first", reason="TWO_FACTOR_NOT_STARTED")
            if not await accept_code(conn, account.id, secret, code):
                raise InvalidArgument([FieldViolation("code", "is not the current code of the authenticator")])
            await conn.execute(
                text("UPDATE staff_users SET totp_enabled_at = now() WHERE id = :id"), {"id": account.id}
            )
        self._principals.forget("staff", account.id)

    async def switch_off(self, account: Account, password: str) -> None:
        _staff_only(account)
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT s.password_hash, t.require_two_factor FROM staff_users s "
                        "JOIN tenants t ON t.id = s.tenant_id WHERE s.id = :id FOR UPDATE OF s"
                    ),
                    {"id": account.id},
                )
            ).one()
            if row.require_two_factor:
                raise FailedPrecondition("the business requires two-factor sign-in", reason="TWO_FACTOR_REQUIRED")
            if not await verify_password(row.password_hash, password):
                raise InvalidArgument([FieldViolation("password", "is not the account's password")])
            await conn.execute(
                text(
                    "UPDATE staff_users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL "
                    "WHERE id = :id"
                ),
                {"id": account.id},
            )
        self._principals.forget("staff", account.id)


def _staff_only(account: Account) -> None:
    if account.kind != "staff" or account.api_key_id is not None:
        raise PermissionDenied("two-factor sign-in is for staff accounts", reason="STAFF_ONLY")
