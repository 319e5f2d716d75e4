"""gRPC servicer of billing's reports: outstanding balances aged on the business's calendar, and memberships
(new, renewed, expiring, expired, frozen, invoiced) per period and membership. Staff only (the gateway lets
owners and admins ask)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import grpc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.membership_billing.v1 import billing_reports_pb2 as pb
from atrium.membership_billing.v1 import billing_reports_pb2_grpc as pb_grpc
from membership_billing_svc import membership_views
from membership_billing_svc.adapters.business_calendar import AbstractBusinessCalendar
from membership_billing_svc.adapters.tables import invoices
from membership_billing_svc.domain.invoices import OPEN_STATUSES
from membership_billing_svc.domain.membership_report import (
    MembershipReportRow,
    ReportPeriod,
    membership_report,
    report_totals,
)
from membership_billing_svc.domain.memberships import Membership
from membership_billing_svc.domain.receivables import OpenItem, receivables
from membership_billing_svc.entrypoints.ledger_server import MAX_REPORT_DAYS, optional_date
from platform_core.errors import InvalidArgument
from platform_core.grpc.values import require_staff

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["BillingReportService"].full_name


def aging_message(aging: Sequence[int]) -> pb.Aging:
    return pb.Aging(
        not_due_minor=aging[0],
        overdue_1_30_minor=aging[1],
        overdue_31_60_minor=aging[2],
        overdue_61_90_minor=aging[3],
        overdue_over_90_minor=aging[4],
    )


def membership_row_message(
    row: MembershipReportRow, found: dict[uuid.UUID, Membership], *, with_period: bool
) -> pb.MembershipReportRow:
    membership = found[row.membership_id]
    return pb.MembershipReportRow(
        period_start=row.period_start.isoformat() if with_period else "",
        membership_id=str(row.membership_id),
        membership_name=membership.name,
        currency=membership.currency,
        new_subscriptions=row.new,
        renewed=row.renewed,
        expiring=row.expiring,
        expired=row.expired,
        frozen=row.frozen,
        invoiced_minor=row.invoiced_minor,
    )


class BillingReportServicer(pb_grpc.BillingReportServiceServicer):
    def __init__(self, *, engine: AsyncEngine, calendar: AbstractBusinessCalendar) -> None:
        self._engine = engine
        self._calendar = calendar

    async def OutstandingBalances(
        self, request: pb.OutstandingBalancesRequest, context: grpc.aio.ServicerContext
    ) -> pb.OutstandingBalancesReport:
        call = require_staff()
        zone = await self._calendar.timezone()
        today = datetime.now(zone).date()
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        invoices.c.client_id,
                        invoices.c.bill_to_name,
                        invoices.c.currency,
                        invoices.c.due_date,
                        (invoices.c.total_minor - invoices.c.paid_minor).label("outstanding"),
                    )
                    .where(
                        invoices.c.tenant_id == call.tenant_id,
                        invoices.c.status.in_([s.value for s in OPEN_STATUSES]),
                    )
                    # The latest issued first, so a client's name is its newest bill-to name.
                    .order_by(invoices.c.issue_date.desc().nulls_last())
                )
            ).all()
        found = receivables(
            (OpenItem(r.client_id, r.bill_to_name, r.currency, r.due_date, int(r.outstanding)) for r in rows), today
        )
        # Per currency: clients, outstanding, overdue, then the aging buckets.
        sums: dict[str, list[int]] = {}
        for r in found:
            total = sums.setdefault(r.currency, [0] * (3 + len(r.aging_minor)))
            for i, value in enumerate((1, r.outstanding_minor, r.overdue_minor, *r.aging_minor)):
                total[i] += value
        return pb.OutstandingBalancesReport(
            as_of=today.isoformat(),
            timezone=zone.key,
            clients=[
                pb.ClientReceivable(
                    client_id=str(r.client_id),
                    client_name=r.client_name,
                    currency=r.currency,
                    open_invoices=r.open_invoices,
                    outstanding_minor=r.outstanding_minor,
                    overdue_minor=r.overdue_minor,
                    aging=aging_message(r.aging_minor),
                    oldest_due_date=r.oldest_due.isoformat() if r.oldest_due else "",
                )
                for r in found
            ],
            totals=[
                pb.CurrencyReceivables(
                    currency=currency,
                    clients=total[0],
                    outstanding_minor=total[1],
                    overdue_minor=total[2],
                    aging=aging_message(total[3:]),
                )
                for currency, total in sorted(sums.items())
            ],
        )

    async def MembershipReport(
        self, request: pb.MembershipReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.MembershipReportResponse:
        call = require_staff()
        first = optional_date(request.from_day, "from_day")
        last = optional_date(request.to_day, "to_day")
        if first is None or last is None or not 0 <= (last - first).days <= MAX_REPORT_DAYS:
            raise InvalidArgument.single("to_day", f"from_day and to_day are required, at most {MAX_REPORT_DAYS} apart")
        try:
            period = ReportPeriod(request.period or ReportPeriod.MONTH.value)
        except ValueError:
            raise InvalidArgument.single("period", "must be day, week or month") from None
        zone = await self._calendar.timezone()
        facts, found = await membership_views.membership_report_facts(self._engine, call.tenant_id, first, last)
        rows = membership_report(facts, period)

        def by_name(row: MembershipReportRow) -> tuple[str, str]:
            return found[row.membership_id].name.casefold(), str(row.membership_id)

        rows.sort(key=lambda row: (row.period_start, *by_name(row)))
        return pb.MembershipReportResponse(
            timezone=zone.key,
            rows=[membership_row_message(r, found, with_period=True) for r in rows],
            totals=[
                membership_row_message(r, found, with_period=False) for r in sorted(report_totals(rows), key=by_name)
            ],
        )
