"""Scheduling's events in: a completed appointment consumes, for each of its services, what pays for it
from the client's credits, once (the appointment's key; a check-in of it may have consumed already). A
client holding too little pays otherwise, so nothing is consumed then. A cancelled appointment and a no-show
fall under the cancellation policy, once per appointment. Runs in the consumer's transaction."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.scheduling.v1 import events_pb2 as scheduling_events
from membership_billing_svc.domain import commands
from membership_billing_svc.domain.consumption import visit_key
from membership_billing_svc.domain.ledger import INSUFFICIENT_CREDITS
from membership_billing_svc.service_layer import ledger_handlers, policy_handlers
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork
from platform_core.errors import FailedPrecondition
from platform_core.messaging.consumer import ReceivedEvent, Subscription

log = logging.getLogger(__name__)

UowWithin = Callable[[AsyncSession], BillingUnitOfWork]


def visits_of(segments: Any) -> tuple[commands.VisitFacts, ...]:
    return tuple(
        commands.VisitFacts(uuid.UUID(s.service_id), s.service_name, s.price_minor, s.currency)
        for s in segments
        if s.service_id
    )


def scheduling_subscriptions(uow_within: UowWithin) -> list[Subscription]:
    async def completed(session: AsyncSession, event: ReceivedEvent) -> None:
        payload = event.payload
        appointment_id = uuid.UUID(payload.appointment_id)
        now = event.envelope.occurred_at.ToDatetime(tzinfo=UTC)
        for service_id in dict.fromkeys(uuid.UUID(s.service_id) for s in payload.segments if s.service_id):
            visit = commands.ConsumeForVisit(
                event.tenant_id,
                uuid.UUID(payload.client_id),
                service_id,
                visit_key(appointment_id, service_id),
                "appointment completed",
                now,
            )
            try:
                async with session.begin_nested():
                    await ledger_handlers.consume_for_visit(visit, uow_within(session))
            except FailedPrecondition as exc:
                if exc.reason != INSUFFICIENT_CREDITS:
                    raise
                log.info("appointment %s: the client's credits do not pay for service %s", appointment_id, service_id)

    async def ended_unattended(session: AsyncSession, event: ReceivedEvent) -> None:
        payload = event.payload
        no_show = isinstance(payload, scheduling_events.AppointmentNoShow)
        await policy_handlers.apply_cancellation_policy(
            commands.ApplyCancellationPolicy(
                tenant_id=event.tenant_id,
                appointment_id=uuid.UUID(payload.appointment_id),
                client_id=uuid.UUID(payload.client_id),
                starts_at=payload.start.ToDatetime(tzinfo=UTC),
                timezone=payload.timezone,
                visits=visits_of(payload.segments),
                no_show=no_show,
                cancelled_by="" if no_show else payload.cancelled_by,
                at=event.envelope.occurred_at.ToDatetime(tzinfo=UTC),
            ),
            uow_within(session),
        )

    return [
        Subscription(scheduling_events.AppointmentCompleted, completed),
        Subscription(scheduling_events.AppointmentCancelled, ended_unattended),
        Subscription(scheduling_events.AppointmentNoShow, ended_unattended),
    ]
