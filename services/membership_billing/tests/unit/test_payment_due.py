"""Which payment-due stage an open invoice is at on a day of the business's calendar."""

from __future__ import annotations

from datetime import date

import pytest

from membership_billing_svc.domain.payment_due import DueStage, due_stage

DUE = date(2026, 3, 31)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 3, 27), None),
        (date(2026, 3, 28), (DueStage.DUE_SOON, 3)),
        (date(2026, 3, 30), (DueStage.DUE_SOON, 1)),
        (DUE, (DueStage.DUE_TODAY, 0)),
        (date(2026, 4, 1), (DueStage.OVERDUE, -1)),
        (date(2026, 5, 1), (DueStage.OVERDUE, -31)),
    ],
)
def test_the_stage_follows_the_days_to_the_due_date(today: date, expected: tuple[DueStage, int] | None) -> None:
    assert due_stage(DUE, today, soon_days=3) == expected
