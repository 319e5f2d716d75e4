"""A client's mistakes answer 4xx naming what was wrong, never 500, and change nothing; an id that names nothing
answers 404 on every route under it (regressions of a hostile schemathesis run)."""

from __future__ import annotations

import uuid

from platform_dev.testing.plugin import wait_until

from .conftest import Api

PASSWORD = "correct horse battery"


async def test_what_no_field_may_hold_is_refused_naming_the_field(api: Api) -> None:
    token = (await api.sign_up())["token"]
    cases = [
        ({"first_name": "Ada\u0000"}, "first_name"),
        ({"first_name": "Ada", "profile": {"opening_balance": {"amount_minor": 500, "currency": "QQQ"}}}, None),
        ({"first_name": "Ada", "custom_fields": {"k": _nested(40)}}, None),
    ]
    for body, field in cases:
        status, problem, headers = await api.call("POST", "/api/v1/clients", token=token, json=body)
        assert status == 422, (body, problem)
        assert headers["Content-Type"].startswith("application/problem+json")
        fields = [e["field"] for e in problem["errors"]]
        assert fields and (field is None or fields == [field]), problem
    status, problem, _ = await api.call("GET", "/api/v1/clients", token=token, params={"q": "a\u0000"})
    assert (status, [e["field"] for e in problem["errors"]]) == (422, ["q"]), problem
    client = await api.create_client(token)
    status, problem, _ = await api.call(
        "PATCH", f"/api/v1/clients/{client['id']}", token=token, json={"version": 2**64, "first_name": "Grace"}
    )
    assert (status, [e["field"] for e in problem["errors"]]) == (422, ["version"]), problem
    status, listed, _ = await api.call("GET", "/api/v1/clients", token=token)
    assert [c["first_name"] for c in listed["items"]] == ["Ada"]


def _nested(depth: int) -> object:
    value: object = "deep"
    for _ in range(depth):
        value = {"x": value}
    return value


async def test_an_unreadable_multipart_upload_is_a_422_on_the_file(api: Api) -> None:
    token = (await api.sign_up())["token"]
    for content_type, body in [
        ("multipart/form-data", b"first_name\r\nAda\r\n"),
        (
            "multipart/form-data; boundary=xx",
            b'--xx\r\nContent-Disposition: form-data; name="fi\x01le"\r\n\r\na\r\n--xx--',
        ),
    ]:
        status, problem, _ = await api.call(
            "POST", "/api/v1/client-imports", token=token, data=body, headers={"Content-Type": content_type}
        )
        assert (status, [e["field"] for e in problem["errors"]]) == (422, ["file"]), problem


async def test_a_client_or_staff_id_that_names_nothing_answers_404_under_it(api: Api) -> None:
    token = (await api.sign_up())["token"]
    nobody = str(uuid.uuid4())
    for path in [
        f"/api/v1/clients/{nobody}/appointments",
        f"/api/v1/clients/{nobody}/balance",
        f"/api/v1/clients/{nobody}/calendar-feeds",
        f"/api/v1/clients/{nobody}/recurring-series",
        f"/api/v1/staff/{nobody}/calendar-feeds",
    ]:
        status, problem, _ = await api.call("GET", path, token=token)
        assert status == 404, (path, problem)
    # Another business's client is nobody here too.
    other = await api.create_client((await api.sign_up())["token"])
    status, _, _ = await api.call("GET", f"/api/v1/clients/{other['id']}/balance", token=token)
    assert status == 404
    mine = await api.create_client(token)
    status, balance, _ = await api.call("GET", f"/api/v1/clients/{mine['id']}/balance", token=token)
    assert (status, balance["client_id"]) == (200, mine["id"])


async def test_days_and_instants_outside_1900_to_2999_are_refused_naming_the_field(api: Api) -> None:
    token = (await api.sign_up())["token"]
    for params, field in [
        ({"view": "week", "on": "1899-12-31"}, "on"),
        ({"view": "week", "on": "9999-12-31"}, "on"),
    ]:
        status, problem, _ = await api.call("GET", "/api/v1/calendar", token=token, params=params)
        assert (status, [e["field"] for e in problem["errors"]]) == (422, [field]), problem
    status, _, _ = await api.call("GET", "/api/v1/calendar", token=token, params={"view": "week", "on": "2026-03-30"})
    assert status == 200


async def test_a_query_as_long_as_the_document_allows_is_read(api: Api) -> None:
    token = (await api.sign_up())["token"]
    # 2000 characters (staff_ids' maxLength) percent-encode to 12 KB: aiohttp's 8190-byte request line answered 400.
    params = {"service_ids": str(uuid.uuid4()), "from": "2030-01-07", "to": "2030-01-08", "staff_ids": "Å" * 2000}
    status, problem, headers = await api.call("GET", "/api/v1/availability", token=token, params=params)
    assert status in (404, 422), problem
    assert headers["Content-Type"].startswith("application/problem+json")


async def test_two_clients_sharing_an_email_both_invited_only_the_first_to_accept_signs_in(api: Api) -> None:
    token = (await api.sign_up())["token"]
    email = f"shared-{uuid.uuid4().hex[:8]}@example.com"
    ada, grace = await api.create_client(token, email=email), await api.create_client(token, email=email)
    invitations = []
    for client in (ada, grace):
        status, invitation, _ = await api.call(
            "POST", f"/api/v1/clients/{client['id']}/portal-invitation", token=token, json={}
        )
        assert status == 201, invitation
        invitations.append(invitation["token"])
    accept = "/api/v1/portal/invitations/accept"
    status, _, _ = await api.call("POST", accept, json={"token": invitations[0], "password": "correct horse battery"})
    assert status == 201
    status, problem, _ = await api.call(
        "POST", accept, json={"token": invitations[1], "password": "correct horse battery"}
    )
    assert (status, problem["code"]) == (409, "EMAIL_TAKEN"), problem


async def test_a_deleted_clients_portal_login_stops_working_and_comes_back_on_restore(api: Api) -> None:
    tenant = await api.sign_up()
    token, slug = tenant["token"], tenant["tenant"]["slug"]
    email = f"noor-{uuid.uuid4().hex[:8]}@example.com"
    noor = await api.create_client(token, first_name="Noor", email=email)
    status, invitation, _ = await api.call(
        "POST", f"/api/v1/clients/{noor['id']}/portal-invitation", token=token, json={}
    )
    assert status == 201
    status, tokens, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    assert status == 201
    login = {"tenant": slug, "email": email, "password": PASSWORD}
    assert (await api.call("DELETE", f"/api/v1/clients/{noor['id']}", token=token))[0] == 200

    async def refused() -> bool:
        status, _, _ = await api.call("GET", "/api/v1/portal/me", token=tokens["access_token"])
        return status == 401

    await wait_until(refused, timeout=30)
    assert (await api.call("POST", "/api/v1/auth/portal/login", json=login))[0] == 401
    refresh = {"refresh_token": tokens["refresh_token"]}
    assert (await api.call("POST", "/api/v1/auth/refresh", json=refresh))[0] == 401

    assert (await api.call("POST", f"/api/v1/clients/{noor['id']}/restore", token=token, json={}))[0] == 200

    # Polled with the session (sign-in attempts are throttled, so they are not the thing to poll).
    async def back() -> bool:
        status, _, _ = await api.call("GET", "/api/v1/portal/me", token=tokens["access_token"])
        return status == 200

    await wait_until(back, timeout=30)
    assert (await api.call("POST", "/api/v1/auth/portal/login", json=login))[0] == 200
