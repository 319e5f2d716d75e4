"""The membership report: per period (a day, a Monday-first week or a month of the business's calendar) and
membership, how many subscriptions were new, renewed, expiring, expired and frozen, and what their periods
invoiced. Every fact is already a business day (subscriptions keep dates, not instants), so cutting periods is
plain calendar arithmetic.

- new: a subscription's first period starts that day; renewed: a renewal period starts that day;
- expiring: a subscription not yet expired (active, frozen or in tolerance) has its last paid day that day;
- expired: an expired subscription's last paid day was that day (renewed ones moved theirs on);
- frozen: a freeze started that day (every freeze counts, resumed ones too);
- invoiced: the issued (not draft, not void) invoices of the periods starting that day.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class ReportPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Measure(StrEnum):
    NEW = "new"
    RENEWED = "renewed"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    FROZEN = "frozen"


def period_start(day: date, period: ReportPeriod) -> date:
    if period is ReportPeriod.WEEK:
        return day - timedelta(days=day.weekday())
    if period is ReportPeriod.MONTH:
        return day.replace(day=1)
    return day


@dataclass(frozen=True)
class MembershipFact:
    """What the database counted for one membership on one business day."""

    day: date
    membership_id: uuid.UUID
    measure: Measure
    count: int
    invoiced_minor: int = 0


@dataclass
class MembershipReportRow:
    period_start: date
    membership_id: uuid.UUID
    new: int = 0
    renewed: int = 0
    expiring: int = 0
    expired: int = 0
    frozen: int = 0
    invoiced_minor: int = 0

    def add(self, fact: MembershipFact) -> None:
        setattr(self, fact.measure.value, getattr(self, fact.measure.value) + fact.count)
        self.invoiced_minor += fact.invoiced_minor


def membership_report(facts: Iterable[MembershipFact], period: ReportPeriod) -> list[MembershipReportRow]:
    """One row per (period, membership) that has something, the earliest period first."""
    rows: dict[tuple[date, uuid.UUID], MembershipReportRow] = {}
    for fact in facts:
        start = period_start(fact.day, period)
        rows.setdefault((start, fact.membership_id), MembershipReportRow(start, fact.membership_id)).add(fact)
    return [rows[key] for key in sorted(rows, key=lambda key: (key[0], str(key[1])))]


def report_totals(rows: Iterable[MembershipReportRow]) -> list[MembershipReportRow]:
    """Per membership over the whole range (period_start: its first period with something)."""
    totals: dict[uuid.UUID, MembershipReportRow] = {}
    for row in rows:
        total = totals.setdefault(row.membership_id, MembershipReportRow(row.period_start, row.membership_id))
        for measure in Measure:
            total.add(MembershipFact(row.period_start, row.membership_id, measure, getattr(row, measure.value)))
        total.invoiced_minor += row.invoiced_minor
    return list(totals.values())
