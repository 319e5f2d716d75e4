"""Staff accounts a business manages: list, invite by email, change role or name, deactivate, reactivate.

Changes to owners are decided under the tenant row's lock, so two concurrent demotions or deactivations
cannot leave a business without an active owner. A deactivated member's live tokens stop working on their
next request (the principals cache is told at once; other replicas by the table's NOTIFY); their
appointments, clients and notes stay as they are.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from atrium.gateway.v1 import events_pb2 as ev
from gateway.identity.events import emit, staff_member_changed
from gateway.identity.model import Account
from gateway.identity.passwords import hash_password
from gateway.identity.permissions import BUILT_IN_ROLES
from gateway.identity.principals import Principals
from gateway.identity.service import IdentityService
from gateway.identity.tokens import TokenPair, new_opaque_token, token_hash
from platform_core.errors import (
    Conflict,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from platform_core.ids import new_id

_MEMBERS = (
    "SELECT s.id, s.email, s.name, coalesce(r.name, s.role) AS role, s.role AS base_role, s.active, "
    "s.created_at, s.deactivated_at, (s.password_hash IS NULL) AS invitation_pending "
    "FROM staff_users s LEFT JOIN staff_roles r ON r.id = s.custom_role_id"
)


@dataclass(frozen=True)
class StaffChange:
    role: str | None = None
    name: str | None = None
    active: bool | None = None


class StaffAccounts:
    def __init__(
        self,
        engine: AsyncEngine,
        identity: IdentityService,
        principals: Principals,
        *,
        events_prefix: str,
        base_url: str,
        invitation_ttl_seconds: int,
    ) -> None:
        self._engine = engine
        self._identity = identity
        self._principals = principals
        self._prefix = events_prefix
        self._base_url = base_url
        self._invitation_ttl = timedelta(seconds=invitation_ttl_seconds)

    async def list(self, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                text(f"{_MEMBERS} WHERE s.tenant_id = :t ORDER BY s.created_at, s.id"),
                {"t": tenant_id},
            )
            return [_member(row) for row in rows]

    async def get(self, tenant_id: uuid.UUID, staff_id: uuid.UUID) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            return _member(await _row(conn, tenant_id, staff_id))

    async def invite(self, actor: Account, *, email: str, name: str, role: str) -> dict[str, Any]:
        _may_grant(actor, role)
        staff_id = new_id()
        try:
            async with self._engine.begin() as conn:
                base_role, custom_role_id = await _resolve_role(conn, actor.tenant_id, role)
                await conn.execute(
                    text(
                        "INSERT INTO staff_users (id, tenant_id, email, name, role, custom_role_id, invited_at) "
                        "VALUES (:id, :t, :email, :name, :role, :custom, now())"
                    ),
                    {
                        "id": staff_id,
                        "t": actor.tenant_id,
                        "email": email,
                        "name": name,
                        "role": base_role,
                        "custom": custom_role_id,
                    },
                )
                member = await _row(conn, actor.tenant_id, staff_id)
                await self._send_invitation(conn, actor, member)
                await staff_member_changed(conn, self._prefix, staff_id)
                return _member(member)
        except IntegrityError as exc:
            if "staff_users_email_key" in str(exc.orig):
                raise Conflict("an account with this email already exists", reason="EMAIL_TAKEN") from exc
            raise

    async def resend_invitation(self, actor: Account, staff_id: uuid.UUID) -> dict[str, Any]:
        """A new link for a member who has not joined yet; earlier links stop working."""
        async with self._engine.begin() as conn:
            member = await _row(conn, actor.tenant_id, staff_id, lock=True)
            if not member.invitation_pending:
                raise FailedPrecondition("this member has already joined", reason="ALREADY_JOINED")
            _may_grant(actor, member.role)
            await conn.execute(
                text("DELETE FROM staff_invitations WHERE staff_user_id = :s AND accepted_at IS NULL"), {"s": staff_id}
            )
            await self._send_invitation(conn, actor, member)
            return _member(member)

    async def _send_invitation(self, conn: AsyncConnection, actor: Account, member: Any) -> None:
        """Store a new invitation (its token's hash) and ask for the email (StaffInvitationIssued)."""
        invitation_id, token = new_id(), new_opaque_token()
        expires_at = datetime.now(UTC) + self._invitation_ttl
        await conn.execute(
            text(
                "INSERT INTO staff_invitations (id, tenant_id, staff_user_id, token_hash, invited_by, "
                "expires_at) VALUES (:id, :t, :s, :h, :by, :exp)"
            ),
            {
                "id": invitation_id,
                "t": actor.tenant_id,
                "s": member.id,
                "h": token_hash(token),
                "by": actor.id,
                "exp": expires_at,
            },
        )
        context = (
            await conn.execute(
                text(
                    "SELECT t.name AS business_name, t.default_language, "
                    "coalesce((SELECT nullif(name, '') FROM staff_users WHERE id = :by), "
                    "(SELECT email FROM staff_users WHERE id = :by), '') AS inviter "
                    "FROM tenants t WHERE t.id = :t"
                ),
                {"t": actor.tenant_id, "by": actor.id},
            )
        ).one()
        issued = ev.StaffInvitationIssued(
            invitation_id=str(invitation_id),
            staff_user_id=str(member.id),
            email=member.email,
            name=member.name,
            role=member.role,
            invited_by_name=context.inviter,
            business_name=context.business_name,
            accept_url=f"{self._base_url}/staff/accept-invitation#token={token}",
            language=context.default_language,
        )
        issued.expires_at.FromDatetime(expires_at)
        await emit(
            conn, self._prefix, issued, tenant_id=actor.tenant_id, aggregate_type="staff_member", aggregate_id=member.id
        )

    async def accept_invitation(self, token: str, password: str) -> TokenPair:
        """The invitee chooses a password and is signed in; the invitation works once."""
        password_hash = await hash_password(password)
        async with self._engine.begin() as conn:
            invitation = (
                await conn.execute(
                    text(
                        "SELECT id, staff_user_id, accepted_at, expires_at <= now() AS expired "
                        "FROM staff_invitations WHERE token_hash = :h FOR UPDATE"
                    ),
                    {"h": token_hash(token)},
                )
            ).first()
            if invitation is None:
                raise InvalidArgument([FieldViolation("token", "is not a valid invitation")])
            if invitation.accepted_at is not None:
                raise InvalidArgument([FieldViolation("token", "has already been used")])
            if invitation.expired:
                raise InvalidArgument([FieldViolation("token", "has expired; ask for a new invitation")])
            await conn.execute(
                text("UPDATE staff_invitations SET accepted_at = now() WHERE id = :id"), {"id": invitation.id}
            )
            await conn.execute(
                text("UPDATE staff_users SET password_hash = :h WHERE id = :id"),
                {"h": password_hash, "id": invitation.staff_user_id},
            )
            await staff_member_changed(conn, self._prefix, invitation.staff_user_id)
            account = await self._identity.current_account(conn, "staff", invitation.staff_user_id)
            if account is None:
                raise FailedPrecondition("this staff account has been deactivated", reason="STAFF_DEACTIVATED")
            return await self._identity.issue_tokens(conn, account, family_id=new_id())

    async def change(self, actor: Account, staff_id: uuid.UUID, change: StaffChange) -> dict[str, Any]:
        async with self._engine.begin() as conn:
            # Serializes every change of this business's staff: the last-owner check below cannot race.
            await conn.execute(text("SELECT 1 FROM tenants WHERE id = :t FOR UPDATE"), {"t": actor.tenant_id})
            member = await _row(conn, actor.tenant_id, staff_id)
            role = change.role if change.role is not None else member.role
            active = change.active if change.active is not None else member.active
            if "owner" in (member.role, role) and actor.role != "owner":
                raise PermissionDenied("only an owner can change an owner or make one", reason="OWNER_ONLY")
            if change.role is not None and change.role != member.role:
                _may_grant(actor, change.role)
            base_role, custom_role_id = await _resolve_role(conn, actor.tenant_id, role)
            if member.role == "owner" and member.active and (role != "owner" or not active):
                others = await conn.scalar(
                    text(
                        "SELECT count(*) FROM staff_users WHERE tenant_id = :t AND role = 'owner' AND active "
                        "AND id <> :id"
                    ),
                    {"t": actor.tenant_id, "id": staff_id},
                )
                if not others:
                    raise FailedPrecondition(
                        "a business keeps at least one active owner; make another owner first", reason="LAST_OWNER"
                    )
            await conn.execute(
                text(
                    "UPDATE staff_users SET role = :role, custom_role_id = :custom, name = :name, active = :active, "
                    "deactivated_at = CASE WHEN :active THEN NULL ELSE coalesce(deactivated_at, now()) END "
                    "WHERE id = :id"
                ),
                {
                    "id": staff_id,
                    "role": base_role,
                    "custom": custom_role_id,
                    "name": change.name if change.name is not None else member.name,
                    "active": active,
                },
            )
            if not active:
                await conn.execute(
                    text(
                        "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL "
                        "AND principal_kind = 'staff' AND principal_id = :id"
                    ),
                    {"id": staff_id},
                )
            await staff_member_changed(conn, self._prefix, staff_id)
            updated = _member(await _row(conn, actor.tenant_id, staff_id))
        self._principals.forget("staff", staff_id)
        return updated


def _may_grant(actor: Account, role: str) -> None:
    """Owners give any role, admins any but owner, a business's own role holding staff.manage gives staff and
    the business's own roles; a key gives none."""
    if actor.role == "owner":
        allowed = True
    elif actor.role == "admin":
        allowed = role != "owner"
    else:
        allowed = role not in ("owner", "admin")
    if actor.api_key_id is not None or not allowed:
        raise PermissionDenied(f"a {actor.role or 'key'} cannot give the role {role}", reason="ROLE_NOT_GRANTABLE")


async def _resolve_role(conn: AsyncConnection, tenant_id: uuid.UUID, role: str) -> tuple[str, uuid.UUID | None]:
    """(built-in base role, the business's own role or None) for a role name."""
    if role in BUILT_IN_ROLES:
        return role, None
    custom = await conn.scalar(
        text("SELECT id FROM staff_roles WHERE tenant_id = :t AND name = :name"), {"t": tenant_id, "name": role}
    )
    if custom is None:
        raise InvalidArgument([FieldViolation("role", "is neither owner, admin, staff nor a role of this business")])
    return "staff", custom


async def _row(conn: AsyncConnection, tenant_id: uuid.UUID, staff_id: uuid.UUID, *, lock: bool = False) -> Any:
    row = (
        await conn.execute(
            text(f"{_MEMBERS} WHERE s.tenant_id = :t AND s.id = :id" + (" FOR UPDATE OF s" if lock else "")),
            {"t": tenant_id, "id": staff_id},
        )
    ).first()
    if row is None:
        raise NotFound("staff member not found")
    return row


def _member(row: Any) -> dict[str, Any]:
    status = "deactivated" if not row.active else "invited" if row.invitation_pending else "active"
    return {
        "id": str(row.id),
        "email": row.email,
        "name": row.name,
        "role": row.role,
        "status": status,
        "created_at": row.created_at,
        "deactivated_at": row.deactivated_at,
    }
