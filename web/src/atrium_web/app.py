"""The web application: sessions, CSRF, security headers, error pages and the routes of both consoles."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from aiohttp_session import get_session
from aiohttp_session import setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from yarl import URL

from atrium_web.config import WebSettings
from atrium_web.gateway_api import ApiProblem, Gateway, GatewayUnavailable, SignInRequired
from atrium_web.pages import HERE, TEMPLATES, is_htmx, render, template_environment
from atrium_web.sessions import GATEWAY, csrf_matches
from atrium_web.views import (
    auth,
    billing,
    booking,
    campaigns,
    cancellation_policy,
    check_in,
    client_card,
    client_groups,
    client_merges,
    credits,
    day_rules,
    imports,
    memberships,
    messages,
    portal,
    portal_account,
    portal_calendar,
    portal_cancellation,
    portal_documents,
    portal_invoice,
    portal_membership,
    portal_request_detail,
    portal_requests,
    portal_waitlist,
    public_booking,
    reports,
    request_settings,
    staff,
    staff_request_new,
    staff_requests,
    staff_waitlist,
    statements,
)
from atrium_web.views import settings as settings_pages

log = logging.getLogger("atrium_web")

COOKIE_NAME = "atrium_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
MAX_BODY_BYTES = 60 * 1024 * 1024  # a client import file may be large; the gateway enforces its own limit

SECURITY_HEADERS = {
    # Scripts and styles only from this origin: no inline script, no eval.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers.update(SECURITY_HEADERS)
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    if isinstance(response, web.HTTPException) and response.status >= 300:
        raise response
    return response


@web.middleware
async def csrf_protection(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every state-changing request carries the session's CSRF token (form field or htmx header)."""
    if request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER)
        if presented is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            value = (await request.post()).get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
        if not csrf_matches(await get_session(request), presented):
            return await render(request, "csrf.html", status=403)
    return await handler(request)


def sign_in_path(path: str) -> str:
    return "/portal/sign-in" if path.startswith("/portal") else "/sign-in"


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Nothing answers a raw 500 or a JSON problem: each failure gets a page that says what to do."""
    try:
        return await handler(request)
    except SignInRequired:
        target = sign_in_path(request.path)
        if request.method == "GET":
            target += "?" + URL.build(query={"next": request.path_qs}).query_string
        if is_htmx(request):
            return web.Response(status=204, headers={"HX-Redirect": target})
        raise web.HTTPSeeOther(target) from None
    except GatewayUnavailable as exc:
        log.warning("gateway unavailable: %s", exc)
        return await render(request, "unavailable.html", status=503)
    except ApiProblem as problem:
        if problem.status == 404:
            return await render(request, "not_found.html", status=404)
        if problem.status == 403:
            return await render(request, "forbidden.html", status=403, for_kind=None, problem=problem)
        return await render(request, "error.html", status=problem.status, problem=problem)
    except web.HTTPNotFound:
        return await render(request, "not_found.html", status=404)
    except web.HTTPException:
        raise
    except Exception:
        # A defect of ours: logged with its trace, and the user gets a page rather than a bare 500.
        log.exception("unexpected error on %s %s", request.method, request.path)
        return await render(request, "error.html", status=500, problem=None)


def session_storage(settings: WebSettings) -> EncryptedCookieStorage:
    # Fernet wants 32 bytes; the setting is any string of at least 32 characters.
    key = hashlib.sha256(settings.web_session_secret.get_secret_value().encode()).digest()
    return EncryptedCookieStorage(
        key,
        cookie_name=COOKIE_NAME,
        httponly=True,
        secure=settings.secure_cookies(),
        samesite="Lax",
        max_age=settings.web_session_max_age_seconds,
        path="/",
    )


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the gateway answers its own readiness check."""
    try:
        reply = await request.app[GATEWAY].request("GET", "/readyz")
    except GatewayUnavailable:
        return web.json_response({"status": "unavailable", "checks": {"gateway": "unavailable"}}, status=503)
    ok = reply.status == 200
    return web.json_response(
        {"status": "ok" if ok else "unavailable", "checks": {"gateway": "ok" if ok else "unavailable"}},
        status=200 if ok else 503,
    )


async def calendar_feed(request: web.Request) -> web.Response:
    """Calendar feed URLs are on the site's public address; the gateway serves them (as an ingress would)."""
    reply = await request.app[GATEWAY].request("GET", f"/ical/{request.match_info['name']}")
    return web.Response(body=reply.raw, status=reply.status, content_type=reply.content_type or "text/plain")


def create_app(settings: WebSettings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    # Order: headers wrap everything; the session is read by CSRF, error pages and handlers.
    app.middlewares.append(security_headers)
    setup_sessions(app, session_storage(settings))
    app.middlewares.extend([error_pages, csrf_protection])
    app[TEMPLATES] = template_environment()
    gateway = Gateway(settings.web_gateway_url, settings.web_gateway_timeout_seconds)
    app[GATEWAY] = gateway

    async def gateway_pool(app: web.Application) -> AsyncIterator[None]:
        await gateway.start()
        yield
        await gateway.close()

    app.cleanup_ctx.append(gateway_pool)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/ical/{name}", calendar_feed)
    app.router.add_static("/static/", HERE / "static", append_version=True, name="static")
    auth.register(app.router)
    portal.register(app.router)
    portal_requests.register(app.router)
    portal_request_detail.register(app.router)  # after portal_requests' /portal/requests/new
    portal_waitlist.register(app.router)
    portal_account.register(app.router)
    portal_membership.register(app.router)
    portal_documents.register(app.router)  # its /portal/invoices/{invoice_id}/pdf beside portal_invoice's page
    portal_cancellation.register(app.router)
    portal_invoice.register(app.router)
    portal_calendar.register(app.router)
    imports.register(app.router)  # before staff's /clients/{client_id}
    client_groups.register(app.router)  # before the card's /clients/{client_id}
    client_card.register(app.router)  # before staff's /clients/{client_id}/{action}
    client_merges.register(app.router)
    memberships.register(app.router)  # before staff's /clients/{client_id}/{action}
    booking.register(app.router)  # before staff's /appointments/{appointment_id}/{action}
    staff.register(app.router)
    client_card.register_card(app.router)  # after every fixed /clients/... path
    staff_request_new.register(app.router)  # before staff_requests' /requests/{request_id}
    staff_requests.register(app.router)
    staff_waitlist.register(app.router)
    settings_pages.register(app.router)
    cancellation_policy.register(app.router)
    day_rules.register(app.router)
    request_settings.register(app.router)
    billing.register(app.router)
    credits.register(app.router)
    check_in.register(app.router)
    reports.register(app.router)
    statements.register(app.router)
    messages.register(app.router)
    campaigns.register(app.router)
    public_booking.register(app.router)
    return app
