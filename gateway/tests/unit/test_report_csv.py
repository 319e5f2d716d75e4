"""The report's CSV: one table per breakdown, with a header row, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

from gateway.routes.reports import csv_text


def _counts(total: int, no_show_rate: float | None) -> dict[str, object]:
    return {
        "total": total,
        "booked": total,
        "completed": 0,
        "cancelled": 0,
        "no_show": 0,
        "no_show_rate": no_show_rate,
        "cancellation_rate": 0.0 if total else None,
    }


REPORT = {
    "by_status": [{"status": "booked", "count": 3, "share": 1.0}, {"status": "no_show", "count": 0, "share": 0.0}],
    "by_service": [
        {
            "service_id": "s1",
            "service_name": '=HYPERLINK("x")',
            "counts": _counts(3, None),
            "booked_minutes": 90,
            "completed_revenue": [],
        }
    ],
    "by_staff": [
        {
            "staff_id": "a",
            "display_name": "Anna, Senior",
            "counts": _counts(3, 0.25),
            "booked_minutes": 90,
            "available_minutes": 420,
            "utilization": 90 / 420,
            "completed_revenue": [
                {"amount_minor": 12000, "currency": "EUR"},
                {"amount_minor": 500, "currency": "JPY"},
            ],
        }
    ],
}


def test_each_breakdown_is_one_table_with_a_header_row() -> None:
    status = list(csv.reader(io.StringIO(csv_text(REPORT, "status"))))
    assert status == [["status", "count", "share"], ["booked", "3", "1.0000"], ["no_show", "0", "0.0000"]]
    staff = list(csv.DictReader(io.StringIO(csv_text(REPORT, "staff"))))
    assert staff[0]["display_name"] == "Anna, Senior"  # quoted, not split
    assert (staff[0]["utilization"], staff[0]["no_show_rate"], staff[0]["available_minutes"]) == (
        "0.2143",
        "0.2500",
        "420",
    )
    assert staff[0]["completed_revenue"] == "120.00 EUR; 500 JPY"
    assert csv_text(REPORT, "staff").endswith("\r\n")


def test_a_rate_without_a_denominator_is_empty_and_formulas_are_not_run() -> None:
    (row,) = csv.DictReader(io.StringIO(csv_text(REPORT, "service")))
    assert row["no_show_rate"] == ""
    assert row["service_name"] == '\'=HYPERLINK("x")'
