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
from portal_requests_svc.domain import commands
from portal_requests_svc.domain.events import FreedSlot
from portal_requests_svc.service_layer import handlers, waitlist_handlers
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork

UowWithin = Callable[[AsyncSession], PortalRequestsUnitOfWork]


def scheduling_subscriptions(uow_within: UowWithin) -> list[Subscription]:
    async def cancelled(session: AsyncSession, event: ReceivedEvent) -> None:
        appointment_id = uuid.UUID(event.payload.appointment_id)
        uow = uow_within(session)
        await handlers.appointment_cancelled(
            commands.CancelRequestOfAppointment(
                event.tenant_id, appointment_id, event.payload.cancelled_by, datetime.now(UTC)
            ),
            uow,
        )
        await waitlist_handlers.offer_times_of_appointment(
            commands.OfferTimesOfAppointment(event.tenant_id, appointment_id, datetime.now(UTC)), uow
        )

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
        uow, now = uow_within(session), datetime.now(UTC)
        for slot in freed:
            await waitlist_handlers.offer_freed_time(commands.OfferFreedTime(event.tenant_id, slot, now), uow)

    return [
        Subscription(scheduling_events.AppointmentCancelled, cancelled),
        Subscription(scheduling_events.AppointmentRescheduled, rescheduled),
    ]
