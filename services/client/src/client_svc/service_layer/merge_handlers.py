"""Use cases: merge duplicate clients into a survivor, undo a merge, read merges."""

from __future__ import annotations

from client_svc.domain import commands_merges as commands
from client_svc.domain.merge import ClientMerge, check_participants
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.errors import NotFound
from platform_core.ids import new_id
from platform_core.validation import Violations


async def merge_clients(cmd: commands.MergeClients, uow: ClientUnitOfWork) -> ClientMerge:
    check_participants(cmd.survivor_id, list(cmd.merged_ids))
    async with uow:
        ids = [cmd.survivor_id, *cmd.merged_ids]
        # Locked: a note, membership or change of any of them waits for the merge, then sees it.
        found = {c.id: c for c in await uow.clients.get_many(cmd.tenant_id, ids, lock="update")}
        missing = Violations()
        for i in ids:
            if i not in found:
                field = "survivor_id" if i == cmd.survivor_id else "merged_ids"
                missing.add(field, f"{i} is not a client of this business")
        missing.raise_if_any()
        merge = ClientMerge.merge(
            merge_id=new_id(),
            survivor=found[cmd.survivor_id],
            merged=[found[i] for i in cmd.merged_ids],
            choices=cmd.field_choices,
            rows=await uow.merges.owned_rows(cmd.tenant_id, ids),
            merged_by=cmd.merged_by,
            now=cmd.now,
        )
        await uow.merges.add(merge)
        await uow.quota.change(cmd.tenant_id, -len(cmd.merged_ids), max_clients=None)
        await uow.commit()
        return merge


async def unmerge_clients(cmd: commands.UnmergeClients, uow: ClientUnitOfWork) -> ClientMerge:
    async with uow:
        merge = await uow.merges.get(cmd.tenant_id, cmd.merge_id, lock=True)
        if merge is None:
            raise NotFound("merge not found")
        ids = [merge.survivor_id, *merge.merged_ids]
        found = {c.id: c for c in await uow.clients.get_many(cmd.tenant_id, ids, lock="update")}
        merge.unmerge(
            survivor=found[merge.survivor_id],
            restored=[found[i] for i in merge.merged_ids if i in found],
            now=cmd.now,
        )
        await uow.merges.undone(merge)
        # The restored clients count against the plan again.
        await uow.quota.change(cmd.tenant_id, len(merge.merged_ids), max_clients=cmd.max_clients or None)
        await uow.commit()
        return merge


async def get_merge(cmd: commands.GetClientMerge, uow: ClientUnitOfWork) -> ClientMerge:
    async with uow:
        merge = await uow.merges.get(cmd.tenant_id, cmd.merge_id)
        if merge is None:
            raise NotFound("merge not found")
        return merge


async def list_merges(cmd: commands.ListClientMerges, uow: ClientUnitOfWork) -> list[ClientMerge]:
    """The merges a client took part in, as survivor or merged, newest first."""
    async with uow:
        return await uow.merges.involving(cmd.tenant_id, [cmd.client_id])
