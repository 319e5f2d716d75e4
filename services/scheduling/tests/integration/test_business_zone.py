"""Scheduling's zone follows the business profile's (catalogue_store.follow_business_zone): late events never
turn it back, a followed zone never refuses an editor's save, and a business that never saved settings keeps its
first save."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from platform_core.db import create_engine, session_factory
from scheduling_svc.adapters.catalogue_store import CatalogueStore, follow_business_zone
from scheduling_svc.config import SchedulingServiceSettings
from scheduling_svc.domain.catalogue import SchedulingSettings

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def test_the_newest_zone_statement_wins_and_versions_stay(
    scheduling_settings: SchedulingServiceSettings, scheduling_channel: object
) -> None:
    tenant = uuid.uuid4()
    engine = create_engine(scheduling_settings.database_url("scheduling"))
    sessions = session_factory(engine)

    async def settings() -> SchedulingSettings:
        async with sessions() as session:
            return await CatalogueStore(session, None).settings(tenant)

    async def follow(zone: str, at: datetime) -> None:
        async with sessions.begin() as session:
            await follow_business_zone(session, tenant, zone, at)

    try:
        # A business that never saved its settings: the defaults, in its zone, still version 0.
        await follow("Asia/Tokyo", T0)
        first = await settings()
        assert (first.timezone, first.version, first.rules) == ("Asia/Tokyo", 0, SchedulingSettings().rules)
        # A late (older) event changes nothing; a newer one moves the zone without moving the version.
        await follow("Europe/Paris", T0 - timedelta(hours=1))
        assert (await settings()).timezone == "Asia/Tokyo"
        await follow("Europe/Berlin", T0 + timedelta(hours=1))
        assert ((await settings()).timezone, (await settings()).version) == ("Europe/Berlin", 0)

        # The first save (version 0) succeeds over the followed zone, and states the zone itself: an event
        # older than the save no longer applies.
        async with sessions.begin() as session:
            saved = await CatalogueStore(session, None).save_settings(
                tenant, SchedulingSettings(timezone="America/New_York")
            )
        assert (saved.timezone, saved.version) == ("America/New_York", 1)
        await follow("Europe/Berlin", T0 + timedelta(hours=2))
        assert (await settings()).timezone == "America/New_York"
        await follow("America/Chicago", datetime.now(UTC) + timedelta(minutes=1))
        assert ((await settings()).timezone, (await settings()).version) == ("America/Chicago", 1)
    finally:
        await engine.dispose()
