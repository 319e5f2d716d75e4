"""gRPC servicer of reports: owners and admins only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import grpc

from atrium.common.v1 import types_pb2
from atrium.scheduling.v1 import reports_pb2 as pb
from atrium.scheduling.v1 import reports_pb2_grpc as pb_grpc
from platform_core.errors import PermissionDenied
from platform_core.grpc.values import require_staff, timestamp
from scheduling_svc.domain import commands
from scheduling_svc.domain.reports import AppointmentReport, Counts
from scheduling_svc.service_layer import report_handlers
from scheduling_svc.service_layer.unit_of_work import SchedulingUnitOfWork

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ReportService"].full_name
REPORT_ROLES = ("owner", "admin")


def _minutes(value: timedelta) -> int:
    return int(value.total_seconds() // 60)


def _money(amounts: tuple[tuple[str, int], ...]) -> list[types_pb2.Money]:
    return [types_pb2.Money(amount_minor=amount, currency=currency) for currency, amount in amounts]


def counts_message(counts: Counts) -> pb.AppointmentCounts:
    message = pb.AppointmentCounts(
        total=counts.total,
        booked=counts.booked,
        completed=counts.completed,
        cancelled=counts.cancelled,
        no_show=counts.no_show,
    )
    if counts.no_show_rate is not None:
        message.no_show_rate = counts.no_show_rate
    if counts.cancellation_rate is not None:
        message.cancellation_rate = counts.cancellation_rate
    return message


def report_message(report: AppointmentReport) -> pb.AppointmentReport:
    by_status = []
    for status, count, share in report.by_status():
        row = pb.StatusRow(status=status.value, count=count)
        if share is not None:
            row.share = share
        by_status.append(row)
    by_staff = []
    for line in report.by_staff:
        row_staff = pb.StaffRow(
            staff_id=str(line.staff_id),
            display_name=line.display_name,
            counts=counts_message(line.counts),
            booked_minutes=_minutes(line.booked),
            available_minutes=_minutes(line.available),
            completed_revenue=_money(line.revenue),
        )
        if line.utilization is not None:
            row_staff.utilization = line.utilization
        by_staff.append(row_staff)
    message = pb.AppointmentReport(
        timezone=report.timezone,
        totals=counts_message(report.totals),
        by_status=by_status,
        by_service=[
            pb.ServiceRow(
                service_id=str(line.service_id),
                service_name=line.name,
                counts=counts_message(line.counts),
                booked_minutes=_minutes(line.booked),
                completed_revenue=_money(line.revenue),
            )
            for line in report.by_service
        ],
        by_staff=by_staff,
        generated_at=timestamp(report.generated_at),
        to=report.to_day.isoformat(),
    )
    setattr(message, "from", report.from_day.isoformat())
    return message


class ReportServicer(pb_grpc.ReportServiceServicer):
    def __init__(self, *, uow_factory: Callable[[], SchedulingUnitOfWork]) -> None:
        self._uow_factory = uow_factory

    async def GetAppointmentReport(
        self, request: pb.AppointmentReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppointmentReport:
        call = require_staff()
        if call.principal.kind == "staff" and call.principal.role not in REPORT_ROLES:
            raise PermissionDenied("reports are for owners and admins")
        report = await report_handlers.appointment_report(
            commands.GetAppointmentReport(call.tenant_id, getattr(request, "from"), request.to, datetime.now(UTC)),
            self._uow_factory(),
        )
        return report_message(report)
