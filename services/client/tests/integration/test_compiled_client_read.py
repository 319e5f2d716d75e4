"""GetClient's read runs as a statement compiled once (platform_core.db.CompiledQuery) instead of through
SQLAlchemy's execution: it must read exactly what SQLAlchemy reads, for a client with every part filled,
and nothing of another tenant."""

from __future__ import annotations

import uuid

import grpc
from google.protobuf import struct_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as pb
from client_svc import views
from client_svc.config import ClientSettings
from client_svc.entrypoints.grpc_server import client_message
from platform_core.db import create_engine
from platform_core.grpc.context import CallContext, Principal, bind_call_context

from .stubs import ClientStubs


def value(v: object) -> struct_pb2.Value:
    out = struct_pb2.Value()
    if isinstance(v, list):
        out.list_value.extend(v)
    elif isinstance(v, str):
        out.string_value = v
    else:
        assert isinstance(v, int | float)
        out.number_value = v
    return out


async def _full_client(stub: ClientStubs) -> pb.Client:
    await stub.CreateCustomField(record_pb.CreateCustomFieldRequest(label="Shoe size", type="number"))
    await stub.CreateCustomField(record_pb.CreateCustomFieldRequest(label="Allergies", type="text"))
    created = await stub.CreateClient(
        pb.CreateClientRequest(
            first_name="Grace",
            last_name="Hopper",
            default_region="US",
            emails=record_pb.ContactPoints(
                items=[
                    record_pb.ContactPoint(value="grace@example.com", label="work", primary=True),
                    record_pb.ContactPoint(value="g.hopper@example.org", label="home"),
                ]
            ),
            phones=record_pb.ContactPoints(items=[record_pb.ContactPoint(value="(212) 555-0142", primary=True)]),
            profile=pb.ClientProfile(date_of_birth="1906-12-09", preferred_language="en", timezone="America/New_York"),
            custom_fields={"shoe_size": value(38), "allergies": value("none")},
        )
    )
    status = await stub.CreateClientStatus(pb.CreateClientStatusRequest(label="Regular"))
    await stub.SetClientStatus(pb.SetClientStatusRequest(id=created.id, status_id=status.id))
    await stub.SetClientTags(pb.SetClientTagsRequest(id=created.id, tags=["VIP", "early"]))
    await stub.SetClientStaff(pb.SetClientStaffRequest(id=created.id, staff_ids=[str(uuid.uuid4()), str(uuid.uuid4())]))
    group = await stub.CreateClientGroup(pb.CreateClientGroupRequest(name="Mornings"))
    await stub.AddClientsToGroup(pb.GroupMembersRequest(group_id=group.id, client_ids=[created.id]))
    await stub.SetClientGroupStaff(pb.SetClientGroupStaffRequest(group_id=group.id, staff_ids=[str(uuid.uuid4())]))
    return created


async def _through_sqlalchemy(engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID) -> object:
    async with engine.connect() as conn:
        result = await conn.execute(views.client_select(), {"tenant_id": tenant_id, "client_id": client_id})
        return result.first()


async def test_the_compiled_read_reads_what_sqlalchemy_reads(
    client_channel: grpc.aio.Channel, client_settings: ClientSettings
) -> None:
    tenant = uuid.uuid4()
    stub = ClientStubs(client_channel)
    with bind_call_context(CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))):
        created = await _full_client(stub)
        plain = await stub.CreateClient(pb.CreateClientRequest(first_name="Plain"))
    engine = create_engine(client_settings.database_url("client"), pool_size=1, max_overflow=0)
    reads = engine.execution_options(isolation_level="AUTOCOMMIT")
    try:
        for client_id in (uuid.UUID(created.id), uuid.UUID(plain.id)):
            compiled = await views.client_by_id(reads, tenant, client_id)
            expected = await _through_sqlalchemy(reads, tenant, client_id)
            assert compiled is not None and expected is not None
            assert vars(compiled) == expected._asdict()  # type: ignore[attr-defined]
            assert client_message(compiled) == client_message(expected)
            assert client_message(compiled, portal=True) == client_message(expected, portal=True)
        full = await views.client_by_id(reads, tenant, uuid.UUID(created.id))
        # Every part is there, so the comparison above compared something.
        assert full.tags and full.assigned_staff_ids and full.group_staff_ids and full.status_label
        assert len(full.contact_points) == 3 and {v["key"] for v in full.custom_values} == {"shoe_size", "allergies"}
        assert full.date_of_birth is not None
        # Another tenant's id reads as nothing.
        assert await views.client_by_id(reads, uuid.uuid4(), uuid.UUID(created.id)) is None
    finally:
        await engine.dispose()
