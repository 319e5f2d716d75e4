"""A business's public booking page as the gateway knows it: its address (slug), whether it is open, the
business facts it shows, and the rate limits that keep visitors (and scripts) from flooding an inbox.

A visitor has no account, so the page is found by its slug alone; an unknown or closed page answers 404. The
limits are counted per client IP and per email address in PostgreSQL (the sign-in throttle's table, so every
gateway replica counts against one budget); a refused attempt is not counted and writes nothing else.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.identity.api_keys import RateLimited
from gateway.identity.service import IdentityService, LoginThrottled, ThrottlePolicy
from platform_core.errors import Conflict, NotFound

# Languages the page's emails ship in (the notification service's default templates).
EMAIL_LANGUAGES = ("en", "de")


@dataclass(frozen=True)
class PublicPage:
    tenant_id: uuid.UUID
    slug: str
    name: str
    country: str
    timezone: str
    language: str
    max_clients: int

    @property
    def languages(self) -> list[str]:
        return list(dict.fromkeys((self.language, *EMAIL_LANGUAGES)))

    def email_language(self, wanted: str | None) -> str:
        """The language of the emails a visitor who asked for ``wanted`` gets: one of the page's languages (the
        tag itself, else the same language: de-AT gets de), else the business's."""
        if wanted:
            for candidate in (wanted.lower(), wanted.lower().split("-")[0]):
                for language in self.languages:
                    if language.lower() == candidate or language.lower().split("-")[0] == candidate:
                        return language
        return self.language


@dataclass(frozen=True)
class PublicBookingLimits:
    """Requests (codes sent) per email address and per client IP, and code tries per IP, per window."""

    requests_per_email: int
    requests_per_ip: int
    codes_per_ip: int
    window_seconds: int


def _trusted(peer: str, trusted_proxies: Sequence[str]) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in trusted_proxies)


def client_ip(request: web.Request, trusted_proxies: Sequence[str]) -> str:
    """The visitor's address: walking back from the peer through X-Forwarded-For, the first address that is no
    trusted proxy (the web unit, an ingress; addresses or networks). What an untrusted hop wrote before that
    could be anything, so it is never read."""
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    address = request.remote or "unknown"
    while hops and _trusted(address, trusted_proxies):
        address = hops.pop()
    return address[:64]


class PublicBookingPages:
    def __init__(self, engine: AsyncEngine, identity: IdentityService, limits: PublicBookingLimits) -> None:
        self._engine = engine
        self._identity = identity
        self._limits = limits

    async def settings(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT slug, enabled FROM public_booking_pages WHERE tenant_id = :t"), {"t": tenant_id}
                )
            ).first()
        return {"enabled": bool(row and row.enabled), "slug": row.slug if row else None}

    async def change(self, tenant_id: uuid.UUID, *, enabled: bool, slug: str) -> dict[str, Any]:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO public_booking_pages (tenant_id, slug, enabled) VALUES (:t, :slug, :on) "
                        "ON CONFLICT (tenant_id) DO UPDATE SET slug = excluded.slug, enabled = excluded.enabled, "
                        "updated_at = now()"
                    ),
                    {"t": tenant_id, "slug": slug, "on": enabled},
                )
        except IntegrityError as exc:
            # The slug's unique index decides between two businesses wanting one address.
            raise Conflict(
                "another business's page has this address; choose another slug", reason="SLUG_TAKEN"
            ) from exc
        return {"enabled": enabled, "slug": slug}

    async def page(self, slug: str) -> PublicPage:
        """The open page at this address; NotFound for an unknown or closed one (they look the same)."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT t.id, p.slug, t.name, t.country, t.timezone, t.default_language, t.max_clients "
                        "FROM public_booking_pages p JOIN tenants t ON t.id = p.tenant_id "
                        "WHERE p.slug = :slug AND p.enabled"
                    ),
                    {"slug": slug},
                )
            ).first()
        if row is None:
            raise NotFound("booking page not found")
        return PublicPage(
            row.id, row.slug, row.name, row.country, row.timezone, row.default_language, row.max_clients or 0
        )

    async def count_request(self, page: PublicPage, email: str, client_ip: str) -> None:
        """Count a request for a code against the address's and the IP's budget; 429 once either is spent."""
        limits = self._limits
        await self._count(
            [
                (f"public-booking:ip:{client_ip}", limits.requests_per_ip, "client IP"),
                (f"public-booking:email:{page.tenant_id}:{email}", limits.requests_per_email, "email address"),
            ]
        )

    async def count_code(self, client_ip: str) -> None:
        """Count a code entered from this IP (each verification also locks itself after five wrong codes)."""
        await self._count([(f"public-booking:code-ip:{client_ip}", self._limits.codes_per_ip, "client IP")])

    async def _count(self, budgets: list[tuple[str, int, str]]) -> None:
        for key, _, what in budgets:
            try:
                await self._identity.refuse_if_locked(key)
            except LoginThrottled as exc:
                raise RateLimited(what, exc.retry_after or self._limits.window_seconds) from exc
        window = self._limits.window_seconds
        for key, limit, _ in budgets:
            await self._identity.count_attempt(key, ThrottlePolicy(limit, window, window))
