"""The client service over gRPC, against real PostgreSQL and NATS JetStream."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import nats
import pytest
from sqlalchemy import text

from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import events_pb2
from atrium.common.v1 import events_pb2 as envelope_pb2
from atrium.common.v1 import types_pb2
from client_svc.config import ClientSettings
from platform_core.db import create_engine
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.errors import from_rpc_error
from platform_core.messaging.envelope import stream_name

from .stubs import SERVICE_NAMES, ClientStubs


def staff(tenant: uuid.UUID) -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))


@pytest.fixture
def stub(client_channel: grpc.aio.Channel) -> ClientStubs:
    return ClientStubs(client_channel)


async def test_create_then_get_and_list(stub: ClientStubs) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        created = await stub.CreateClient(
            pb.CreateClientRequest(first_name="Ada", last_name="Lovelace", phone="(212) 555-0142", default_region="US")
        )
        assert created.phone == "+12125550142"
        fetched = await stub.GetClient(pb.GetClientRequest(id=created.id))
        assert fetched == created
        listed = await stub.ListClients(pb.ListClientsRequest())
        assert [c.id for c in listed.clients] == [created.id]


async def test_a_new_tenants_first_clients_created_at_once_all_succeed(stub: ClientStubs) -> None:
    # The first use of a tenant seeds its statuses; concurrent first uses must not collide.
    with bind_call_context(staff(uuid.uuid4())):
        created = await asyncio.gather(
            *(stub.CreateClient(pb.CreateClientRequest(first_name=f"C{i}")) for i in range(8))
        )
    assert len({c.id for c in created}) == 8
    assert {c.status_label for c in created} == {"Active"}


async def test_pages_follow_each_other_newest_first_without_gaps(stub: ClientStubs) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        ids = [(await stub.CreateClient(pb.CreateClientRequest(first_name=f"C{i}"))).id for i in range(5)]
        seen: list[str] = []
        token = ""
        while True:
            page = await stub.ListClients(
                pb.ListClientsRequest(page=types_pb2.PageRequest(page_size=2, page_token=token))
            )
            seen.extend(c.id for c in page.clients)
            token = page.page.next_page_token
            if not token:
                break
    assert seen == list(reversed(ids))


async def test_another_tenants_client_is_not_found(stub: ClientStubs) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        created = await stub.CreateClient(pb.CreateClientRequest(first_name="Secret"))
    with bind_call_context(staff(uuid.uuid4())), pytest.raises(grpc.aio.AioRpcError) as exc:
        await stub.GetClient(pb.GetClientRequest(id=created.id))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_portal_principal_sees_only_its_own_client(stub: ClientStubs) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        mine = await stub.CreateClient(pb.CreateClientRequest(first_name="Me"))
        other = await stub.CreateClient(pb.CreateClientRequest(first_name="Other"))
    portal = CallContext(tenant, Principal("portal", str(uuid.uuid4()), client_id=mine.id))
    with bind_call_context(portal):
        assert (await stub.GetClient(pb.GetClientRequest(id=mine.id))).first_name == "Me"
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.GetClient(pb.GetClientRequest(id=other.id))
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.ListClients(pb.ListClientsRequest())
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_call_without_tenant_context_is_refused(stub: ClientStubs) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stub.ListClients(pb.ListClientsRequest())
    assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_invalid_input_names_every_field_and_writes_nothing(
    stub: ClientStubs, client_settings: ClientSettings
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)), pytest.raises(grpc.aio.AioRpcError) as exc:
        await stub.CreateClient(pb.CreateClientRequest(first_name="", email="nope", phone="123"))
    error = from_rpc_error(exc.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in error.violations} == {"first_name", "email", "phone"}
    engine = create_engine(client_settings.database_url("client"), pool_size=1, max_overflow=0)
    async with engine.connect() as conn:
        count = await conn.scalar(text("SELECT count(*) FROM clients WHERE tenant_id = :t"), {"t": tenant})
        outbox = await conn.scalar(text("SELECT count(*) FROM outbox WHERE tenant_id = :t"), {"t": tenant})
    await engine.dispose()
    assert (count, outbox) == (0, 0)


async def test_a_repeated_request_id_creates_one_client(stub: ClientStubs) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        request = pb.CreateClientRequest(first_name="Once", request_id="form-submit-1")
        first = await stub.CreateClient(request)
        second = await stub.CreateClient(request)
        listed = await stub.ListClients(pb.ListClientsRequest())
    assert first.id == second.id
    assert len(listed.clients) == 1


async def test_client_created_reaches_jetstream_once_with_its_envelope(
    stub: ClientStubs, client_settings: ClientSettings
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        created = await stub.CreateClient(
            pb.CreateClientRequest(
                first_name="Evented",
                email="e@example.com",
                profile=pb.ClientProfile(preferred_language="de", timezone="Europe/Berlin"),
            )
        )
    nc = await nats.connect(client_settings.nats_url)
    try:
        js = nc.jetstream()
        subject = f"{client_settings.nats_prefix}.client.v1.ClientCreated"
        sub = await js.pull_subscribe(subject, stream=stream_name(client_settings.nats_prefix, "client"))
        found = None
        while found is None:
            for msg in await sub.fetch(100, timeout=5):
                await msg.ack()
                envelope = envelope_pb2.EventEnvelope.FromString(msg.data)
                if envelope.aggregate_id == created.id:
                    found = (msg, envelope)
        msg, envelope = found
        payload = events_pb2.ClientCreated()
        assert envelope.payload.Unpack(payload)
        assert (payload.first_name, payload.email) == ("Evented", "e@example.com")
        assert (payload.preferred_language, payload.timezone) == ("de", "Europe/Berlin")
        assert envelope.tenant_id == str(tenant)
        assert envelope.event_type == "atrium.client.v1.ClientCreated"
        assert uuid.UUID(envelope.event_id).version == 7
        assert msg.headers["Nats-Msg-Id"] == envelope.event_id
        # No exporter here, so no tracing is installed: nothing to carry (tests/e2e checks the trace with one).
        assert "traceparent" not in envelope.trace_context
    finally:
        await nc.close()


async def test_health_and_reflection_answer_without_tenant(client_channel: grpc.aio.Channel) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    health = health_pb2_grpc.HealthStub(client_channel)
    assert len(SERVICE_NAMES) == 6  # records, custom fields, attachments, portal, imports, merges
    for name in SERVICE_NAMES:
        reply = await health.Check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING

    reflection = reflection_pb2_grpc.ServerReflectionStub(client_channel)
    call = reflection.ServerReflectionInfo()
    await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
    response = await call.read()
    await call.done_writing()
    names = {s.name for s in response.list_services_response.service}
    assert {*SERVICE_NAMES, "grpc.health.v1.Health"} <= names


async def test_update_delete_restore_and_block_through_grpc(stub: ClientStubs) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        created = await stub.CreateClient(pb.CreateClientRequest(first_name="Ada", email="ada@example.com"))
        updated = await stub.UpdateClient(pb.UpdateClientRequest(id=created.id, last_name="Lovelace", email=""))
        assert (updated.last_name, updated.email, updated.first_name) == ("Lovelace", "", "Ada")
        assert updated.version == created.version + 1

        blocked = await stub.SetOnlineBookingBlocked(
            pb.SetOnlineBookingBlockedRequest(id=created.id, blocked=True, reason="no-shows")
        )
        assert blocked.online_booking_blocked

        deleted = await stub.DeleteClient(pb.DeleteClientRequest(id=created.id))
        assert deleted.HasField("deleted_at")
        assert created.id not in [c.id for c in (await stub.ListClients(pb.ListClientsRequest())).clients]
        listed = await stub.ListClients(pb.ListClientsRequest(include_deleted=True))
        assert created.id in [c.id for c in listed.clients]
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.UpdateClient(pb.UpdateClientRequest(id=created.id, first_name="Nope"))
        assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION

        restored = await stub.RestoreClient(pb.RestoreClientRequest(id=created.id))
        assert not restored.HasField("deleted_at")
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.UpdateClient(pb.UpdateClientRequest(id=str(uuid.uuid4()), first_name="Ghost"))
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND


async def test_concurrent_updates_never_overwrite_each_other_silently(stub: ClientStubs) -> None:
    import asyncio

    with bind_call_context(staff(uuid.uuid4())):
        created = await stub.CreateClient(pb.CreateClientRequest(first_name="Race"))
        results = await asyncio.gather(
            *(stub.UpdateClient(pb.UpdateClientRequest(id=created.id, last_name=f"L{i}")) for i in range(8)),
            return_exceptions=True,
        )
        final = await stub.GetClient(pb.GetClientRequest(id=created.id))
    won = [r for r in results if isinstance(r, pb.Client)]
    lost = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert all(e.code() == grpc.StatusCode.ABORTED for e in lost)  # 409 at the gateway
    assert won and final.version == created.version + len(won)


async def test_statuses_are_per_tenant_editable_and_filter_the_list(stub: ClientStubs) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        listed = await stub.ListClientStatuses(pb.ListClientStatusesRequest())
        assert [s.label for s in listed.statuses] == ["Lead", "Active", "Inactive"]
        lead, active, _ = listed.statuses
        created = await stub.CreateClient(pb.CreateClientRequest(first_name="Ada"))
        assert (created.status_id, created.status_label) == (active.id, "Active")

        vip = await stub.CreateClientStatus(pb.CreateClientStatusRequest(label="VIP"))
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.CreateClientStatus(pb.CreateClientStatusRequest(label="vip"))
        assert exc.value.code() == grpc.StatusCode.ABORTED
        await stub.UpdateClientStatus(pb.UpdateClientStatusRequest(id=vip.id, label="V.I.P.", make_default=True))

        moved = await stub.SetClientStatus(pb.SetClientStatusRequest(id=created.id, status_id=lead.id))
        assert moved.status_label == "Lead"
        other = await stub.CreateClient(pb.CreateClientRequest(first_name="Bob"))
        assert other.status_label == "V.I.P."  # the new default
        only_lead = await stub.ListClients(pb.ListClientsRequest(status_id=lead.id))
        assert [c.id for c in only_lead.clients] == [created.id]

        await stub.ArchiveClientStatus(pb.ArchiveClientStatusRequest(id=lead.id))
        still = await stub.GetClient(pb.GetClientRequest(id=created.id))
        assert still.status_label == "Lead"  # archiving keeps the label on clients that have it
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.SetClientStatus(pb.SetClientStatusRequest(id=other.id, status_id=lead.id))
        assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION

        live_ids = [s.id for s in (await stub.ListClientStatuses(pb.ListClientStatusesRequest())).statuses]
        reordered = await stub.ReorderClientStatuses(pb.ReorderClientStatusesRequest(ids=list(reversed(live_ids))))
        assert [s.id for s in reordered.statuses] == list(reversed(live_ids))
    with bind_call_context(staff(uuid.uuid4())), pytest.raises(grpc.aio.AioRpcError) as exc:
        await stub.SetClientStatus(pb.SetClientStatusRequest(id=created.id, status_id=active.id))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND  # another tenant


async def test_notes_are_added_edited_with_history_and_listed_newest_first(stub: ClientStubs) -> None:
    tenant = uuid.uuid4()
    author = CallContext(tenant, Principal("staff", "alice", "staff"))
    colleague = CallContext(tenant, Principal("staff", "bob", "staff"))
    with bind_call_context(author):
        client = await stub.CreateClient(pb.CreateClientRequest(first_name="Noted"))
        first = await stub.AddClientNote(pb.AddClientNoteRequest(client_id=client.id, body="Allergic to latex"))
        second = await stub.AddClientNote(pb.AddClientNoteRequest(client_id=client.id, body="Pays by card"))
        edited = await stub.EditClientNote(
            pb.EditClientNoteRequest(client_id=client.id, note_id=first.id, body="Allergic to latex and nickel")
        )
        assert (edited.revision, edited.author_id) == (2, "alice")
        listed = await stub.ListClientNotes(pb.ListClientNotesRequest(client_id=client.id))
        assert [(n.id, n.body) for n in listed.notes] == [
            (second.id, "Pays by card"),
            (first.id, "Allergic to latex and nickel"),
        ]
        history = await stub.GetClientNoteHistory(pb.GetClientNoteHistoryRequest(client_id=client.id, note_id=first.id))
        assert [r.body for r in history.revisions] == ["Allergic to latex", "Allergic to latex and nickel"]
    with bind_call_context(colleague), pytest.raises(grpc.aio.AioRpcError) as exc:
        await stub.EditClientNote(pb.EditClientNoteRequest(client_id=client.id, note_id=first.id, body="Overwritten"))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with bind_call_context(staff(uuid.uuid4())), pytest.raises(grpc.aio.AioRpcError) as exc:
        await stub.ListClientNotes(pb.ListClientNotesRequest(client_id=client.id))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND


async def test_search_by_phone_in_any_format_email_prefix_and_name_prefixes(stub: ClientStubs) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        ada = await stub.CreateClient(
            pb.CreateClientRequest(
                first_name="Ada", last_name="Lovelace", email="ada@example.com", phone="2125550142", default_region="US"
            )
        )
        await stub.CreateClient(pb.CreateClientRequest(first_name="Adam", last_name="Smith", email="adam@example.org"))
        await stub.CreateClient(pb.CreateClientRequest(first_name="100%", last_name="Sure"))

        async def found(query: str) -> list[str]:
            reply = await stub.ListClients(pb.ListClientsRequest(query=query, default_region="US"))
            return [f"{c.first_name} {c.last_name}" for c in reply.clients]

        for typed in ("(212) 555-0142", "+1 212 555 0142", "2125550142"):
            assert await found(typed) == ["Ada Lovelace"], typed
        assert await found("ada@") == ["Ada Lovelace"]
        assert sorted(await found("ada")) == ["Ada Lovelace", "Adam Smith"]
        assert await found("ada love") == ["Ada Lovelace"]
        assert await found("smi") == ["Adam Smith"]
        assert await found("10") == ["100% Sure"]
        assert await found("_%") == []  # wildcards typed are literal
        assert ada.phone == "+12125550142"


async def test_staff_assignment_and_my_clients(stub: ClientStubs) -> None:
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    with bind_call_context(staff(uuid.uuid4())):
        mine = await stub.CreateClient(pb.CreateClientRequest(first_name="Mine"))
        await stub.CreateClient(pb.CreateClientRequest(first_name="Not mine"))
        assigned = await stub.SetClientStaff(pb.SetClientStaffRequest(id=mine.id, staff_ids=[alice, bob, alice]))
        assert sorted(assigned.assigned_staff_ids) == sorted([alice, bob])  # duplicates dropped
        only_alice = await stub.ListClients(pb.ListClientsRequest(assigned_staff_id=alice))
        assert [c.id for c in only_alice.clients] == [mine.id]
        reassigned = await stub.SetClientStaff(pb.SetClientStaffRequest(id=mine.id, staff_ids=[bob]))
        assert list(reassigned.assigned_staff_ids) == [bob]
        assert not (await stub.ListClients(pb.ListClientsRequest(assigned_staff_id=alice))).clients
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.SetClientStaff(pb.SetClientStaffRequest(id=mine.id, staff_ids=["nobody"]))
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_tags_are_stored_and_filter_the_list(stub: ClientStubs) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        tagged = await stub.CreateClient(pb.CreateClientRequest(first_name="Tagged"))
        await stub.CreateClient(pb.CreateClientRequest(first_name="Plain"))
        result = await stub.SetClientTags(pb.SetClientTagsRequest(id=tagged.id, tags=["VIP", "walk-in", "vip"]))
        assert list(result.tags) == ["VIP", "walk-in"]
        assert [c.id for c in (await stub.ListClients(pb.ListClientsRequest(tag="vip"))).clients] == [tagged.id]
        cleared = await stub.SetClientTags(pb.SetClientTagsRequest(id=tagged.id, tags=[]))
        assert list(cleared.tags) == []
        assert not (await stub.ListClients(pb.ListClientsRequest(tag="vip"))).clients


async def test_groups_change_in_bulk_and_filter_the_list(stub: ClientStubs) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        members = [(await stub.CreateClient(pb.CreateClientRequest(first_name=f"M{i}"))).id for i in range(3)]
        outsider = (await stub.CreateClient(pb.CreateClientRequest(first_name="Out"))).id
        group = await stub.CreateClientGroup(pb.CreateClientGroupRequest(name="  Morning   regulars "))
        assert group.name == "Morning regulars"
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.CreateClientGroup(pb.CreateClientGroupRequest(name="morning REGULARS"))
        assert exc.value.code() == grpc.StatusCode.ABORTED
        added = await stub.AddClientsToGroup(
            pb.GroupMembersRequest(group_id=group.id, client_ids=[*members, members[0]])
        )
        assert added.member_count == 3
        listed = await stub.ListClients(pb.ListClientsRequest(group_id=group.id))
        assert sorted(c.id for c in listed.clients) == sorted(members)
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.AddClientsToGroup(pb.GroupMembersRequest(group_id=group.id, client_ids=[str(uuid.uuid4())]))
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        removed = await stub.RemoveClientsFromGroup(
            pb.GroupMembersRequest(group_id=group.id, client_ids=[members[0], outsider])
        )
        assert removed.member_count == 2
        renamed = await stub.RenameClientGroup(pb.RenameClientGroupRequest(id=group.id, name="Regulars"))
        assert renamed.name == "Regulars"
        await stub.DeleteClientGroup(pb.DeleteClientGroupRequest(id=group.id))
        assert not (await stub.ListClientGroups(pb.ListClientGroupsRequest())).groups
        assert len((await stub.ListClients(pb.ListClientsRequest())).clients) == 4  # the clients stay


async def test_staff_assigned_to_a_group_are_assigned_to_its_clients(stub: ClientStubs) -> None:
    first, second, third = (str(uuid.uuid4()) for _ in range(3))
    with bind_call_context(staff(uuid.uuid4())):
        member = (await stub.CreateClient(pb.CreateClientRequest(first_name="Member"))).id
        direct = await stub.CreateClient(pb.CreateClientRequest(first_name="Direct"))
        await stub.SetClientStaff(pb.SetClientStaffRequest(id=direct.id, staff_ids=[first]))
        group = await stub.CreateClientGroup(pb.CreateClientGroupRequest(name="Regulars"))
        await stub.AddClientsToGroup(pb.GroupMembersRequest(group_id=group.id, client_ids=[member]))
        set_staff = await stub.SetClientGroupStaff(
            pb.SetClientGroupStaffRequest(group_id=group.id, staff_ids=[second, first, second])
        )
        assert list(set_staff.staff_ids) == [second, first]  # in the order assigned, once each
        again = await stub.SetClientGroupStaff(
            pb.SetClientGroupStaffRequest(group_id=group.id, staff_ids=[third, first])
        )
        assert list(again.staff_ids) == [first, third]  # the one kept keeps its place
        mine = await stub.ListClients(pb.ListClientsRequest(assigned_staff_id=first))
        assert [c.first_name for c in mine.clients] == ["Direct", "Member"]
        [through_group] = (await stub.ListClients(pb.ListClientsRequest(assigned_staff_id=third))).clients
        assert (through_group.id, list(through_group.group_staff_ids)) == (member, sorted([first, third]))
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.SetClientGroupStaff(
                pb.SetClientGroupStaffRequest(group_id=group.id, staff_ids=[str(uuid.uuid4()) for _ in range(21)])
            )
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.SetClientGroupStaff(pb.SetClientGroupStaffRequest(group_id=str(uuid.uuid4()), staff_ids=[]))
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND
        await stub.DeleteClientGroup(pb.DeleteClientGroupRequest(id=group.id))
        assert not (await stub.ListClients(pb.ListClientsRequest(assigned_staff_id=third))).clients


async def test_the_plan_limit_holds_on_create_and_restore_even_under_concurrency(
    stub: ClientStubs,
) -> None:
    import asyncio

    with bind_call_context(staff(uuid.uuid4())):
        results = await asyncio.gather(
            *(stub.CreateClient(pb.CreateClientRequest(first_name=f"C{i}", max_clients=3)) for i in range(8)),
            return_exceptions=True,
        )
        created = [r for r in results if isinstance(r, pb.Client)]
        refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
        assert len(created) == 3
        assert {e.code() for e in refused} == {grpc.StatusCode.FAILED_PRECONDITION}
        assert "plan allows 3" in refused[0].details()

        await stub.DeleteClient(pb.DeleteClientRequest(id=created[0].id))
        await stub.CreateClient(pb.CreateClientRequest(first_name="Room again", max_clients=3))
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.RestoreClient(pb.RestoreClientRequest(id=created[0].id, max_clients=3))
        assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        restored = await stub.RestoreClient(pb.RestoreClientRequest(id=created[0].id, max_clients=10))
        assert not restored.HasField("deleted_at")


async def test_clients_from_before_statuses_get_the_default_when_the_tenant_first_uses_them(
    stub: ClientStubs, client_settings: ClientSettings
) -> None:
    tenant, legacy = uuid.uuid4(), uuid.uuid4()
    engine = create_engine(client_settings.database_url("client"), pool_size=1, max_overflow=0)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO clients (tenant_id, id, first_name, created_at, updated_at) "
                "VALUES (:t, :id, 'Legacy', now(), now())"
            ),
            {"t": tenant, "id": legacy},
        )
    await engine.dispose()
    with bind_call_context(staff(tenant)):
        assert (await stub.GetClient(pb.GetClientRequest(id=str(legacy)))).status_label == ""
        await stub.ListClientStatuses(pb.ListClientStatusesRequest())
        assert (await stub.GetClient(pb.GetClientRequest(id=str(legacy)))).status_label == "Active"


async def test_likely_duplicates_come_as_scored_pairs_with_reasons(stub: ClientStubs) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        ada = await stub.CreateClient(pb.CreateClientRequest(first_name="Ada", last_name="Lovelace", email="ada@x.com"))
        again = await stub.CreateClient(
            pb.CreateClientRequest(first_name="ada", last_name="lovelace", email="ADA@x.com")
        )
        namesake = await stub.CreateClient(pb.CreateClientRequest(first_name="Ada", last_name="Lovelace"))
        await stub.CreateClient(pb.CreateClientRequest(first_name="Someone", last_name="Else"))
        reply = await stub.FindDuplicateClients(pb.FindDuplicateClientsRequest())
    found = [({p.first.id, p.second.id}, sorted(p.reasons), p.score) for p in reply.pairs]
    assert found[0][:2] == ({ada.id, again.id}, ["same_email", "same_name"])
    assert {frozenset(pair) for pair, _, _ in found} == {
        frozenset({ada.id, again.id}),
        frozenset({ada.id, namesake.id}),
        frozenset({again.id, namesake.id}),
    }
    assert found[0][2] > found[1][2]


async def _all_pages(stub: ClientStubs, **request: Any) -> list[str]:
    """Every client's first name, page after page of two."""
    names: list[str] = []
    token = ""
    while True:
        page = await stub.ListClients(
            pb.ListClientsRequest(page=types_pb2.PageRequest(page_size=2, page_token=token), **request)
        )
        names += [c.first_name for c in page.clients]
        token = page.page.next_page_token
        if not token:
            return names


