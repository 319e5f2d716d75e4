"""The request flow end to end through the service: events on the streams -> messages planned -> an email
on a real SMTP server (aiosmtpd) in the client's language, with the time in the client's zone and a
calendar file, and a notice in the client's portal inbox; a new request reaches the staff who may approve."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import Message

import grpc
from icalendar import Calendar
from sqlalchemy import text

from atrium.client.v1 import events_pb2 as client_events
from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.gateway.v1 import events_pb2 as gateway_events
from atrium.notification.v1 import notification_service_pb2 as pb
from atrium.notification.v1 import notification_service_pb2_grpc as pb_grpc
from atrium.portal_requests.v1 import events_pb2 as request_events
from atrium.portal_requests.v1 import portal_requests_pb2 as requests_pb
from notification_svc.config import NotificationSettings
from platform_core.db import create_engine
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.values import timestamp
from platform_core.messaging.envelope import build_envelope
from platform_dev.testing.plugin import wait_until

from ..conftest import Mailbox
from .test_timeline import publish

# Monday 5 April 2027, 09:00 in Berlin (summer time: 07:00 UTC).
START = datetime(2027, 4, 5, 7, 0, tzinfo=UTC)


def envelope(tenant: uuid.UUID, payload: object, producer: str, aggregate: str = "") -> EventEnvelope:
    return build_envelope(
        payload,  # type: ignore[arg-type]
        tenant_id=tenant,
        aggregate_type={"client": "client", "gateway": "tenant", "portal_requests": "appointment_request"}[producer],
        aggregate_id=aggregate or str(tenant),
        producer=producer,
    )


def facts() -> request_events.RequestFacts:
    return request_events.RequestFacts(
        reference="REQ-1042",
        service_name="Massage",
        duration_minutes=60,
        client_timezone="Europe/Berlin",
        business_timezone="Europe/London",
        channel="portal",
    )


async def known_business_and_client(
    settings: NotificationSettings, tenant: uuid.UUID, client_id: str, email: str, language: str
) -> None:
    await publish(
        settings,
        envelope(
            tenant,
            gateway_events.BusinessProfileChanged(
                business_name="Zen Studio", timezone="Europe/London", default_language="en"
            ),
            "gateway",
        ),
    )
    created = client_events.ClientCreated(
        client_id=client_id,
        first_name="Ada",
        last_name="Lovelace",
        email=email,
        preferred_language=language,
        timezone="Europe/Berlin",
    )
    await publish(settings, envelope(tenant, created, "client", client_id))
    engine = create_engine(settings.database_url("notification"))
    try:

        async def known() -> bool:
            async with engine.connect() as conn:
                business = await conn.scalar(
                    text("SELECT 1 FROM business_profiles WHERE tenant_id = :t"), {"t": tenant}
                )
                contact = await conn.scalar(
                    text("SELECT 1 FROM client_contacts WHERE tenant_id = :t AND client_id = :c"),
                    {"t": tenant, "c": uuid.UUID(client_id)},
                )
            return bool(business and contact)

        await wait_until(known, timeout=15)
    finally:
        await engine.dispose()


def subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def part(message: Message, content_type: str) -> Message:
    return next(p for p in message.walk() if p.get_content_type() == content_type)


async def inbox(channel: grpc.aio.Channel, tenant: uuid.UUID, client_id: str) -> pb.ListNotificationsResponse:
    stub = pb_grpc.NotificationServiceStub(channel)
    with bind_call_context(CallContext(tenant, Principal("portal", str(uuid.uuid4()), "", client_id))):
        reply: pb.ListNotificationsResponse = await stub.ListNotifications(pb.ListNotificationsRequest())
    return reply


async def test_an_approval_reaches_the_client_in_its_language_and_zone_with_a_calendar_file_and_an_inbox_notice(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings, mailbox: Mailbox
) -> None:
    tenant, client_id, request_id = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    address = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    await known_business_and_client(notification_settings, tenant, client_id, address, "de")
    approved = request_events.RequestApproved(
        request_id=request_id,
        client_id=client_id,
        appointment_id=str(uuid.uuid4()),
        start=timestamp(START),
        end=timestamp(START + timedelta(hours=1)),
        technician_id=str(uuid.uuid4()),
        technician_name="Maria Muster",
        facts=facts(),
    )
    event = await publish(notification_settings, envelope(tenant, approved, "portal_requests", request_id))
    # Redelivered under a message id JetStream cannot de-duplicate: still one email.
    await publish(notification_settings, event, msg_id=str(uuid.uuid4()))

    [email] = await wait_until(lambda: mailbox.to(address), timeout=15)
    assert subject(email) == "Bestätigt: Massage am Montag, 5. April 2027, 09:00 (Europe/Berlin)"
    body = part(email, "text/plain").get_payload(decode=True).decode()
    assert "Hallo Ada Lovelace," in body and "Zen Studio hat Ihre Anfrage REQ-1042 bestätigt." in body
    assert "Bei: Maria Muster" in body
    assert "Bei: Maria Muster" in part(email, "text/html").get_payload(decode=True).decode()
    calendar = Calendar.from_ical(part(email, "text/calendar").get_payload(decode=True))
    [vevent] = calendar.walk("VEVENT")
    assert vevent.decoded("dtstart") == START
    assert vevent.decoded("dtend") == START + timedelta(hours=1)
    assert str(vevent["uid"]) == f"{approved.appointment_id}@atrium"

    reply = await wait_until(lambda: _with_notices(notification_channel, tenant, client_id, 1), timeout=15)
    assert reply.unread_count == 1
    [notice] = reply.notifications
    assert notice.kind == "request.approved" and notice.title == subject(email)
    assert not notice.HasField("read_at")
    assert mailbox.to(address) == [email]


async def _with_notices(
    channel: grpc.aio.Channel, tenant: uuid.UUID, client_id: str, count: int
) -> pb.ListNotificationsResponse | None:
    reply = await inbox(channel, tenant, client_id)
    return reply if len(reply.notifications) >= count else None


async def test_a_decline_tells_the_reason_and_the_client_marks_its_notices_read(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings, mailbox: Mailbox
) -> None:
    tenant, client_id, request_id = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    address = f"bob-{uuid.uuid4().hex[:8]}@example.com"
    await known_business_and_client(notification_settings, tenant, client_id, address, "")
    submitted = request_events.RequestSubmitted(
        request_id=request_id,
        client_id=client_id,
        options=[requests_pb.TimeOption(start=timestamp(START))],
        facts=facts(),
    )
    declined = request_events.RequestDeclined(
        request_id=request_id, client_id=client_id, reason="We are closed that week", facts=facts()
    )
    await publish(notification_settings, envelope(tenant, submitted, "portal_requests", request_id))
    await publish(notification_settings, envelope(tenant, declined, "portal_requests", request_id))

    received = await wait_until(lambda: len(mailbox.to(address)) == 2 and mailbox.to(address), timeout=15)
    subjects = sorted(subject(m) for m in received)
    # No language of its own: the business's (English).
    assert subjects == [
        "We received your appointment request REQ-1042",
        "Your appointment request REQ-1042 was declined",
    ]
    declined_email = next(m for m in received if "declined" in subject(m))
    assert "Reason: We are closed that week" in part(declined_email, "text/plain").get_payload(decode=True).decode()
    received_email = next(m for m in received if "received" in subject(m))
    assert "Monday, April 5, 2027, 09:00 (Europe/Berlin)" in (
        part(received_email, "text/plain").get_payload(decode=True).decode()
    )

    # Its own submission is no news in its inbox; the decline is.
    reply = await wait_until(lambda: _with_notices(notification_channel, tenant, client_id, 1), timeout=15)
    assert [(n.kind, n.body) for n in reply.notifications] == [
        ("request.declined", "Your request for Massage was declined. Reason: We are closed that week")
    ]
    assert reply.unread_count == 1
    notice_id = reply.notifications[0].id
    stub = pb_grpc.NotificationServiceStub(notification_channel)
    portal = CallContext(tenant, Principal("portal", str(uuid.uuid4()), "", client_id))
    with bind_call_context(portal):
        one = await stub.MarkNotificationsRead(pb.MarkNotificationsReadRequest(notification_id=notice_id))
        assert (one.marked, one.unread_count) == (1, 0)
        again = await stub.MarkNotificationsRead(pb.MarkNotificationsReadRequest(notification_id=notice_id))
        assert (again.marked, again.unread_count) == (0, 0)
        rest = await stub.MarkNotificationsRead(pb.MarkNotificationsReadRequest(all=True))
        assert (rest.marked, rest.unread_count) == (0, 0)
    # Another client's notice is not found for this one.
    other = CallContext(tenant, Principal("portal", str(uuid.uuid4()), "", str(uuid.uuid4())))
    with bind_call_context(other):
        try:
            await stub.MarkNotificationsRead(pb.MarkNotificationsReadRequest(notification_id=reply.notifications[0].id))
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND
        else:
            raise AssertionError("another client's notice was marked")


async def test_an_erased_clients_messages_keep_no_address_or_content_and_its_inbox_is_emptied(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings, mailbox: Mailbox
) -> None:
    tenant, client_id, request_id = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    address = f"eve-{uuid.uuid4().hex[:8]}@example.com"
    await known_business_and_client(notification_settings, tenant, client_id, address, "en")
    declined = request_events.RequestDeclined(request_id=request_id, client_id=client_id, reason="No", facts=facts())
    await publish(notification_settings, envelope(tenant, declined, "portal_requests", request_id))
    await wait_until(lambda: _with_notices(notification_channel, tenant, client_id, 1), timeout=15)

    await publish(
        notification_settings, envelope(tenant, client_events.ClientErased(client_id=client_id), "client", client_id)
    )
    engine = create_engine(notification_settings.database_url("notification"))
    try:

        async def forgotten() -> bool:
            async with engine.connect() as conn:
                kept = await conn.scalar(
                    text(
                        "SELECT count(*) FROM messages WHERE tenant_id = :t AND client_id = :c "
                        "AND (to_address <> '' OR subject <> '' OR variables <> '{}')"
                    ),
                    {"t": tenant, "c": uuid.UUID(client_id)},
                )
                contact = await conn.scalar(
                    text("SELECT email FROM client_contacts WHERE tenant_id = :t AND client_id = :c"),
                    {"t": tenant, "c": uuid.UUID(client_id)},
                )
            return kept == 0 and contact == ""

        await wait_until(forgotten, timeout=15)
    finally:
        await engine.dispose()
    reply = await inbox(notification_channel, tenant, client_id)
    assert (list(reply.notifications), reply.unread_count) == ([], 0)


async def test_a_new_request_reaches_the_approvers_and_the_preferred_technician_by_email_and_staff_inbox(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings, mailbox: Mailbox
) -> None:
    tenant, client_id, request_id = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    await known_business_and_client(notification_settings, tenant, client_id, f"c-{uuid.uuid4().hex[:8]}@x.example", "")
    staff = {
        "approver": (str(uuid.uuid4()), ["requests.approve"], True),
        "technician": (str(uuid.uuid4()), ["schedule.read"], True),
        "bystander": (str(uuid.uuid4()), ["schedule.read"], True),
        "former": (str(uuid.uuid4()), ["requests.approve"], False),
    }
    addresses = {who: f"{who}-{uuid.uuid4().hex[:6]}@studio.example" for who in staff}
    for who, (staff_id, permissions, active) in staff.items():
        member = gateway_events.StaffMemberChanged(
            staff_user_id=staff_id, email=addresses[who], name=who.title(), permissions=permissions, active=active,
            language="de" if who == "technician" else "",
        )  # fmt: skip
        await publish(notification_settings, envelope(tenant, member, "gateway"))
    engine = create_engine(notification_settings.database_url("notification"))
    try:

        async def directory_known() -> bool:
            async with engine.connect() as conn:
                count = await conn.scalar(
                    text("SELECT count(*) FROM staff_directory WHERE tenant_id = :t"), {"t": tenant}
                )
            return count == 4

        await wait_until(directory_known, timeout=15)
    finally:
        await engine.dispose()
    request_facts = facts()
    request_facts.preferred_staff_id = staff["technician"][0]
    submitted = request_events.RequestSubmitted(
        request_id=request_id,
        client_id=client_id,
        options=[requests_pb.TimeOption(start=timestamp(START))],
        facts=request_facts,
    )
    await publish(notification_settings, envelope(tenant, submitted, "portal_requests", request_id))

    await wait_until(lambda: mailbox.to(addresses["approver"]) and mailbox.to(addresses["technician"]), timeout=15)
    [to_approver] = mailbox.to(addresses["approver"])
    [to_technician] = mailbox.to(addresses["technician"])
    assert subject(to_approver) == "New appointment request REQ-1042: Massage for Ada Lovelace"
    assert subject(to_technician) == "Neue Terminanfrage REQ-1042: Massage für Ada Lovelace"
    assert mailbox.to(addresses["bystander"]) == [] and mailbox.to(addresses["former"]) == []

    stub = pb_grpc.NotificationServiceStub(notification_channel)

    async def approver_inbox() -> pb.ListNotificationsResponse | None:
        with bind_call_context(CallContext(tenant, Principal("staff", staff["approver"][0], "staff"))):
            reply: pb.ListNotificationsResponse = await stub.ListNotifications(pb.ListNotificationsRequest())
        return reply if reply.unread_count == 1 else None

    reply = await wait_until(approver_inbox, timeout=15)
    assert reply.notifications[0].kind == "request.awaiting_approval"
