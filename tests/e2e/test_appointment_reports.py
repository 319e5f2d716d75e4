"""The appointment report through the gateway, as JSON and as CSV, for owners and admins only."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta

from .conftest import Api
from .test_scheduling import BERLIN, PASSWORD, at, open_business


async def test_the_appointment_report_as_json_and_as_csv(api: Api) -> None:
    business = await open_business(api, staff=2)
    token, service = business["token"], business["service"]
    owner_id, colleague = business["staff_ids"]
    day = (datetime.now(BERLIN) - timedelta(days=3)).date()
    clients = [(await api.create_client(token, first_name=f"C{i}"))["id"] for i in range(3)]
    outcomes = ("complete", "no-show", None)
    for i, (client_id, outcome) in enumerate(zip(clients, outcomes, strict=True)):
        # Past appointments: only staff overriding availability can place them.
        status, booked, _ = await api.call(
            "POST",
            "/api/v1/appointments",
            token=token,
            json={
                "client_id": client_id,
                "segments": [{"service_id": service["id"], "staff_id": owner_id}],
                "start": at(day, 10 + 2 * i),
                "override_availability": True,
            },
        )
        assert status == 201, booked
        if outcome is not None:
            status, body, _ = await api.call(
                "POST",
                f"/api/v1/appointments/{booked['id']}/{outcome}",
                token=token,
                json={"version": booked["version"]},
            )
            assert status == 200, body

    query = {"from": day.isoformat(), "to": day.isoformat()}
    status, report, _ = await api.call("GET", "/api/v1/reports/appointments", token=token, params=query)
    assert status == 200, report
    assert (report["from"], report["timezone"]) == (day.isoformat(), "Europe/Berlin")
    assert report["totals"] | {"no_show_rate": round(report["totals"]["no_show_rate"], 4)} == {
        "total": 3,
        "booked": 1,
        "completed": 1,
        "cancelled": 0,
        "no_show": 1,
        "no_show_rate": 0.5,
        "cancellation_rate": 0.0,
    }
    assert [s["completed_revenue"] for s in report["by_service"]] == [[{"amount_minor": 4500, "currency": "EUR"}]]

    status, text, headers = await api.call(
        "GET", "/api/v1/reports/appointments", token=token, params=query | {"format": "csv", "breakdown": "staff"}
    )
    assert status == 200, text
    assert headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"] == (
        f'attachment; filename="appointments-by-staff-{day.isoformat()}-to-{day.isoformat()}.csv"'
    )
    rows = {r["staff_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {owner_id, colleague}
    mine = rows[owner_id]
    assert (mine["total"], mine["completed"], mine["no_show"], mine["booked"]) == ("3", "1", "1", "1")
    assert (mine["booked_minutes"], mine["available_minutes"], mine["no_show_rate"]) == ("180", "480", "0.5000")
    assert mine["utilization"] == "0.3750"
    # Revenue: the one completed appointment's booking-time price (the no-show and the booked one bring none).
    assert (mine["completed_revenue"], rows[colleague]["completed_revenue"]) == ("45.00 EUR", "")
    assert (rows[colleague]["total"], rows[colleague]["utilization"]) == ("0", "0.0000")

    status, text, _ = await api.call(
        "GET", "/api/v1/reports/appointments", token=token, params=query | {"format": "csv", "breakdown": "status"}
    )
    assert status == 200
    assert list(csv.reader(io.StringIO(text))) == [
        ["status", "count", "share"],
        ["booked", "1", "0.3333"],
        ["completed", "1", "0.3333"],
        ["cancelled", "0", "0.0000"],
        ["no_show", "1", "0.3333"],
    ]

    status, problem, _ = await api.call(
        "GET", "/api/v1/reports/appointments", token=token, params=query | {"format": "csv"}
    )
    assert status == 422 and [e["field"] for e in problem["errors"]] == ["breakdown"]
    status, problem, _ = await api.call(
        "GET", "/api/v1/reports/appointments", token=token, params={"from": day.isoformat(), "to": "2000-01-01"}
    )
    assert status == 422 and [e["field"] for e in problem["errors"]] == ["to"]

    email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    status, _, _ = await api.call(
        "POST", "/api/v1/staff", token=token, json={"email": email, "password": PASSWORD, "role": "staff"}
    )
    assert status == 201
    status, login, _ = await api.call("POST", "/api/v1/auth/staff/login", json={"email": email, "password": PASSWORD})
    assert status == 200, login
    status, _, _ = await api.call("GET", "/api/v1/reports/appointments", token=login["access_token"], params=query)
    assert status == 403
