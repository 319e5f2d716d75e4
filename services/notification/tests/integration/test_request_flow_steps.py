"""The request flow's later steps and the waitlist, published as portal-requests events: each reaches the
client (in the language its client record names, times in its zone) and, where it concerns them, the staff
who may approve and the technician; and each lands on the client's timeline."""

from __future__ import annotations

import uuid
from datetime import timedelta
from email.message import Message

import grpc
from icalendar import Calendar
from sqlalchemy import text

from atrium.client.v1 import events_pb2 as client_events
from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.gateway.v1 import events_pb2 as gateway_events
from atrium.membership_billing.v1 import events_pb2 as billing_events
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
from .test_request_messages import START, _with_notices, envelope, facts, known_business_and_client, part, subject
from .test_timeline import publish


def waitlist_facts() -> request_events.WaitlistFacts:
    return request_events.WaitlistFacts(
        service_name="Massage", duration_minutes=60, client_timezone="Europe/Berlin", business_timezone="Europe/London"
    )


def waitlist_event(tenant: uuid.UUID, entry_id: str, payload: object) -> EventEnvelope:
    return build_envelope(
        payload,  # type: ignore[arg-type]
        tenant_id=tenant,
        aggregate_type="waitlist_entry",
        aggregate_id=entry_id,
        producer="portal_requests",
    )


def body(email: Message) -> str:
    return str(part(email, "text/plain").get_payload(decode=True).decode())


async def staff_known(
    settings: NotificationSettings, tenant: uuid.UUID, members: dict[str, tuple[str, list[str]]]
) -> dict[str, str]:
    """Staff members (name -> (id, permissions)) published as the gateway does; returns their addresses."""
    addresses = {who: f"{who}-{uuid.uuid4().hex[:6]}@studio.example" for who in members}
    for who, (staff_id, permissions) in members.items():
        member = gateway_events.StaffMemberChanged(
            staff_user_id=staff_id, email=addresses[who], name=who.title(), permissions=permissions, active=True
        )
        await publish(settings, envelope(tenant, member, "gateway"))
    engine = create_engine(settings.database_url("notification"))
    try:

        async def known() -> bool:
            async with engine.connect() as conn:
                count = await conn.scalar(
                    text("SELECT count(*) FROM staff_directory WHERE tenant_id = :t"), {"t": tenant}
                )
            return count == len(members)

        await wait_until(known, timeout=15)
    finally:
        await engine.dispose()
    return addresses


async def client_messages(settings: NotificationSettings, tenant: uuid.UUID) -> list[tuple[str, str]]:
    """(channel, subject id) of every message planned for the tenant's clients."""
    engine = create_engine(settings.database_url("notification"))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT channel, subject_id FROM messages WHERE tenant_id = :t AND recipient_kind = 'client' "
                    "ORDER BY channel"
                ),
                {"t": tenant},
            )
            return [(row.channel, str(row.subject_id)) for row in rows]
    finally:
        await engine.dispose()


async def test_a_waitlist_offer_reaches_the_client_in_the_language_its_record_names_with_the_hold_and_the_link(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings, mailbox: Mailbox
) -> None:
    tenant, client_id, entry_id, offer_id = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    address = f"wait-{uuid.uuid4().hex[:8]}@example.com"
    # The business writes English; the client's record (ClientCreated) says German.
    await known_business_and_client(notification_settings, tenant, client_id, address, "de")
    offer = request_events.WaitlistOfferMade(
        offer_id=offer_id,
        entry_id=entry_id,
        client_id=client_id,
        facts=waitlist_facts(),
        start=timestamp(START),
        end=timestamp(START + timedelta(hours=1)),
        hold_until=timestamp(START - timedelta(hours=15)),
    )
    await publish(notification_settings, waitlist_event(tenant, entry_id, offer))

    [email] = await wait_until(lambda: mailbox.to(address), timeout=15)
    assert subject(email) == "Ein Termin für Massage ist frei: Montag, 5. April 2027, 09:00 (Europe/Berlin)"
    text_part = body(email)
    assert "Er ist für Sie reserviert bis Sonntag, 4. April 2027, 18:00 (Europe/Berlin)." in text_part
    assert f"{notification_settings.public_url}/portal/waitlist" in text_part
    reply = await wait_until(lambda: _with_notices(notification_channel, tenant, client_id, 1), timeout=15)
    assert [n.kind for n in reply.notifications] == ["waitlist.offer_made"]

    # The client switches its language to English (ClientUpdated): the lapse is told in English.
    updated = client_events.ClientUpdated(
        client_id=client_id,
        changed_fields=["profile"],
        first_name="Ada",
        last_name="Lovelace",
        email=address,
        preferred_language="en",
        timezone="Europe/Berlin",
    )
    await publish(notification_settings, envelope(tenant, updated, "client", client_id))
    engine = create_engine(notification_settings.database_url("notification"))
    try:

        async def english() -> bool:
            async with engine.connect() as conn:
                language = await conn.scalar(
                    text("SELECT language FROM client_contacts WHERE tenant_id = :t AND client_id = :c"),
                    {"t": tenant, "c": uuid.UUID(client_id)},
                )
            return language == "en"

        await wait_until(english, timeout=15)
    finally:
        await engine.dispose()
    lapsed = request_events.WaitlistOfferExpired(
        offer_id=offer_id, entry_id=entry_id, client_id=client_id, facts=waitlist_facts()
    )
    await publish(notification_settings, waitlist_event(tenant, entry_id, lapsed))
    received = await wait_until(lambda: len(mailbox.to(address)) == 2 and mailbox.to(address), timeout=15)
    assert subject(received[1]) == "The time offered for Massage was released"
    assert "You stay on the waitlist" in body(received[1])


