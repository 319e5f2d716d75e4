"""Use cases of the client service. Each runs in one unit of work."""

from __future__ import annotations

from datetime import UTC, datetime

from client_svc.domain import commands
from client_svc.domain.model import Client
from client_svc.service_layer.unit_of_work import DUPLICATE_REQUEST, ClientUnitOfWork
from platform_core.errors import Conflict
from platform_core.ids import new_id


async def create_client(cmd: commands.CreateClient, uow: ClientUnitOfWork) -> Client:
    """Register a client; a repeated request id returns the client it created the first time."""
    # Optimistic: the unique index on (tenant, request id) catches a repeat, so the common case is one insert.
    try:
        async with uow:
            client = Client.register(cmd, client_id=new_id(), now=datetime.now(UTC))
            uow.clients.add(client)
            await uow.commit()
            return client
    except Conflict as exc:
        if exc.reason != DUPLICATE_REQUEST:
            raise
    # An earlier (or concurrent) call with the same request id created it: answer with that client.
    async with uow:
        existing = await uow.clients.get_by_request_id(cmd.tenant_id, cmd.request_id)
        assert existing is not None
        return existing
