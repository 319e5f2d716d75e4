"""Use case of the appointment report: the breakdowns from the report's figures, each staff member's available
time from their schedule (the same working time the availability engine books within)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import timedelta

from scheduling_svc.domain import availability, commands
from scheduling_svc.domain.availability import ScheduleException, WeeklySchedule
from scheduling_svc.domain.catalogue import local_days
from scheduling_svc.domain.reports import AppointmentReport, Counts, ServiceLine, StaffLine, check_range
from scheduling_svc.service_layer.unit_of_work import SchedulingUnitOfWork


async def appointment_report(cmd: commands.GetAppointmentReport, uow: SchedulingUnitOfWork) -> AppointmentReport:
    from_day, to_day = check_range(cmd.from_day, cmd.to_day)
    tenant_id = cmd.tenant_id
    async with uow:
        settings = await uow.catalogue.settings(tenant_id)
        staff = [schedule for schedule, _ in await uow.catalogue.staff(tenant_id)]
        # Local days of any zone lie within a day of the business's.
        exceptions = await uow.catalogue.exceptions(
            tenant_id, [*(s.staff_id for s in staff), None], from_day - timedelta(days=1), to_day + timedelta(days=1)
        )
        zone = settings.timezone
        start, end = local_days(from_day, to_day, zone)
        figures = uow.report_figures
        totals = await figures.status_counts(tenant_id, start, end)
        services = await figures.service_totals(tenant_id, start, end)
        worked = await figures.staff_totals(tenant_id, start, end)
        service_revenue = await figures.completed_revenue(tenant_id, start, end, by="service_id")
        staff_revenue = await figures.completed_revenue(tenant_id, start, end, by="staff_id")
    exceptions_of: dict[uuid.UUID | None, list[ScheduleException]] = defaultdict(list)
    for _, owner, exception, _ in exceptions:
        exceptions_of[owner].append(exception)
    business = settings.business_schedule(exceptions_of[None])
    by_staff = []
    for schedule in staff:
        done = worked.get(schedule.staff_id)
        if done is None and not schedule.active:
            continue
        available = availability.available_time(
            WeeklySchedule(schedule.timezone, dict(schedule.weekly), tuple(exceptions_of[schedule.staff_id])),
            business,
            start,
            end,
        )
        by_staff.append(
            StaffLine(
                staff_id=schedule.staff_id,
                display_name=schedule.display_name,
                counts=done.counts if done else Counts(),
                booked=done.booked if done else timedelta(0),
                available=available,
                revenue=staff_revenue.get(schedule.staff_id, ()),
            )
        )
    return AppointmentReport(
        from_day=from_day,
        to_day=to_day,
        timezone=zone,
        totals=totals,
        by_service=sorted(
            (
                ServiceLine(s.service_id, s.name, s.counts, s.booked, service_revenue.get(s.service_id, ()))
                for s in services
            ),
            key=lambda line: (line.name.lower(), str(line.service_id)),
        ),
        by_staff=by_staff,
        generated_at=cmd.now,
    )