async def test_proposed_times_reach_the_client_in_its_zone_with_the_hold_and_a_link_into_the_portal(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings, mailbox: Mailbox
) -> None:
    tenant, client_id, request_id = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    address = f"prop-{uuid.uuid4().hex[:8]}@example.com"
    await known_business_and_client(notification_settings, tenant, client_id, address, "en")
    proposed = request_events.RequestAlternativesProposed(
        request_id=request_id,
        client_id=client_id,
        alternatives=[
            requests_pb.TimeOption(start=timestamp(START)),
            requests_pb.TimeOption(start=timestamp(START + timedelta(days=1, hours=2))),
        ],
        hold_until=timestamp(START - timedelta(hours=15)),
        note="Mornings are free",
        facts=facts(),
    )
    await publish(notification_settings, envelope(tenant, proposed, "portal_requests", request_id))

    [email] = await wait_until(lambda: mailbox.to(address), timeout=15)
    assert subject(email) == "Other times for your request REQ-1042"
    text_part = body(email)
    # The client's zone (Berlin), not the business's (London).
    assert "- Monday, April 5, 2027, 09:00 (Europe/Berlin)" in text_part
    assert "- Tuesday, April 6, 2027, 11:00 (Europe/Berlin)" in text_part
    assert "Mornings are free" in text_part
    link = f"{notification_settings.public_url.rstrip('/')}/portal/requests"
    assert f"before Sunday, April 4, 2027, 18:00 (Europe/Berlin): {link}" in text_part
    assert f'<a href="{link}">' in str(part(email, "text/html").get_payload(decode=True).decode())
    reply = await wait_until(lambda: _with_notices(notification_channel, tenant, client_id, 1), timeout=15)
    assert [n.kind for n in reply.notifications] == ["request.alternatives_proposed"]


async def test_an_accepted_alternative_confirms_with_a_calendar_file_and_tells_the_approver_and_technician(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings, mailbox: Mailbox
) -> None:
    tenant, client_id, request_id = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    address = f"alt-{uuid.uuid4().hex[:8]}@example.com"
    await known_business_and_client(notification_settings, tenant, client_id, address, "en")
    team = {
        "approver": (str(uuid.uuid4()), ["requests.approve"]),
        "technician": (str(uuid.uuid4()), ["schedule.read"]),
        "bystander": (str(uuid.uuid4()), ["schedule.read"]),
    }
    addresses = await staff_known(notification_settings, tenant, team)
    accepted = request_events.RequestAlternativeAccepted(
        request_id=request_id,
        client_id=client_id,
        appointment_id=str(uuid.uuid4()),
        start=timestamp(START),
        end=timestamp(START + timedelta(hours=1)),
        technician_id=team["technician"][0],
        technician_name="Technician",
        facts=facts(),
    )
    await publish(notification_settings, envelope(tenant, accepted, "portal_requests", request_id))

    await wait_until(
        lambda: mailbox.to(address) and mailbox.to(addresses["approver"]) and mailbox.to(addresses["technician"]),
        timeout=15,
    )
    [confirmation] = mailbox.to(address)
    assert subject(confirmation) == "Confirmed: Massage on Monday, April 5, 2027, 09:00 (Europe/Berlin)"
    [vevent] = Calendar.from_ical(part(confirmation, "text/calendar").get_payload(decode=True)).walk("VEVENT")
    assert vevent.decoded("dtstart") == START
    # Staff read it on their business's clock (London).
    [to_technician] = mailbox.to(addresses["technician"])
    assert (
        subject(to_technician)
        == "Ada Lovelace took Monday, April 5, 2027, 08:00 (Europe/London) for Massage (REQ-1042)"
    )
    assert mailbox.to(addresses["bystander"]) == []
    # The client chose it itself: no news in its inbox (planned with the emails, in one transaction, or never).
    assert await client_messages(notification_settings, tenant) == [("email", request_id)]


