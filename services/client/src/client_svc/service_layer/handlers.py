"""Use cases of the client service. Each runs in one unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from client_svc.adapters.creation_inputs import CATALOGUE_CHANGED
from client_svc.adapters.repository import Lock
from client_svc.domain import commands
from client_svc.domain.groups import ClientGroup, bulk_client_ids, clean_group_name, group_staff
from client_svc.domain.model import Client
from client_svc.domain.notes import Note
from client_svc.domain.statuses import ClientStatus
from client_svc.service_layer.unit_of_work import DUPLICATE_REQUEST, ClientUnitOfWork
from platform_core.errors import Conflict, InvalidArgument, NotFound
from platform_core.ids import new_id


@dataclass(frozen=True)
class Created:
    client: Client
    # Known when this call created the client; None when it answered with one created before.
    status_label: str | None


async def create_client(cmd: commands.CreateClient, uow: ClientUnitOfWork) -> Created:
    """Register a client; a repeated request id returns the client it created the first time."""
    # Optimistic: the unique index on (tenant, request id) catches a repeat, so the common case is one insert;
    # the tenant's statuses and custom fields usually come from the replica's cache, checked at commit (a
    # stale one refuses the unit, CATALOGUE_CHANGED, and the second attempt reads them afresh).
    for attempt in (1, 2):
        try:
            async with uow:
                inputs = await uow.creation_inputs.of(cmd.tenant_id)
                default = inputs.default_status
                client = Client.register(
                    cmd, client_id=new_id(), now=cmd.now, status=default, custom_fields=inputs.custom_fields
                )
                await uow.quota.change(cmd.tenant_id, +1, max_clients=cmd.max_clients or None)
                uow.clients.add(client)
                await uow.commit()
                return Created(client, default.label)
        except Conflict as exc:
            if exc.reason == CATALOGUE_CHANGED and attempt == 1:
                continue
            if exc.reason != DUPLICATE_REQUEST:
                raise
            break
    # An earlier (or concurrent) call with the same request id created it: answer with that client.
    async with uow:
        existing = await uow.clients.get_by_request_id(cmd.tenant_id, cmd.request_id)
        assert existing is not None
        return Created(existing, None)


async def _change(
    tenant_id: uuid.UUID, client_id: uuid.UUID, uow: ClientUnitOfWork, change: Callable[[Client], None]
) -> Client:
    async with uow:
        client = await _existing(uow, tenant_id, client_id)
        change(client)
        await uow.commit()
        return client


async def update_client(cmd: commands.UpdateClient, uow: ClientUnitOfWork) -> Client:
    async with uow:
        client = await _existing(uow, cmd.tenant_id, cmd.client_id)
        # The booking request form is checked whole (its required answers), even when nothing new is given.
        needs_fields = bool(cmd.custom_fields) or cmd.form == "booking_request"
        custom_fields = await uow.custom_fields.catalogue(cmd.tenant_id) if needs_fields else None
        client.update(cmd, now=cmd.now, custom_fields=custom_fields)
        await uow.commit()
        return client


async def delete_client(cmd: commands.DeleteClient, uow: ClientUnitOfWork) -> Client:
    async with uow:
        client = await _existing(uow, cmd.tenant_id, cmd.client_id)
        client.delete(now=cmd.now)
        await uow.quota.change(cmd.tenant_id, -1, max_clients=None)
        await uow.commit()
        return client


async def restore_client(cmd: commands.RestoreClient, uow: ClientUnitOfWork) -> Client:
    async with uow:
        client = await _existing(uow, cmd.tenant_id, cmd.client_id)
        client.restore(now=cmd.now)
        await uow.quota.change(cmd.tenant_id, +1, max_clients=cmd.max_clients or None)
        await uow.commit()
        return client


async def _existing(
    uow: ClientUnitOfWork, tenant_id: uuid.UUID, client_id: uuid.UUID, *, lock: Lock | None = None
) -> Client:
    client = await uow.clients.get(tenant_id, client_id, lock=lock)
    if client is None:
        raise NotFound("client not found")
    return client


async def set_online_booking_blocked(cmd: commands.SetOnlineBookingBlocked, uow: ClientUnitOfWork) -> Client:
    return await _change(
        cmd.tenant_id,
        cmd.client_id,
        uow,
        lambda client: client.set_online_booking_blocked(cmd.blocked, reason=cmd.reason, now=cmd.now, until=cmd.until),
    )


async def set_client_status(cmd: commands.SetClientStatus, uow: ClientUnitOfWork) -> Client:
    async with uow:
        client = await _existing(uow, cmd.tenant_id, cmd.client_id)
        catalogue = await uow.statuses.catalogue(cmd.tenant_id)
        client.change_status(
            catalogue.assignable(cmd.status_id), previous=catalogue.find(client.status_id), now=cmd.now
        )
        await uow.commit()
        return client


async def list_statuses(cmd: commands.ListClientStatuses, uow: ClientUnitOfWork) -> list[ClientStatus]:
    async with uow:
        catalogue = await uow.statuses.catalogue(cmd.tenant_id)
        await uow.commit()  # keeps the ready-made set if this was the first use
        archived = sorted((s for s in catalogue.statuses if s.archived), key=lambda s: s.label)
        return catalogue.live() + (archived if cmd.include_archived else [])


async def create_status(cmd: commands.CreateClientStatus, uow: ClientUnitOfWork) -> ClientStatus:
    async with uow:
        catalogue = await uow.statuses.catalogue(cmd.tenant_id)
        status = catalogue.create(cmd.label, status_id=new_id())
        uow.statuses.add(status)
        await uow.commit()
        return status


async def update_status(cmd: commands.UpdateClientStatus, uow: ClientUnitOfWork) -> ClientStatus:
    async with uow:
        catalogue = await uow.statuses.catalogue(cmd.tenant_id)
        status = catalogue.get(cmd.status_id)
        if cmd.label is not None:
            catalogue.rename(cmd.status_id, cmd.label)
        if cmd.make_default:
            catalogue.make_default(cmd.status_id)
        await uow.commit()
        return status


async def archive_status(cmd: commands.ArchiveClientStatus, uow: ClientUnitOfWork) -> ClientStatus:
    async with uow:
        catalogue = await uow.statuses.catalogue(cmd.tenant_id)
        status = catalogue.archive(cmd.status_id, now=cmd.now)
        await uow.commit()
        return status


async def reorder_statuses(cmd: commands.ReorderClientStatuses, uow: ClientUnitOfWork) -> list[ClientStatus]:
    async with uow:
        catalogue = await uow.statuses.catalogue(cmd.tenant_id)
        ordered = catalogue.reorder(list(cmd.ids))
        await uow.commit()
        return ordered


async def add_note(cmd: commands.AddClientNote, uow: ClientUnitOfWork) -> Note:
    async with uow:
        # Locked (shared) so that a merge or erasure of the client cannot miss the note being added.
        (await _existing(uow, cmd.tenant_id, cmd.client_id, lock="share")).require_live()
        note = Note.write(
            tenant_id=cmd.tenant_id,
            note_id=new_id(),
            client_id=cmd.client_id,
            author_id=cmd.author_id,
            body=cmd.body,
            now=cmd.now,
        )
        uow.notes.add(note)
        await uow.commit()
        return note


async def edit_note(cmd: commands.EditClientNote, uow: ClientUnitOfWork) -> Note:
    async with uow:
        note = await uow.notes.get(cmd.tenant_id, cmd.client_id, cmd.note_id)
        if note is None:
            raise NotFound("note not found")
        note.edit(cmd.body, editor_id=cmd.editor_id, editor_role=cmd.editor_role, now=cmd.now)
        await uow.commit()
        return note


async def set_client_staff(cmd: commands.SetClientStaff, uow: ClientUnitOfWork) -> Client:
    return await _change(
        cmd.tenant_id, cmd.client_id, uow, lambda client: client.assign_staff(list(cmd.staff_ids), now=cmd.now)
    )


async def set_client_tags(cmd: commands.SetClientTags, uow: ClientUnitOfWork) -> Client:
    return await _change(cmd.tenant_id, cmd.client_id, uow, lambda client: client.set_tags(list(cmd.tags), now=cmd.now))


async def list_groups(cmd: commands.ListClientGroups, uow: ClientUnitOfWork) -> list[ClientGroup]:
    async with uow:
        return await uow.groups.all(cmd.tenant_id)


async def create_group(cmd: commands.CreateClientGroup, uow: ClientUnitOfWork) -> ClientGroup:
    async with uow:
        group_id = new_id()
        await uow.groups.create(cmd.tenant_id, group_id, clean_group_name(cmd.name), cmd.now)
        await uow.commit()
        group = await uow.groups.get(cmd.tenant_id, group_id)
        assert group is not None
        return group


async def rename_group(cmd: commands.RenameClientGroup, uow: ClientUnitOfWork) -> ClientGroup:
    async with uow:
        if not await uow.groups.rename(cmd.tenant_id, cmd.group_id, clean_group_name(cmd.name)):
            raise NotFound("group not found")
        await uow.commit()
        return await _group(uow, cmd.tenant_id, cmd.group_id)


async def delete_group(cmd: commands.DeleteClientGroup, uow: ClientUnitOfWork) -> None:
    async with uow:
        if not await uow.groups.delete(cmd.tenant_id, cmd.group_id):
            raise NotFound("group not found")
        await uow.commit()


async def add_clients_to_group(cmd: commands.AddClientsToGroup, uow: ClientUnitOfWork) -> ClientGroup:
    client_ids = bulk_client_ids(list(cmd.client_ids))
    async with uow:
        await _group(uow, cmd.tenant_id, cmd.group_id)
        unknown = await uow.groups.unknown_clients(cmd.tenant_id, client_ids)
        if unknown:
            raise InvalidArgument.single(
                "client_ids", f"not clients of this business: {', '.join(map(str, unknown[:10]))}"
            )
        await uow.groups.add_members(cmd.tenant_id, cmd.group_id, client_ids, cmd.now)
        await uow.commit()
        return await _group(uow, cmd.tenant_id, cmd.group_id)


async def remove_clients_from_group(cmd: commands.RemoveClientsFromGroup, uow: ClientUnitOfWork) -> ClientGroup:
    client_ids = bulk_client_ids(list(cmd.client_ids))
    async with uow:
        await _group(uow, cmd.tenant_id, cmd.group_id)
        await uow.groups.remove_members(cmd.tenant_id, cmd.group_id, client_ids)
        await uow.commit()
        return await _group(uow, cmd.tenant_id, cmd.group_id)


async def set_group_staff(cmd: commands.SetClientGroupStaff, uow: ClientUnitOfWork) -> ClientGroup:
    wanted = group_staff(list(cmd.staff_ids))
    async with uow:
        await _group(uow, cmd.tenant_id, cmd.group_id)
        await uow.groups.set_staff(cmd.tenant_id, cmd.group_id, wanted, cmd.now)
        await uow.commit()
        return await _group(uow, cmd.tenant_id, cmd.group_id)


async def _group(uow: ClientUnitOfWork, tenant_id: uuid.UUID, group_id: uuid.UUID) -> ClientGroup:
    group = await uow.groups.get(tenant_id, group_id)
    if group is None:
        raise NotFound("group not found")
    return group


async def lift_ended_booking_blocks(cmd: commands.LiftEndedBookingBlocks, uow: ClientUnitOfWork) -> int:
    """One batch of the sweep that lifts online-booking blocks whose end has come (any business); any number of
    replicas may run it (the rows are claimed with SKIP LOCKED)."""
    async with uow:
        claimed = await uow.clients.claim_ended_blocks(cmd.now, cmd.batch)
        for client in claimed:
            client.lift_ended_block(cmd.now)
        await uow.commit()
    return len(claimed)
