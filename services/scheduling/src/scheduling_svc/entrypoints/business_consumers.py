"""Gateway events in: the business profile's zone is scheduling's zone (catalogue_store.follow_business_zone)."""

from __future__ import annotations

import logging
import zoneinfo
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.gateway.v1 import events_pb2 as gateway_events
from platform_core.messaging.consumer import ReceivedEvent, Subscription
from scheduling_svc.adapters.catalogue_store import follow_business_zone

log = logging.getLogger(__name__)


async def _business_profile_changed(session: AsyncSession, event: ReceivedEvent) -> None:
    zone = event.payload.timezone
    if zone not in zoneinfo.available_timezones():
        # The gateway checks zones at sign-up and on change; a zone this host's tz database lacks is kept as is.
        log.warning("business zone %r is unknown here; scheduling keeps its zone", zone)
        return
    at: datetime = event.envelope.occurred_at.ToDatetime(tzinfo=UTC)
    await follow_business_zone(session, event.tenant_id, zone, at)


def business_subscriptions() -> list[Subscription]:
    return [Subscription(gateway_events.BusinessProfileChanged, _business_profile_changed)]
