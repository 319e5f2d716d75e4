"""Erasing a client's personal data, over gRPC against real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import events_pb2
from atrium.common.v1 import types_pb2
from client_svc.config import ClientSettings
from platform_core.db import create_engine
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.errors import from_rpc_error

from .stubs import ClientStubs
from .test_merge_grpc import live_count, outbox_payloads, refused


def staff(tenant: uuid.UUID, role: str = "owner") -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), role))


@pytest.fixture
def stub(client_channel: grpc.aio.Channel) -> ClientStubs:
    return ClientStubs(client_channel)


@pytest.fixture
async def db(client_settings: ClientSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(client_settings.database_url("client"), pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def counts(db: AsyncEngine, tenant: uuid.UUID, client_ids: list[str]) -> dict[str, int]:
    ids = [uuid.UUID(i) for i in client_ids]
    queries = {
        "notes": "SELECT count(*) FROM client_notes WHERE tenant_id = :t AND client_id = ANY(:ids)",
        "revisions": "SELECT count(*) FROM client_note_revisions r WHERE r.tenant_id = :t AND r.note_id = ANY(:notes)",
        "tags": "SELECT count(*) FROM client_tags WHERE tenant_id = :t AND client_id = ANY(:ids)",
        "staff": "SELECT count(*) FROM client_staff_assignments WHERE tenant_id = :t AND client_id = ANY(:ids)",
        "groups": "SELECT count(*) FROM client_group_members WHERE tenant_id = :t AND client_id = ANY(:ids)",
        "search_words": "SELECT count(*) FROM client_name_words WHERE tenant_id = :t AND client_id = ANY(:ids)",
    }
    async with db.connect() as conn:
        notes = [
            r.id
            for r in await conn.execute(
                text("SELECT id FROM client_notes WHERE tenant_id = :t AND client_id = ANY(:ids)"),
                {"t": tenant, "ids": ids},
            )
        ]
        return {
            name: int(await conn.scalar(text(sql), {"t": tenant, "ids": ids, "notes": notes}))
            for name, sql in queries.items()
        }


async def test_erasure_blanks_the_person_keeps_the_record_and_happens_once(stub: ClientStubs, db: AsyncEngine) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        client = await stub.CreateClient(
            pb.CreateClientRequest(
                first_name="Grace",
                last_name="Hopper",
                email="grace@example.com",
                phone="+12125550142",
                profile=pb.ClientProfile(
                    kind="business",
                    company_name="Hopper Compilers",
                    address=pb.PostalAddress(line1="1 Navy Yard", city="Arlington", country="US"),
                    date_of_birth="1906-12-09",
                    preferred_language="en",
                    timezone="America/New_York",
                    opening_balance=types_pb2.Money(amount_minor=-2500, currency="USD"),
                ),
            )
        )
        note = await stub.AddClientNote(pb.AddClientNoteRequest(client_id=client.id, body="Allergic to latex"))
        await stub.EditClientNote(pb.EditClientNoteRequest(client_id=client.id, note_id=note.id, body="Allergic"))
        await stub.SetClientTags(pb.SetClientTagsRequest(id=client.id, tags=["VIP"]))
        await stub.SetClientStaff(pb.SetClientStaffRequest(id=client.id, staff_ids=[str(uuid.uuid4())]))
        group = await stub.CreateClientGroup(pb.CreateClientGroupRequest(name="Navy"))
        await stub.AddClientsToGroup(pb.GroupMembersRequest(group_id=group.id, client_ids=[client.id]))
        before = await counts(db, tenant, [client.id])
        assert all(before.values()), before
        assert await live_count(db, tenant) == 1

        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.EraseClient(pb.EraseClientRequest(id=client.id))
        assert [v.field for v in from_rpc_error(exc.value).violations] == ["confirm"]
    with bind_call_context(staff(tenant, role="staff")):
        assert (await refused(stub.EraseClient(pb.EraseClientRequest(id=client.id, confirm=True))))[0] == (
            grpc.StatusCode.PERMISSION_DENIED
        )
    with bind_call_context(staff(uuid.uuid4())):
        assert (await refused(stub.EraseClient(pb.EraseClientRequest(id=client.id, confirm=True))))[0] == (
            grpc.StatusCode.NOT_FOUND
        )

    with bind_call_context(staff(tenant, role="admin")):
        erased = await stub.EraseClient(pb.EraseClientRequest(id=client.id, confirm=True))
        assert (erased.id, erased.first_name, erased.last_name, erased.email, erased.phone) == (
            client.id,
            "Erased client",
            "",
            "",
            "",
        )
        assert erased.HasField("erased_at") and erased.HasField("deleted_at")
        profile = erased.profile
        assert (profile.kind, profile.company_name, profile.address.line1, profile.date_of_birth) == (
            "individual",
            "",
            "",
            "",
        )
        assert (profile.preferred_language, profile.timezone) == ("", "")
        assert (list(erased.tags), list(erased.assigned_staff_ids)) == ([], [])
        # Not personal, or kept as the law requires: status, source, invoicing method, opening balance.
        assert erased.status_id == client.status_id
        assert (profile.source, profile.default_invoicing_method) == (client.profile.source, "email")
        assert (profile.opening_balance.amount_minor, profile.opening_balance.currency) == (-2500, "USD")
        assert await counts(db, tenant, [client.id]) == dict.fromkeys(before, 0)
        assert not (await stub.ListClientNotes(pb.ListClientNotesRequest(client_id=client.id))).notes
        assert not (await stub.ListClients(pb.ListClientsRequest(query="Grace"))).clients
        assert not (await stub.ListClients(pb.ListClientsRequest(query="Erased"))).clients
        assert [c.id for c in (await stub.ListClients(pb.ListClientsRequest(include_deleted=True))).clients] == [
            client.id
        ]
        assert await live_count(db, tenant) == 0

        again = await stub.EraseClient(pb.EraseClientRequest(id=client.id, confirm=True))
        assert again == erased  # a no-op: nothing changed, no second event
        assert [e.client_id for e in await outbox_payloads(db, tenant, events_pb2.ClientErased)] == [client.id]
        assert await live_count(db, tenant) == 0

        other = await stub.CreateClient(pb.CreateClientRequest(first_name="Other"))
        for call in (
            stub.UpdateClient(pb.UpdateClientRequest(id=client.id, first_name="Grace")),
            stub.RestoreClient(pb.RestoreClientRequest(id=client.id)),
            stub.AddClientNote(pb.AddClientNoteRequest(client_id=client.id, body="x")),
            stub.MergeClients(pb.MergeClientsRequest(survivor_id=other.id, merged_ids=[client.id])),
            stub.MergeClients(pb.MergeClientsRequest(survivor_id=client.id, merged_ids=[other.id])),
        ):
            assert await refused(call) == (grpc.StatusCode.FAILED_PRECONDITION, "CLIENT_ERASED")


async def test_erasing_a_survivor_erases_what_was_merged_into_it_and_its_merge_cannot_be_undone(
    stub: ClientStubs, db: AsyncEngine
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        survivor = await stub.CreateClient(pb.CreateClientRequest(first_name="Ada", email="ada@example.com"))
        duplicate = await stub.CreateClient(pb.CreateClientRequest(first_name="Ada", phone="+12125550142"))
        await stub.SetClientTags(pb.SetClientTagsRequest(id=survivor.id, tags=["VIP"]))
        await stub.SetClientTags(pb.SetClientTagsRequest(id=duplicate.id, tags=["VIP"]))  # stays with the duplicate
        merge = await stub.MergeClients(pb.MergeClientsRequest(survivor_id=survivor.id, merged_ids=[duplicate.id]))

        assert await refused(stub.EraseClient(pb.EraseClientRequest(id=duplicate.id, confirm=True))) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "CLIENT_MERGED",
        )
        await stub.EraseClient(pb.EraseClientRequest(id=survivor.id, confirm=True))
        assert await counts(db, tenant, [survivor.id, duplicate.id]) == {
            "notes": 0,
            "revisions": 0,
            "tags": 0,
            "staff": 0,
            "groups": 0,
            "search_words": 0,
        }
        async with db.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT first_name, phone, erased_at FROM clients WHERE tenant_id = :t"), {"t": tenant}
                )
            ).all()
            journal = (
                await conn.execute(
                    text("SELECT survivor_before, survivor_after, purged_at FROM client_merges WHERE tenant_id = :t"),
                    {"t": tenant},
                )
            ).one()
        assert {(r.first_name, r.phone) for r in rows} == {("Erased client", None)}
        assert all(r.erased_at for r in rows)
        assert (journal.survivor_before, journal.survivor_after) == ({}, {}) and journal.purged_at
        merge_now = await stub.GetClientMerge(pb.GetClientMergeRequest(merge_id=merge.id))
        assert not merge_now.undoable
        assert await refused(stub.UnmergeClients(pb.UnmergeClientsRequest(merge_id=merge.id))) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "CLIENT_ERASED",
        )
        erased_ids = sorted(e.client_id for e in await outbox_payloads(db, tenant, events_pb2.ClientErased))
        assert erased_ids == sorted([survivor.id, duplicate.id])
