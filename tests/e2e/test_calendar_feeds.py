"""Calendar feeds through the gateway: a feed URL that a calendar program reads without an account (and
that stops when rotated or revoked), and .ics downloads for staff and for the portal."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from icalendar import Calendar

from .conftest import Api
from .test_scheduling import PASSWORD, at, open_business


def uids(body: str) -> set[str]:
    return {str(e["uid"]) for e in Calendar.from_ical(body).walk("VEVENT")}


async def test_a_staff_feed_is_read_without_an_account_and_stops_when_rotated_or_revoked(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    owner_id = business["staff_ids"][0]
    client = await api.create_client(token, first_name="Mia", last_name="Private")
    status, booked, _ = await api.call(
        "POST",
        "/api/v1/appointments",
        token=token,
        json={"client_id": client["id"], "segments": [{"service_id": service["id"]}], "start": at(day, 10)},
    )
    assert status == 201, booked

    feeds = f"/api/v1/staff/{owner_id}/calendar-feeds"
    status, issued, _ = await api.call("POST", feeds, token=token, json={})
    assert status == 201, issued
    assert issued["live"] and issued["owner_kind"] == "staff" and issued["owner_id"] == owner_id
    assert issued["webcal_url"].startswith("webcal://") and issued["webcal_url"].endswith(".ics")
    path = urlsplit(issued["url"]).path
    assert issued["url"] == api.stack.url(path)

    status, body, headers = await api.call("GET", path)
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/calendar")
    assert headers["Cache-Control"] == "private, max-age=300" and headers["Referrer-Policy"] == "no-referrer"
    assert uids(body) == {f"{booked['id']}@atrium"}
    assert "Mia" not in body and "Private" not in body
    status, _, unchanged = await api.call("GET", path, headers={"If-None-Match": headers["ETag"]})
    assert status == 304 and unchanged["ETag"] == headers["ETag"]

    status, rotated, _ = await api.call("POST", feeds, token=token, json={"include_cancelled": True})
    assert status == 201 and rotated["include_cancelled"]
    status, gone, _ = await api.call("GET", path)
    assert status == 404 and gone["code"] == "NOT_FOUND"
    new_path = urlsplit(rotated["url"]).path
    assert (await api.call("GET", new_path))[0] == 200
    status, listed, _ = await api.call("GET", feeds, token=token)
    assert status == 200
    assert [(f["id"], f["live"]) for f in listed["items"]] == [(rotated["id"], True), (issued["id"], False)]

    status, revoked, _ = await api.call("DELETE", f"{feeds}/{rotated['id']}", token=token)
    assert (status, revoked["live"]) == (200, False) and revoked["revoked_at"]
    assert (await api.call("GET", new_path))[0] == 404
    for junk in ("/ical/nonsense.ics", f"/ical/{uuid.uuid4().hex}.{uuid.uuid4().hex}.{'A' * 43}.ics"):
        status, problem, _ = await api.call("GET", junk)
        assert status == 404, problem

    status, body, headers = await api.call("GET", f"/api/v1/appointments/{booked['id']}/ics", token=token)
    assert status == 200 and headers["Content-Type"].startswith("text/calendar")
    assert headers["Content-Disposition"] == f'attachment; filename="appointment-{day.isoformat()}.ics"'
    assert uids(body) == {f"{booked['id']}@atrium"}


async def test_a_client_subscribes_from_the_portal_to_its_own_appointments_only(api: Api) -> None:
    business = await open_business(api)
    token, day, service = business["token"], business["day"], business["service"]
    mine = await api.create_client(token, first_name="Mia", email=f"mia-{uuid.uuid4().hex[:6]}@example.com")
    other = await api.create_client(token, first_name="Noah")
    booked = {}
    for client, hour in ((mine, 10), (other, 12)):
        status, body, _ = await api.call(
            "POST",
            "/api/v1/appointments",
            token=token,
            json={"client_id": client["id"], "segments": [{"service_id": service["id"]}], "start": at(day, hour)},
        )
        assert status == 201, body
        booked[client["id"]] = body["id"]
    status, invitation, _ = await api.call(
        "POST", f"/api/v1/clients/{mine['id']}/portal-invitation", token=token, json={}
    )
    assert status == 201, invitation
    status, tokens, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    assert status == 201, tokens
    portal = tokens["access_token"]

    status, issued, _ = await api.call("POST", "/api/v1/portal/calendar-feeds", token=portal, json={})
    assert status == 201, issued
    assert issued["owner_kind"] == "client" and issued["owner_id"] == mine["id"]
    status, body, _ = await api.call("GET", urlsplit(issued["url"]).path)
    assert status == 200 and uids(body) == {f"{booked[mine['id']]}@atrium"}

    status, body, _ = await api.call("GET", f"/api/v1/portal/appointments/{booked[mine['id']]}/ics", token=portal)
    assert status == 200 and uids(body) == {f"{booked[mine['id']]}@atrium"}
    status, _, _ = await api.call("GET", f"/api/v1/portal/appointments/{booked[other['id']]}/ics", token=portal)
    assert status == 404
    # Staff see (and can revoke) the feed the client issued.
    status, listed, _ = await api.call("GET", f"/api/v1/clients/{mine['id']}/calendar-feeds", token=token)
    assert status == 200 and [f["id"] for f in listed["items"]] == [issued["id"]]
    status, _, _ = await api.call("DELETE", f"/api/v1/clients/{mine['id']}/calendar-feeds/{issued['id']}", token=token)
    assert status == 200
    status, listed, _ = await api.call("GET", "/api/v1/portal/calendar-feeds", token=portal)
    assert status == 200 and [f["live"] for f in listed["items"]] == [False]
