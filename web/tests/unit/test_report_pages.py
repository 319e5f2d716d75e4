"""Billing's reports page: the range of days read and checked before any call, and the reports rendered from the
gateway's shapes with their CSV links."""

from __future__ import annotations

from datetime import date

from aiohttp.test_utils import make_mocked_request
from multidict import MultiDict

from atrium_web.formatting import Formatter, negotiate_locale
from atrium_web.pages import template_environment
from atrium_web.views.reports import PERIODS, report_range
from atrium_web.views.statements import DETAILS

TODAY = date(2026, 12, 7)


def test_the_range_defaults_to_this_year_and_a_wrong_one_is_named_beside_its_field() -> None:
    assert report_range(MultiDict(), TODAY) == ({"from": "2026-01-01", "to": "2026-12-07", "period": "month"}, {})
    values, errors = report_range(MultiDict({"from": "2026-03-01", "to": "2026-02-01", "period": "year"}), TODAY)
    assert errors == {"to": "Give a day on or after the first."} and values["period"] == "month"
    assert report_range(MultiDict({"from": "2025-01-01", "to": "2026-06-01"}), TODAY)[1] == {
        "to": "Give at most 366 days."
    }
    assert report_range(MultiDict({"from": "soon"}), TODAY)[1] == {"from": "Give a day, such as 2026-01-31."}


def test_the_reports_render_with_money_aging_and_csv_links() -> None:
    aging = {
        "not_due_minor": 0,
        "overdue_1_30_minor": 4500,
        "overdue_31_60_minor": 0,
        "overdue_61_90_minor": 0,
        "overdue_over_90_minor": 0,
    }
    outstanding = {
        "as_of": "2026-12-07",
        "timezone": "Europe/Berlin",
        "clients": [
            {
                "client_id": "c1",
                "client_name": "Ada L",
                "currency": "EUR",
                "open_invoices": 1,
                "outstanding_minor": 4500,
                "overdue_minor": 4500,
                "aging": aging,
                "oldest_due_date": "2026-11-20",
            }
        ],
        "totals": [{"currency": "EUR", "clients": 1, "outstanding_minor": 4500, "overdue_minor": 4500, "aging": aging}],
    }
    counts = {"membership_id": "m1", "membership_name": "Gold", "currency": "EUR", "new": 2, "renewed": 1}
    counts |= {"expiring": 0, "expired": 0, "frozen": 1, "invoiced_minor": 9000}
    memberships = {"rows": [counts | {"period_start": "2026-12-01"}], "totals": [counts]}
    kind = {"id": "t1", "name": "Wallet", "unit": "EUR", "currency": "EUR"}
    credits = {"rows": [{"credit_type": kind, "charged": 2000, "used": 550, "restored": 0, "expired": 0, "clients": 1}]}
    tally = {"total": 4, "booked": 1, "completed": 2, "cancelled": 1, "no_show": 0}
    tally |= {"no_show_rate": 0.0, "cancellation_rate": 0.25}
    paid = [{"amount_minor": 9000, "currency": "EUR"}]
    appointments = {
        "totals": tally,
        "by_service": [{"service_name": "Cut", "counts": tally, "booked_minutes": 180, "completed_revenue": paid}],
        "by_staff": [
            {
                "display_name": "Mara",
                "counts": tally,
                "booked_minutes": 180,
                "available_minutes": 600,
                "utilization": 0.3,
                "completed_revenue": paid,
            }
        ],
    }
    html = (
        template_environment()
        .get_template("staff/billing/reports.html")
        .render(
            request=make_mocked_request("GET", "/billing/reports"),
            account=None,
            csrf_token="t",
            fmt=Formatter(negotiate_locale("en-US"), "Europe/Berlin"),
            messages=[],
            static=lambda name: f"/static/{name}",
            pending=0,
            values={"from": "2026-12-01", "to": "2026-12-07", "period": "month"},
            errors={},
            periods=PERIODS,
            outstanding=outstanding,
            memberships=memberships,
            credits=credits,
            appointments=appointments,
        )
    )
    assert '<a href="/clients/c1">Ada L</a>: €45.00 on 1 invoice, €45.00 overdue since Nov 20, 2026' in html
    assert "<td>€45.00</td><td>€0.00</td>" in html  # 1-30 days overdue, then 31-60
    assert "<td>Dec 1, 2026</td><td>Gold</td><td>2</td><td>1</td>" in html and "€90.00" in html
    assert "<td>Wallet</td><td>€20.00</td><td>€5.50</td>" in html
    assert 'href="/billing/reports/memberships.csv?from=2026-12-01&amp;to=2026-12-07&amp;period=month"' in html
    assert 'href="/billing/reports/credits.csv?from=2026-12-01&amp;to=2026-12-07"' in html
    assert "4 appointments: 2 completed, 1 cancelled, 0 not attended, 1 still booked." in html
    assert "<td>Cut</td><td>2</td><td>0 %</td><td>25 %</td><td>€90.00</td>" in html
    assert "<td>Mara</td><td>2</td><td>3 h</td><td>30 %</td><td>€90.00</td>" in html
    assert 'href="/billing/reports/appointments-by-staff.csv?from=2026-12-01&amp;to=2026-12-07"' in html


def test_a_clients_statement_links_its_invoices_to_the_staff_pages_and_offers_its_files() -> None:
    entry = {"day": "2026-01-02", "kind": "invoice", "record_id": "i1", "description": "Invoice 7"}
    currency = {
        "currency": "EUR",
        "opening_balance_minor": 0,
        "invoiced_minor": 4500,
        "paid_minor": 0,
        "refunded_minor": 0,
        "closing_balance_minor": 4500,
        "balance_due_minor": 4500,
        "credit_minor": 0,
        "entries": [entry | {"amount_minor": 4500, "balance_minor": 4500}],
    }
    html = (
        template_environment()
        .get_template("staff/billing/statement.html")
        .render(
            request=make_mocked_request("GET", "/billing/statements"),
            account=None,
            csrf_token="t",
            fmt=Formatter(negotiate_locale("en-US"), "Europe/Berlin"),
            messages=[],
            static=lambda name: f"/static/{name}",
            pending=0,
            client={"id": "c1", "first_name": "Ada", "last_name": "L", "email": "", "phone": ""},
            candidates=[],
            q="",
            values={"from": "2026-01-01", "to": "2026-01-31", "detail": "detailed"},
            errors={},
            details=DETAILS,
            statement={"currencies": [currency]},
        )
    )
    assert '<a href="/billing/invoices/i1">Invoice 7</a>' in html and "€45.00" in html
    assert (
        'href="/billing/statements/file?client_id=c1&amp;from=2026-01-01&amp;to=2026-01-31&amp;detail=detailed&amp;format=pdf"'
        in html
    )
