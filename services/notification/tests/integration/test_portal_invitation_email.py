"""PortalInvitationIssued on the stream -> one email through a real SMTP server, and a timeline entry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc

from atrium.client.v1 import events_pb2
from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.notification.v1 import notification_service_pb2 as pb
from atrium.notification.v1 import notification_service_pb2_grpc as pb_grpc
from notification_svc.config import NotificationSettings
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.messaging.envelope import build_envelope
from platform_dev.testing.plugin import wait_until

from ..conftest import Mailbox
from .test_timeline import publish


def issued(tenant: uuid.UUID, client_id: str, email: str, token: str) -> EventEnvelope:
    payload = events_pb2.PortalInvitationIssued(
        client_id=client_id,
        invitation_id=str(uuid.uuid4()),
        email=email,
        accept_url=f"https://studio.example/portal/accept-invitation#token={token}",
        business_name="Zen Studio",
        client_first_name="Ada",
        client_last_name="Lovelace",
    )
    payload.expires_at.FromDatetime(datetime.now(UTC) + timedelta(days=3))
    return build_envelope(payload, tenant_id=tenant, aggregate_type="client", aggregate_id=client_id, producer="client")


async def test_the_invitation_email_arrives_once_with_its_link_and_lands_on_the_timeline(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings, mailbox: Mailbox
) -> None:
    tenant, client_id = uuid.uuid4(), str(uuid.uuid4())
    address = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    first = await publish(notification_settings, issued(tenant, client_id, address, "first-token"))
    # Redelivered under a message id JetStream cannot de-duplicate: the inbox and sent_emails must.
    await publish(notification_settings, first, msg_id=str(uuid.uuid4()))
    second = await publish(notification_settings, issued(tenant, client_id, address, "second-token"))

    # One consumer, one message at a time, in order: once the second arrived the duplicate was handled.
    await wait_until(lambda: any("second-token" in m.as_string() for m in mailbox.to(address)), timeout=15)
    received = mailbox.to(address)
    assert len(received) == 2
    message = received[0]
    assert message["Subject"] == "Zen Studio invites you to your client portal"
    assert message["From"] == "Atrium Test <no-reply@atrium.test>"
    assert message["Message-ID"] == f"<{first.event_id}@atrium.notification>"
    text = message.get_payload(0).get_payload(decode=True).decode()
    assert "https://studio.example/portal/accept-invitation#token=first-token" in text
    assert "Hello Ada Lovelace," in text

    stub = pb_grpc.NotificationServiceStub(notification_channel)
    with bind_call_context(CallContext(tenant, Principal("staff", str(uuid.uuid4()), "staff"))):

        async def both_on_timeline() -> bool:
            reply = await stub.ListClientActivity(pb.ListClientActivityRequest(client_id=client_id))
            return {e.source_event_id for e in reply.entries} == {first.event_id, second.event_id}

        await wait_until(both_on_timeline, timeout=15)
        reply = await stub.ListClientActivity(pb.ListClientActivityRequest(client_id=client_id))
    assert {(e.kind, e.summary) for e in reply.entries} == {
        ("client.portal_invited", f"Invited to the portal ({address})")
    }
