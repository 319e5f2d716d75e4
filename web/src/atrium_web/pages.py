"""Rendering pages and guarding them: templates with autoescaping, the viewer's formatting, who may see what."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from aiohttp_session import get_session

from atrium_web.formatting import Formatter, negotiate_locale
from atrium_web.gateway_api import SignInRequired
from atrium_web.sessions import Account, Kind, UserApi, csrf_token, current_account

TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates", jinja2.Environment)
FLASH = "flash"
HERE = Path(__file__).resolve().parent
DEFAULT_ZONE = "UTC"


def template_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its name
        trim_blocks=True,
        lstrip_blocks=True,
    )


def formatter(request: web.Request, account: Account | None) -> Formatter:
    locale = negotiate_locale(request.headers.get("Accept-Language", ""))
    return Formatter(locale, account.timezone if account else DEFAULT_ZONE)


async def flash(request: web.Request, message: str) -> None:
    """A message shown once, on the next page (after a redirect)."""
    session = await get_session(request)
    session[FLASH] = [*session.get(FLASH, []), message]


async def render(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    session = await get_session(request)
    account = await current_account(request)
    messages = session.pop(FLASH, [])
    html = (
        request.app[TEMPLATES]
        .get_template(template)
        .render(
            request=request,
            account=account,
            csrf_token=csrf_token(session),
            fmt=formatter(request, account),
            messages=messages,
            static=lambda name: str(request.app.router["static"].url_for(filename=name)),
            **context,
        )
    )
    return web.Response(text=html, status=status, content_type="text/html")


def is_htmx(request: web.Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def redirect(request: web.Request, location: str) -> web.StreamResponse:
    """See other: after a form post, the browser loads ``location`` (htmx follows it too)."""
    if is_htmx(request):
        return web.Response(status=204, headers={"HX-Redirect": location})
    raise web.HTTPSeeOther(location)


Handler = Callable[[web.Request, UserApi], Awaitable[web.StreamResponse]]


def signed_in(kind: Kind) -> Callable[[Handler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """Only a ``kind`` session opens the page: none signs in first; the other kind is refused (403)."""

    def decorate(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @functools.wraps(handler)
        async def page(request: web.Request) -> web.StreamResponse:
            account = await current_account(request)
            if account is None:
                raise SignInRequired("not signed in")
            if account.kind != kind:
                return await render(request, "forbidden.html", status=403, for_kind=kind)
            return await handler(request, UserApi(request, account))

        return page

    return decorate


def form_errors(errors: dict[str, str], *names: str) -> dict[str, str]:
    """A problem's field errors keyed by form field; what matches no field is kept under ``""``."""
    shown: dict[str, str] = {}
    for field, message in errors.items():
        target = next((n for n in names if field == n or field.startswith(f"{n}.") or field.startswith(f"{n}[")), "")
        shown[target] = f"{shown[target]} {message}".strip() if target in shown else message
    return shown
