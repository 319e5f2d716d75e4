"""The business's own profile and settings: name, zone, language, whether staff need two-factor sign-in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.identity.events import business_profile_changed
from gateway.identity.principals import Principals

_COLUMNS = "id, name, slug, country, timezone, default_language, require_two_factor"


@dataclass(frozen=True)
class ProfileChange:
    name: str | None = None
    timezone: str | None = None
    default_language: str | None = None
    require_two_factor: bool | None = None


class BusinessProfile:
    def __init__(self, engine: AsyncEngine, principals: Principals, *, events_prefix: str) -> None:
        self._engine = engine
        self._principals = principals
        self._prefix = events_prefix

    async def get(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(f"SELECT {_COLUMNS} FROM tenants WHERE id = :t"), {"t": tenant_id})).one()
        return _profile(row)

    async def change(self, tenant_id: uuid.UUID, change: ProfileChange) -> dict[str, Any]:
        """Apply the change; BusinessProfileChanged goes out with it (in the same transaction)."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    text(
                        "UPDATE tenants SET name = coalesce(:name, name), timezone = coalesce(:tz, timezone), "
                        "default_language = coalesce(:lang, default_language), "
                        "require_two_factor = coalesce(:two_factor, require_two_factor) "
                        f"WHERE id = :t RETURNING {_COLUMNS}"
                    ),
                    {
                        "t": tenant_id,
                        "name": change.name,
                        "tz": change.timezone,
                        "lang": change.default_language,
                        "two_factor": change.require_two_factor,
                    },
                )
            ).one()
            await business_profile_changed(conn, self._prefix, tenant_id)
        self._principals.forget("tenant", tenant_id)
        return _profile(row)


def _profile(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "slug": row.slug,
        "country": row.country,
        "timezone": row.timezone,
        "default_language": row.default_language,
        "require_two_factor": row.require_two_factor,
    }
