"""Scheduling's zone follows the business profile's: one zone per business, set at sign-up and in the business
profile, which every service reads the same way (scheduling for hours and slots, billing for its midnights,
notification for its messages).

A business whose settings were never saved gets a row of the default settings in its zone at version 0 ("never
saved"), so its first save (version 0) still succeeds. Following a zone does not move the version: an editor's
next save is not refused for it. ``zone_followed_at`` is the time of the newest zone statement taken (an event's,
or a save's), so an older event delivered late never turns the zone back."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from scheduling_svc.adapters.tables import scheduling_settings
from scheduling_svc.domain.catalogue import DEFAULT_RULES

NEVER_SAVED = 0


async def follow_business_zone(
    connection: AsyncSession | AsyncConnection, tenant_id: uuid.UUID, zone: str, at: datetime
) -> None:
    """Take the business's ``zone`` as of ``at``, unless a newer zone statement was taken already."""
    settings = scheduling_settings.c
    insert = pg_insert(scheduling_settings).values(
        tenant_id=tenant_id,
        timezone=zone,
        granularity_minutes=int(DEFAULT_RULES.granularity.total_seconds() // 60),
        min_notice_minutes=int(DEFAULT_RULES.min_notice.total_seconds() // 60),
        horizon_days=DEFAULT_RULES.horizon.days,
        version=NEVER_SAVED,
        zone_followed_at=at,
    )
    await connection.execute(
        insert.on_conflict_do_update(
            index_elements=[settings.tenant_id],
            set_={"timezone": zone, "zone_followed_at": at},
            where=or_(settings.zone_followed_at.is_(None), settings.zone_followed_at < at),
        )
    )
