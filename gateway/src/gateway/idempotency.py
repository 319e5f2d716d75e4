"""Idempotency-Key on every unsafe operation, as Stripe's API keeps it.

The first request with a key runs and its answer (2xx or 4xx) is kept for 24 hours; a retry with the same key
and the same request gets that answer again, marked ``Idempotent-Replayed: true``, without running anything.
While the first one still runs, a retry waits for its answer (409 IDEMPOTENCY_KEY_IN_USE if that takes longer
than any request should); a key used for a different request answers 422 naming the header. A 5xx or 429
answer is not kept, so a retry runs again. Keys belong to one caller (tenant and principal). The database
decides every race: the key row is claimed by one INSERT.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from platform_core.errors import Conflict, InvalidArgument

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 200
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEEP_HOURS = 24
# A claim whose request never finished (its gateway stopped) frees the key after this long: longer than any
# request may take (the backends' deadline is seconds).
ABANDONED_AFTER_SECONDS = 120
# How long a retry waits for the first request with its key to finish before answering 409.
WAIT_SECONDS = 10.0
# Headers a replay repeats (the rest describe the transfer, not the answer).
_KEPT_HEADERS = ("Location", "Content-Location", "Retry-After")


@dataclass(frozen=True)
class Replay:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str]

    def response(self) -> web.Response:
        return web.Response(
            status=self.status,
            body=self.body,
            content_type=self.content_type or None,
            headers=self.headers | {REPLAYED_HEADER: "true"},
        )


def fingerprint(method: str, path_qs: str, body: bytes) -> bytes:
    return hashlib.sha256(b"\n".join([method.encode(), path_qs.encode(), body])).digest()


def key_of(request: web.Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise InvalidArgument.single(HEADER, f"must be 1 to {MAX_KEY_LENGTH} characters")
    return key


_CLAIMED = object()


def _reused() -> InvalidArgument:
    return InvalidArgument.single(HEADER, "was already used for a different request")


def request_key(request: web.Request) -> str:
    """The caller's Idempotency-Key, or "" without one, for handlers that also hand it to the service keeping its
    own record of the request (checked here as the route table checks it)."""
    return key_of(request) or ""


def kept(status: int) -> bool:
    return 200 <= status < 500 and status != 429


class IdempotencyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, tenant_id: uuid.UUID, principal: str, key: str, print_: bytes) -> Replay | None:
        """None: this request holds the key and runs. A Replay: the first request's answer, waited for while that
        request still runs (retries fired at once all get the one answer), up to WAIT_SECONDS."""
        waited = 0.0
        pause = 0.02
        while True:
            found = await self._claim_or_read(tenant_id, principal, key, print_)
            if found is _CLAIMED:
                return None
            if isinstance(found, Replay):
                return found
            if waited >= WAIT_SECONDS:
                raise Conflict(
                    "a request with this Idempotency-Key is still being processed; retry shortly",
                    reason="IDEMPOTENCY_KEY_IN_USE",
                )
            await asyncio.sleep(pause)
            waited += pause
            pause = min(pause * 2, 0.25)

    async def _claim_or_read(
        self, tenant_id: uuid.UUID, principal: str, key: str, print_: bytes
    ) -> Replay | object | None:
        """_CLAIMED, the kept answer, or None while the first request runs (or the key was just released)."""
        async with self._engine.begin() as conn:
            claimed = await conn.scalar(
                text(
                    "INSERT INTO idempotency_keys (tenant_id, principal, key, fingerprint) VALUES (:t, :p, :k, :f)"
                    " ON CONFLICT (tenant_id, principal, key) DO UPDATE SET fingerprint = excluded.fingerprint,"
                    " status = NULL, content_type = NULL, body = NULL, headers = NULL, created_at = now(),"
                    " completed_at = NULL"
                    f" WHERE idempotency_keys.created_at < now() - interval '{KEEP_HOURS} hours'"
                    " OR (idempotency_keys.status IS NULL"
                    f" AND idempotency_keys.created_at < now() - interval '{ABANDONED_AFTER_SECONDS} seconds')"
                    " RETURNING true"
                ),
                {"t": tenant_id, "p": principal, "k": key, "f": print_},
            )
            if claimed:
                return _CLAIMED
            row = (
                await conn.execute(
                    text(
                        "SELECT fingerprint, status, content_type, body, headers FROM idempotency_keys"
                        " WHERE tenant_id = :t AND principal = :p AND key = :k"
                    ),
                    {"t": tenant_id, "p": principal, "k": key},
                )
            ).first()
        if row is None or row.status is None:
            if row is not None and bytes(row.fingerprint) != print_:
                raise _reused()
            return None
        if bytes(row.fingerprint) != print_:
            raise _reused()
        return Replay(row.status, row.content_type or "", bytes(row.body), dict(row.headers or {}))

    async def complete(self, tenant_id: uuid.UUID, principal: str, key: str, response: web.Response) -> None:
        headers = {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}
        async with self._engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE idempotency_keys SET status = :s, content_type = :c, body = :b,"
                    " headers = CAST(:h AS jsonb), completed_at = now()"
                    " WHERE tenant_id = :t AND principal = :p AND key = :k AND status IS NULL"
                ),
                {
                    "t": tenant_id,
                    "p": principal,
                    "k": key,
                    "s": response.status,
                    "c": response.content_type if response.body else "",
                    "b": bytes(response.body or b""),  # type: ignore[arg-type]
                    "h": json.dumps(headers),
                },
            )

    async def release(self, tenant_id: uuid.UUID, principal: str, key: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                text(
                    "DELETE FROM idempotency_keys"
                    " WHERE tenant_id = :t AND principal = :p AND key = :k AND status IS NULL"
                ),
                {"t": tenant_id, "p": principal, "k": key},
            )

    async def purge(self) -> None:
        """Forget answers older than the keeping time (any replica may run it; it deletes in batches)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                text(
                    "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency_keys"
                    f" WHERE created_at < now() - interval '{KEEP_HOURS} hours' LIMIT 10000 FOR UPDATE SKIP LOCKED))"
                )
            )

    async def run_once(
        self,
        request: web.Request,
        tenant_id: uuid.UUID,
        principal: str,
        key: str,
        respond: Callable[[], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Answer the request under its key: the kept answer, or ``respond()``'s, kept when it may be."""
        print_ = fingerprint(request.method, request.path_qs, await request.read())
        replay = await self.claim(tenant_id, principal, key, print_)
        if replay is not None:
            return replay.response()
        try:
            response = await respond()
        except BaseException:
            await self.release(tenant_id, principal, key)
            raise
        if isinstance(response, web.Response) and kept(response.status):
            await self.complete(tenant_id, principal, key, response)
        else:
            await self.release(tenant_id, principal, key)
        return response


IDEMPOTENCY = web.AppKey("idempotency", IdempotencyStore)
