"""Appointment requests (portal-requests events) land on the client's timeline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import nats

from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.notification.v1 import notification_service_pb2 as pb
from atrium.notification.v1 import notification_service_pb2_grpc as pb_grpc
from atrium.portal_requests.v1 import events_pb2 as request_events
from atrium.portal_requests.v1 import portal_requests_pb2 as requests_pb
from notification_svc.config import NotificationSettings
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.values import timestamp
from platform_core.messaging.bus import ensure_stream
from platform_core.messaging.envelope import build_envelope, subject_for
from platform_dev.testing.plugin import wait_until


async def publish(settings: NotificationSettings, envelope: EventEnvelope) -> None:
    nc = await nats.connect(settings.nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, settings.nats_prefix, "portal_requests")  # as the producing service does
        await js.publish(
            subject_for(settings.nats_prefix, envelope.event_type),
            envelope.SerializeToString(),
            headers={"Nats-Msg-Id": envelope.event_id},
        )
    finally:
        await nc.close()


def request_event(tenant: uuid.UUID, request_id: str, payload: object) -> EventEnvelope:
    return build_envelope(
        payload,  # type: ignore[arg-type]
        tenant_id=tenant,
        aggregate_type="appointment_request",
        aggregate_id=request_id,
        producer="portal_requests",
    )


async def test_a_submitted_then_declined_request_appears_on_the_clients_timeline(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings
) -> None:
    stub = pb_grpc.NotificationServiceStub(notification_channel)
    tenant, client_id, request_id = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    start = datetime.now(UTC) + timedelta(days=3)
    options = [requests_pb.TimeOption(start=timestamp(start)), requests_pb.TimeOption(start=timestamp(start))]
    await publish(
        notification_settings,
        request_event(
            tenant,
            request_id,
            request_events.RequestSubmitted(request_id=request_id, client_id=client_id, options=options),
        ),
    )
    await publish(
        notification_settings,
        request_event(
            tenant,
            request_id,
            request_events.RequestDeclined(request_id=request_id, client_id=client_id, reason="Closed that week"),
        ),
    )

    async def entries() -> list[tuple[str, str]]:
        with bind_call_context(CallContext(tenant, Principal("staff", str(uuid.uuid4()), "staff"))):
            reply = await stub.ListClientActivity(pb.ListClientActivityRequest(client_id=client_id))
        found = sorted((e.kind, e.summary) for e in reply.entries if not e.HasField("message"))
        return found if len(found) == 2 else []

    assert await wait_until(entries, timeout=10) == [
        ("request.declined", "Appointment request declined: Closed that week"),
        ("request.submitted", "Appointment requested (2 preferred times)"),
    ]
