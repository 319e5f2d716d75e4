"""Several emails and phones, contact persons: stored, searchable, enforced by the schema, on the events."""

from __future__ import annotations

import uuid

import grpc
import nats
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import events_pb2
from atrium.common.v1 import events_pb2 as envelope_pb2
from client_svc.config import ClientSettings
from platform_core.db import create_engine
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.errors import from_rpc_error
from platform_core.messaging.envelope import stream_name

from .stubs import ClientStubs


def staff(tenant: uuid.UUID) -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))


@pytest.fixture
def stub(client_channel: grpc.aio.Channel) -> ClientStubs:
    return ClientStubs(client_channel)


def points(*items: tuple[str, str, bool]) -> record_pb.ContactPoints:
    return record_pb.ContactPoints(items=[record_pb.ContactPoint(value=v, label=lb, primary=p) for v, lb, p in items])


async def test_several_phones_and_emails_are_stored_read_back_and_searchable(stub: ClientStubs) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        created = await stub.CreateClient(
            pb.CreateClientRequest(
                first_name="Ada",
                default_region="US",
                phones=points(("(212) 555-0142", "home", False), ("212 555 0199", "mobile", True)),
                emails=points(("ada@work.example", "work", True), ("ada@home.example", "home", False)),
            )
        )
        other = await stub.CreateClient(pb.CreateClientRequest(first_name="Other", phone="+12125550100"))
        assert (created.phone, created.email) == ("+12125550199", "ada@work.example")
        assert [(p.value, p.label, p.primary) for p in created.phones] == [
            ("+12125550199", "mobile", True),
            ("+12125550142", "home", False),
        ]
        fetched = await stub.GetClient(pb.GetClientRequest(id=created.id))
        assert fetched == created
        # A secondary phone (typed another way) and a secondary email prefix find the client.
        for query in ("212-555-0142", "ada@home"):
            found = await stub.ListClients(pb.ListClientsRequest(query=query, default_region="US"))
            assert [c.id for c in found.clients] == [created.id], query
        found = await stub.ListClients(pb.ListClientsRequest(query="+1 212 555 0100"))
        assert [c.id for c in found.clients] == [other.id]


async def test_changing_the_primary_and_replacing_lists_in_one_transaction(stub: ClientStubs) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        created = await stub.CreateClient(
            pb.CreateClientRequest(
                first_name="Ada", emails=points(("a@example.com", "", True), ("b@example.com", "", False))
            )
        )
        # Swap the primary: passes through a state with two primaries, which the deferred constraint allows.
        swapped = await stub.UpdateClient(
            pb.UpdateClientRequest(
                id=created.id, emails=points(("b@example.com", "work", True), ("a@example.com", "home", False))
            )
        )
        assert swapped.email == "b@example.com"
        assert [(p.value, p.primary) for p in swapped.emails] == [("b@example.com", True), ("a@example.com", False)]
        legacy = await stub.UpdateClient(pb.UpdateClientRequest(id=created.id, email="c@example.com"))
        assert [(p.value, p.label) for p in legacy.emails] == [("c@example.com", "work"), ("a@example.com", "home")]
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.UpdateClient(
                pb.UpdateClientRequest(id=created.id, emails=points(("x@example.com", "", True)), email="y@example.com")
            )
        assert {v.field for v in from_rpc_error(exc.value).violations} == {"email"}


async def test_contact_persons_of_a_business_travel_on_client_updated(
    stub: ClientStubs, client_settings: ClientSettings
) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        created = await stub.CreateClient(
            pb.CreateClientRequest(profile=pb.ClientProfile(kind="business", company_name="Acme"), default_region="US")
        )
        person = record_pb.ContactPerson(
            name="Grace Hopper", role="Buyer", email="grace@acme.example", phone="2125550142"
        )
        updated = await stub.UpdateClient(
            pb.UpdateClientRequest(
                id=created.id, default_region="US", contact_persons=record_pb.ContactPersons(items=[person])
            )
        )
        assert [(p.name, p.phone) for p in updated.contact_persons] == [("Grace Hopper", "+12125550142")]
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.CreateClient(
                pb.CreateClientRequest(
                    first_name="Solo", default_region="US", contact_persons=record_pb.ContactPersons(items=[person])
                )
            )
        assert {v.field for v in from_rpc_error(exc.value).violations} == {"contact_persons"}

    nc = await nats.connect(client_settings.nats_url)
    try:
        js = nc.jetstream()
        subject = f"{client_settings.nats_prefix}.client.v1.ClientUpdated"
        sub = await js.pull_subscribe(subject, stream=stream_name(client_settings.nats_prefix, "client"))
        payload = None
        while payload is None:
            for msg in await sub.fetch(100, timeout=5):
                await msg.ack()
                envelope = envelope_pb2.EventEnvelope.FromString(msg.data)
                if envelope.aggregate_id == created.id:
                    payload = events_pb2.ClientUpdated()
                    envelope.payload.Unpack(payload)
        assert list(payload.changed_fields) == ["contact_persons"]
        assert [(p.name, p.role, p.email) for p in payload.contact_persons] == [
            ("Grace Hopper", "Buyer", "grace@acme.example")
        ]
    finally:
        await nc.close()


async def test_the_schema_refuses_a_second_primary_or_a_repeated_value(
    stub: ClientStubs, client_settings: ClientSettings
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        created = await stub.CreateClient(pb.CreateClientRequest(first_name="Ada", phone="+12125550142"))
    engine = create_engine(client_settings.database_url("client"), pool_size=1, max_overflow=0)
    insert = text(
        "INSERT INTO client_contact_points (tenant_id, id, client_id, kind, value, label, is_primary, position) "
        "VALUES (:t, gen_random_uuid(), :c, 'phone', :v, 'other', :p, 1)"
    )
    try:
        for value, primary in (("+12125550199", True), ("+12125550142", False)):
            with pytest.raises(IntegrityError):
                async with engine.begin() as conn:
                    await conn.execute(insert, {"t": tenant, "c": uuid.UUID(created.id), "v": value, "p": primary})
        async with engine.begin() as conn:
            await conn.execute(insert, {"t": tenant, "c": uuid.UUID(created.id), "v": "+12125550199", "p": False})
    finally:
        await engine.dispose()
