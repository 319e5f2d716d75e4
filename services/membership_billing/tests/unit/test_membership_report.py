"""The membership report's periods and sums: weeks start on Monday (across a month and a year end), months on
the 1st; facts of one membership and period add up, totals add up the periods."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from membership_billing_svc.domain.membership_report import (
    Measure,
    MembershipFact,
    ReportPeriod,
    membership_report,
    period_start,
    report_totals,
)

GOLD = uuid.UUID(int=1)
SILVER = uuid.UUID(int=2)


@pytest.mark.parametrize(
    ("day", "period", "start"),
    [
        (date(2026, 3, 29), ReportPeriod.DAY, date(2026, 3, 29)),
        # Sunday 2026-03-29 (the DST change in Europe) belongs to the week of Monday 2026-03-23.
        (date(2026, 3, 29), ReportPeriod.WEEK, date(2026, 3, 23)),
        (date(2026, 3, 30), ReportPeriod.WEEK, date(2026, 3, 30)),
        # A week across a year end starts in the old year.
        (date(2027, 1, 1), ReportPeriod.WEEK, date(2026, 12, 28)),
        (date(2026, 2, 28), ReportPeriod.MONTH, date(2026, 2, 1)),
        (date(2026, 3, 1), ReportPeriod.MONTH, date(2026, 3, 1)),
    ],
)
def test_a_period_starts_on_its_first_day(day: date, period: ReportPeriod, start: date) -> None:
    assert period_start(day, period) == start


FACTS = [
    MembershipFact(date(2026, 3, 2), GOLD, Measure.NEW, 2, invoiced_minor=24800),
    MembershipFact(date(2026, 3, 8), GOLD, Measure.NEW, 1, invoiced_minor=12400),
    MembershipFact(date(2026, 3, 8), GOLD, Measure.FROZEN, 1),
    MembershipFact(date(2026, 3, 9), GOLD, Measure.RENEWED, 1, invoiced_minor=9900),
    MembershipFact(date(2026, 3, 9), SILVER, Measure.EXPIRING, 3),
    MembershipFact(date(2026, 4, 1), GOLD, Measure.EXPIRED, 1),
]


def test_weeks_add_up_each_memberships_facts_and_keep_periods_apart() -> None:
    rows = membership_report(FACTS, ReportPeriod.WEEK)

    assert [(r.period_start, r.membership_id) for r in rows] == [
        (date(2026, 3, 2), GOLD),
        (date(2026, 3, 9), GOLD),
        (date(2026, 3, 9), SILVER),
        (date(2026, 3, 30), GOLD),
    ]
    first = rows[0]
    assert (first.new, first.frozen, first.renewed, first.invoiced_minor) == (3, 1, 0, 37200)
    assert (rows[1].renewed, rows[1].invoiced_minor) == (1, 9900)
    assert (rows[2].expiring, rows[2].new) == (3, 0)
    assert rows[3].expired == 1


def test_months_and_days_cut_the_same_facts_differently() -> None:
    months = membership_report(FACTS, ReportPeriod.MONTH)
    days = membership_report(FACTS, ReportPeriod.DAY)

    assert [(r.period_start, r.membership_id) for r in months] == [
        (date(2026, 3, 1), GOLD),
        (date(2026, 3, 1), SILVER),
        (date(2026, 4, 1), GOLD),
    ]
    assert (months[0].new, months[0].renewed, months[0].frozen, months[0].invoiced_minor) == (3, 1, 1, 47100)
    assert len(days) == 5


def test_totals_add_up_every_period_of_a_membership() -> None:
    totals = {t.membership_id: t for t in report_totals(membership_report(FACTS, ReportPeriod.DAY))}

    gold = totals[GOLD]
    assert (gold.new, gold.renewed, gold.expiring, gold.expired, gold.frozen) == (3, 1, 0, 1, 1)
    assert gold.invoiced_minor == 24800 + 12400 + 9900
    assert (totals[SILVER].expiring, totals[SILVER].invoiced_minor) == (3, 0)
