"""Scheduling events in: a cancelled appointment cancels the approved request that booked it, and frees its
staff members' time, a rescheduled one the time it had; each freed time is offered to the first waiting
client it suits (the waitlist)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.scheduling.v1 import events_pb2 as scheduling_events
from platform_core.messaging.consumer import ReceivedEvent, Subscription
from portal_requests_svc.adapters.scheduler import AbstractScheduler
from portal_requests_svc.domain.events import FreedSlot
from portal_requests_svc.service_layer import handlers, waitlist
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork

UowWithin = Callable[[AsyncSession], PortalRequestsUnitOfWork]


def scheduling_subscriptions(uow_within: UowWithin, scheduler: AbstractScheduler) -> list[Subscription]:
    async def offer(session: AsyncSession, event: ReceivedEvent, freed: list[FreedSlot]) -> None:
        now = datetime.now(UTC)
        for slot in freed:
            await waitlist.offer_freed_time(uow_within(session), event.tenant_id, slot, now)

    async def cancelled(session: AsyncSession, event: ReceivedEvent) -> None:
        appointment_id = uuid.UUID(event.payload.appointment_id)
        await handlers.appointment_cancelled(
            uow_within(session), event.tenant_id, appointment_id, event.payload.cancelled_by, datetime.now(UTC)
        )
        # The event names the appointment only; its services' staff and times are scheduling's to say.
        await offer(session, event, await scheduler.times_of(appointment_id))

    async def rescheduled(session: AsyncSession, event: ReceivedEvent) -> None:
        payload = event.payload
        moved_by: timedelta = payload.start.ToDatetime(tzinfo=UTC) - payload.previous_start.ToDatetime(tzinfo=UTC)
        freed = [
            FreedSlot(
                uuid.UUID(s.service_id),
                uuid.UUID(s.staff_id),
                s.start.ToDatetime(tzinfo=UTC) - moved_by,
                s.end.ToDatetime(tzinfo=UTC) - moved_by,
            )
            for s in payload.segments
        ]
        await offer(session, event, freed)

    return [
        Subscription(scheduling_events.AppointmentCancelled, cancelled),
        Subscription(scheduling_events.AppointmentRescheduled, rescheduled),
    ]
