"""The roles of a business: the three built-in ones and those it defines from the permission list."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.identity.events import staff_member_changed
from gateway.identity.permissions import BUILT_IN_ROLES, PERMISSIONS
from gateway.identity.principals import Principals
from platform_core.errors import Conflict, FieldViolation, InvalidArgument, NotFound
from platform_core.ids import new_id


class Roles:
    def __init__(self, engine: AsyncEngine, principals: Principals, *, events_prefix: str) -> None:
        self._engine = engine
        self._principals = principals
        self._prefix = events_prefix

    async def all_of(self, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self._engine.connect() as conn:
            counts = {
                (row.role, row.custom_role_id): row.members
                for row in await conn.execute(
                    text(
                        "SELECT role, custom_role_id, count(*) AS members FROM staff_users "
                        "WHERE tenant_id = :t AND active GROUP BY role, custom_role_id"
                    ),
                    {"t": tenant_id},
                )
            }
            own = await conn.execute(
                text("SELECT id, name, permissions FROM staff_roles WHERE tenant_id = :t ORDER BY name"),
                {"t": tenant_id},
            )
            built_in = [
                {
                    "id": None,
                    "name": name,
                    "built_in": True,
                    "permissions": [p for p in PERMISSIONS if p in permissions],
                    "members": counts.get((name, None), 0),
                }
                for name, permissions in BUILT_IN_ROLES.items()
            ]
            return built_in + [_role(row, counts.get(("staff", row.id), 0)) for row in own]

    async def create(self, tenant_id: uuid.UUID, *, name: str, permissions: list[str]) -> dict[str, Any]:
        _not_built_in(name)
        try:
            async with self._engine.begin() as conn:
                row = (
                    await conn.execute(
                        text(
                            "INSERT INTO staff_roles (id, tenant_id, name, permissions) VALUES (:id, :t, :name, :p) "
                            "RETURNING id, name, permissions"
                        ),
                        {"id": new_id(), "t": tenant_id, "name": name, "p": _ordered(permissions)},
                    )
                ).one()
        except IntegrityError as exc:
            raise Conflict("the business already has a role with this name", reason="ROLE_NAME_TAKEN") from exc
        return _role(row, 0)

    async def change(
        self, tenant_id: uuid.UUID, role_id: uuid.UUID, *, name: str | None, permissions: list[str] | None
    ) -> dict[str, Any]:
        if name is not None:
            _not_built_in(name)
        try:
            async with self._engine.begin() as conn:
                row = (
                    await conn.execute(
                        text(
                            "UPDATE staff_roles SET name = coalesce(:name, name), "
                            "permissions = coalesce(:p, permissions) WHERE tenant_id = :t AND id = :id "
                            "RETURNING id, name, permissions"
                        ),
                        {
                            "t": tenant_id,
                            "id": role_id,
                            "name": name,
                            "p": _ordered(permissions) if permissions is not None else None,
                        },
                    )
                ).first()
                if row is None:
                    raise NotFound("role not found")
                member_ids = (
                    await conn.scalars(
                        text("SELECT id FROM staff_users WHERE custom_role_id = :id ORDER BY id"), {"id": role_id}
                    )
                ).all()
                # Each member's role name or permissions changed with it.
                for member_id in member_ids:
                    await staff_member_changed(conn, self._prefix, member_id)
                members = await conn.scalar(
                    text("SELECT count(*) FROM staff_users WHERE custom_role_id = :id AND active"), {"id": role_id}
                )
        except IntegrityError as exc:
            raise Conflict("the business already has a role with this name", reason="ROLE_NAME_TAKEN") from exc
        self._principals.forget("role", role_id)
        return _role(row, members or 0)

    async def delete(self, tenant_id: uuid.UUID, role_id: uuid.UUID) -> None:
        try:
            async with self._engine.begin() as conn:
                deleted = await conn.scalar(
                    text("DELETE FROM staff_roles WHERE tenant_id = :t AND id = :id RETURNING id"),
                    {"t": tenant_id, "id": role_id},
                )
        except IntegrityError as exc:
            raise Conflict("staff members still have this role; give them another first", reason="ROLE_IN_USE") from exc
        if deleted is None:
            raise NotFound("role not found")


def _not_built_in(name: str) -> None:
    if name in BUILT_IN_ROLES:
        raise InvalidArgument([FieldViolation("name", "is a built-in role's name")])


def _ordered(permissions: list[str]) -> list[str]:
    return [p for p in PERMISSIONS if p in set(permissions)]


def _role(row: Any, members: int) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "built_in": False,
        "permissions": list(row.permissions),
        "members": members,
    }
