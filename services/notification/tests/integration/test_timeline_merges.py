"""The timeline consumer follows ClientsMerged, ClientsUnmerged and ClientErased from the stream."""

from __future__ import annotations

import uuid

import grpc
from google.protobuf.message import Message

from atrium.client.v1 import events_pb2
from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.notification.v1 import notification_service_pb2 as pb
from atrium.notification.v1 import notification_service_pb2_grpc as pb_grpc
from notification_svc.config import NotificationSettings
from platform_core.grpc.context import bind_call_context
from platform_core.messaging.envelope import build_envelope
from platform_dev.testing.plugin import wait_until

from .test_timeline import publish, staff


def event(tenant: uuid.UUID, payload: Message, aggregate: str) -> EventEnvelope:
    return build_envelope(payload, tenant_id=tenant, aggregate_type="client", aggregate_id=aggregate, producer="client")


async def summaries(stub: pb_grpc.NotificationServiceStub, client_id: str) -> list[str]:
    reply = await stub.ListClientActivity(pb.ListClientActivityRequest(client_id=client_id))
    return sorted(e.summary for e in reply.entries)


async def test_merge_moves_entries_to_the_survivor_unmerge_returns_them_and_erasure_anonymizes(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings
) -> None:
    stub = pb_grpc.NotificationServiceStub(notification_channel)
    tenant = uuid.uuid4()
    survivor, duplicate, merge_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    s = notification_settings

    async def shows(client_id: str, expected: list[str]) -> bool:
        return await summaries(stub, client_id) == sorted(expected)

    with bind_call_context(staff(tenant)):
        await publish(s, event(tenant, events_pb2.ClientCreated(client_id=survivor, first_name="Ada"), survivor))
        await publish(s, event(tenant, events_pb2.ClientCreated(client_id=duplicate, first_name="Augusta"), duplicate))
        await wait_until(lambda: shows(duplicate, ["Client Augusta was added"]))

        unmerge = events_pb2.ClientsUnmerged(merge_id=merge_id, survivor_id=survivor, restored_ids=[duplicate])
        merge = events_pb2.ClientsMerged(merge_id=merge_id, survivor_id=survivor, merged_ids=[duplicate])
        await publish(s, event(tenant, merge, survivor))
        merged = ["Client Ada was added", "Client Augusta was added", "Merged with 1 duplicate client"]
        await wait_until(lambda: shows(survivor, merged))
        assert await summaries(stub, duplicate) == []

        late = events_pb2.ClientBookingBlocked(client_id=duplicate, reason="no-shows")
        await publish(s, event(tenant, late, duplicate))
        await wait_until(lambda: shows(survivor, [*merged, "Online booking blocked: no-shows"]))

        await publish(s, event(tenant, unmerge, survivor))
        await wait_until(lambda: shows(duplicate, ["Client Augusta was added", "Online booking blocked: no-shows"]))
        assert await summaries(stub, survivor) == sorted(
            [
                "Client Ada was added",
                "Merged with 1 duplicate client",
                "Merge undone: 1 duplicate client separated again",
            ]
        )

        await publish(s, event(tenant, events_pb2.ClientErased(client_id=duplicate), duplicate))
        await wait_until(
            lambda: shows(duplicate, ["Client was added", "Online booking blocked", "Personal data erased"])
        )
        reply = await stub.ListClientActivity(pb.ListClientActivityRequest(client_id=duplicate))
        assert [e.kind for e in reply.entries][-1] == "client.created"  # kinds and times are kept
        assert "Client Ada was added" in await summaries(stub, survivor)  # the survivor is not touched


async def test_an_unmerge_whose_merge_never_came_is_retried_then_applied(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings
) -> None:
    stub = pb_grpc.NotificationServiceStub(notification_channel)
    tenant = uuid.uuid4()
    survivor, duplicate, merge_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    s = notification_settings
    with bind_call_context(staff(tenant)):
        await publish(s, event(tenant, events_pb2.ClientCreated(client_id=duplicate, first_name="Dup"), duplicate))
        await wait_until(lambda: summaries(stub, duplicate))
        unmerge = events_pb2.ClientsUnmerged(merge_id=merge_id, survivor_id=survivor, restored_ids=[duplicate])
        await publish(s, event(tenant, unmerge, survivor))  # before its merge: refused for now, redelivered
        merge = events_pb2.ClientsMerged(merge_id=merge_id, survivor_id=survivor, merged_ids=[duplicate])
        await publish(s, event(tenant, merge, survivor))

        async def both_applied() -> bool:
            return await summaries(stub, survivor) == sorted(
                ["Merged with 1 duplicate client", "Merge undone: 1 duplicate client separated again"]
            ) and await summaries(stub, duplicate) == ["Client Dup was added"]

        await wait_until(both_applied, timeout=20)