async def test_a_cancelled_request_is_told_to_the_client_and_an_approved_one_the_client_cancelled_to_approvers(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings, mailbox: Mailbox
) -> None:
    tenant, client_id = uuid.uuid4(), str(uuid.uuid4())
    pending_id, approved_id = str(uuid.uuid4()), str(uuid.uuid4())
    address = f"cancel-{uuid.uuid4().hex[:8]}@example.com"
    await known_business_and_client(notification_settings, tenant, client_id, address, "de")
    team = {"approver": (str(uuid.uuid4()), ["requests.approve"])}
    addresses = await staff_known(notification_settings, tenant, team)
    # Staff cancel a pending request; the client cancels an approved one (its appointment tells the client).
    pending = request_events.RequestCancelled(
        request_id=pending_id, client_id=client_id, cancelled_by="staff", facts=facts()
    )
    approved = request_events.RequestCancelled(
        request_id=approved_id,
        client_id=client_id,
        cancelled_by="client",
        was_approved=True,
        appointment_id=str(uuid.uuid4()),
        facts=facts(),
    )
    await publish(notification_settings, envelope(tenant, pending, "portal_requests", pending_id))
    await publish(notification_settings, envelope(tenant, approved, "portal_requests", approved_id))

    await wait_until(lambda: mailbox.to(address) and mailbox.to(addresses["approver"]), timeout=15)
    reply = await wait_until(lambda: _with_notices(notification_channel, tenant, client_id, 1), timeout=15)
    assert [n.kind for n in reply.notifications] == ["request.cancelled"]
    [to_client] = mailbox.to(address)
    assert subject(to_client) == "Ihre Terminanfrage REQ-1042 ist storniert"
    assert "Zen Studio hat Ihre Anfrage für Massage (REQ-1042) storniert." in body(to_client)
    [to_approver] = mailbox.to(addresses["approver"])
    assert subject(to_approver) == "Cancelled by Ada Lovelace: Massage (REQ-1042)"
    # The approver's email was planned with whatever the approved cancellation planned for the client: nothing.
    assert await client_messages(notification_settings, tenant) == [("email", pending_id), ("in_app", pending_id)]

    stub = pb_grpc.NotificationServiceStub(notification_channel)

    async def approver_inbox() -> pb.ListNotificationsResponse | None:
        with bind_call_context(CallContext(tenant, Principal("staff", team["approver"][0], "staff"))):
            reply: pb.ListNotificationsResponse = await stub.ListNotifications(pb.ListNotificationsRequest())
        return reply if reply.unread_count == 1 else None

    reply = await wait_until(approver_inbox, timeout=15)
    assert reply.notifications[0].kind == "request.cancelled_by_client"


async def test_request_waitlist_and_credit_steps_land_on_the_clients_timeline(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings
) -> None:
    stub = pb_grpc.NotificationServiceStub(notification_channel)
    tenant, client_id, request_id, entry_id = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    request_facts = facts()
    request_facts.business_timezone = "Europe/Berlin"
    events = [
        envelope(
            tenant,
            request_events.RequestCancelled(
                request_id=request_id, client_id=client_id, cancelled_by="staff", facts=request_facts
            ),
            "portal_requests",
            request_id,
        ),
        waitlist_event(
            tenant,
            entry_id,
            request_events.WaitlistOfferAccepted(
                offer_id=str(uuid.uuid4()),
                entry_id=entry_id,
                client_id=client_id,
                appointment_id=str(uuid.uuid4()),
                facts=request_events.WaitlistFacts(service_name="Massage", business_timezone="Europe/Berlin"),
                start=timestamp(START),
                end=timestamp(START + timedelta(hours=1)),
            ),
        ),
        build_envelope(
            billing_events.CreditsCharged(
                transaction_id=str(uuid.uuid4()), client_id=client_id, amount=10, unit="session",
                credit_type_name="Yoga 10-pack", starts_at=timestamp(START),
            ),
            tenant_id=tenant, aggregate_type="client", aggregate_id=client_id, producer="membership_billing",
        ),
        build_envelope(
            billing_events.CheckedIn(check_in_id=str(uuid.uuid4()), client_id=client_id, units_used=1, method="card"),
            tenant_id=tenant, aggregate_type="client", aggregate_id=client_id, producer="membership_billing",
        ),
    ]  # fmt: skip
    for event in events:
        await publish(notification_settings, event)

    async def entries() -> list[tuple[str, str]]:
        with bind_call_context(CallContext(tenant, Principal("staff", str(uuid.uuid4()), "staff"))):
            reply = await stub.ListClientActivity(pb.ListClientActivityRequest(client_id=client_id))
        found = sorted((e.kind, e.summary) for e in reply.entries if not e.HasField("message"))
        return found if len(found) == len(events) else []

    assert await wait_until(entries, timeout=15) == [
        ("billing.checked_in", "Checked in with the membership card, 1 credit used"),
        ("billing.credits_charged", "Credits given: 10 sessions of Yoga 10-pack"),
        ("request.cancelled", "Appointment request REQ-1042 cancelled by staff"),
        ("waitlist.offer_accepted", "Waitlist offer taken: Massage booked for Mon 5 Apr 2027, 09:00 Europe/Berlin"),
    ]
