"""The demo tenant's bookable week, for `make run`: business settings in its timezone, the owner's
working hours (Monday to Friday, 09:00-17:00) and one service. Made through the scheduling service's API
once the platform is up, and only what is missing, so a restart changes nothing."""

from __future__ import annotations

import grpc
from sqlalchemy import text

from atrium.common.v1 import types_pb2
from atrium.scheduling.v1 import catalogue_pb2 as cat
from gateway.backends import Backends
from gateway.config import GatewaySettings
from platform_core.db import create_engine
from platform_core.grpc.context import CallContext, Principal, bind_call_context

WEEKDAYS_9_TO_5 = [cat.DayHours(weekday=d, ranges=[cat.TimeRange(start="09:00", end="17:00")]) for d in range(5)]


async def seed_demo_schedule(settings: GatewaySettings) -> None:
    engine = create_engine(settings.database_url("gateway"), pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            owner = (
                await conn.execute(
                    text(
                        "SELECT s.id, s.tenant_id, t.timezone FROM staff_users s JOIN tenants t ON t.id = s.tenant_id"
                        " WHERE s.email = :e"
                    ),
                    {"e": settings.demo_owner_email.lower()},
                )
            ).one()
    finally:
        await engine.dispose()
    backends = Backends(settings)
    try:
        with bind_call_context(CallContext(owner.tenant_id, Principal("staff", str(owner.id), "owner"))):
            current = await backends.catalogue.GetSchedulingSettings(cat.GetSchedulingSettingsRequest())
            if current.version == 0:
                await backends.catalogue.UpdateSchedulingSettings(
                    cat.SchedulingSettings(
                        timezone=owner.timezone,
                        slot_rules=cat.SlotRules(granularity_minutes=30, min_notice_minutes=60, horizon_days=60),
                        cancellation_notice_minutes=24 * 60,
                    )
                )
            try:
                await backends.catalogue.GetStaffMember(cat.GetStaffMemberRequest(staff_id=str(owner.id)))
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                await backends.catalogue.PutStaffMember(
                    cat.StaffMember(
                        staff_id=str(owner.id),
                        display_name="Demo owner",
                        timezone=owner.timezone,
                        weekly_hours=WEEKDAYS_9_TO_5,
                        active=True,
                    )
                )
            services = await backends.catalogue.ListServices(cat.ListServicesRequest(include_archived=True))
            if not services.services:
                await backends.catalogue.CreateService(
                    cat.ServiceInput(
                        name="Consultation",
                        description="A first conversation about what you need.",
                        duration_minutes=60,
                        buffer_after_minutes=15,
                        price=types_pb2.Money(amount_minor=5000, currency="USD"),
                        capacity=1,
                        bookable_online=True,
                        staff_ids=[str(owner.id)],
                    )
                )
    finally:
        await backends.close()
    print("Demo tenant's schedule ready: Monday-Friday 09:00-17:00, service 'Consultation' (60 min)")
