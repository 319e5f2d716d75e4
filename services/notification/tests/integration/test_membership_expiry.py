"""The membership-expiry rule against PostgreSQL, with the clock moved by the test: billing's Membership*
facts plan the rule's reminders at the local time in the client's zone; a renewal moves them (those planned
before are cancelled, never sent stale), a late older event moves nothing, a cancellation cancels them; a
business with its own rule hears no one-off expiring notice; the reminder due reaches SMTP once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from email.header import decode_header, make_header
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_svc.config import NotificationSettings
from notification_svc.domain import commands
from notification_svc.domain.audience import BusinessProfile, ClientContact
from notification_svc.domain.membership_expiry import (
    EXPIRY_KIND,
    MembershipExpiryRule,
    SubscriptionFacts,
    checked_expiry_rule,
)
from notification_svc.domain.payment_notices import BillingStep
from notification_svc.service_layer import notice_handlers, rule_handlers
from notification_svc.service_layer.unit_of_work import SqlAlchemyNotificationUnitOfWork
from platform_core.db import session_factory

from .conftest import Clock, FlakyMailbox, dispatcher

BERLIN = ZoneInfo("Europe/Berlin")
SOLD = datetime(2100, 9, 1, 10, 0, tzinfo=UTC)


def facts(subscription: uuid.UUID, client: uuid.UUID, expires_on: date, status: str = "active") -> SubscriptionFacts:
    tolerance = expires_on + timedelta(days=3)
    variables: dict[str, Any] = {
        "membership_name": "Yoga 10",
        "starts_on": "2100-09-01",
        "expires_on": expires_on.isoformat(),
        "tolerance_until": tolerance.isoformat(),
        "price": "99.00 EUR",
        "auto_renew": False,
    }
    return SubscriptionFacts(subscription, client, "Yoga 10", expires_on, tolerance, status, variables)


async def test_the_rule_plans_moves_and_cancels_a_subscriptions_reminders_and_one_reaches_smtp_once(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    tenant, client, subscription = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # Its own address: the dispatcher sends whatever else is due on the shared database by the moved clock.
    address = f"ada-{uuid.uuid4().hex[:8]}@example.com"

    def received() -> list[Any]:
        return [m for m in mailbox.messages if m["To"] == address]

    def uow() -> SqlAlchemyNotificationUnitOfWork:
        return SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=notification_settings.nats_prefix)

    async with uow() as work:
        contact = ClientContact(client, "Ada", "", address, "", "en", "Europe/Berlin")
        await work.directory.keep_contact(tenant, contact, SOLD)
        await work.directory.keep_business(tenant, BusinessProfile("Zen Studio", "Europe/Berlin", "en"), SOLD)
        await work.commit()
    assert await rule_handlers.get_expiry_rule(commands.GetExpiryRule(tenant), uow()) == (MembershipExpiryRule(), True)
    rule = checked_expiry_rule([-3, 0, 2, 9], ["email"], "10:00")
    await rule_handlers.set_expiry_rule(commands.SetExpiryRule(tenant, rule, SOLD), uow())
    assert await rule_handlers.get_expiry_rule(commands.GetExpiryRule(tenant), uow()) == (
        MembershipExpiryRule((-3, 0, 2, 9), ("email",), time(10, 0)),
        False,
    )

    async def event(at: datetime, kept: SubscriptionFacts, notice_kind: str = "") -> int:
        event_id = uuid.uuid4()
        notice = None
        if notice_kind:
            notice = BillingStep(
                tenant, notice_kind, client, subscription, event_id, at, kept.variables | {"days_left": 3}
            )
        return await notice_handlers.plan_membership_notices(
            commands.PlanMembershipNotices(tenant, client, event_id, at, kept, notice, at), uow()
        )

    async def planned() -> list[tuple[str, datetime]]:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT kind, due_at FROM messages WHERE tenant_id = :t AND status = 'planned' "
                    "ORDER BY due_at, kind"
                ),
                {"t": tenant},
            )
            return [(row.kind, row.due_at) for row in rows]

    # Sold, to end on 15 October: -3, 0 and +2 days (the +9 is past the 3 days' tolerance).
    assert await event(SOLD, facts(subscription, client, date(2100, 10, 15))) == 3
    assert [due for _, due in await planned()] == [
        datetime(2100, 10, day, 10, 0, tzinfo=BERLIN).astimezone(UTC) for day in (12, 15, 17)
    ]
    # Renewed to 15 November (winter time: 10:00 Berlin is 09:00 UTC): the October ones are cancelled.
    renewed_at = SOLD + timedelta(days=10)
    assert await event(renewed_at, facts(subscription, client, date(2100, 11, 15))) == 3
    moved = [datetime(2100, 11, day, 9, 0, tzinfo=UTC) for day in (12, 15, 17)]
    assert [due for _, due in await planned()] == moved
    # An older fact delivered late (the frozen one before the renewal) moves nothing.
    assert await event(SOLD + timedelta(days=5), facts(subscription, client, date(2100, 10, 20), "frozen")) == 0
    assert [due for _, due in await planned()] == moved
    # Billing's one-off expiring notice: replaced by the business's rule (the reminders are planned again).
    expiring_at = renewed_at + timedelta(days=1)
    assert await event(expiring_at, facts(subscription, client, date(2100, 11, 15)), "membership.expiring") == 3
    assert {kind for kind, _ in await planned()} == {EXPIRY_KIND}

    clock = Clock(datetime(2100, 10, 20, tzinfo=UTC))
    sender = dispatcher(engine, port, clock, notification_settings)
    await sender.dispatch_all_due()
    assert received() == []  # the October reminders were cancelled, not sent stale
    clock.now = moved[0]
    await sender.dispatch_all_due()
    await sender.dispatch_all_due()
    [email] = received()
    assert (
        " ".join(str(make_header(decode_header(email["Subject"]))).split()) == "Your Yoga 10 membership ends in 3 days"
    )
    body = email.get_payload(0).get_payload(decode=True).decode()
    assert "ends on" in body and "2100" in body

    # Cancelled: the reminders still ahead are cancelled, none planned again.
    assert await event(moved[0] + timedelta(hours=1), facts(subscription, client, date(2100, 11, 15), "cancelled")) == 0
    assert await planned() == []
    clock.now = datetime(2100, 12, 1, tzinfo=UTC)
    await sender.dispatch_all_due()
    assert len(received()) == 1


async def test_without_a_rule_of_its_own_the_business_keeps_billings_expiring_notice(
    engine: AsyncEngine, notification_settings: NotificationSettings
) -> None:
    tenant, client, subscription = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # Planned far beyond any moved clock of the tests that share this database (they send what is due).
    far = datetime(2999, 9, 1, tzinfo=UTC)

    def uow() -> SqlAlchemyNotificationUnitOfWork:
        return SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=notification_settings.nats_prefix)

    await rule_handlers.set_expiry_rule(commands.SetExpiryRule(tenant, MembershipExpiryRule(days=(-1,)), far), uow())
    assert await rule_handlers.delete_expiry_rule(commands.DeleteExpiryRule(tenant), uow())
    kept = facts(subscription, client, date(2999, 10, 15))
    event_id = uuid.uuid4()
    notice = BillingStep(
        tenant, "membership.expiring", client, subscription, event_id, SOLD, kept.variables | {"days_left": 7}
    )
    # The expiring notice by email and inbox, and the default rule's reminders: on the day and 3 days after.
    assert (
        await notice_handlers.plan_membership_notices(
            commands.PlanMembershipNotices(tenant, client, event_id, far, kept, notice, far), uow()
        )
        == 4
    )
    async with engine.connect() as connection:
        kinds = (
            await connection.execute(
                text("SELECT kind, count(*) AS n FROM messages WHERE tenant_id = :t GROUP BY kind ORDER BY kind"),
                {"t": tenant},
            )
        ).all()
    assert [(row.kind, row.n) for row in kinds] == [("membership.expiring", 2), (EXPIRY_KIND, 2)]
