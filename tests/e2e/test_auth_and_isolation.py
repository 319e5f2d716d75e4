"""Auth, tenant isolation and bad input, through the gateway only."""

from __future__ import annotations

import asyncio
import time
import uuid

import jwt
import pytest

from .conftest import JWT_SECRET, LOGIN_MAX_FAILURES, Api, extra_gateway

PASSWORD = "correct horse battery"


def assert_problem(status: int, body: dict, headers: object, expected: int) -> None:
    assert status == expected, body
    assert headers["Content-Type"].startswith("application/problem+json")  # type: ignore[index]
    assert body["status"] == expected and body["title"] and body["instance"].startswith("/")


def fields(body: dict) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


async def test_another_tenants_client_answers_404_exactly_like_a_missing_one(api: Api) -> None:
    a, b = await api.sign_up("A Salon"), await api.sign_up("B Clinic")
    secret = await api.create_client(a["token"], first_name="Private")
    other_tenant = await api.call("GET", f"/api/v1/clients/{secret['id']}", token=b["token"])
    missing = await api.call("GET", f"/api/v1/clients/{uuid.uuid4()}", token=b["token"])
    not_an_id = await api.call("GET", "/api/v1/clients/not-a-uuid", token=b["token"])
    for status, body, headers in (other_tenant, missing, not_an_id):
        assert_problem(status, body, headers, 404)
    assert other_tenant[1]["detail"] == missing[1]["detail"] == not_an_id[1]["detail"]
    status, _, _ = await api.call("GET", f"/api/v1/clients/{secret['id']}/activity", token=b["token"])
    assert status == 404
    _, page, _ = await api.call("GET", "/api/v1/clients", token=b["token"])
    assert secret["id"] not in [c["id"] for c in page["items"]]


async def test_portal_invitation_login_and_what_a_portal_token_may_see(api: Api) -> None:
    tenant = await api.sign_up("Portal Studio")
    staff_token = tenant["token"]
    mine = await api.create_client(staff_token, first_name="Mia", email="Mia@Example.com")
    other = await api.create_client(staff_token, first_name="Otto", email="otto@example.com")

    status, invitation, _ = await api.call(
        "POST", f"/api/v1/clients/{mine['id']}/portal-invitation", token=staff_token, json={}
    )
    assert status == 201, invitation
    assert invitation["email"] == "mia@example.com" and invitation["token"] in invitation["accept_url"]
    status, accepted, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    assert status == 201, accepted
    status, again, headers = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    assert_problem(status, again, headers, 422)
    assert fields(again) == {"token"}

    slug = tenant["tenant"]["slug"]
    status, tokens, _ = await api.call(
        "POST", "/api/v1/auth/portal/login", json={"tenant": slug, "email": "mia@example.com", "password": PASSWORD}
    )
    assert status == 200, tokens
    portal = tokens["access_token"]

    status, me, _ = await api.call("GET", "/api/v1/portal/me", token=portal)
    assert (status, me["id"]) == (200, mine["id"])
    status, who, _ = await api.call("GET", "/api/v1/me", token=portal)
    assert (status, who["kind"], who["client_id"]) == (200, "portal", mine["id"])

    for method, path in [
        ("GET", "/api/v1/clients"),
        ("POST", "/api/v1/clients"),
        ("GET", f"/api/v1/clients/{mine['id']}"),
        ("GET", f"/api/v1/clients/{other['id']}"),
        ("GET", f"/api/v1/clients/{other['id']}/activity"),
        ("POST", f"/api/v1/clients/{other['id']}/portal-invitation"),
        ("POST", "/api/v1/staff"),
        ("PATCH", f"/api/v1/clients/{mine['id']}"),
        ("DELETE", f"/api/v1/clients/{mine['id']}"),
        ("POST", f"/api/v1/clients/{mine['id']}/restore"),
        ("PUT", f"/api/v1/clients/{mine['id']}/online-booking-block"),
    ]:
        status, body, headers = await api.call(method, path, token=portal, json={"first_name": "x"})
        assert_problem(status, body, headers, 403)
    status, body, _ = await api.call("GET", "/api/v1/portal/me", token=staff_token)
    assert status == 403


