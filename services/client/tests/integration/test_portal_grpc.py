"""Portal invitations and access changes: recorded once each, their events through the outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import nats
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import events_pb2
from atrium.common.v1 import events_pb2 as envelope_pb2
from client_svc.config import ClientSettings
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.errors import from_rpc_error
from platform_core.messaging.envelope import stream_name

from .stubs import ClientStubs


def staff(tenant: uuid.UUID) -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))


@pytest.fixture
def stub(client_channel: grpc.aio.Channel) -> ClientStubs:
    return ClientStubs(client_channel)


def in_a_day() -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.now(UTC) + timedelta(days=1))
    return ts


async def events_of(settings: ClientSettings, client_id: str, names: list[str]) -> list[object]:
    nc = await nats.connect(settings.nats_url)
    try:
        js = nc.jetstream()
        found: list[object] = []
        for name in names:
            subject = f"{settings.nats_prefix}.client.v1.{name}"
            sub = await js.pull_subscribe(subject, stream=stream_name(settings.nats_prefix, "client"))
            for msg in await sub.fetch(100, timeout=5):
                await msg.ack()
                envelope = envelope_pb2.EventEnvelope.FromString(msg.data)
                if envelope.aggregate_id == client_id:
                    payload = getattr(events_pb2, name)()
                    envelope.payload.Unpack(payload)
                    found.append(payload)
        return found
    finally:
        await nc.close()


async def test_an_invitation_is_recorded_once_and_its_event_carries_the_link(
    stub: ClientStubs, client_settings: ClientSettings
) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        client = await stub.CreateClient(pb.CreateClientRequest(first_name="Ada", last_name="Lovelace"))
        request = record_pb.RecordPortalInvitationRequest(
            invitation_id=str(uuid.uuid4()),
            client_id=client.id,
            email="Ada@Example.com",
            accept_url="https://studio.example/portal/accept-invitation#token=secret",
            expires_at=in_a_day(),
            business_name="Studio",
        )
        assert (await stub.RecordPortalInvitation(request)).recorded
        assert not (await stub.RecordPortalInvitation(request)).recorded
        bad = record_pb.RecordPortalInvitationRequest(
            invitation_id=str(uuid.uuid4()), client_id=client.id, email="nope", accept_url="javascript:x"
        )
        bad.expires_at.FromDatetime(datetime.now(UTC) - timedelta(minutes=1))
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.RecordPortalInvitation(bad)
        assert {v.field for v in from_rpc_error(exc.value).violations} == {"email", "accept_url", "expires_at"}
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.RecordPortalInvitation(
                record_pb.RecordPortalInvitationRequest(
                    invitation_id=str(uuid.uuid4()),
                    client_id=str(uuid.uuid4()),
                    email="a@example.com",
                    accept_url="https://x.example",
                    expires_at=in_a_day(),
                )
            )
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND

        for enabled in (False, True):
            change = record_pb.RecordPortalAccessChangeRequest(
                change_id=str(uuid.uuid4()), client_id=client.id, enabled=enabled
            )
            assert (await stub.RecordPortalAccessChange(change)).recorded

    [issued] = await events_of(client_settings, client.id, ["PortalInvitationIssued"])
    assert isinstance(issued, events_pb2.PortalInvitationIssued)
    assert (issued.email, issued.client_first_name, issued.business_name) == ("Ada@example.com", "Ada", "Studio")
    assert issued.accept_url.endswith("#token=secret")
    revoked = await events_of(client_settings, client.id, ["PortalAccessRevoked", "PortalAccessGranted"])
    assert [type(e).__name__ for e in revoked] == ["PortalAccessRevoked", "PortalAccessGranted"]
