"""Accounts people can manage: staff invited by email, roles changed, deactivated and reactivated; forgotten
and changed passwords. The emails' links are read from the gateway's events on JetStream."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from atrium.gateway.v1 import events_pb2 as ev

from .conftest import Api
from .gateway_events import published

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a much better passphrase"


def token_of(url: str) -> str:
    return url.split("#token=", 1)[1]


async def login(api: Api, email: str, password: str = PASSWORD) -> tuple[int, Any]:
    status, body, _ = await api.call("POST", "/api/v1/auth/staff/login", json={"email": email, "password": password})
    return status, body


async def invite(api: Api, token: str, role: str = "staff") -> tuple[dict[str, Any], str]:
    email = f"invitee-{uuid.uuid4().hex[:8]}@example.com"
    status, member, _ = await api.call(
        "POST", "/api/v1/staff/invitations", token=token, json={"email": email, "name": "Ines Vite", "role": role}
    )
    assert (status, member["status"], member["role"]) == (201, "invited", role), member
    issued = await published(api.stack, ev.StaffInvitationIssued, lambda e: e.email == email)
    assert (issued.staff_user_id, issued.name, issued.role) == (member["id"], "Ines Vite", role)
    return member, token_of(issued.accept_url)


async def test_an_invited_member_joins_and_a_deactivated_one_is_shut_out_at_once(api: Api) -> None:
    tenant = await api.sign_up()
    owner = tenant["token"]
    owned = await published(api.stack, ev.StaffMemberChanged, lambda e: e.staff_user_id == tenant["owner"]["id"])
    assert (owned.role, owned.active, "staff.manage" in owned.permissions) == ("owner", True, True)

    member, invitation = await invite(api, owner)
    status, _ = await login(api, member["email"])
    assert status == 401  # no password before the invitation is accepted
    status, tokens, _ = await api.call(
        "POST", "/api/v1/staff/invitations/accept", json={"token": invitation, "password": PASSWORD}
    )
    assert status == 200, tokens
    status, again, _ = await api.call(
        "POST", "/api/v1/staff/invitations/accept", json={"token": invitation, "password": PASSWORD}
    )
    assert (status, again["errors"][0]["field"], again["errors"][0]["message"]) == (
        422,
        "token",
        "has already been used",
    )
    staff = tokens["access_token"]
    client = await api.create_client(staff, first_name="Kept")

    status, listed, _ = await api.call("GET", "/api/v1/staff", token=owner)
    assert status == 200
    assert {(m["email"], m["role"], m["status"]) for m in listed["items"]} == {
        (tenant["owner_email"], "owner", "active"),
        (member["email"], "staff", "active"),
    }
    # Staff do not manage staff.
    status, body, _ = await api.call("GET", "/api/v1/staff", token=staff)
    assert (status, body["code"]) == (403, "PERMISSION_REQUIRED")

    status, deactivated, _ = await api.call("POST", f"/api/v1/staff/{member['id']}/deactivate", token=owner)
    assert (status, deactivated["status"]) == (200, "deactivated")
    status, _, headers = await api.call("GET", "/api/v1/me", token=staff)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    status, _, _ = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert status == 401
    assert (await login(api, member["email"]))[0] == 401
    changed = await published(
        api.stack, ev.StaffMemberChanged, lambda e: e.staff_user_id == member["id"] and not e.active
    )
    assert changed.email == member["email"]
    # What they did stays.
    status, kept, _ = await api.call("GET", f"/api/v1/clients/{client['id']}", token=owner)
    assert (status, kept["first_name"]) == (200, "Kept")

    status, reactivated, _ = await api.call("POST", f"/api/v1/staff/{member['id']}/reactivate", token=owner)
    assert (status, reactivated["status"]) == (200, "active")
    status, _ = await login(api, member["email"])
    assert status == 200

    # Another business's member answers 404.
    other = await api.sign_up()
    status, _, _ = await api.call("POST", f"/api/v1/staff/{member['id']}/deactivate", token=other["token"])
    assert status == 404


async def test_a_business_keeps_an_owner_and_only_owners_make_owners(api: Api) -> None:
    tenant = await api.sign_up()
    owner, owner_id = tenant["token"], tenant["owner"]["id"]
    for path, body in (
        (f"/api/v1/staff/{owner_id}/deactivate", None),
        (f"/api/v1/staff/{owner_id}", {"role": "admin"}),
    ):
        status, problem, _ = await api.call("PATCH" if body else "POST", path, token=owner, json=body)
        assert (status, problem["code"]) == (409, "LAST_OWNER"), problem

    admin_member, invitation = await invite(api, owner, role="admin")
    _, tokens, _ = await api.call(
        "POST", "/api/v1/staff/invitations/accept", json={"token": invitation, "password": PASSWORD}
    )
    admin = tokens["access_token"]
    status, problem, _ = await api.call(
        "PATCH", f"/api/v1/staff/{admin_member['id']}", token=admin, json={"role": "owner"}
    )
    assert (status, problem["code"]) == (403, "OWNER_ONLY")
    status, problem, _ = await api.call("POST", f"/api/v1/staff/{owner_id}/deactivate", token=admin)
    assert (status, problem["code"]) == (403, "OWNER_ONLY")

    status, promoted, _ = await api.call(
        "PATCH", f"/api/v1/staff/{admin_member['id']}", token=owner, json={"role": "owner", "name": "Co Owner"}
    )
    assert (status, promoted["role"], promoted["name"]) == (200, "owner", "Co Owner")
    # The new role holds from the member's next request, with the token they already have.
    status, me, _ = await api.call("GET", "/api/v1/me", token=admin)
    assert (status, me["role"]) == (200, "owner")
    status, demoted, _ = await api.call("PATCH", f"/api/v1/staff/{owner_id}", token=admin, json={"role": "staff"})
    assert (status, demoted["role"]) == (200, "staff")
    status, _, _ = await api.call("GET", "/api/v1/staff", token=owner)
    assert status == 403


async def test_a_reset_link_works_once_and_unknown_addresses_get_the_same_answer(api: Api) -> None:
    tenant = await api.sign_up()
    email, old_token = tenant["owner_email"], tenant["token"]
    unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    answers = []
    for address in (email, unknown):
        status, body, _ = await api.call("POST", "/api/v1/auth/staff/password-reset", json={"email": address})
        answers.append((status, body))
    assert answers == [(202, None), (202, None)]
    requested = await published(api.stack, ev.PasswordResetRequested, lambda e: e.email == email)
    assert (requested.account_kind, requested.account_id) == ("staff", tenant["owner"]["id"])
    link = token_of(requested.reset_url)

    status, _, _ = await api.call(
        "POST", "/api/v1/auth/password-reset/confirm", json={"token": link, "password": NEW_PASSWORD}
    )
    assert status == 204
    status, problem, _ = await api.call(
        "POST", "/api/v1/auth/password-reset/confirm", json={"token": link, "password": PASSWORD}
    )
    assert (status, problem["errors"]) == (
        422,
        [{"field": "token", "message": "has already been used; ask for a new link"}],
    )
    # Every session ended with the reset; the new password works, the old one does not.
    assert (await api.call("GET", "/api/v1/me", token=old_token))[0] == 401
    status, _, _ = await api.call(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": tenant["tokens"]["refresh_token"]}
    )
    assert status == 401
    assert (await login(api, email))[0] == 401
    assert (await login(api, email, NEW_PASSWORD))[0] == 200


async def test_reset_requests_are_throttled_alike_for_known_and_unknown_addresses(api: Api) -> None:
    tenant = await api.sign_up()
    unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    for address in (tenant["owner_email"], unknown):
        statuses = [
            (await api.call("POST", "/api/v1/auth/staff/password-reset", json={"email": address}))[0] for _ in range(6)
        ]
        assert statuses == [202] * 5 + [429], (address, statuses)


async def test_changing_the_password_ends_every_other_session(api: Api) -> None:
    tenant = await api.sign_up()
    email = tenant["owner_email"]
    _, elsewhere = await login(api, email)
    status, problem, _ = await api.call(
        "POST",
        "/api/v1/auth/password",
        token=tenant["token"],
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
    )
    assert (status, problem["errors"][0]["field"]) == (422, "current_password")
    status, fresh, _ = await api.call(
        "POST",
        "/api/v1/auth/password",
        token=tenant["token"],
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert status == 200, fresh
    assert (await api.call("GET", "/api/v1/me", token=elsewhere["access_token"]))[0] == 401
    status, _, _ = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": elsewhere["refresh_token"]})
    assert status == 401
    assert (await api.call("GET", "/api/v1/me", token=fresh["access_token"]))[0] == 200
    status, _, _ = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert status == 200


async def test_a_business_defines_a_front_desk_role_from_the_permission_list(api: Api) -> None:
    tenant = await api.sign_up()
    owner = tenant["token"]
    status, role, _ = await api.call(
        "POST",
        "/api/v1/roles",
        token=owner,
        json={
            "name": "Front desk",
            "permissions": ["schedule.write", "clients.read", "clients.write", "schedule.read"],
        },
    )
    assert (status, role["permissions"]) == (201, ["clients.read", "clients.write", "schedule.read", "schedule.write"])
    status, problem, _ = await api.call(
        "POST", "/api/v1/roles", token=owner, json={"name": "Front desk", "permissions": ["clients.read"]}
    )
    assert (status, problem["code"]) == (409, "ROLE_NAME_TAKEN")
    status, problem, _ = await api.call(
        "POST", "/api/v1/staff/invitations", token=owner, json={"email": "x@example.com", "role": "Back office"}
    )
    assert (status, [e["field"] for e in problem["errors"]]) == (422, ["role"])

    member, invitation = await invite(api, owner, role="Front desk")
    changed = await published(api.stack, ev.StaffMemberChanged, lambda e: e.staff_user_id == member["id"])
    assert (changed.role, list(changed.permissions)) == ("Front desk", role["permissions"])
    _, tokens, _ = await api.call(
        "POST", "/api/v1/staff/invitations/accept", json={"token": invitation, "password": PASSWORD}
    )
    desk = tokens["access_token"]
    await api.create_client(desk, first_name="At The Desk")
    status, problem, _ = await api.call("GET", "/api/v1/invoices", token=desk)
    assert (status, problem["code"]) == (403, "PERMISSION_REQUIRED")

    status, widened, _ = await api.call(
        "PATCH",
        f"/api/v1/roles/{role['id']}",
        token=owner,
        json={"permissions": [*role["permissions"], "billing.read"]},
    )
    assert (status, widened["members"]) == (200, 1)
    await published(
        api.stack,
        ev.StaffMemberChanged,
        lambda e: e.staff_user_id == member["id"] and "billing.read" in e.permissions,
    )
    # The same token, the role's new permissions.
    assert (await api.call("GET", "/api/v1/invoices", token=desk))[0] == 200
    _, listed, _ = await api.call("GET", "/api/v1/roles", token=owner)
    assert [(r["name"], r["built_in"], r["members"]) for r in listed["items"]] == [
        ("owner", True, 1),
        ("admin", True, 0),
        ("staff", True, 0),
        ("Front desk", False, 1),
    ]
    status, problem, _ = await api.call("DELETE", f"/api/v1/roles/{role['id']}", token=owner)
    assert (status, problem["code"]) == (409, "ROLE_IN_USE")
    status, _, _ = await api.call("PATCH", f"/api/v1/staff/{member['id']}", token=owner, json={"role": "staff"})
    assert status == 200
    assert (await api.call("GET", "/api/v1/invoices", token=desk))[0] == 200  # staff read billing
    status, _, _ = await api.call("DELETE", f"/api/v1/roles/{role['id']}", token=owner)
    assert status == 204


async def test_a_portal_client_resets_a_forgotten_password(api: Api) -> None:
    tenant = await api.sign_up("Reset Studio")
    slug = tenant["tenant"]["slug"]
    client = await api.create_client(tenant["token"], first_name="Pia", email="pia@example.com")
    _, invitation, _ = await api.call(
        "POST", f"/api/v1/clients/{client['id']}/portal-invitation", token=tenant["token"], json={}
    )
    status, first, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    assert status == 201

    for email in ("pia@example.com", "nobody@example.com"):
        status, _, _ = await api.call(
            "POST", "/api/v1/auth/portal/password-reset", json={"tenant": slug, "email": email}
        )
        assert status == 202
    requested = await published(
        api.stack, ev.PasswordResetRequested, lambda e: e.account_kind == "portal" and e.client_id == client["id"]
    )
    assert requested.email == "pia@example.com" and f"/portal/{slug}/reset-password#token=" in requested.reset_url
    status, _, _ = await api.call(
        "POST",
        "/api/v1/auth/password-reset/confirm",
        json={"token": token_of(requested.reset_url), "password": NEW_PASSWORD},
    )
    assert status == 204
    assert (await api.call("GET", "/api/v1/portal/me", token=first["access_token"]))[0] == 401
    login_body = {"tenant": slug, "email": "pia@example.com", "password": NEW_PASSWORD}
    status, tokens, _ = await api.call("POST", "/api/v1/auth/portal/login", json=login_body)
    assert status == 200
    status, me, _ = await api.call("GET", "/api/v1/portal/me", token=tokens["access_token"])
    assert (status, me["id"]) == (200, client["id"])


async def test_a_new_invitation_replaces_the_old_one_until_the_member_joins(api: Api) -> None:
    tenant = await api.sign_up()
    owner = tenant["token"]
    member, first_link = await invite(api, owner)
    status, resent, _ = await api.call("POST", f"/api/v1/staff/{member['id']}/invitation", token=owner)
    assert (status, resent["status"]) == (200, "invited")
    issued = await published(
        api.stack,
        ev.StaffInvitationIssued,
        lambda e: e.staff_user_id == member["id"] and token_of(e.accept_url) != first_link,
    )
    status, problem, _ = await api.call(
        "POST", "/api/v1/staff/invitations/accept", json={"token": first_link, "password": PASSWORD}
    )
    assert (status, problem["errors"][0]["message"]) == (422, "is not a valid invitation")
    status, _, _ = await api.call(
        "POST", "/api/v1/staff/invitations/accept", json={"token": token_of(issued.accept_url), "password": PASSWORD}
    )
    assert status == 200
    status, problem, _ = await api.call("POST", f"/api/v1/staff/{member['id']}/invitation", token=owner)
    assert (status, problem["code"]) == (409, "ALREADY_JOINED")


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(api: Api) -> None:
    tenant = await api.sign_up()
    owner, owner_id = tenant["token"], tenant["owner"]["id"]
    co_owner, invitation = await invite(api, owner, role="admin")
    _, tokens, _ = await api.call(
        "POST", "/api/v1/staff/invitations/accept", json={"token": invitation, "password": PASSWORD}
    )
    status, _, _ = await api.call("PATCH", f"/api/v1/staff/{co_owner['id']}", token=owner, json={"role": "owner"})
    assert status == 200
    replies = await asyncio.gather(
        api.call("PATCH", f"/api/v1/staff/{co_owner['id']}", token=owner, json={"role": "staff"}),
        api.call("PATCH", f"/api/v1/staff/{owner_id}", token=tokens["access_token"], json={"role": "staff"}),
    )
    outcomes = sorted((status, body.get("code", "")) for status, body, _ in replies)
    # The second to be decided finds itself the last owner (or already demoted, so no longer one).
    assert outcomes[0] == (200, "") and outcomes[1][0] in (403, 409), outcomes
    # Whoever's demotion of the other went through is the one owner left.
    still_owner = tokens["access_token"] if replies[1][0] == 200 else owner
    _, listed, _ = await api.call("GET", "/api/v1/roles", token=still_owner)
    assert [r["members"] for r in listed["items"] if r["name"] == "owner"] == [1]
