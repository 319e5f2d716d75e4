"""Merging duplicates and undoing it, over gRPC against real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import events_pb2
from atrium.common.v1 import events_pb2 as envelope_pb2
from client_svc.config import ClientSettings
from platform_core.db import create_engine
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.errors import from_rpc_error

from .stubs import ClientStubs


def owner(tenant: uuid.UUID) -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))


@pytest.fixture
def stub(client_channel: grpc.aio.Channel) -> ClientStubs:
    return ClientStubs(client_channel)


@pytest.fixture
async def db(client_settings: ClientSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(client_settings.database_url("client"), pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def refused(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await call
    error = from_rpc_error(exc.value)
    return error.code, error.reason


async def notes_of(stub: ClientStubs, client_id: str) -> list[str]:
    reply = await stub.ListClientNotes(pb.ListClientNotesRequest(client_id=client_id))
    return sorted(n.body for n in reply.notes)


async def owners_of_notes(db: AsyncEngine, tenant: uuid.UUID) -> dict[str, str]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT r.body, n.client_id FROM client_notes n JOIN client_note_revisions r "
                "ON r.tenant_id = n.tenant_id AND r.note_id = n.id WHERE n.tenant_id = :t"
            ),
            {"t": tenant},
        )
        return {r.body: str(r.client_id) for r in rows}


async def live_count(db: AsyncEngine, tenant: uuid.UUID) -> int:
    async with db.connect() as conn:
        return int(
            await conn.scalar(text("SELECT live_clients FROM tenant_client_counts WHERE tenant_id = :t"), {"t": tenant})
        )


async def outbox_payloads(db: AsyncEngine, tenant: uuid.UUID, payload_type: Any) -> list[Any]:
    async with db.connect() as conn:
        rows = await conn.execute(text("SELECT envelope FROM outbox WHERE tenant_id = :t ORDER BY id"), {"t": tenant})
        found = []
        for row in rows:
            envelope = envelope_pb2.EventEnvelope.FromString(row.envelope)
            if envelope.event_type == payload_type.DESCRIPTOR.full_name:
                payload = payload_type()
                envelope.payload.Unpack(payload)
                found.append(payload)
        return found


async def test_a_merge_moves_every_record_to_the_survivor_and_an_unmerge_returns_each_to_its_owner(
    stub: ClientStubs, db: AsyncEngine
) -> None:
    tenant = uuid.uuid4()
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    with bind_call_context(owner(tenant)):
        survivor = await stub.CreateClient(
            pb.CreateClientRequest(first_name="Ada", last_name="Lovelace", email="ada@old.example")
        )
        duplicate = await stub.CreateClient(
            pb.CreateClientRequest(
                first_name="ada",
                last_name="lovelace",
                email="ada@new.example",
                phone="+12125550142",
                profile=pb.ClientProfile(address=pb.PostalAddress(line1="1 Main St", city="Springfield")),
            )
        )
        await stub.SetClientTags(pb.SetClientTagsRequest(id=survivor.id, tags=["VIP"]))
        await stub.SetClientTags(pb.SetClientTagsRequest(id=duplicate.id, tags=["vip", "Regular"]))
        await stub.SetClientStaff(pb.SetClientStaffRequest(id=survivor.id, staff_ids=[alice]))
        await stub.SetClientStaff(pb.SetClientStaffRequest(id=duplicate.id, staff_ids=[alice, bob]))
        await stub.AddClientNote(pb.AddClientNoteRequest(client_id=survivor.id, body="survivor's note"))
        note = await stub.AddClientNote(pb.AddClientNoteRequest(client_id=duplicate.id, body="duplicate's note"))
        await stub.EditClientNote(
            pb.EditClientNoteRequest(client_id=duplicate.id, note_id=note.id, body="duplicate's note, edited")
        )
        both = await stub.CreateClientGroup(pb.CreateClientGroupRequest(name="Both"))
        only_dup = await stub.CreateClientGroup(pb.CreateClientGroupRequest(name="Only the duplicate"))
        await stub.AddClientsToGroup(pb.GroupMembersRequest(group_id=both.id, client_ids=[survivor.id, duplicate.id]))
        await stub.AddClientsToGroup(pb.GroupMembersRequest(group_id=only_dup.id, client_ids=[duplicate.id]))
        assert await live_count(db, tenant) == 2

        merge = await stub.MergeClients(
            pb.MergeClientsRequest(
                survivor_id=survivor.id, merged_ids=[duplicate.id], field_choices={"email": duplicate.id}
            )
        )
        merged = merge.survivor
        # Chosen: the duplicate's email; empty on the survivor: the duplicate's phone and address.
        assert (merged.first_name, merged.email, merged.phone) == ("Ada", "ada@new.example", "+12125550142")
        assert merged.profile.address.line1 == "1 Main St"
        assert dict(merge.fields_taken) == {"email": duplicate.id, "phone": duplicate.id, "address": duplicate.id}
        assert list(merged.tags) == ["Regular", "VIP"]  # "vip" was the survivor's already: it stays with its owner
        assert sorted(merged.assigned_staff_ids) == sorted([alice, bob])
        assert dict(merge.moved) == {
            "client_notes": 1,
            "client_tags": 1,
            "client_group_members": 1,
            "client_staff_assignments": 1,
        }
        assert merge.undoable and not merge.HasField("unmerged_at")
        assert await notes_of(stub, survivor.id) == ["duplicate's note, edited", "survivor's note"]
        history = await stub.GetClientNoteHistory(
            pb.GetClientNoteHistoryRequest(client_id=survivor.id, note_id=note.id)
        )
        assert len(history.revisions) == 2
        groups = {g.name: g.member_count for g in (await stub.ListClientGroups(pb.ListClientGroupsRequest())).groups}
        assert groups == {"Both": 1, "Only the duplicate": 1}
        in_group = await stub.ListClients(pb.ListClientsRequest(group_id=only_dup.id))
        assert [c.id for c in in_group.clients] == [survivor.id]

        # The merged-away id resolves to the survivor; lists hide it; it cannot be changed.
        resolved = await stub.GetClient(pb.GetClientRequest(id=duplicate.id))
        assert (resolved.id, resolved.merged_from) == (survivor.id, duplicate.id)
        assert (await stub.GetClient(pb.GetClientRequest(id=survivor.id))).merged_from == ""
        assert [c.id for c in (await stub.ListClients(pb.ListClientsRequest())).clients] == [survivor.id]
        assert [c.id for c in (await stub.ListClients(pb.ListClientsRequest(include_deleted=True))).clients] == [
            survivor.id
        ]
        assert await notes_of(stub, duplicate.id) == await notes_of(stub, survivor.id)
        for call in (
            stub.UpdateClient(pb.UpdateClientRequest(id=duplicate.id, first_name="X")),
            stub.AddClientNote(pb.AddClientNoteRequest(client_id=duplicate.id, body="late")),
            stub.DeleteClient(pb.DeleteClientRequest(id=duplicate.id)),
        ):
            assert await refused(call) == (grpc.StatusCode.FAILED_PRECONDITION, "CLIENT_MERGED")
        assert await live_count(db, tenant) == 1

        # After the merge: a note on the survivor, and a field changed by hand.
        await stub.AddClientNote(pb.AddClientNoteRequest(client_id=survivor.id, body="added after the merge"))
        await stub.UpdateClient(pb.UpdateClientRequest(id=survivor.id, phone="+12125550199"))
        listed = await stub.ListClientMerges(pb.ListClientMergesRequest(client_id=duplicate.id))
        assert [m.id for m in listed.merges] == [merge.id]

        undone = await stub.UnmergeClients(pb.UnmergeClientsRequest(merge_id=merge.id))
        assert undone.HasField("unmerged_at") and not undone.undoable
        back = undone.survivor
        assert back.email == "ada@old.example"  # restored
        assert back.phone == "+12125550199"  # changed since the merge: the newer value stays
        assert back.profile.address.line1 == ""
        assert list(back.tags) == ["VIP"] and list(back.assigned_staff_ids) == [alice]
        restored = await stub.GetClient(pb.GetClientRequest(id=duplicate.id))
        assert (restored.id, restored.merged_from) == (duplicate.id, "")
        assert (list(restored.tags), sorted(restored.assigned_staff_ids)) == (["Regular", "vip"], sorted([alice, bob]))
        assert await owners_of_notes(db, tenant) == {
            "survivor's note": survivor.id,
            "duplicate's note": duplicate.id,
            "duplicate's note, edited": duplicate.id,
            "added after the merge": survivor.id,
        }
        groups = {g.name: g.member_count for g in (await stub.ListClientGroups(pb.ListClientGroupsRequest())).groups}
        assert groups == {"Both": 2, "Only the duplicate": 1}
        in_group = await stub.ListClients(pb.ListClientsRequest(group_id=only_dup.id))
        assert [c.id for c in in_group.clients] == [duplicate.id]
        assert await live_count(db, tenant) == 2
        assert await refused(stub.UnmergeClients(pb.UnmergeClientsRequest(merge_id=merge.id))) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "MERGE_ALREADY_UNDONE",
        )

    [merged_event] = await outbox_payloads(db, tenant, events_pb2.ClientsMerged)
    assert (merged_event.merge_id, merged_event.survivor_id, list(merged_event.merged_ids)) == (
        merge.id,
        survivor.id,
        [duplicate.id],
    )
    [unmerged_event] = await outbox_payloads(db, tenant, events_pb2.ClientsUnmerged)
    assert (unmerged_event.merge_id, list(unmerged_event.restored_ids)) == (merge.id, [duplicate.id])


async def test_a_merge_can_be_undone_for_thirty_days_only(stub: ClientStubs, db: AsyncEngine) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(owner(tenant)):
        a = await stub.CreateClient(pb.CreateClientRequest(first_name="A"))
        b = await stub.CreateClient(pb.CreateClientRequest(first_name="B"))
        merge = await stub.MergeClients(pb.MergeClientsRequest(survivor_id=a.id, merged_ids=[b.id]))
        assert merge.undo_until.ToSeconds() - merge.merged_at.ToSeconds() == 30 * 24 * 3600
        async with db.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE client_merges SET merged_at = merged_at - interval '31 days', "
                    "undo_until = undo_until - interval '31 days' WHERE tenant_id = :t AND id = :id"
                ),
                {"t": tenant, "id": uuid.UUID(merge.id)},
            )
        assert not (await stub.GetClientMerge(pb.GetClientMergeRequest(merge_id=merge.id))).undoable
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.UnmergeClients(pb.UnmergeClientsRequest(merge_id=merge.id))
        assert (exc.value.code(), from_rpc_error(exc.value).reason) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "MERGE_UNDO_EXPIRED",
        )
        assert "30 days" in exc.value.details()
        assert (await stub.GetClient(pb.GetClientRequest(id=b.id))).merged_from == b.id  # still merged


async def test_an_unmerge_over_the_plan_limit_is_refused_and_changes_nothing(
    stub: ClientStubs, db: AsyncEngine
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(owner(tenant)):
        a = await stub.CreateClient(pb.CreateClientRequest(first_name="A", max_clients=2))
        b = await stub.CreateClient(pb.CreateClientRequest(first_name="B", max_clients=2))
        merge = await stub.MergeClients(pb.MergeClientsRequest(survivor_id=a.id, merged_ids=[b.id]))
        await stub.CreateClient(pb.CreateClientRequest(first_name="C", max_clients=2))  # the room the merge made
        assert await refused(stub.UnmergeClients(pb.UnmergeClientsRequest(merge_id=merge.id, max_clients=2))) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "PLAN_CLIENT_LIMIT",
        )
        assert (await stub.GetClient(pb.GetClientRequest(id=b.id))).merged_from == b.id
        assert await live_count(db, tenant) == 2
        await stub.UnmergeClients(pb.UnmergeClientsRequest(merge_id=merge.id, max_clients=3))
        assert await live_count(db, tenant) == 3


async def test_merges_refuse_what_cannot_be_merged(stub: ClientStubs) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(owner(uuid.uuid4())):
        stranger = await stub.CreateClient(pb.CreateClientRequest(first_name="Stranger"))
    with bind_call_context(owner(tenant)):
        a = await stub.CreateClient(pb.CreateClientRequest(first_name="A"))
        b = await stub.CreateClient(pb.CreateClientRequest(first_name="B"))
        gone = await stub.CreateClient(pb.CreateClientRequest(first_name="Gone"))
        await stub.DeleteClient(pb.DeleteClientRequest(id=gone.id))

        async def fields(request: pb.MergeClientsRequest) -> set[str]:
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await stub.MergeClients(request)
            error = from_rpc_error(exc.value)
            assert error.code == grpc.StatusCode.INVALID_ARGUMENT, error
            return {v.field for v in error.violations}

        assert await fields(pb.MergeClientsRequest(survivor_id=a.id)) == {"merged_ids"}
        assert await fields(pb.MergeClientsRequest(survivor_id=a.id, merged_ids=[a.id])) == {"merged_ids"}
        assert await fields(pb.MergeClientsRequest(survivor_id=a.id, merged_ids=[b.id, b.id])) == {"merged_ids"}
        assert await fields(pb.MergeClientsRequest(survivor_id=a.id, merged_ids=[stranger.id])) == {"merged_ids"}
        assert await fields(pb.MergeClientsRequest(survivor_id=a.id, merged_ids=["nope"])) == {"merged_ids"}
        assert await fields(pb.MergeClientsRequest(merged_ids=[b.id])) == {"survivor_id"}
        assert await fields(
            pb.MergeClientsRequest(survivor_id=a.id, merged_ids=[b.id], field_choices={"shoe_size": b.id})
        ) == {"field_choices.shoe_size"}
        assert await fields(
            pb.MergeClientsRequest(survivor_id=a.id, merged_ids=[b.id], field_choices={"email": stranger.id})
        ) == {"field_choices.email"}
        assert await refused(stub.MergeClients(pb.MergeClientsRequest(survivor_id=a.id, merged_ids=[gone.id]))) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "CLIENT_DELETED",
        )
        # Nothing of the refused attempts happened.
        assert sorted(c.id for c in (await stub.ListClients(pb.ListClientsRequest())).clients) == sorted([a.id, b.id])
        assert await refused(stub.UnmergeClients(pb.UnmergeClientsRequest(merge_id=str(uuid.uuid4())))) == (
            grpc.StatusCode.NOT_FOUND,
            "NOT_FOUND",
        )


async def test_chained_merges_resolve_to_the_last_survivor_and_undo_in_reverse(
    stub: ClientStubs,
) -> None:
    with bind_call_context(owner(uuid.uuid4())):
        a, b, c = [await stub.CreateClient(pb.CreateClientRequest(first_name=n)) for n in ("A", "B", "C")]
        await stub.AddClientNote(pb.AddClientNoteRequest(client_id=a.id, body="a's"))
        first = await stub.MergeClients(pb.MergeClientsRequest(survivor_id=b.id, merged_ids=[a.id]))
        second = await stub.MergeClients(pb.MergeClientsRequest(survivor_id=c.id, merged_ids=[b.id]))
        resolved = await stub.GetClient(pb.GetClientRequest(id=a.id))
        assert (resolved.id, resolved.merged_from) == (c.id, a.id)
        assert await notes_of(stub, c.id) == ["a's"]
        assert await refused(stub.UnmergeClients(pb.UnmergeClientsRequest(merge_id=first.id))) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "MERGE_SUPERSEDED",
        )
        await stub.UnmergeClients(pb.UnmergeClientsRequest(merge_id=second.id))
        assert await notes_of(stub, b.id) == ["a's"]
        await stub.UnmergeClients(pb.UnmergeClientsRequest(merge_id=first.id))
        assert (await notes_of(stub, a.id), await notes_of(stub, b.id), await notes_of(stub, c.id)) == (["a's"], [], [])


async def test_notes_written_while_a_merge_runs_never_stay_behind_on_the_merged_client(
    stub: ClientStubs, db: AsyncEngine
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(owner(tenant)):
        survivor = await stub.CreateClient(pb.CreateClientRequest(first_name="S"))
        duplicate = await stub.CreateClient(pb.CreateClientRequest(first_name="D"))
        writes = [stub.AddClientNote(pb.AddClientNoteRequest(client_id=duplicate.id, body=f"n{i}")) for i in range(6)]
        results = await asyncio.gather(
            *writes[:3],
            stub.MergeClients(pb.MergeClientsRequest(survivor_id=survivor.id, merged_ids=[duplicate.id])),
            *writes[3:],
            return_exceptions=True,
        )
    written = {r.body for r in results if isinstance(r, pb.ClientNote)}
    refusals = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert all(from_rpc_error(e).reason == "CLIENT_MERGED" for e in refusals)
    owners = await owners_of_notes(db, tenant)
    assert set(owners) == written  # every note written exists ...
    assert set(owners.values()) <= {survivor.id}  # ... and is the survivor's
