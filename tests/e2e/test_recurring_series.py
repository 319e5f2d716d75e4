"""Recurring appointments through the gateway: preview with clashes, create with decisions (idempotent), edit one
occurrence, cancel this and the following ones, and the 422/404 answers."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .conftest import Api

NEW_YORK = ZoneInfo("America/New_York")


async def open_business(api: Api, tenant: dict[str, Any]) -> tuple[str, str]:
    """(service id, staff id): the owner works 09:00-17:00 every day and offers a 60-minute massage."""
    token, staff_id = tenant["token"], tenant["owner"]["id"]
    calls: list[tuple[str, str, dict[str, Any]]] = [
        (
            "PUT",
            "/api/v1/scheduling/settings",
            {
                "timezone": "America/New_York",
                "slot_rules": {"granularity_minutes": 30, "min_notice_minutes": 60, "horizon_days": 60},
            },
        ),
        (
            "PUT",
            f"/api/v1/staff-schedules/{staff_id}",
            {
                "display_name": "Owner",
                "timezone": "America/New_York",
                "weekly_hours": [{"weekday": d, "ranges": [{"start": "09:00", "end": "17:00"}]} for d in range(7)],
            },
        ),
        (
            "POST",
            "/api/v1/services",
            {
                "name": "Massage",
                "duration_minutes": 60,
                "price": {"amount_minor": 9000, "currency": "USD"},
                "staff_ids": [staff_id],
            },
        ),
        (
            "POST",
            "/api/v1/schedule-exceptions",
            {
                "day": (datetime.now(NEW_YORK) + timedelta(days=14)).date().isoformat(),
                "available": False,
                "label": "Closed",
            },
        ),
    ]
    replies = []
    for method, path, body in calls:
        status, reply, _ = await api.call(method, path, token=token, json=body)
        assert status in (200, 201), reply
        replies.append(reply)
    return replies[2]["id"], staff_id


async def test_a_weekly_series_through_the_gateway(api: Api) -> None:
    tenant = await api.sign_up(name="Series Spa")
    token = tenant["token"]
    service_id, staff_id = await open_business(api, tenant)
    client = await api.create_client(token, first_name="Grace")
    first = (datetime.now(NEW_YORK) + timedelta(days=7)).date()
    definition = {
        "client_id": client["id"],
        "segments": [{"service_id": service_id, "staff_id": staff_id}],
        "rrule": "FREQ=WEEKLY;COUNT=8",
        "dtstart": f"{first.isoformat()}T10:00",
        "timezone": "America/New_York",
    }

    status, preview, _ = await api.call("POST", "/api/v1/recurring-series/preview", token=token, json=definition)
    assert status == 200, preview
    assert [o["status"] for o in preview["occurrences"]] == ["ok", "clash", *["ok"] * 6]
    holiday = preview["occurrences"][1]
    assert holiday["reason"] == "holiday" and holiday["proposed_start"] is None

    status, refused, _ = await api.call("POST", "/api/v1/recurring-series", token=token, json=definition)
    assert (status, refused["code"]) == (409, "SLOT_UNAVAILABLE")

    body = definition | {"decisions": [{"occurrence_start": holiday["occurrence_start"], "action": "skip"}]}
    headers = {"Idempotency-Key": f"series-{uuid.uuid4()}"}
    status, created, _ = await api.call("POST", "/api/v1/recurring-series", token=token, json=body, headers=headers)
    assert status == 201, created
    status, replay, _ = await api.call("POST", "/api/v1/recurring-series", token=token, json=body, headers=headers)
    assert (status, replay["series"]["id"]) == (201, created["series"]["id"])
    series_id = created["series"]["id"]
    assert len(created["booked"]) == 7 and created["series"]["status"] == "ended"
    assert {a["start"][11:16] for a in created["booked"]} <= {"14:00", "15:00"}  # 10:00 New York in UTC

    third = preview["occurrences"][2]["occurrence_start"]
    third_local = datetime.fromisoformat(preview["occurrences"][2]["local_start"])
    status, edited, _ = await api.call(
        "POST",
        f"/api/v1/recurring-series/{series_id}/occurrences/edit",
        token=token,
        json={"occurrence_start": third, "scope": "one", "start": third_local.replace(hour=13).isoformat()},
    )
    assert status == 200, edited
    assert datetime.fromisoformat(edited["changed"][0]["start"]).astimezone(NEW_YORK).hour == 13
    status, cut, _ = await api.call(
        "POST",
        f"/api/v1/recurring-series/{series_id}/occurrences/cancel",
        token=token,
        json={
            "occurrence_start": preview["occurrences"][5]["occurrence_start"],
            "scope": "this_and_following",
            "reason": "course finished early",
        },
    )
    assert status == 200, cut
    assert len(cut["changed"]) == 3 and {a["status"] for a in cut["changed"]} == {"cancelled"}

    status, page, _ = await api.call("GET", f"/api/v1/recurring-series/{series_id}/occurrences", token=token)
    assert status == 200, page
    assert Counter(o["state"] for o in page["items"]) == Counter({"booked": 4, "skipped": 1, "cancelled": 3})
    status, listed, _ = await api.call("GET", f"/api/v1/clients/{client['id']}/recurring-series", token=token)
    assert status == 200 and [s["id"] for s in listed["items"]] == [series_id]
    status, found, _ = await api.call("GET", f"/api/v1/recurring-series/{series_id}", token=token)
    assert status == 200 and {e["kind"] for e in found["exceptions"]} == {"skipped", "shifted"}


async def test_bad_series_requests_answer_422_naming_the_field_and_unknown_ids_404(api: Api) -> None:
    tenant = await api.sign_up()
    token = tenant["token"]
    client = await api.create_client(token)
    base = {
        "client_id": client["id"],
        "segments": [{"service_id": str(uuid.uuid4())}],
        "dtstart": "2030-01-07T10:00",
    }
    status, bad_rule, _ = await api.call(
        "POST", "/api/v1/recurring-series/preview", token=token, json=base | {"rrule": "FREQ=HOURLY"}
    )
    assert status == 422 and [e["field"] for e in bad_rule["errors"]] == ["rrule"]
    status, bad_start, _ = await api.call(
        "POST", "/api/v1/recurring-series", token=token, json=base | {"rrule": "FREQ=DAILY", "dtstart": "10:00"}
    )
    assert status == 422 and [e["field"] for e in bad_start["errors"]] == ["dtstart"]
    status, _, _ = await api.call("GET", f"/api/v1/recurring-series/{uuid.uuid4()}", token=token)
    assert status == 404
    status, _, _ = await api.call("GET", "/api/v1/recurring-series/not-an-id", token=token)
    assert status == 404
    status, _, _ = await api.call("POST", "/api/v1/recurring-series/preview", json=base | {"rrule": "FREQ=DAILY"})
    assert status == 401
