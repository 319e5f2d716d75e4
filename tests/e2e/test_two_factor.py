"""Two-factor sign-in (TOTP) for staff, optional or required by the business; the business's profile."""

from __future__ import annotations

import time

import pyotp

from atrium.gateway.v1 import events_pb2 as ev

from .conftest import Api
from .gateway_events import published
from .test_staff_accounts import PASSWORD, invite, login


async def test_a_member_sets_up_two_factor_and_then_signs_in_with_a_code_that_works_once(api: Api) -> None:
    tenant = await api.sign_up()
    email, token = tenant["owner_email"], tenant["token"]
    status, setup, _ = await api.call("POST", "/api/v1/auth/two-factor", token=token)
    assert status == 200 and setup["otpauth_uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(setup["secret"])
    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
    status, problem, _ = await api.call("POST", "/api/v1/auth/two-factor/confirm", token=token, json={"code": wrong})
    assert (status, [e["field"] for e in problem["errors"]]) == (422, ["code"])
    status, _, _ = await api.call("POST", "/api/v1/auth/two-factor/confirm", token=token, json={"code": totp.now()})
    assert status == 204

    status, body = await login(api, email)
    assert (status, body["code"]) == (401, "TWO_FACTOR_CODE_REQUIRED")
    # The code that confirmed set-up is spent; the next step's code signs in, once.
    next_code = totp.at(time.time() + 30)
    status, tokens, _ = await api.call(
        "POST", "/api/v1/auth/staff/login", json={"email": email, "password": PASSWORD, "code": next_code}
    )
    assert status == 200, tokens
    status, problem, _ = await api.call(
        "POST", "/api/v1/auth/staff/login", json={"email": email, "password": PASSWORD, "code": next_code}
    )
    assert (status, problem["code"]) == (401, "TWO_FACTOR_CODE_WRONG")

    status, problem, _ = await api.call(
        "POST", "/api/v1/auth/two-factor/disable", token=token, json={"password": "not the password"}
    )
    assert (status, [e["field"] for e in problem["errors"]]) == (422, ["password"])
    status, _, _ = await api.call("POST", "/api/v1/auth/two-factor/disable", token=token, json={"password": PASSWORD})
    assert status == 204
    assert (await login(api, email))[0] == 200


async def test_a_business_requiring_two_factor_lets_members_only_set_it_up(api: Api) -> None:
    tenant = await api.sign_up()
    owner = tenant["token"]
    _, invitation = await invite(api, owner)
    _, tokens, _ = await api.call(
        "POST", "/api/v1/staff/invitations/accept", json={"token": invitation, "password": PASSWORD}
    )
    staff = tokens["access_token"]

    status, business, _ = await api.call(
        "PATCH",
        "/api/v1/business",
        token=owner,
        json={"require_two_factor": True, "name": "Two Factor Studio", "default_language": "de"},
    )
    assert (status, business["require_two_factor"], business["default_language"]) == (200, True, "de")
    changed = await published(api.stack, ev.BusinessProfileChanged, lambda e: e.business_name == "Two Factor Studio")
    assert (changed.default_language, changed.country) == ("de", "US")

    # The member's live token now opens only the set-up.
    status, problem, _ = await api.call("GET", "/api/v1/clients", token=staff)
    assert (status, problem["code"]) == (403, "TWO_FACTOR_SETUP_REQUIRED")
    status, setup, _ = await api.call("POST", "/api/v1/auth/two-factor", token=staff)
    assert status == 200
    code = pyotp.TOTP(setup["secret"]).now()
    assert (await api.call("POST", "/api/v1/auth/two-factor/confirm", token=staff, json={"code": code}))[0] == 204
    assert (await api.call("GET", "/api/v1/clients", token=staff))[0] == 200
    status, problem, _ = await api.call(
        "POST", "/api/v1/auth/two-factor/disable", token=staff, json={"password": PASSWORD}
    )
    assert (status, problem["code"]) == (409, "TWO_FACTOR_REQUIRED")
    status, problem, _ = await api.call("PATCH", "/api/v1/business", token=staff, json={"name": "Mine now"})
    assert (status, problem["code"]) == (403, "PERMISSION_REQUIRED")
