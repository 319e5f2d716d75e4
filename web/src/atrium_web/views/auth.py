"""Signing in and out, for staff and for clients, and accepting a portal invitation."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium_web.gateway_api import ApiProblem, Reply
from atrium_web.pages import flash, form_errors, redirect, render
from atrium_web.sessions import GATEWAY, Account, Kind, end_session, start_session, token_fields

STAFF_HOME = "/today"
PORTAL_HOME = "/portal"  # the first page the client may see


def safe_next(value: str | None, default: str) -> str:
    """Only a path on this site (never //host or a scheme): an open redirect otherwise."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


async def account_from(request: web.Request, kind: Kind, tokens: dict[str, Any]) -> Account:
    """The session's account: who signed in, their business and the zone their times are shown in."""
    gateway = request.app[GATEWAY]
    bearer = tokens["access_token"]
    me = (await gateway.request("GET", "/api/v1/me", token=bearer)).body
    zone = me["tenant"]["timezone"]
    if kind == "staff":
        # The business's zone is its scheduling zone: the one its hours and days are cut in.
        settings = await gateway.request("GET", "/api/v1/scheduling/settings", token=bearer)
        if settings.status == 200:
            zone = settings.body.get("timezone") or zone
    else:
        client = await gateway.request("GET", "/api/v1/portal/me", token=bearer)
        if client.status == 200:
            zone = client.body["profile"].get("timezone") or zone
    return Account(
        kind=kind,
        email=me["email"],
        tenant_slug=me["tenant"]["slug"],
        tenant_name=me["tenant"]["name"],
        timezone=zone,
        role=me.get("role"),
        client_id=me.get("client_id"),
        **token_fields(tokens),
    )


def sign_in_problem(reply: Reply) -> str:
    if reply.status == 429:
        return "Too many attempts. Wait a few minutes, then try again."
    if reply.status == 401:
        return "That email and password do not match an account."
    problem = ApiProblem.from_body(reply.status, reply.body)
    return "; ".join(problem.errors.values()) or problem.detail or "Sign-in failed."


async def staff_sign_in_page(request: web.Request) -> web.StreamResponse:
    return await render(request, "sign_in.html", kind="staff", values={}, error="", next=request.query.get("next", ""))


async def staff_sign_in(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    values = {"email": str(form.get("email", "")).strip()}
    reply = await request.app[GATEWAY].request(
        "POST", "/api/v1/auth/staff/login", json={"email": values["email"], "password": str(form.get("password", ""))}
    )
    target = str(form.get("next", ""))
    if reply.status != 200:
        return await render(
            request, "sign_in.html", status=400, kind="staff", values=values, error=sign_in_problem(reply), next=target
        )
    await start_session(request, await account_from(request, "staff", reply.body))
    return redirect(request, safe_next(target, STAFF_HOME))


async def portal_sign_in_page(request: web.Request) -> web.StreamResponse:
    values = {"business": request.query.get("business", "")}
    return await render(
        request, "sign_in.html", kind="portal", values=values, error="", next=request.query.get("next", "")
    )


async def portal_sign_in(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    values = {"business": str(form.get("business", "")).strip(), "email": str(form.get("email", "")).strip()}
    reply = await request.app[GATEWAY].request(
        "POST",
        "/api/v1/auth/portal/login",
        json={"tenant": values["business"], "email": values["email"], "password": str(form.get("password", ""))},
    )
    target = str(form.get("next", ""))
    if reply.status != 200:
        return await render(
            request, "sign_in.html", status=400, kind="portal", values=values, error=sign_in_problem(reply), next=target
        )
    await start_session(request, await account_from(request, "portal", reply.body))
    return redirect(request, safe_next(target, PORTAL_HOME))


async def sign_out(request: web.Request) -> web.StreamResponse:
    portal = request.path.startswith("/portal")
    await end_session(request)
    await flash(request, "You are signed out.")
    return redirect(request, "/portal/sign-in" if portal else "/sign-in")


async def accept_invitation_page(request: web.Request) -> web.StreamResponse:
    # The emailed link carries the token in the fragment (never sent to a server or in a Referer);
    # static/app.js copies it into the form. ?token= works too, and the field can be pasted into.
    return await render(
        request, "portal/accept_invitation.html", token=request.query.get("token", ""), errors={}, status=200
    )


async def accept_invitation(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    token, password = str(form.get("token", "")).strip(), str(form.get("password", ""))
    errors: dict[str, str] = {}
    if not token:
        errors["token"] = "The invitation code is missing: open the link from your invitation email."
    if password != str(form.get("password_confirm", "")):
        errors["password_confirm"] = "The two passwords differ."
    if not errors:
        reply = await request.app[GATEWAY].request(
            "POST", "/api/v1/portal/invitations/accept", json={"token": token, "password": password}
        )
        if reply.status == 201:
            await start_session(request, await account_from(request, "portal", reply.body))
            await flash(request, "Welcome! Your password is set and you are signed in.")
            return redirect(request, PORTAL_HOME)
        problem = ApiProblem.from_body(reply.status, reply.body)
        errors = form_errors(problem.errors, "token", "password")
        if not errors or reply.status in (401, 404, 409, 410):
            errors.setdefault("token", "This invitation link is invalid, already used or expired. Ask for a new one.")
    return await render(request, "portal/accept_invitation.html", status=400, token=token, errors=errors)


async def home(request: web.Request) -> web.StreamResponse:
    return redirect(request, "/sign-in")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/", home)
    router.add_get("/sign-in", staff_sign_in_page)
    router.add_post("/sign-in", staff_sign_in)
    router.add_post("/sign-out", sign_out)
    router.add_get("/portal/sign-in", portal_sign_in_page)
    router.add_post("/portal/sign-in", portal_sign_in)
    router.add_post("/portal/sign-out", sign_out)
    router.add_get("/portal/accept-invitation", accept_invitation_page)
    router.add_post("/portal/accept-invitation", accept_invitation)
