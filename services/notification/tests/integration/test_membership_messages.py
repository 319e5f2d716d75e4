"""Billing's membership, credit, points and policy events through the service, published here as billing
publishes them: each tells the client in its language by email and in its inbox; a credit balance is told
once when a use brings it down to the threshold, not again while it stays low; points go to the inbox
only."""

from __future__ import annotations

import uuid

import grpc

from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.membership_billing.v1 import events_pb2 as billing_events
from notification_svc.config import NotificationSettings
from platform_core.messaging.envelope import build_envelope
from platform_dev.testing.plugin import wait_until

from ..conftest import Mailbox
from .test_request_messages import _with_notices, known_business_and_client, part, subject
from .test_timeline import publish


def billing(tenant: uuid.UUID, payload: object, aggregate: str) -> EventEnvelope:
    return build_envelope(
        payload,  # type: ignore[arg-type]
        tenant_id=tenant,
        aggregate_type="client",
        aggregate_id=aggregate,
        producer="membership_billing",
    )


def subscription(client_id: str) -> billing_events.SubscriptionFacts:
    return billing_events.SubscriptionFacts(
        subscription_id=str(uuid.uuid4()),
        client_id=client_id,
        membership_id=str(uuid.uuid4()),
        membership_name="Yoga 10",
        # Far ahead: the expiry reminders it plans are never due for the tests that move a clock and send
        # whatever is due on this shared database.
        starts_on="2999-03-01",
        expires_on="2999-05-31",
        tolerance_until="2999-05-31",
        status="active",
        currency="EUR",
        price_minor=9900,
        auto_renew=False,
    )


async def test_membership_events_reach_the_client_in_its_language_by_email_and_inbox(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings, mailbox: Mailbox
) -> None:
    tenant, client_id = uuid.uuid4(), str(uuid.uuid4())
    address = f"mia-{uuid.uuid4().hex[:8]}@example.com"
    await known_business_and_client(notification_settings, tenant, client_id, address, "de")
    activated = billing_events.MembershipActivated(subscription=subscription(client_id))
    expiring = billing_events.MembershipExpiring(subscription=subscription(client_id), days_left=7)
    event = await publish(notification_settings, billing(tenant, activated, client_id))
    await publish(notification_settings, event, msg_id=str(uuid.uuid4()))  # redelivered: still told once
    await publish(notification_settings, billing(tenant, expiring, client_id))

    received = await wait_until(lambda: len(mailbox.to(address)) == 2 and mailbox.to(address), timeout=15)
    assert sorted(subject(m) for m in received) == [
        "Ihre Mitgliedschaft Yoga 10 endet in 7 Tagen",
        "Ihre Mitgliedschaft Yoga 10 ist aktiv",
    ]
    active = next(m for m in received if "aktiv" in subject(m))
    body = part(active, "text/plain").get_payload(decode=True).decode()
    assert "Yoga 10 bei Zen Studio gilt vom 1. März 2999 bis zum 31. Mai 2999. Preis: 99.00 EUR." in body
    # A reminder category: it carries the one-click unsubscribe; a transactional message does not.
    ending = next(m for m in received if "endet" in subject(m))
    assert ending["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert active["List-Unsubscribe"] is None
    reply = await wait_until(lambda: _with_notices(notification_channel, tenant, client_id, 2), timeout=15)
    assert sorted(n.kind for n in reply.notifications) == ["membership.activated", "membership.expiring"]


async def test_a_low_credit_balance_is_told_once_per_crossing_and_points_only_in_the_inbox(
    notification_channel: grpc.aio.Channel, notification_settings: NotificationSettings, mailbox: Mailbox
) -> None:
    tenant, client_id = uuid.uuid4(), str(uuid.uuid4())
    address = f"lea-{uuid.uuid4().hex[:8]}@example.com"
    await known_business_and_client(notification_settings, tenant, client_id, address, "en")

    def used(balance_after: int) -> billing_events.CreditsUsed:
        return billing_events.CreditsUsed(
            transaction_id=str(uuid.uuid4()),
            client_id=client_id,
            credit_type_id=str(uuid.uuid4()),
            credit_type_name="Yoga sessions",
            unit="session",
            amount=1,
            balance_after=balance_after,
        )

    for balance in (3, 2, 1, 0):  # the threshold is 1 session: told at 1, not again at 0
        await publish(notification_settings, billing(tenant, used(balance), client_id))
    earned = billing_events.PointsEarned(
        transaction_id=str(uuid.uuid4()), client_id=client_id, points=50, source="visit", balance_after=350
    )
    await publish(notification_settings, billing(tenant, earned, client_id))

    reply = await wait_until(lambda: _with_notices(notification_channel, tenant, client_id, 2), timeout=15)
    assert sorted((n.kind, n.body) for n in reply.notifications) == [
        ("credits.low_balance", "You have 1 session left of Yoga sessions."),
        ("points.earned", "You earned 50 points; you now have 350."),
    ]
    [email] = await wait_until(lambda: mailbox.to(address), timeout=15)
    assert subject(email) == "1 session left of Yoga sessions"
    # Everything published was consumed (the inbox has both notices): no second low-balance email.
    assert len(mailbox.to(address)) == 1
