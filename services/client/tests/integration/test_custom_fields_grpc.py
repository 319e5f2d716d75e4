"""Custom fields over gRPC against PostgreSQL: definitions, values by key, portal filtering, retirement."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import struct_pb2

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as pb
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.errors import from_rpc_error

from .stubs import ClientStubs


def staff(tenant: uuid.UUID) -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))


@pytest.fixture
def stub(client_channel: grpc.aio.Channel) -> ClientStubs:
    return ClientStubs(client_channel)


def value(python: object) -> struct_pb2.Value:
    v = struct_pb2.Value()
    if python is None:
        v.null_value = struct_pb2.NULL_VALUE
    elif isinstance(python, bool):
        v.bool_value = python
    elif isinstance(python, int | float):
        v.number_value = python
    elif isinstance(python, list):
        v.list_value.values.extend(value(x) for x in python)
    else:
        v.string_value = str(python)
    return v


def plain(values: dict[str, struct_pb2.Value]) -> dict[str, object]:
    from google.protobuf import json_format

    return {k: json_format.MessageToDict(v) for k, v in values.items()}


async def test_definitions_values_portal_view_and_retirement(stub: ClientStubs) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        size = await stub.CreateCustomField(
            record_pb.CreateCustomFieldRequest(label="Shoe size", type="number", required=True)
        )
        sports = await stub.CreateCustomField(
            record_pb.CreateCustomFieldRequest(
                label="Sports",
                type="multiple_choice",
                options=["Yoga", "Pilates"],
                forms=["staff", "portal_profile"],
            )
        )
        assert (size.key, sports.key, sports.position) == ("shoe_size", "sports", 1)
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.CreateCustomField(record_pb.CreateCustomFieldRequest(label="shoe SIZE", type="text"))
        assert from_rpc_error(exc.value).reason == "CUSTOM_FIELD_LABEL_TAKEN"

        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.CreateClient(pb.CreateClientRequest(first_name="Ada", custom_fields={"sports": value(["Golf"])}))
        assert {v.field for v in from_rpc_error(exc.value).violations} == {
            "custom_fields.sports",
            "custom_fields.shoe_size",
        }
        client = await stub.CreateClient(
            pb.CreateClientRequest(
                first_name="Ada", custom_fields={"shoe_size": value(38), "sports": value(["pilates", "Yoga"])}
            )
        )
        assert plain(client.custom_fields) == {"shoe_size": 38, "sports": ["Yoga", "Pilates"]}
        assert (await stub.GetClient(pb.GetClientRequest(id=client.id))).custom_fields == client.custom_fields

        reordered = await stub.ReorderCustomFields(record_pb.ReorderCustomFieldsRequest(ids=[sports.id, size.id]))
        assert [f.key for f in reordered.fields] == ["sports", "shoe_size"]

    portal = CallContext(tenant, Principal("portal", str(uuid.uuid4()), client_id=client.id))
    with bind_call_context(portal):
        mine = await stub.GetClient(pb.GetClientRequest(id=client.id))
        assert plain(mine.custom_fields) == {"sports": ["Yoga", "Pilates"]}
        form = await stub.ListCustomFields(record_pb.ListCustomFieldsRequest(include_retired=True))
        assert [f.key for f in form.fields] == ["sports"]
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.UpdateClient(pb.UpdateClientRequest(id=client.id, custom_fields={"shoe_size": value(40)}))
        assert {v.field for v in from_rpc_error(exc.value).violations} == {"custom_fields.shoe_size"}
        changed = await stub.UpdateClient(pb.UpdateClientRequest(id=client.id, custom_fields={"sports": value(None)}))
        assert plain(changed.custom_fields) == {}

    with bind_call_context(staff(tenant)):
        await stub.RetireCustomField(record_pb.RetireCustomFieldRequest(id=size.id))
        live = await stub.ListCustomFields(record_pb.ListCustomFieldsRequest())
        assert [f.key for f in live.fields] == ["sports"]
        every = await stub.ListCustomFields(record_pb.ListCustomFieldsRequest(include_retired=True))
        assert [(f.key, f.retired) for f in every.fields] == [("sports", False), ("shoe_size", True)]
        # The retired field's value stays, readable; a new client no longer needs it.
        assert plain((await stub.GetClient(pb.GetClientRequest(id=client.id))).custom_fields) == {"shoe_size": 38}
        await stub.CreateClient(pb.CreateClientRequest(first_name="Grace"))
        back = await stub.UpdateCustomField(record_pb.UpdateCustomFieldRequest(id=size.id, retired=False))
        assert not back.retired
    with bind_call_context(staff(uuid.uuid4())), pytest.raises(grpc.aio.AioRpcError) as exc:
        await stub.RetireCustomField(record_pb.RetireCustomFieldRequest(id=size.id))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
