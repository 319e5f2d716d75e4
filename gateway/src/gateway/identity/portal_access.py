"""What a portal client may see and do: tenant-wide defaults, per-client overrides, access on or off."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class Permissions:
    view_appointments: bool = True
    view_invoices: bool = True
    view_documents: bool = True
    # Changing their own details is off unless the business allows it.
    edit_profile: bool = False


NAMES = tuple(f.name for f in fields(Permissions))


@dataclass(frozen=True)
class ClientAccess:
    enabled: bool
    # None: the tenant default applies.
    overrides: dict[str, bool | None]
    effective: Permissions


def resolve(defaults: Permissions, overrides: dict[str, bool | None]) -> Permissions:
    effective: dict[str, bool] = {}
    for name in NAMES:
        override = overrides.get(name)
        effective[name] = getattr(defaults, name) if override is None else override
    return Permissions(**effective)


class PortalAccessStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def defaults(self, tenant_id: uuid.UUID) -> Permissions:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(text("SELECT * FROM portal_defaults WHERE tenant_id = :t"), {"t": tenant_id})
            ).first()
        return Permissions(**{n: getattr(row, n) for n in NAMES}) if row else Permissions()

    async def set_defaults(self, tenant_id: uuid.UUID, permissions: Permissions) -> Permissions:
        values = {n: getattr(permissions, n) for n in NAMES}
        columns = ", ".join(NAMES)
        async with self._engine.begin() as conn:
            await conn.execute(
                text(
                    f"INSERT INTO portal_defaults (tenant_id, {columns}) VALUES (:t, "
                    + ", ".join(f":{n}" for n in NAMES)
                    + ") ON CONFLICT (tenant_id) DO UPDATE SET "
                    + ", ".join(f"{n} = excluded.{n}" for n in NAMES)
                ),
                {"t": tenant_id, **values},
            )
        return permissions

    async def client_access(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> ClientAccess:
        defaults = await self.defaults(tenant_id)
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT * FROM portal_client_access WHERE tenant_id = :t AND client_id = :c"),
                    {"t": tenant_id, "c": client_id},
                )
            ).first()
        overrides: dict[str, bool | None] = {n: getattr(row, n) if row else None for n in NAMES}
        return ClientAccess(row.enabled if row else True, overrides, resolve(defaults, overrides))

    async def set_client_access(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, *, enabled: bool, overrides: dict[str, bool | None]
    ) -> ClientAccess:
        async with self._engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO portal_client_access (tenant_id, client_id, enabled, "
                    + ", ".join(NAMES)
                    + ") VALUES (:t, :c, :enabled, "
                    + ", ".join(f":{n}" for n in NAMES)
                    + ") ON CONFLICT (tenant_id, client_id) DO UPDATE SET enabled = excluded.enabled, "
                    + ", ".join(f"{n} = excluded.{n}" for n in NAMES)
                ),
                {"t": tenant_id, "c": client_id, "enabled": enabled, **{n: overrides.get(n) for n in NAMES}},
            )
        return await self.client_access(tenant_id, client_id)
