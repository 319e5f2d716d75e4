"""Reports for owners and admins: appointments over a range of days, as JSON or as CSV for spreadsheets.

CSV comes one breakdown per file (``breakdown=status|service|staff``), each a plain table with one header
row, so it opens as-is in a spreadsheet. Text cells that a spreadsheet would run as a formula (starting
with = + - @) are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from atrium.common.v1 import types_pb2
from atrium.scheduling.v1 import reports_pb2 as pb
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.registry import api
from gateway.schemas import Body, CalendarDay, MoneyOut, Out
from platform_core.errors import InvalidArgument
from platform_core.money import format_minor

TAG = "reports"
CSV = "text/csv"
Breakdown = Literal["status", "service", "staff"]


class ReportQuery(Body):
    from_: CalendarDay = Field(alias="from", description="First day, YYYY-MM-DD, in the business's timezone")
    to: CalendarDay = Field(description="Last day, inclusive; at most 366 days after from")
    format: Literal["json", "csv"] = "json"
    breakdown: Breakdown | None = Field(default=None, description="With format=csv: which table (required)")


class CountsOut(Out):
    total: int
    booked: int
    completed: int
    cancelled: int
    no_show: int
    no_show_rate: float | None = Field(description="no_show / (completed + no_show); null when both are 0")
    cancellation_rate: float | None = Field(description="cancelled / total; null when there are none")


class StatusRowOut(Out):
    status: Literal["booked", "completed", "cancelled", "no_show"]
    count: int
    share: float | None


class ServiceRowOut(Out):
    service_id: str
    service_name: str
    counts: CountsOut
    booked_minutes: int
    completed_revenue: list[MoneyOut] = Field(
        description="Its booking-time price in completed appointments, per currency"
    )


class StaffRowOut(Out):
    staff_id: str
    display_name: str
    counts: CountsOut
    booked_minutes: int = Field(description="Time taken by booked, completed and no-show appointments")
    available_minutes: int = Field(description="Working time within business hours")
    utilization: float | None = Field(description="booked / available; null without working time")
    completed_revenue: list[MoneyOut] = Field(
        description="The prices of the services performed in completed appointments, per currency"
    )


class AppointmentReportOut(Out):
    from_: CalendarDay = Field(alias="from")
    to: CalendarDay
    timezone: str
    totals: CountsOut
    by_status: list[StatusRowOut]
    by_service: list[ServiceRowOut]
    by_staff: list[StaffRowOut]
    generated_at: str


def _optional(message: Any, name: str) -> float | None:
    return float(getattr(message, name)) if message.HasField(name) else None


def counts_json(c: pb.AppointmentCounts) -> dict[str, Any]:
    return {
        "total": c.total,
        "booked": c.booked,
        "completed": c.completed,
        "cancelled": c.cancelled,
        "no_show": c.no_show,
        "no_show_rate": _optional(c, "no_show_rate"),
        "cancellation_rate": _optional(c, "cancellation_rate"),
    }


def money_json(amounts: Iterable[types_pb2.Money]) -> list[dict[str, Any]]:
    return [{"amount_minor": m.amount_minor, "currency": m.currency} for m in amounts]


def revenue_cell(amounts: list[dict[str, Any]]) -> str:
    """One cell: "120.00 EUR; 45.00 USD"."""
    return "; ".join(format_minor(m["amount_minor"], m["currency"]) for m in amounts)


def report_json(r: pb.AppointmentReport) -> dict[str, Any]:
    return {
        "from": getattr(r, "from"),
        "to": r.to,
        "timezone": r.timezone,
        "totals": counts_json(r.totals),
        "by_status": [{"status": s.status, "count": s.count, "share": _optional(s, "share")} for s in r.by_status],
        "by_service": [
            {
                "service_id": s.service_id,
                "service_name": s.service_name,
                "counts": counts_json(s.counts),
                "booked_minutes": s.booked_minutes,
                "completed_revenue": money_json(s.completed_revenue),
            }
            for s in r.by_service
        ],
        "by_staff": [
            {
                "staff_id": s.staff_id,
                "display_name": s.display_name,
                "counts": counts_json(s.counts),
                "booked_minutes": s.booked_minutes,
                "available_minutes": s.available_minutes,
                "utilization": _optional(s, "utilization"),
                "completed_revenue": money_json(s.completed_revenue),
            }
            for s in r.by_staff
        ],
        "generated_at": r.generated_at.ToJsonString(),
    }


# --- CSV ----------------------------------------------------------------------------------------

COUNT_COLUMNS = ["total", "booked", "completed", "cancelled", "no_show", "no_show_rate", "cancellation_rate"]
HEADERS: dict[str, list[str]] = {
    "status": ["status", "count", "share"],
    "service": ["service_id", "service_name", *COUNT_COLUMNS, "booked_minutes", "completed_revenue"],
    "staff": [
        "staff_id",
        "display_name",
        *COUNT_COLUMNS,
        "booked_minutes",
        "available_minutes",
        "utilization",
        "completed_revenue",
    ],
}


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    text = str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _count_cells(counts: dict[str, Any]) -> list[Any]:
    return [counts[c] for c in COUNT_COLUMNS]


def csv_rows(report: dict[str, Any], breakdown: str) -> list[Sequence[Any]]:
    if breakdown == "status":
        return [[s["status"], s["count"], s["share"]] for s in report["by_status"]]
    if breakdown == "service":
        return [
            [
                s["service_id"],
                s["service_name"],
                *_count_cells(s["counts"]),
                s["booked_minutes"],
                revenue_cell(s["completed_revenue"]),
            ]
            for s in report["by_service"]
        ]
    return [
        [
            s["staff_id"],
            s["display_name"],
            *_count_cells(s["counts"]),
            s["booked_minutes"],
            s["available_minutes"],
            s["utilization"],
            revenue_cell(s["completed_revenue"]),
        ]
        for s in report["by_staff"]
    ]


def csv_text(report: dict[str, Any], breakdown: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180: CRLF line ends, quoting where needed
    writer.writerow(HEADERS[breakdown])
    for row in csv_rows(report, breakdown):
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


@api.route(
    "GET",
    "/api/v1/reports/appointments",
    summary="Appointments over a range of days by status, service and staff member, with rates and utilization",
    tag=TAG,
    query=ReportQuery,
    response=AppointmentReportOut,
    permission="reports.read",
    produces=(CSV,),
    description="JSON by default; format=csv with breakdown=status, service or staff answers that table as CSV "
    "(one header row). Days are cut in the business's timezone; an appointment counts when it starts in the "
    "range. No-show rate = no_show / (completed + no_show); cancellation rate = cancelled / total; utilization = "
    "booked / available minutes. A rate with nothing to divide by is null (empty in CSV).",
)
async def appointment_report(request: web.Request, query: ReportQuery, account: Account) -> Any:
    if query.format == "csv" and query.breakdown is None:
        raise InvalidArgument.single("breakdown", "name the table to export: status, service or staff")
    reply = await request.app[BACKENDS].reports.GetAppointmentReport(
        pb.AppointmentReportRequest(**{"from": query.from_.isoformat(), "to": query.to.isoformat()})
    )
    report = report_json(reply)
    if query.format == "json":
        return report
    assert query.breakdown is not None
    filename = f"appointments-by-{query.breakdown}-{report['from']}-to-{report['to']}.csv"
    return web.Response(
        text=csv_text(report, query.breakdown),
        content_type=CSV,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-cache"},
    )
