"""Events on the streams become timeline entries, served over gRPC, tenant-scoped: ClientCreated once however
often it is delivered, and a client's appointments in their own wall-clock time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
import nats
import pytest

from atrium.client.v1 import events_pb2
from atrium.common.v1 import types_pb2
from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.membership_billing.v1 import events_pb2 as billing_events
from atrium.notification.v1 import notification_service_pb2 as pb
from atrium.notification.v1 import notification_service_pb2_grpc as pb_grpc
from atrium.scheduling.v1 import events_pb2 as scheduling_events
from notification_svc.config import NotificationSettings
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.values import timestamp
from platform_core.messaging.bus import ensure_stream
from platform_core.messaging.envelope import build_envelope, subject_for
from platform_dev.testing.plugin import wait_until


def staff(tenant: uuid.UUID) -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), "staff"))


def client_created(tenant: uuid.UUID, client_id: str) -> EventEnvelope:
    return build_envelope(
        events_pb2.ClientCreated(client_id=client_id, first_name="Ada", last_name="Lovelace"),
        tenant_id=tenant,
        aggregate_type="client",
        aggregate_id=client_id,
        producer="client",
    )


async def publish(settings: NotificationSettings, envelope: EventEnvelope, *, msg_id: str = "") -> EventEnvelope:
    nc = await nats.connect(settings.nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, settings.nats_prefix, envelope.producer)  # as the producing service does
        await js.publish(
            subject_for(settings.nats_prefix, envelope.event_type),
            envelope.SerializeToString(),
            headers={"Nats-Msg-Id": msg_id or envelope.event_id},
        )
    finally:
        await nc.close()
    return envelope


async def test_a_redelivered_event_makes_one_entry_visible_only_to_its_tenant(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings
) -> None:
    stub = pb_grpc.NotificationServiceStub(notification_channel)
    tenant, client_id = uuid.uuid4(), str(uuid.uuid4())
    envelope = await publish(notification_settings, client_created(tenant, client_id))
    # The same event again, under a message id JetStream cannot de-duplicate: the inbox must.
    await publish(notification_settings, envelope, msg_id=str(uuid.uuid4()))
    with bind_call_context(staff(tenant)):
        request = pb.ListClientActivityRequest(client_id=client_id)
        reply = await wait_until(lambda: _entries(stub, request), timeout=10)
        # Give the duplicate every chance to land before asserting there is one entry.
        newer = await publish(notification_settings, client_created(tenant, client_id))
        await wait_until(lambda: _has(stub, request, newer.event_id), timeout=10)
        reply = await stub.ListClientActivity(request)
    sources = [e.source_event_id for e in reply.entries]
    assert sorted(sources) == sorted([envelope.event_id, newer.event_id])
    assert reply.entries[0].summary == "Client Ada Lovelace was added"
    with bind_call_context(staff(uuid.uuid4())):
        assert not (await stub.ListClientActivity(pb.ListClientActivityRequest(client_id=client_id))).entries


async def _entries(stub: pb_grpc.NotificationServiceStub, request: pb.ListClientActivityRequest):  # type: ignore[no-untyped-def]
    reply = await stub.ListClientActivity(request)
    return reply if reply.entries else None


async def _has(stub: pb_grpc.NotificationServiceStub, request: pb.ListClientActivityRequest, event_id: str) -> bool:
    reply = await stub.ListClientActivity(request)
    return any(e.source_event_id == event_id for e in reply.entries)


async def test_timeline_pages_and_refuses_a_bad_token(notification_channel: grpc.aio.Channel) -> None:
    stub = pb_grpc.NotificationServiceStub(notification_channel)
    with bind_call_context(staff(uuid.uuid4())), pytest.raises(grpc.aio.AioRpcError) as exc:
        await stub.ListClientActivity(
            pb.ListClientActivityRequest(client_id=str(uuid.uuid4()), page=types_pb2.PageRequest(page_token="@@"))
        )
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_an_operator_lists_and_replays_parked_messages_from_the_command_line(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings
) -> None:
    import asyncio
    import os
    import sys

    from platform_dev.testing.infra import TestInfra  # noqa: F401 - documents where the env comes from

    nc = await nats.connect(notification_settings.nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, notification_settings.nats_prefix, "client")
        subject = subject_for(notification_settings.nats_prefix, "atrium.client.v1.ClientCreated")
        await js.publish(subject, b"\x00 definitely not an envelope")
    finally:
        await nc.close()
    env = os.environ | {
        "ATRIUM_ENV": "test",
        "ATRIUM_NOTIFICATION_DATABASE_URL": notification_settings.database_url("notification"),
        "ATRIUM_NATS_URL": notification_settings.nats_url,
        "ATRIUM_NATS_PREFIX": notification_settings.nats_prefix,
        "ATRIUM_LOG_LEVEL": "WARNING",
    }

    async def cli(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "notification_svc", "parked", *args, env=env, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await process.communicate()
        return process.returncode or 0, out.decode()

    async def listed() -> str:
        code, out = await cli("list")
        return out if code == 0 and "undecodable envelope" in out else ""

    out = await wait_until(listed, timeout=20, interval=0.2)
    parked_id = out.split("\t", 1)[0]
    code, replay = await cli("replay", parked_id)
    assert code == 1 and replay.startswith(f"{parked_id}\tfailed")  # still undecodable: it stays parked


async def test_a_clients_appointments_reach_its_timeline_in_the_appointments_zone(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings
) -> None:
    stub = pb_grpc.NotificationServiceStub(notification_channel)
    tenant, client_id, appointment_id = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    # 10:00 in Berlin on the day its clocks go forward (CEST: UTC+2 from 01:00 UTC).
    start = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    segment = scheduling_events.AppointmentSegmentInfo(service_name="Haircut", start=timestamp(start))
    booked = scheduling_events.AppointmentBooked(
        appointment_id=appointment_id,
        client_id=client_id,
        start=timestamp(start),
        timezone="Europe/Berlin",
        segments=[segment],
        source="portal",
    )
    cancelled = scheduling_events.AppointmentCancelled(
        appointment_id=appointment_id,
        client_id=client_id,
        start=timestamp(start),
        reason="ill",
        cancelled_by="client",
        timezone="Europe/Berlin",
    )
    for payload in (booked, cancelled):
        envelope = build_envelope(
            payload, tenant_id=tenant, aggregate_type="appointment", aggregate_id=appointment_id, producer="scheduling"
        )
        await publish(notification_settings, envelope)
    request = pb.ListClientActivityRequest(client_id=client_id)
    with bind_call_context(staff(tenant)):
        reply = await wait_until(lambda: _at_least(stub, request, 2), timeout=10)
    # The messages the client was sent share the thread (tested with delivery); here, what happened.
    assert [(e.kind, e.summary) for e in reversed(reply.entries) if not e.HasField("message")] == [
        ("appointment.booked", "Booked Haircut for Sun 29 Mar 2026, 10:00 Europe/Berlin (booked online)"),
        ("appointment.cancelled", "Appointment of Sun 29 Mar 2026, 10:00 Europe/Berlin cancelled by the client: ill"),
    ]


async def _at_least(stub: pb_grpc.NotificationServiceStub, request: pb.ListClientActivityRequest, count: int):  # type: ignore[no-untyped-def]
    reply = await stub.ListClientActivity(request)
    return reply if len([e for e in reply.entries if not e.HasField("message")]) >= count else None


async def test_an_issued_invoice_and_its_payment_appear_on_the_client_timeline(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings
) -> None:
    stub = pb_grpc.NotificationServiceStub(notification_channel)
    tenant, client_id, invoice_id = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    issued = build_envelope(
        billing_events.InvoiceIssued(
            invoice_id=invoice_id,
            client_id=client_id,
            number=17,
            kind="standard",
            currency="KWD",
            total_minor=12_500,
            issue_date="2026-03-01",
            due_date="2026-03-15",
        ),
        tenant_id=tenant,
        aggregate_type="invoice",
        aggregate_id=invoice_id,
        producer="membership_billing",
    )
    paid = build_envelope(
        billing_events.PaymentRecorded(
            payment_id=str(uuid.uuid4()),
            client_id=client_id,
            currency="KWD",
            amount_minor=2_000,
            method="bank_transfer",
        ),
        tenant_id=tenant,
        aggregate_type="payment",
        aggregate_id=invoice_id,
        producer="membership_billing",
    )
    for envelope in (issued, paid):
        await publish(notification_settings, envelope)
    with bind_call_context(staff(tenant)):
        request = pb.ListClientActivityRequest(client_id=client_id)
        await wait_until(lambda: _has(stub, request, paid.event_id), timeout=10)
        await wait_until(lambda: _has(stub, request, issued.event_id), timeout=10)
        reply = await stub.ListClientActivity(request)
    summaries = {e.kind: e.summary for e in reply.entries if not e.HasField("message")}
    assert summaries == {
        "billing.invoice_issued": "Invoice #17 issued: 12.500 KWD, due 2026-03-15",
        "billing.payment_recorded": "Payment of 2.000 KWD received (bank transfer)",
    }
