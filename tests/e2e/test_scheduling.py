"""Scheduling through the gateway: the catalogue, availability, booking, the calendar, the portal's view,
and the one bug a service business never forgives — a double booking — under 200 concurrent attempts."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from platform_core.db import create_engine
from platform_dev.testing.plugin import patched_env, wait_until
from scheduling_svc.config import SchedulingServiceSettings

from .conftest import Api

BERLIN = ZoneInfo("Europe/Berlin")
PASSWORD = "correct horse battery"
WEEK_9_TO_17 = [{"weekday": d, "ranges": [{"start": "09:00", "end": "17:00"}]} for d in range(7)]


async def add_staff(api: Api, token: str) -> str:
    status, body, _ = await api.call(
        "POST",
        "/api/v1/staff",
        token=token,
        json={"email": f"staff-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD, "role": "staff"},
    )
    assert status == 201, body
    return str(body["id"])


async def open_business(api: Api, *, staff: int = 1, capacity: int = 1) -> dict[str, Any]:
    tenant = await api.sign_up()
    token = tenant["token"]
    _, me, _ = await api.call("GET", "/api/v1/me", token=token)
    staff_ids = [me["id"]] + [await add_staff(api, token) for _ in range(staff - 1)]
    status, settings, _ = await api.call(
        "PUT",
        "/api/v1/scheduling/settings",
        token=token,
        json={
            "timezone": "Europe/Berlin",
            "slot_rules": {"granularity_minutes": 30, "min_notice_minutes": 60, "horizon_days": 60},
            "cancellation_notice_minutes": 24 * 60,
        },
    )
    assert status == 200, settings
    for i, staff_id in enumerate(staff_ids):
        status, body, _ = await api.call(
            "PUT",
            f"/api/v1/staff-schedules/{staff_id}",
            token=token,
            json={"display_name": f"Stylist {i}", "timezone": "Europe/Berlin", "weekly_hours": WEEK_9_TO_17},
        )
        assert status == 200, body
    status, service, _ = await api.call(
        "POST",
        "/api/v1/services",
        token=token,
        json={
            "name": "Yoga class" if capacity > 1 else "Haircut",
            "duration_minutes": 60,
            "price": {"amount_minor": 4500, "currency": "EUR"},
            "capacity": capacity,
            "staff_ids": staff_ids,
        },
    )
    assert status == 201, service
    day = (datetime.now(BERLIN) + timedelta(days=10)).date()
    return {"token": token, "staff_ids": staff_ids, "service": service, "day": day, "tenant": tenant}


def at(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN).isoformat()


def wall(day: date, hour: int) -> str:
    """How the timeline writes a Berlin appointment's time."""
    local = datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} Europe/Berlin"