async def test_the_list_sorts_and_pages_in_any_order_and_filters_blocked_and_deleted_clients(
    stub: ClientStubs,
) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        people = [("Cleo", "Zola"), ("ada", "lovelace"), ("Bob", "Lovelace"), ("Dan", "Abel"), ("Eve", "Ng")]
        ids = {}
        for first, last in people:
            ids[first] = (await stub.CreateClient(pb.CreateClientRequest(first_name=first, last_name=last))).id
        await stub.UpdateClient(pb.UpdateClientRequest(id=ids["Bob"], email="bob@example.com"))  # changed last
        await stub.SetOnlineBookingBlocked(pb.SetOnlineBookingBlockedRequest(id=ids["Dan"], blocked=True))
        await stub.DeleteClient(pb.DeleteClientRequest(id=ids["Eve"]))

        assert await _all_pages(stub) == ["Dan", "Bob", "ada", "Cleo"]
        assert await _all_pages(stub, sort="oldest") == ["Cleo", "ada", "Bob", "Dan"]
        # Last name, then first name, whatever the case: Abel, lovelace (ada), Lovelace (Bob), Zola.
        assert await _all_pages(stub, sort="name") == ["Dan", "ada", "Bob", "Cleo"]
        assert await _all_pages(stub, sort="name_desc") == ["Cleo", "Bob", "ada", "Dan"]
        assert (await _all_pages(stub, sort="updated"))[:2] == ["Dan", "Bob"]
        assert await _all_pages(stub, sort="name", online_booking_blocked=True) == ["Dan"]
        assert await _all_pages(stub, sort="name", online_booking_blocked=False) == ["ada", "Bob", "Cleo"]
        assert await _all_pages(stub, only_deleted=True) == ["Eve"]
        assert await _all_pages(stub, query="love", online_booking_blocked=False) == ["Bob", "ada"]

        first_page = await stub.ListClients(pb.ListClientsRequest(page=types_pb2.PageRequest(page_size=2), sort="name"))
        for wrong in (
            pb.ListClientsRequest(page=types_pb2.PageRequest(page_token=first_page.page.next_page_token)),
            pb.ListClientsRequest(sort="shoe size"),
            pb.ListClientsRequest(query="lovelace", sort="name"),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.ListClients(wrong)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
