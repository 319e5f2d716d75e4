"""Webhook endpoints a business manages, their delivery log, and test sends.

Nothing here calls an endpoint: a test send is queued as a delivery like any event's, and the gateway
worker delivers it.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.webhooks.catalogue import TEST_EVENT_TYPE, event_body
from platform_core.errors import FieldViolation, InvalidArgument, NotFound
from platform_core.ids import new_id

SECRET_PREFIX = "whsec_"
LOG_PAGE = 50


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def check_target(url: str, *, allow_insecure: bool) -> None:
    """An endpoint is an HTTPS URL of a public host; plain http and private addresses only when a test
    deployment allows insecure targets."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_insecure and parts.scheme == "http"):
        raise InvalidArgument([FieldViolation("url", "must be an https:// URL")])
    if not parts.hostname or parts.username or parts.password:
        raise InvalidArgument([FieldViolation("url", "must name a host, without credentials")])
    if not allow_insecure and not is_public_host(parts.hostname):
        raise InvalidArgument([FieldViolation("url", "must be a public address, not a private or local one")])


def is_public_host(host: str) -> bool:
    """False for a literal private, loopback or link-local address, and for localhost names."""
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return False
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return True  # a name: its addresses are checked again when a delivery resolves it


class WebhookEndpoints:
    def __init__(self, engine: AsyncEngine, *, allow_insecure_targets: bool) -> None:
        self._engine = engine
        self._allow_insecure = allow_insecure_targets

    async def create(
        self, tenant_id: uuid.UUID, *, url: str, event_types: list[str], description: str
    ) -> dict[str, Any]:
        check_target(url, allow_insecure=self._allow_insecure)
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    text(
                        "INSERT INTO webhook_endpoints (id, tenant_id, url, description, event_types, secret) "
                        "VALUES (:id, :t, :url, :description, :types, :secret) RETURNING *"
                    ),
                    {
                        "id": new_id(),
                        "t": tenant_id,
                        "url": url,
                        "description": description,
                        "types": sorted(set(event_types)),
                        "secret": new_secret(),
                    },
                )
            ).one()
        return _endpoint(row) | {"secret": row.secret}

    async def all_of(self, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT * FROM webhook_endpoints WHERE tenant_id = :t ORDER BY created_at, id"), {"t": tenant_id}
            )
            return [_endpoint(row) for row in rows]

    async def get(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            return _endpoint(await _row(conn, tenant_id, endpoint_id))

    async def change(
        self,
        tenant_id: uuid.UUID,
        endpoint_id: uuid.UUID,
        *,
        url: str | None,
        event_types: list[str] | None,
        description: str | None,
        enabled: bool | None,
    ) -> dict[str, Any]:
        if url is not None:
            check_target(url, allow_insecure=self._allow_insecure)
        async with self._engine.begin() as conn:
            current = await _row(conn, tenant_id, endpoint_id, lock=True)
            enabling = enabled is True and not current.enabled
            now_enabled = current.enabled if enabled is None else enabled
            await conn.execute(
                text(
                    "UPDATE webhook_endpoints SET url = :url, event_types = :types, description = :description, "
                    "enabled = :enabled, "
                    "disabled_at = CASE WHEN :enabled THEN NULL ELSE coalesce(disabled_at, now()) END, "
                    "disabled_reason = CASE WHEN :enabled THEN NULL ELSE coalesce(disabled_reason, 'disabled by "
                    "the business') END, "
                    "consecutive_failures = CASE WHEN :enabling THEN 0 ELSE consecutive_failures END "
                    "WHERE id = :id"
                ),
                {
                    "id": endpoint_id,
                    "url": url if url is not None else current.url,
                    "types": sorted(set(event_types)) if event_types is not None else current.event_types,
                    "description": description if description is not None else current.description,
                    "enabled": now_enabled,
                    "enabling": enabling,
                },
            )
            return _endpoint(await _row(conn, tenant_id, endpoint_id))

    async def delete(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
        async with self._engine.begin() as conn:
            deleted = await conn.scalar(
                text("DELETE FROM webhook_endpoints WHERE tenant_id = :t AND id = :id RETURNING id"),
                {"t": tenant_id, "id": endpoint_id},
            )
        if deleted is None:
            raise NotFound("webhook endpoint not found")

    async def send_test(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> dict[str, Any]:
        """Queue a WebhookTest delivery to the endpoint (even a disabled one is not sent until enabled)."""
        event_id = new_id()
        body = event_body(event_id, TEST_EVENT_TYPE, tenant_id, datetime.now(UTC), {"endpoint_id": str(endpoint_id)})
        async with self._engine.begin() as conn:
            await _row(conn, tenant_id, endpoint_id)
            delivery_id = new_id()
            await conn.execute(
                text(
                    "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, payload, "
                    "next_attempt_at) VALUES (:id, :t, :e, :event, :type, CAST(:payload AS jsonb), now())"
                ),
                {
                    "id": delivery_id,
                    "t": tenant_id,
                    "e": endpoint_id,
                    "event": event_id,
                    "type": TEST_EVENT_TYPE,
                    "payload": json.dumps(body),
                },
            )
            return await _delivery(conn, delivery_id)

    async def deliveries(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> list[dict[str, Any]]:
        """The endpoint's latest deliveries, newest first, each with its attempts."""
        async with self._engine.connect() as conn:
            await _row(conn, tenant_id, endpoint_id)
            ids = (
                await conn.scalars(
                    text(
                        "SELECT id FROM webhook_deliveries WHERE endpoint_id = :e "
                        "ORDER BY created_at DESC, id DESC LIMIT :n"
                    ),
                    {"e": endpoint_id, "n": LOG_PAGE},
                )
            ).all()
            return [await _delivery(conn, delivery_id) for delivery_id in ids]


async def _row(conn: AsyncConnection, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, *, lock: bool = False) -> Any:
    row = (
        await conn.execute(
            text("SELECT * FROM webhook_endpoints WHERE tenant_id = :t AND id = :id" + (" FOR UPDATE" if lock else "")),
            {"t": tenant_id, "id": endpoint_id},
        )
    ).first()
    if row is None:
        raise NotFound("webhook endpoint not found")
    return row


async def _delivery(conn: AsyncConnection, delivery_id: uuid.UUID) -> dict[str, Any]:
    delivery = (await conn.execute(text("SELECT * FROM webhook_deliveries WHERE id = :id"), {"id": delivery_id})).one()
    attempts = await conn.execute(
        text("SELECT * FROM webhook_attempts WHERE delivery_id = :id ORDER BY id"), {"id": delivery_id}
    )
    return {
        "id": str(delivery.id),
        "event_id": str(delivery.event_id),
        "event_type": delivery.event_type,
        "status": delivery.status,
        "next_attempt_at": delivery.next_attempt_at,
        "created_at": delivery.created_at,
        "completed_at": delivery.completed_at,
        "attempts": [
            {
                "at": a.attempted_at,
                "response_status": a.response_status,
                "response_body": a.response_body,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in attempts
        ],
    }


def _endpoint(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "url": row.url,
        "description": row.description,
        "event_types": list(row.event_types),
        "enabled": row.enabled,
        "consecutive_failures": row.consecutive_failures,
        "disabled_at": row.disabled_at,
        "disabled_reason": row.disabled_reason,
        "created_at": row.created_at,
    }
