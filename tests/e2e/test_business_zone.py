"""A business has one zone. Sign-up states it, and scheduling follows it (so billing's midnights, which follow
scheduling's zone, are the business's too). A zone changed in the scheduling settings changes the business
profile, a zone changed in the business profile moves scheduling's, and neither move refuses an editor's next
save of the settings."""

from __future__ import annotations

from typing import Any

from platform_dev.testing.plugin import wait_until

from .conftest import Api

RULES = {"granularity_minutes": 30, "min_notice_minutes": 0, "horizon_days": 60}


async def test_scheduling_and_the_business_profile_keep_one_zone(api: Api) -> None:
    status, tenant, _ = await api.call(
        "POST",
        "/api/v1/signup",
        json={
            "business_name": "Tokyo Studio",
            "country": "JP",
            "timezone": "Asia/Tokyo",
            "owner_email": "owner-zone@example.com",
            "owner_password": "correct horse battery",
        },
    )
    assert status == 201, tenant
    token = tenant["tokens"]["access_token"]

    async def settings() -> dict[str, Any]:
        status, body, _ = await api.call("GET", "/api/v1/scheduling/settings", token=token)
        assert status == 200, body
        return body

    async def zone_is(zone: str) -> dict[str, Any] | None:
        current = await settings()
        return current if current["timezone"] == zone else None

    # The sign-up zone reaches scheduling; the settings are still the defaults, never saved (version 0).
    followed = await wait_until(lambda: zone_is("Asia/Tokyo"))
    assert (followed["version"], followed["slot_rules"]["granularity_minutes"]) == (0, 30)

    # The first save (version 0) is not refused for it; its zone becomes the business's.
    body = {"timezone": "Europe/Berlin", "slot_rules": RULES, "version": 0}
    status, saved, _ = await api.call("PUT", "/api/v1/scheduling/settings", token=token, json=body)
    assert (status, saved["timezone"], saved["version"]) == (200, "Europe/Berlin", 1), saved
    status, business, _ = await api.call("GET", "/api/v1/business", token=token)
    assert (status, business["timezone"]) == (200, "Europe/Berlin")

    # The business profile's zone moves scheduling's, and the editor's version still saves.
    status, business, _ = await api.call("PATCH", "/api/v1/business", token=token, json={"timezone": "America/Chicago"})
    assert (status, business["timezone"]) == (200, "America/Chicago")
    moved = await wait_until(lambda: zone_is("America/Chicago"))
    assert moved["version"] == 1
    body = {"timezone": "America/Chicago", "slot_rules": RULES | {"min_notice_minutes": 60}, "version": 1}
    status, saved, _ = await api.call("PUT", "/api/v1/scheduling/settings", token=token, json=body)
    assert (status, saved["version"], saved["slot_rules"]["min_notice_minutes"]) == (200, 2, 60), saved

    # Settings scheduling refuses change nothing, the business profile included.
    body = {"timezone": "Asia/Tokyo", "slot_rules": RULES, "version": 1}
    status, refused, _ = await api.call("PUT", "/api/v1/scheduling/settings", token=token, json=body)
    assert status == 409, refused
    status, business, _ = await api.call("GET", "/api/v1/business", token=token)
    assert business["timezone"] == "America/Chicago"
    assert (await settings())["timezone"] == "America/Chicago"
