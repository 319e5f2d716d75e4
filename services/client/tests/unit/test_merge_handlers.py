"""Merge, unmerge and erase use cases with fakes: what they commit, count and publish."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from client_svc.domain import commands
from client_svc.domain.commands_merges import (
    EraseClient,
    GetClientMerge,
    ListClientMerges,
    MergeClients,
    UnmergeClients,
)
from client_svc.domain.erasure import ClientErased
from client_svc.domain.merge import ClientsMerged, ClientsUnmerged, OwnedRow
from client_svc.service_layer import erasure_handlers, handlers, merge_handlers
from platform_core.errors import FailedPrecondition, InvalidArgument, NotFound

TENANT = uuid.uuid4()
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


async def create(uow: Any, name: str) -> uuid.UUID:
    created = await handlers.create_client(commands.CreateClient(tenant_id=TENANT, first_name=name, now=NOW), uow)
    return created.client.id


async def test_merge_then_unmerge_counts_live_clients_and_publishes_both_events(uow: Any) -> None:
    survivor, duplicate = await create(uow, "S"), await create(uow, "D")
    uow.merges.rows = [OwnedRow("client_notes", "n1", duplicate)]
    merge = await merge_handlers.merge_clients(
        MergeClients(TENANT, survivor, (duplicate,), merged_by="staff-1", now=NOW), uow
    )
    assert uow.quota.live[TENANT] == 1
    assert [m.key for m in merge.moves] == ["n1"]
    assert [type(e) for e in uow.published[-1:]] == [ClientsMerged]

    await merge_handlers.unmerge_clients(UnmergeClients(TENANT, merge.id, now=NOW), uow)
    assert uow.quota.live[TENANT] == 2
    assert uow.merges.undone_ids == [merge.id]
    assert isinstance(uow.published[-1], ClientsUnmerged)
    assert (await merge_handlers.get_merge(GetClientMerge(TENANT, merge.id), uow)).unmerged_at is not None
    assert [m.id for m in await merge_handlers.list_merges(ListClientMerges(TENANT, duplicate), uow)] == [merge.id]


async def test_unknown_clients_are_named_by_field_and_nothing_is_committed(uow: Any) -> None:
    survivor = await create(uow, "S")
    uow.committed = False
    with pytest.raises(InvalidArgument) as exc:
        await merge_handlers.merge_clients(
            MergeClients(TENANT, uuid.uuid4(), (survivor, uuid.uuid4()), "staff-1", now=NOW), uow
        )
    assert sorted(v.field for v in exc.value.violations) == ["merged_ids", "survivor_id"]
    assert not uow.committed
    with pytest.raises(NotFound):
        await merge_handlers.unmerge_clients(UnmergeClients(TENANT, uuid.uuid4(), now=NOW), uow)


async def test_erasing_a_survivor_erases_the_absorbed_client_once_and_counts_it_out(uow: Any) -> None:
    survivor, duplicate = await create(uow, "S"), await create(uow, "D")
    merge = await merge_handlers.merge_clients(MergeClients(TENANT, survivor, (duplicate,), "staff-1", now=NOW), uow)
    with pytest.raises(InvalidArgument):
        await erasure_handlers.erase_client(EraseClient(TENANT, survivor, confirm=False, now=NOW), uow)
    with pytest.raises(FailedPrecondition):
        await erasure_handlers.erase_client(EraseClient(TENANT, duplicate, confirm=True, now=NOW), uow)

    published = len(uow.published)
    await erasure_handlers.erase_client(EraseClient(TENANT, survivor, confirm=True, now=NOW), uow)
    erased = [e.client_id for e in uow.published[published:] if isinstance(e, ClientErased)]
    assert sorted(erased) == sorted([survivor, duplicate])
    assert sorted(uow.erasure.deleted_for) == sorted([survivor, duplicate])
    assert uow.quota.live[TENANT] == 0
    assert merge.purged_at is not None

    published = len(uow.published)
    await erasure_handlers.erase_client(EraseClient(TENANT, survivor, confirm=True, now=NOW), uow)
    assert len(uow.published) == published and uow.quota.live[TENANT] == 0
