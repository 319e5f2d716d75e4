"""A portal login whose client was merged into another acts for the survivor: the requests, appointments and
invoices the merge moved are the survivor's now, and so is what the login sees.

The client service resolves a merged-away id (GetClient answers the survivor, naming the id asked for). The
answer is kept briefly per process, so most portal calls cost no extra round trip; a merge or an undo is seen
within SURVIVOR_TTL_SECONDS on every replica.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import grpc
from aiohttp import web

from atrium.client.v1 import client_service_pb2 as client_pb
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from platform_core.grpc.context import CallContext, Principal, bind_call_context

SURVIVOR_TTL_SECONDS = 10.0
MAX_REMEMBERED = 10_000


class SurvivorCache:
    """(tenant, client) -> (the client it acts for, until when that answer is kept)."""

    def __init__(self) -> None:
        self._known: dict[tuple[uuid.UUID, uuid.UUID], tuple[uuid.UUID, float]] = {}

    def get(self, key: tuple[uuid.UUID, uuid.UUID], now: float) -> uuid.UUID | None:
        found = self._known.get(key)
        return found[0] if found and found[1] > now else None

    def put(self, key: tuple[uuid.UUID, uuid.UUID], survivor: uuid.UUID, now: float) -> None:
        if len(self._known) >= MAX_REMEMBERED:
            self._known = {k: v for k, v in self._known.items() if v[1] > now}
            if len(self._known) >= MAX_REMEMBERED:
                self._known.clear()
        self._known[key] = (survivor, now + SURVIVOR_TTL_SECONDS)


SURVIVORS = web.AppKey("portal_survivors", SurvivorCache)


async def acting_account(app: web.Application, account: Account) -> Account:
    """The portal account as it acts now: for the survivor when its client was merged away."""
    if account.kind != "portal" or account.client_id is None:
        return account
    cache = app[SURVIVORS]
    key, now = (account.tenant_id, account.client_id), time.monotonic()
    survivor = cache.get(key, now)
    if survivor is None:
        principal = Principal(account.kind, str(account.id), account.role, str(account.client_id))
        try:
            with bind_call_context(CallContext(account.tenant_id, principal)):
                client = await app[BACKENDS].clients.GetClient(client_pb.GetClientRequest(id=str(account.client_id)))
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                # The client service cannot say now: act as signed in (a merge is rare; the next call asks again).
                return account
            survivor = account.client_id  # no longer resolvable (deleted): the routes answer for themselves
        else:
            survivor = uuid.UUID(client.id)
        cache.put(key, survivor, now)
    return account if survivor == account.client_id else replace(account, client_id=survivor)