async def test_catalogue_availability_booking_calendar_and_portal(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    client = await api.create_client(token, first_name="Mia", email="mia@example.com")

    status, slots, _ = await api.call(
        "GET",
        "/api/v1/availability",
        token=token,
        params={"service_ids": service["id"], "from": day.isoformat(), "to": day.isoformat()},
    )
    assert status == 200, slots
    assert [s["local_start"][11:16] for s in slots["slots"]][:3] == ["09:00", "09:30", "10:00"]

    status, booked, _ = await api.call(
        "POST",
        "/api/v1/appointments",
        token=token,
        json={"client_id": client["id"], "segments": [{"service_id": service["id"]}], "start": at(day, 10)},
        headers={"Idempotency-Key": "book-mia-1"},
    )
    assert status == 201, booked
    assert booked["segments"][0]["price"] == {"amount_minor": 4500, "currency": "EUR"}
    status, again, _ = await api.call(
        "POST",
        "/api/v1/appointments",
        token=token,
        json={"client_id": client["id"], "segments": [{"service_id": service["id"]}], "start": at(day, 10)},
        headers={"Idempotency-Key": "book-mia-1"},
    )
    assert (status, again["id"]) == (201, booked["id"])

    status, card, _ = await api.call("GET", f"/api/v1/clients/{client['id']}/card", token=token)
    assert (status, card["highlights"]["next_appointment"]["data"]["id"]) == (200, booked["id"])

    status, week, _ = await api.call(
        "GET", "/api/v1/calendar", token=token, params={"view": "week", "on": day.isoformat()}
    )
    assert status == 200, week
    assert [a["id"] for a in week["staff"][0]["appointments"]] == [booked["id"]]

    status, bad, _ = await api.call(
        "POST",
        "/api/v1/appointments",
        token=token,
        json={"client_id": "not-an-id", "segments": [{"service_id": service["id"]}], "start": "tomorrow"},
    )
    assert status == 422 and {e["field"] for e in bad["errors"]} == {"start"}

    # The portal: the client sees bookable services, the slots the rules allow, and its own appointment.
    status, invitation, _ = await api.call(
        "POST", f"/api/v1/clients/{client['id']}/portal-invitation", token=token, json={}
    )
    assert status == 201, invitation
    status, tokens, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    assert status == 201, tokens
    portal = tokens["access_token"]
    status, offered, _ = await api.call("GET", "/api/v1/portal/services", token=portal)
    assert (status, [s["id"] for s in offered["items"]]) == (200, [service["id"]])
    status, portal_slots, _ = await api.call(
        "GET",
        "/api/v1/portal/availability",
        token=portal,
        params={"service_ids": service["id"], "from": day.isoformat(), "to": day.isoformat()},
    )
    assert status == 200 and "10:00" not in {s["local_start"][11:16] for s in portal_slots["slots"]}
    status, mine, _ = await api.call("GET", "/api/v1/portal/appointments", token=portal, params={"view": "upcoming"})
    assert (status, [a["id"] for a in mine["items"]]) == (200, [booked["id"]])
    status, cancelled, _ = await api.call(
        "POST", f"/api/v1/portal/appointments/{booked['id']}/cancel", token=portal, json={"reason": "away"}
    )
    assert (status, cancelled["status"], cancelled["cancelled_by"]) == (200, "cancelled", "client")

    status, history, _ = await api.call("GET", f"/api/v1/appointments/{booked['id']}/history", token=token)
    assert status == 200
    assert [(e["action"], e["actor"]) for e in history["entries"]] == [
        ("booked", f"staff:{business['staff_ids'][0]}"),
        ("cancelled", f"client:{client['id']}"),
    ]
    status, _, _ = await api.call("GET", f"/api/v1/appointments/{uuid.uuid4()}", token=portal)
    assert status == 403  # a portal token cannot use staff routes at all

    # The card's timeline tells the appointment's story too (scheduling's events, through notification).
    async def appointment_entries() -> list[tuple[str, str]] | None:
        _, card, _ = await api.call("GET", f"/api/v1/clients/{client['id']}/card", token=token)
        items = card["timeline"]["data"]["items"] if card["timeline"]["status"] == "ok" else []
        found = [(e["kind"], e["summary"]) for e in items if e["kind"].startswith("appointment.")]
        return found if len(found) == 2 else None

    cancelled_entry, booked_entry = await wait_until(appointment_entries, timeout=15)
    assert booked_entry == ("appointment.booked", f"Booked Haircut for {wall(day, 10)}")
    assert cancelled_entry == ("appointment.cancelled", f"Appointment of {wall(day, 10)} cancelled by the client: away")


async def overlapping_blocks(api: Api, tenant_id: str) -> int:
    with patched_env(api.stack.env):
        url = SchedulingServiceSettings().database_url("scheduling")
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            count = await conn.scalar(
                text(
                    "SELECT count(*) FROM time_blocks a JOIN time_blocks b"
                    " ON a.staff_id = b.staff_id AND a.id < b.id AND a.occupied && b.occupied"
                    " WHERE a.tenant_id = :t AND NOT a.released AND NOT b.released"
                ),
                {"t": uuid.UUID(tenant_id)},
            )
            return int(count or 0)
    finally:
        await engine.dispose()


async def test_200_concurrent_attempts_fill_exactly_the_capacity_and_never_overlap(api: Api) -> None:
    business = await open_business(api, staff=2)
    token, day, service = business["token"], business["day"], business["service"]
    clients = [(await api.create_client(token, first_name=f"C{i}"))["id"] for i in range(20)]
    starts = [at(day, 9), at(day, 10), at(day, 11), at(day, 11, 30)]  # 11:00 and 11:30 overlap (60 minutes)

    async def attempt(i: int) -> tuple[int, str]:
        status, body, _ = await api.call(
            "POST",
            "/api/v1/appointments",
            token=token,
            json={
                "client_id": clients[i % len(clients)],
                "segments": [{"service_id": service["id"]}],
                "start": starts[i % len(starts)],
            },
        )
        return status, body.get("code", "") if status != 201 else ""

    outcomes = Counter(await asyncio.gather(*(attempt(i) for i in range(200))))
    # Two staff members: 09:00 and 10:00 take two bookings each; 11:00 and 11:30 overlap, so each staff
    # member takes only one of them. Exactly six succeed; every other attempt is a clear 409.
    assert outcomes[(201, "")] == 6, outcomes
    assert {status for status, _ in outcomes} == {201, 409}, outcomes
    assert {code for status, code in outcomes if status == 409} <= {"SLOT_TAKEN", "SLOT_UNAVAILABLE"}
    assert await overlapping_blocks(api, business["tenant"]["tenant"]["id"]) == 0


async def test_group_session_takes_exactly_its_seats(api: Api) -> None:
    business = await open_business(api, capacity=5)
    token, day, service = business["token"], business["day"], business["service"]
    clients = [(await api.create_client(token, first_name=f"C{i}"))["id"] for i in range(12)]

    async def attempt(client_id: str) -> int:
        status, _, _ = await api.call(
            "POST",
            "/api/v1/appointments",
            token=token,
            json={"client_id": client_id, "segments": [{"service_id": service["id"]}], "start": at(day, 9)},
        )
        return status

    statuses = Counter(await asyncio.gather(*(attempt(c) for c in clients)))
    assert statuses == Counter({201: 5, 409: 7})