async def test_missing_tampered_and_expired_tokens_get_401(api: Api) -> None:
    tenant = await api.sign_up()
    token = tenant["token"]
    status, body, headers = await api.call("GET", "/api/v1/clients")
    assert_problem(status, body, headers, 401)
    assert headers["WWW-Authenticate"].startswith("Bearer")

    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims | {"tid": str(uuid.uuid4())}, "not-the-secret-" * 4, algorithm="HS256")
    expired = jwt.encode(
        claims | {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, JWT_SECRET, algorithm="HS256"
    )
    for bad in (f"{header}.{payload}.{signature[::-1]}", forged, expired, "garbage", ""):
        status, body, headers = await api.call("GET", "/api/v1/clients", headers={"Authorization": f"Bearer {bad}"})
        assert_problem(status, body, headers, 401)
    status, _, _ = await api.call("GET", "/api/v1/clients", headers={"Authorization": f"Basic {token}"})
    assert status == 401


async def test_invalid_bodies_get_422_naming_every_field_and_change_nothing(api: Api) -> None:
    tenant = await api.sign_up()
    token = tenant["token"]
    cases = [
        ({}, {"first_name"}),
        ({"first_name": "x", "tenant_id": str(uuid.uuid4())}, {"tenant_id"}),
        ({"first_name": "", "email": "not-an-email", "phone": "12"}, {"first_name", "email", "phone"}),
        ({"first_name": 42}, {"first_name"}),
        ({"first_name": "x" * 101}, {"first_name"}),
    ]
    for payload, expected in cases:
        status, body, headers = await api.call("POST", "/api/v1/clients", token=token, json=payload)
        assert_problem(status, body, headers, 422)
        assert fields(body) == expected, (payload, body)
    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        status, body, headers = await api.call(
            "POST", "/api/v1/clients", token=token, data=raw, headers={"Content-Type": "application/json"}
        )
        assert_problem(status, body, headers, 422)
        assert fields(body) == {"body"}
    status, body, _ = await api.call("GET", "/api/v1/clients?page_size=0", token=token)
    assert (status, fields(body)) == (422, {"page_size"})
    status, body, _ = await api.call("GET", "/api/v1/clients?page_token=%40%40", token=token)
    assert status == 422
    _, page, _ = await api.call("GET", "/api/v1/clients", token=token)
    assert page["items"] == []  # nothing was written


async def test_sign_up_validates_every_field(api: Api) -> None:
    status, body, headers = await api.call(
        "POST",
        "/api/v1/signup",
        json={
            "business_name": "",
            "country": "XX",
            "timezone": "Mars/Olympus",
            "owner_email": "no",
            "owner_password": "short",
        },
    )
    assert_problem(status, body, headers, 422)
    assert fields(body) == {"business_name", "country", "timezone", "owner_email", "owner_password"}
    tenant = await api.sign_up()
    status, body, _ = await api.call(
        "POST",
        "/api/v1/signup",
        json={
            "business_name": "Again",
            "country": "US",
            "timezone": "UTC",
            "owner_email": tenant["owner_email"],
            "owner_password": PASSWORD,
        },
    )
    assert (status, body["code"]) == (409, "EMAIL_TAKEN")
    # A signed-in caller may use a public route too (a second business, say); the token changes nothing.
    status, body, _ = await api.call(
        "POST",
        "/api/v1/signup",
        token=tenant["token"],
        json={
            "business_name": "Second",
            "country": "US",
            "timezone": "UTC",
            "owner_email": f"second-{tenant['owner_email']}",
            "owner_password": PASSWORD,
        },
    )
    assert status == 201 and body["tenant"]["id"] != tenant["tenant"]["id"]


async def test_nothing_answers_500_to_bad_input(api: Api) -> None:
    tenant = await api.sign_up()
    token = tenant["token"]
    junk = [None, [], "x", 0, {"a": {"b": [1]}}, {"email": None, "password": None}, {"first_name": {"$gt": ""}}]
    paths = [
        ("POST", "/api/v1/signup"),
        ("POST", "/api/v1/auth/staff/login"),
        ("POST", "/api/v1/auth/portal/login"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/clients"),
        ("POST", "/api/v1/staff"),
        ("POST", "/api/v1/portal/invitations/accept"),
        ("POST", f"/api/v1/clients/{uuid.uuid4()}/portal-invitation"),
        ("GET", "/api/v1/clients?page_size=abc"),
        ("GET", "/api/v1/clients/%00"),
        ("DELETE", "/api/v1/clients"),
        ("GET", "/api/v1/nowhere"),
    ]
    for method, path in paths:
        for payload in junk:
            status, body, headers = await api.call(method, path, token=token, json=payload)
            assert 400 <= status < 500, (method, path, payload, status, body)
            assert headers["Content-Type"].startswith("application/problem+json"), (method, path)


async def test_refresh_rotates_detects_reuse_and_logout_revokes(api: Api) -> None:
    tenant = await api.sign_up()
    first = tenant["tokens"]["refresh_token"]
    status, second, _ = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": first})
    assert status == 200 and second["refresh_token"] != first
    status, me, _ = await api.call("GET", "/api/v1/me", token=second["access_token"])
    assert (status, me["role"], me["tenant"]["slug"]) == (200, "owner", tenant["tenant"]["slug"])
    # Presented again within the grace window while its successor is live, the spent token is a concurrent
    # refresh of the same session: it gets the same new tokens.
    status, again, _ = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": first})
    assert (status, again["refresh_token"], again["access_token"]) == (
        200,
        second["refresh_token"],
        second["access_token"],
    )
    # Once the session moved on, replaying the spent token revokes the whole family, its newest token included.
    status, third, _ = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert status == 200
    status, _, _ = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": first})
    assert status == 401
    status, _, _ = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert status == 401

    status, fresh, _ = await api.call(
        "POST", "/api/v1/auth/staff/login", json={"email": tenant["owner_email"], "password": PASSWORD}
    )
    assert status == 200
    status, _, _ = await api.call("POST", "/api/v1/auth/logout", json={"refresh_token": fresh["refresh_token"]})
    assert status == 204
    status, _, _ = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert status == 401


async def test_repeated_failed_logins_are_throttled_without_revealing_the_account(api: Api) -> None:
    tenant = await api.sign_up()
    existing, unknown = tenant["owner_email"], f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    answers = {}
    for email in (existing, unknown):
        replies = [
            await api.call("POST", "/api/v1/auth/staff/login", json={"email": email, "password": "wrong password!"})
            for _ in range(LOGIN_MAX_FAILURES)
        ]
        assert [r[0] for r in replies] == [401] * LOGIN_MAX_FAILURES
        answers[email] = replies[0][1]["detail"]
        status, body, headers = await api.call(
            "POST", "/api/v1/auth/staff/login", json={"email": email, "password": PASSWORD}
        )
        assert_problem(status, body, headers, 429)
        assert int(headers["Retry-After"]) > 0
    assert answers[existing] == answers[unknown]


async def test_roles_decide_who_may_add_staff(api: Api) -> None:
    tenant = await api.sign_up()
    owner = tenant["token"]
    staff_email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    status, created, _ = await api.call(
        "POST", "/api/v1/staff", token=owner, json={"email": staff_email, "password": PASSWORD, "role": "staff"}
    )
    assert (status, created["role"]) == (201, "staff")
    status, body, _ = await api.call(
        "POST", "/api/v1/staff", token=owner, json={"email": staff_email, "password": PASSWORD, "role": "staff"}
    )
    assert status == 409
    status, tokens, _ = await api.call(
        "POST", "/api/v1/auth/staff/login", json={"email": staff_email, "password": PASSWORD}
    )
    assert status == 200
    status, body, _ = await api.call(
        "POST",
        "/api/v1/staff",
        token=tokens["access_token"],
        json={"email": f"x{staff_email}", "password": PASSWORD, "role": "staff"},
    )
    assert status == 403
    status, body, _ = await api.call(
        "POST", "/api/v1/staff", token=owner, json={"email": f"y{staff_email}", "password": PASSWORD, "role": "owner"}
    )
    assert (status, fields(body)) == (422, {"role"})
    # Staff members work with clients.
    assert (await api.create_client(tokens["access_token"]))["first_name"] == "Ada"


async def test_an_idempotency_key_makes_a_retried_create_return_the_same_client(api: Api) -> None:
    tenant = await api.sign_up()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    replies = await asyncio.gather(
        *(
            api.call("POST", "/api/v1/clients", token=tenant["token"], json={"first_name": "Once"}, headers=key)
            for _ in range(5)
        )
    )
    assert {r[0] for r in replies} == {201}
    assert len({r[1]["id"] for r in replies}) == 1
    _, page, _ = await api.call("GET", "/api/v1/clients", token=tenant["token"])
    assert len(page["items"]) == 1


async def test_sign_up_can_be_switched_off(api: Api) -> None:
    async with extra_gateway(api.stack, api.session, signup_enabled="false") as closed:
        status, body, headers = await closed.call(
            "POST",
            "/api/v1/signup",
            json={
                "business_name": "Closed",
                "country": "US",
                "timezone": "UTC",
                "owner_email": "closed@example.com",
                "owner_password": PASSWORD,
            },
        )
        assert_problem(status, body, headers, 403)
        assert body["code"] == "SIGNUP_DISABLED"


async def test_the_plan_limit_on_clients_gives_a_clear_error(api: Api) -> None:
    async with extra_gateway(api.stack, api.session, default_max_clients="2") as limited:
        tenant = await limited.sign_up("Small Plan")
        token = tenant["token"]
        first = await limited.create_client(token, first_name="One")
        await limited.create_client(token, first_name="Two")
        status, body, headers = await limited.call("POST", "/api/v1/clients", token=token, json={"first_name": "3"})
        assert_problem(status, body, headers, 409)
        assert body["code"] == "PLAN_CLIENT_LIMIT" and "2" in body["detail"]
        await limited.call("DELETE", f"/api/v1/clients/{first['id']}", token=token)
        await limited.create_client(token, first_name="Three")
        status, body, _ = await limited.call("POST", f"/api/v1/clients/{first['id']}/restore", token=token)
        assert (status, body["code"]) == (409, "PLAN_CLIENT_LIMIT")


@pytest.mark.parametrize("path", ["/api/openapi.json"])
async def test_the_api_description_is_served(api: Api, path: str) -> None:
    status, document, _ = await api.call("GET", path)
    assert status == 200
    assert document["openapi"] == "3.1.0"
    assert "/api/v1/clients/{client_id}/activity" in document["paths"]


async def test_portal_permissions_defaults_overrides_and_switching_access_off(api: Api) -> None:
    tenant = await api.sign_up("Access Studio")
    staff_token = tenant["token"]
    client = await api.create_client(staff_token, first_name="Pia", email="pia@example.com")
    _, invitation, _ = await api.call(
        "POST", f"/api/v1/clients/{client['id']}/portal-invitation", token=staff_token, json={}
    )
    _, tokens, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    portal = tokens["access_token"]

    status, permissions, _ = await api.call("GET", "/api/v1/portal/permissions", token=portal)
    assert (status, permissions["edit_profile"], permissions["view_invoices"]) == (200, False, True)
    status, body, _ = await api.call("PATCH", "/api/v1/portal/me", token=portal, json={"last_name": "Smith"})
    assert (status, body["code"]) == (403, "PROFILE_LOCKED")

    defaults = {"view_appointments": True, "view_invoices": False, "view_documents": True, "edit_profile": True}
    status, _, _ = await api.call("PUT", "/api/v1/portal-settings", token=staff_token, json=defaults)
    assert status == 200
    status, me, _ = await api.call("PATCH", "/api/v1/portal/me", token=portal, json={"last_name": "Smith"})
    assert (status, me["last_name"]) == (200, "Smith")
    status, body, _ = await api.call("PATCH", "/api/v1/portal/me", token=portal, json={"profile": {"kind": "business"}})
    assert status == 422  # clients change contact details only

    access_path = f"/api/v1/clients/{client['id']}/portal-access"
    status, access, _ = await api.call(
        "PUT", access_path, token=staff_token, json={"enabled": True, "permissions": {"view_invoices": True}}
    )
    assert status == 200
    assert access["overrides"]["view_invoices"] is True and access["effective"]["view_invoices"] is True
    assert access["overrides"]["edit_profile"] is None and access["effective"]["edit_profile"] is True

    status, _, _ = await api.call("PUT", access_path, token=staff_token, json={"enabled": False})
    assert status == 200
    status, body, _ = await api.call("GET", "/api/v1/portal/me", token=portal)
    assert (status, body["code"]) == (403, "PORTAL_ACCESS_OFF")
    status, body, _ = await api.call(
        "POST",
        "/api/v1/auth/portal/login",
        json={"tenant": tenant["tenant"]["slug"], "email": "pia@example.com", "password": PASSWORD},
    )
    assert (status, body["code"]) == (403, "PORTAL_ACCESS_OFF")
    status, _, _ = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert status == 401

    other = await api.sign_up()
    status, _, _ = await api.call("GET", access_path, token=other["token"])
    assert status == 404
    status, _, _ = await api.call("PUT", "/api/v1/portal-settings", token=portal, json=defaults)
    assert status == 403
