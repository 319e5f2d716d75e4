"""Use case: erase a client's personal data (right to erasure)."""

from __future__ import annotations

from client_svc.domain import commands_merges as commands
from client_svc.domain.erasure import check_confirmed, erase_with_absorbed
from client_svc.domain.model import Client
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.errors import NotFound


async def erase_client(cmd: commands.EraseClient, uow: ClientUnitOfWork) -> Client:
    """Blank the client and every client merged into it; delete their notes (with every revision), group
    memberships, files and other per-client records; forget the merge journals they appear in. Erasing an
    erased client changes nothing."""
    check_confirmed(cmd.confirm)
    async with uow:
        client = await uow.clients.get(cmd.tenant_id, cmd.client_id, lock="update")
        if client is None:
            raise NotFound("client not found")
        # The files' bytes live outside the database: they are removed once their rows are gone.
        storage_keys = await uow.attachments.storage_keys_of(cmd.tenant_id, client.id)
        absorbed_ids = await uow.erasure.absorbed_ids(cmd.tenant_id, client.id)
        absorbed = await uow.clients.get_many(cmd.tenant_id, absorbed_ids, lock="update")
        was_live = not client.is_deleted
        erased = erase_with_absorbed(client, absorbed, now=cmd.now)
        if not erased:
            return client
        ids = [c.id for c in erased]
        await uow.erasure.delete_records(cmd.tenant_id, ids)
        merges = await uow.merges.involving(cmd.tenant_id, ids)
        for merge in merges:
            merge.purge(now=cmd.now)
        await uow.merges.purged(merges)
        if was_live:
            await uow.quota.change(cmd.tenant_id, -1, max_clients=None)
        await uow.commit()
    for key in storage_keys:
        await uow.storage.delete(key)
    return client
