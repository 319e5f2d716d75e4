"""Clients' contact facts kept from events: a run of events in one statement, as keeping them one by one would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from notification_svc.config import NotificationSettings
from notification_svc.domain.audience import ClientContact
from notification_svc.domain.commands import KeepClientContacts
from notification_svc.service_layer import directory_handlers
from notification_svc.service_layer.unit_of_work import SqlAlchemyNotificationUnitOfWork
from platform_core.db import session_factory

EARLY, LATE = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)


async def test_a_run_of_contacts_keeps_each_clients_newest_and_a_redelivery_changes_nothing(
    engine: AsyncEngine, notification_settings: NotificationSettings
) -> None:
    tenant, ada, bob, cy = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def uow() -> SqlAlchemyNotificationUnitOfWork:
        return SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=notification_settings.nats_prefix)

    async with uow() as work:
        await work.directory.keep_contact(tenant, ClientContact(cy, "Cy", email="cy@new.example.com"), LATE)
        await work.commit()
    run = (
        (ClientContact(ada, "Ada", email="ada@new.example.com", timezone="Asia/Tokyo"), LATE),
        (ClientContact(ada, "Ada", email="ada@old.example.com"), EARLY),  # older than the one before: loses
        (ClientContact(bob, "Bob", email="bob@first.example.com"), EARLY),
        (ClientContact(bob, "Bob", email="bob@second.example.com"), EARLY),  # the same time: the later wins
        (ClientContact(cy, "Cy", email="cy@old.example.com"), EARLY),  # older than what is kept: nothing
    )
    for _ in range(2):  # a redelivered run leaves the same
        await directory_handlers.keep_client_contacts(KeepClientContacts(tenant, run), uow())
    async with uow() as work:
        kept = await work.directory.contacts(tenant, [ada, bob, cy])
    assert {c: (contact.email, contact.timezone) for c, contact in kept.items()} == {
        ada: ("ada@new.example.com", "Asia/Tokyo"),
        bob: ("bob@second.example.com", ""),
        cy: ("cy@new.example.com", ""),
    }
