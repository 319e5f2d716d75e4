"""Appointment messages through the whole stack: a follow-up to call the client plans its staff member's
reminder at the follow-up's time (scheduling's event carries the action), and an appointment given to
another staff member at the same time is told as a reassignment to the client and to both staff members."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from platform_dev.testing.plugin import wait_until

from .conftest import Api
from .mailbox import Mailbox
from .test_scheduling import at, open_business


async def test_a_follow_up_reminds_its_staff_member_and_a_reassignment_is_told_to_the_client_and_both_staff(
    api: Api, mailbox: Mailbox
) -> None:
    business = await open_business(api, staff=2)
    token, day, service = business["token"], business["day"], business["service"]
    owner, other = business["staff_ids"]
    address = f"ida-{uuid.uuid4().hex[:6]}@example.com"
    client = await api.create_client(token, first_name="Ida", email=address)

    async def book(hour: int, **extra: Any) -> dict[str, Any]:
        status, booked, _ = await api.call(
            "POST",
            "/api/v1/appointments",
            token=token,
            json={
                "client_id": client["id"],
                "segments": [{"service_id": service["id"], "staff_id": owner}],
                "start": at(day, hour),
                **extra,
            },
        )
        assert status == 201, booked
        return dict(booked)

    first = await book(10)
    follow_up = await book(14, follow_up_of=first["id"], follow_up_action="call")
    status, moved, _ = await api.call(
        "POST",
        f"/api/v1/appointments/{first['id']}/reassign",
        token=token,
        json={"staff_id": other, "version": first["version"]},
    )
    assert status == 200, moved

    async def messages() -> list[dict[str, Any]] | None:
        _, page, _ = await api.call("GET", "/api/v1/messages", token=token, params={"client_id": client["id"]})
        items = list(page["items"])
        kinds = {m["kind"] for m in items}
        told = [m for m in items if m["kind"] == "appointment.reassigned" and m["channel"] == "email"]
        return items if "appointment.follow_up_due" in kinds and len(told) == 3 else None

    items = await wait_until(messages, timeout=60)
    [reminder] = [m for m in items if m["kind"] == "appointment.follow_up_due" and m["channel"] == "email"]
    assert (reminder["recipient_kind"], reminder["recipient_id"], reminder["status"]) == ("staff", owner, "planned")
    assert datetime.fromisoformat(reminder["due_at"]) == datetime.fromisoformat(follow_up["start"])
    told = {(m["recipient_kind"], m["recipient_id"]) for m in items if m["kind"] == "appointment.reassigned"}
    assert told == {("client", client["id"]), ("staff", owner), ("staff", other)}

    def reassigned_email() -> object:
        return next((m for m in mailbox.to(address) if "Haircut" in str(m["Subject"]) and ":" in str(m["Subject"])
                     and "The time stays the same" in Mailbox.text(m)), None)  # fmt: skip

    assert await wait_until(reassigned_email, timeout=60)
