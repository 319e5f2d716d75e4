"""Merge, unmerge and erase use cases with fakes: what they commit, count and publish."""

import uuid
from typing import Any

import pytest

from client_svc.adapters.erasure_repository import AbstractErasureRepository
from client_svc.adapters.merge_repository import AbstractMergeRepository
from client_svc.domain import commands
from client_svc.domain.erasure import ClientErased, EraseClient
from client_svc.domain.merge import ClientMerge, ClientsMerged, ClientsUnmerged, MergeClients, OwnedRow, UnmergeClients
from client_svc.service_layer import erasing, handlers, merging
from platform_core.errors import FailedPrecondition, InvalidArgument, NotFound

TENANT = uuid.uuid4()


class FakeMergeRepository(AbstractMergeRepository):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[OwnedRow] = []
        self.journals: dict[uuid.UUID, ClientMerge] = {}
        self.undone_ids: list[uuid.UUID] = []

    async def owned_rows(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> list[OwnedRow]:
        return [r for r in self.rows if r.owner in client_ids]

    async def _add(self, merge: ClientMerge) -> None:
        self.journals[merge.id] = merge

    async def _get(self, tenant_id: uuid.UUID, merge_id: uuid.UUID, *, lock: bool) -> ClientMerge | None:
        return self.journals.get(merge_id)

    async def undone(self, merge: ClientMerge) -> None:
        self.undone_ids.append(merge.id)

    async def involving(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> list[ClientMerge]:
        return [m for m in self.journals.values() if m.survivor_id in client_ids or set(m.merged_ids) & set(client_ids)]

    async def purged(self, merges: list[ClientMerge]) -> None:
        pass


class FakeErasureRepository(AbstractErasureRepository):
    def __init__(self, uow: Any) -> None:
        self.uow = uow
        self.deleted_for: list[uuid.UUID] = []

    async def absorbed_ids(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[uuid.UUID]:
        return [c.id for c in self.uow.clients.rows.values() if c.merged_into == client_id]

    async def delete_records(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> None:
        self.deleted_for += client_ids


@pytest.fixture
def muow(uow: Any) -> Any:
    uow.merges = FakeMergeRepository()
    uow.erasure = FakeErasureRepository(uow)
    uow.repositories = (uow.clients, uow.merges)
    return uow


async def create(uow: Any, name: str) -> uuid.UUID:
    created = await handlers.create_client(commands.CreateClient(tenant_id=TENANT, first_name=name), uow)
    return created.client.id


async def test_merge_then_unmerge_counts_live_clients_and_publishes_both_events(muow: Any) -> None:
    survivor, duplicate = await create(muow, "S"), await create(muow, "D")
    muow.merges.rows = [OwnedRow("client_notes", "n1", duplicate)]
    merge = await merging.merge_clients(MergeClients(TENANT, survivor, (duplicate,), merged_by="staff-1"), muow)
    assert muow.quota.live[TENANT] == 1
    assert [m.key for m in merge.moves] == ["n1"]
    assert [type(e) for e in muow.published[-1:]] == [ClientsMerged]

    await merging.unmerge_clients(UnmergeClients(TENANT, merge.id), muow)
    assert muow.quota.live[TENANT] == 2
    assert muow.merges.undone_ids == [merge.id]
    assert isinstance(muow.published[-1], ClientsUnmerged)
    assert (await merging.get_merge(TENANT, merge.id, muow)).unmerged_at is not None
    assert [m.id for m in await merging.merges_of(TENANT, duplicate, muow)] == [merge.id]


async def test_unknown_clients_are_named_by_field_and_nothing_is_committed(muow: Any) -> None:
    survivor = await create(muow, "S")
    muow.committed = False
    with pytest.raises(InvalidArgument) as exc:
        await merging.merge_clients(MergeClients(TENANT, uuid.uuid4(), (survivor, uuid.uuid4()), "staff-1"), muow)
    assert sorted(v.field for v in exc.value.violations) == ["merged_ids", "survivor_id"]
    assert not muow.committed
    with pytest.raises(NotFound):
        await merging.unmerge_clients(UnmergeClients(TENANT, uuid.uuid4()), muow)


async def test_erasing_a_survivor_erases_the_absorbed_client_once_and_counts_it_out(muow: Any) -> None:
    survivor, duplicate = await create(muow, "S"), await create(muow, "D")
    merge = await merging.merge_clients(MergeClients(TENANT, survivor, (duplicate,), "staff-1"), muow)
    with pytest.raises(InvalidArgument):
        await erasing.erase_client(EraseClient(TENANT, survivor, confirm=False), muow)
    with pytest.raises(FailedPrecondition):
        await erasing.erase_client(EraseClient(TENANT, duplicate, confirm=True), muow)

    published = len(muow.published)
    await erasing.erase_client(EraseClient(TENANT, survivor, confirm=True), muow)
    erased = [e.client_id for e in muow.published[published:] if isinstance(e, ClientErased)]
    assert sorted(erased) == sorted([survivor, duplicate])
    assert sorted(muow.erasure.deleted_for) == sorted([survivor, duplicate])
    assert muow.quota.live[TENANT] == 0
    assert merge.purged_at is not None

    published = len(muow.published)
    await erasing.erase_client(EraseClient(TENANT, survivor, confirm=True), muow)
    assert len(muow.published) == published and muow.quota.live[TENANT] == 0
