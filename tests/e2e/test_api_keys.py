"""API keys: scoped, shown once, revoked at once, rate limited per key and per IP across replicas."""

from __future__ import annotations

import uuid

from .conftest import Api, extra_gateway
from .test_staff_accounts import PASSWORD


async def test_a_clients_only_key_works_on_clients_and_is_refused_elsewhere_and_dies_when_revoked(api: Api) -> None:
    tenant = await api.sign_up()
    owner = tenant["token"]
    status, created, _ = await api.call(
        "POST",
        "/api/v1/api-keys",
        token=owner,
        json={"name": "CRM sync", "scopes": ["clients.read", "clients.write"]},
    )
    assert status == 201, created
    secret = created["secret"]
    assert secret.startswith(created["prefix"]) and len(secret) > len(created["prefix"]) + 20

    client = await api.create_client(secret, first_name="Via Key")
    status, page, _ = await api.call("GET", "/api/v1/clients", token=secret)
    assert (status, [c["id"] for c in page["items"]]) == (200, [client["id"]])
    for method, path in (("GET", "/api/v1/invoices"), ("GET", "/api/v1/payments"), ("GET", "/api/v1/staff")):
        status, problem, _ = await api.call(method, path, token=secret)
        assert (status, problem["code"]) == (403, "PERMISSION_REQUIRED"), (method, path)
    # A key cannot mint keys, nor act as a signed-in person.
    status, _, _ = await api.call(
        "POST", "/api/v1/api-keys", token=secret, json={"name": "x", "scopes": ["clients.read"]}
    )
    assert status == 403
    status, problem, _ = await api.call("GET", "/api/v1/me", token=secret)
    assert (status, problem["code"]) == (403, "NOT_FOR_API_KEYS")

    status, listed, _ = await api.call("GET", "/api/v1/api-keys", token=owner)
    assert [(k["id"], k["scopes"]) for k in listed["items"]] == [(created["id"], ["clients.read", "clients.write"])]
    assert "secret" not in listed["items"][0] and listed["items"][0]["last_used_at"]

    status, _, _ = await api.call("DELETE", f"/api/v1/api-keys/{created['id']}", token=owner)
    assert status == 204
    status, _, headers = await api.call("GET", "/api/v1/clients", token=secret)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    status, _, _ = await api.call("DELETE", f"/api/v1/api-keys/{created['id']}", token=owner)
    assert status == 204  # revoking twice changes nothing
    # Another business cannot see or revoke it.
    other = await api.sign_up()
    status, _, _ = await api.call("DELETE", f"/api/v1/api-keys/{created['id']}", token=other["token"])
    assert status == 404


async def test_only_owners_create_keys_and_scopes_are_checked(api: Api) -> None:
    tenant = await api.sign_up()
    owner = tenant["token"]
    status, problem, _ = await api.call(
        "POST", "/api/v1/api-keys", token=owner, json={"name": "bad", "scopes": ["clients.read", "clients.fly"]}
    )
    assert (status, [e["field"] for e in problem["errors"]]) == (422, ["scopes.1"])
    status, problem, _ = await api.call("POST", "/api/v1/api-keys", token=owner, json={"name": "none", "scopes": []})
    assert (status, [e["field"] for e in problem["errors"]]) == (422, ["scopes"])

    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    await api.call("POST", "/api/v1/staff", token=owner, json={"email": email, "password": PASSWORD, "role": "admin"})
    _, tokens, _ = await api.call("POST", "/api/v1/auth/staff/login", json={"email": email, "password": PASSWORD})
    status, problem, _ = await api.call(
        "POST", "/api/v1/api-keys", token=tokens["access_token"], json={"name": "k", "scopes": ["clients.read"]}
    )
    assert (status, problem["code"]) == (403, "OWNER_ONLY")


async def test_key_calls_are_rate_limited_with_retry_after(api: Api) -> None:
    tenant = await api.sign_up()
    _, created, _ = await api.call(
        "POST", "/api/v1/api-keys", token=tenant["token"], json={"name": "busy", "scopes": ["clients.read"]}
    )
    async with extra_gateway(
        api.stack, api.session, api_key_rate_limit="3", rate_limit_window_seconds="3600"
    ) as limited:
        statuses = [(await limited.call("GET", "/api/v1/clients", token=created["secret"]))[0] for _ in range(3)]
        assert statuses == [200, 200, 200]
        status, problem, headers = await limited.call("GET", "/api/v1/clients", token=created["secret"])
        assert (status, problem["code"]) == (429, "RATE_LIMITED")
        assert 0 < int(headers["Retry-After"]) <= 3600
        # A person's token is not limited by the key's budget.
        assert (await limited.call("GET", "/api/v1/clients", token=tenant["token"]))[0] == 200
