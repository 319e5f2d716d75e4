"""A name search finds its page by ids and names, then reads the page's clients whole: every listed client
is the very record GetClient answers (status, staff directly and through groups, tags, every email and
phone, contact persons, custom fields), on the prepared-statement path and on the filtered one; names with
letters at the edges of the code point range are found by their prefix like any other."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import json_format, struct_pb2

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as pb
from atrium.common.v1 import types_pb2
from platform_core.grpc.context import CallContext, Principal, bind_call_context

from .stubs import ClientStubs


@pytest.fixture
def stub(client_channel: grpc.aio.Channel) -> ClientStubs:
    return ClientStubs(client_channel)


async def search(stub: ClientStubs, query: str, **filters: object) -> list[pb.Client]:
    page = await stub.ListClients(
        pb.ListClientsRequest(query=query, default_region="US", page=types_pb2.PageRequest(page_size=10), **filters)
    )
    return list(page.clients)


async def test_every_listed_client_is_the_record_get_client_answers(stub: ClientStubs) -> None:
    tenant = uuid.uuid4()
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    with bind_call_context(CallContext(tenant, Principal("staff", alice, "owner"))):
        await stub.CreateCustomField(record_pb.CreateCustomFieldRequest(label="Shoe size", type="number"))
        vip = await stub.CreateClientStatus(pb.CreateClientStatusRequest(label="VIP"))
        full = await stub.CreateClient(
            pb.CreateClientRequest(
                first_name="Katherine",
                last_name="Lovelace",
                default_region="US",
                emails=record_pb.ContactPoints(
                    items=[
                        record_pb.ContactPoint(value="kate@example.com", label="work", primary=True),
                        record_pb.ContactPoint(value="k.lovelace@example.org", label="home"),
                    ]
                ),
                phones=record_pb.ContactPoints(items=[record_pb.ContactPoint(value="(212) 555-0142", primary=True)]),
                custom_fields={"shoe_size": json_format.ParseDict(38, struct_pb2.Value())},
            )
        )
        business = await stub.CreateClient(
            pb.CreateClientRequest(
                first_name="Kathrine",
                last_name="Lovelock",
                profile=pb.ClientProfile(kind="business", company_name="Lovelock Ltd"),
                default_region="US",
            )
        )
        await stub.UpdateClient(
            pb.UpdateClientRequest(
                id=business.id,
                default_region="US",
                contact_persons=record_pb.ContactPersons(
                    items=[record_pb.ContactPerson(name="Grace Hopper", role="Buyer", email="grace@example.com")]
                ),
            )
        )
        await stub.SetClientStatus(pb.SetClientStatusRequest(id=full.id, status_id=vip.id))
        await stub.SetClientStaff(pb.SetClientStaffRequest(id=full.id, staff_ids=[bob, alice]))
        await stub.SetClientTags(pb.SetClientTagsRequest(id=full.id, tags=["walk-in", "VIP"]))
        group = await stub.CreateClientGroup(pb.CreateClientGroupRequest(name="Regulars"))
        await stub.AddClientsToGroup(pb.GroupMembersRequest(group_id=group.id, client_ids=[full.id, business.id]))
        await stub.SetClientGroupStaff(pb.SetClientGroupStaffRequest(group_id=group.id, staff_ids=[bob]))
        await stub.CreateClient(pb.CreateClientRequest(first_name="Plain", last_name="Lovelace"))

        records = {c.id: await stub.GetClient(pb.GetClientRequest(id=c.id)) for c in (full, business)}
        # A prefix, a full name, a typo in each word; each on both paths (a filter every client passes).
        for query, ids in (
            ("kat", [business.id, full.id]),
            ("Katherine Lovelace", [full.id]),
            ("Katherien Lovelcae", [full.id]),
            ("lovelock", [business.id]),
        ):
            for filters in ({}, {"online_booking_blocked": False}):
                listed = await search(stub, query, **filters)
                assert [c.id for c in listed] == ids, (query, filters)
                for client in listed:
                    assert client == records[client.id], (query, filters)
        assert len(records[full.id].emails) == 2
        assert list(records[full.id].tags) == ["VIP", "walk-in"]
        assert list(records[business.id].group_staff_ids) == [bob]


async def test_names_at_the_edges_of_the_code_point_range_are_found_by_prefix(stub: ClientStubs) -> None:
    names = ["Zo\u00eb", "Zo\u00ebl", "Zo\u00ec", "A\ud7ffb", "A\ue000", "\U0010ffff\U0010ffffx", "\U0010ffffy"]
    with bind_call_context(CallContext(uuid.uuid4(), Principal("staff", str(uuid.uuid4()), "owner"))):
        ids = {name: (await stub.CreateClient(pb.CreateClientRequest(first_name=name))).id for name in names}
        for query, found in (
            ("zo\u00eb", ["Zo\u00ebl", "Zo\u00eb"]),
            ("a\ud7ff", ["A\ud7ffb"]),
            ("\U0010ffff\U0010ffff", ["\U0010ffff\U0010ffffx"]),
            ("\U0010ffff", ["\U0010ffffy", "\U0010ffff\U0010ffffx"]),
        ):
            for filters in ({}, {"online_booking_blocked": False}):
                listed = await search(stub, query, **filters)
                assert [c.id for c in listed] == [ids[name] for name in found], (query, filters)
