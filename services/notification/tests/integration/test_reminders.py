"""Reminders against real PostgreSQL and a real SMTP server, with the clock moved by the test: an appointment moved
twice is reminded once, at its final time; a cancelled one is not reminded; an event arriving after a newer one
plans nothing; a booking planned by two replicas and dispatched by two at once is reminded once; a
reassignment tells the client and both staff members. Times are in 2100 so the service's own
dispatcher (real clock) leaves them be."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

from sqlalchemy.ext.asyncio import AsyncEngine

from notification_svc.config import NotificationSettings
from notification_svc.domain import commands
from notification_svc.domain.appointment_notices import AppointmentStep
from notification_svc.domain.audience import ClientContact, StaffMember
from notification_svc.domain.preferences import Preference, UnsubscribeLink
from notification_svc.domain.reminders import Offset, ReminderRule
from notification_svc.service_layer import notice_handlers, preference_handlers
from notification_svc.service_layer.unit_of_work import SqlAlchemyNotificationUnitOfWork
from platform_core.db import session_factory

from .conftest import Clock, FlakyMailbox, dispatcher

T0 = datetime(2100, 6, 1, 8, 0, tzinfo=UTC)


def uow(engine: AsyncEngine, settings: NotificationSettings) -> SqlAlchemyNotificationUnitOfWork:
    return SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=settings.nats_prefix)


def step(
    tenant: uuid.UUID, appointment: uuid.UUID, client: uuid.UUID, kind: str, start: datetime, occurred: datetime
) -> AppointmentStep:
    return AppointmentStep(
        tenant_id=tenant,
        kind=kind,
        appointment_id=appointment,
        client_id=client,
        staff_ids=(),
        service_ids=(uuid.uuid4(),),
        start=start,
        timezone="Europe/Berlin",
        source_event_id=uuid.uuid4(),
        occurred_at=occurred,
        variables={
            "appointment_id": str(appointment),
            "service_name": "Massage",
            "start": start.isoformat(),
            "previous_start": start.isoformat(),
            "timezone": "Europe/Berlin",
            "reason": "",
        },
    )


def subjects(mailbox: FlakyMailbox, address: str) -> list[str]:
    return [
        " ".join(str(make_header(decode_header(m["Subject"]))).split()) for m in mailbox.messages if m["To"] == address
    ]


async def business_with_client(engine: AsyncEngine, settings: NotificationSettings) -> tuple[uuid.UUID, uuid.UUID, str]:
    tenant, client = uuid.uuid4(), uuid.uuid4()
    address = f"c-{client.hex[:8]}@example.com"
    async with uow(engine, settings) as work:
        rule = ReminderRule((Offset(2, "h"),), ("client",), ("email",))
        await work.reminders.set_rule(tenant, rule, T0)
        contact = ClientContact(client, "Ada", "", address, language="en", timezone="Europe/Berlin")
        await work.directory.keep_contact(tenant, contact, T0)
        await work.commit()
    return tenant, client, address


async def test_an_appointment_moved_twice_is_reminded_once_at_its_final_time(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    tenant, client, address = await business_with_client(engine, notification_settings)
    appointment = uuid.uuid4()
    first, second, final = T0 + timedelta(days=2), T0 + timedelta(days=3), T0 + timedelta(days=4)
    clock = Clock(T0 + timedelta(hours=1))
    sender = dispatcher(engine, port, clock, notification_settings)
    for minutes, (kind, start) in enumerate(
        [("appointment.booked", first), ("appointment.rescheduled", second), ("appointment.rescheduled", final)]
    ):
        occurred = T0 + timedelta(minutes=minutes)
        await notice_handlers.plan_appointment_notices(
            commands.PlanAppointmentNotices(step(tenant, appointment, client, kind, start, occurred), occurred, 3),
            uow(engine, notification_settings),
        )
    # A redelivered, older move (its event id new to the inbox) changes nothing.
    late = step(tenant, appointment, client, "appointment.rescheduled", second, T0 + timedelta(seconds=30))
    assert (
        await notice_handlers.plan_appointment_notices(
            commands.PlanAppointmentNotices(late, T0, 3), uow(engine, notification_settings)
        )
        == 0
    )

    await sender.dispatch_all_due()
    # One batch sends its messages concurrently: they arrive in any order.
    assert sorted(subjects(mailbox, address)) == [
        "Booked: Massage on Thursday, June 3, 2100, 10:00 (Europe/Berlin)",
        "Moved: Massage is now on Friday, June 4, 2100, 10:00 (Europe/Berlin)",
        "Moved: Massage is now on Saturday, June 5, 2100, 10:00 (Europe/Berlin)",
    ]
    for moment in (first, second):  # the old times' reminders were cancelled
        clock.now = moment
        await sender.dispatch_all_due()
    assert len(mailbox.messages) == 3
    clock.now = final - timedelta(hours=2, seconds=1)
    await sender.dispatch_all_due()
    assert len(mailbox.messages) == 3
    clock.now = final - timedelta(hours=2)
    await sender.dispatch_all_due()
    assert subjects(mailbox, address)[3:] == ["Reminder: Massage on Saturday, June 5, 2100, 10:00 (Europe/Berlin)"]
    clock.now = final + timedelta(days=1)
    await sender.dispatch_all_due()
    assert len(mailbox.messages) == 4


async def test_two_replicas_plan_and_send_each_reminder_once(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    tenant, client, address = await business_with_client(engine, notification_settings)
    start = T0 + timedelta(days=12)
    booked = step(tenant, uuid.uuid4(), client, "appointment.booked", start, T0)
    # The booking reaches a second replica too (a redelivery): nothing is planned twice.
    planned = [
        await notice_handlers.plan_appointment_notices(
            commands.PlanAppointmentNotices(booked, T0, 3), uow(engine, notification_settings)
        )
        for _ in range(2)
    ]
    assert planned[0] > 0 and planned[1] == 0
    clock = Clock(start - timedelta(hours=2))
    one, two = (dispatcher(engine, port, clock, notification_settings) for _ in range(2))
    one.dispatch = two.dispatch = replace(one.dispatch, batch_size=1)
    await asyncio.gather(one.dispatch_all_due(), two.dispatch_all_due())
    assert sorted(s.split(":")[0] for s in subjects(mailbox, address)) == ["Booked", "Reminder"]


async def test_a_cancelled_appointment_is_not_reminded(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    tenant, client, address = await business_with_client(engine, notification_settings)
    appointment, start = uuid.uuid4(), T0 + timedelta(days=10)
    for minutes, kind in enumerate(["appointment.booked", "appointment.cancelled"]):
        occurred = T0 + timedelta(minutes=minutes)
        await notice_handlers.plan_appointment_notices(
            commands.PlanAppointmentNotices(step(tenant, appointment, client, kind, start, occurred), occurred, 3),
            uow(engine, notification_settings),
        )
    # A booking event arriving after the cancellation books nothing back.
    late = step(tenant, appointment, client, "appointment.booked", start, T0 + timedelta(minutes=5))
    assert (
        await notice_handlers.plan_appointment_notices(
            commands.PlanAppointmentNotices(late, T0, 3), uow(engine, notification_settings)
        )
        == 0
    )
    clock = Clock(start + timedelta(hours=1))
    await dispatcher(engine, port, clock, notification_settings).dispatch_all_due()
    assert sorted(s.split(":")[0] for s in subjects(mailbox, address)) == ["Booked", "Cancelled"]


async def test_an_unsubscribe_link_stops_only_its_own_clients_reminders_and_never_the_transactional_messages(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    tenant, ada, ada_address = await business_with_client(engine, notification_settings)
    bob, bob_address = uuid.uuid4(), f"bob-{uuid.uuid4().hex[:8]}@example.com"
    async with uow(engine, notification_settings) as work:
        await work.directory.keep_contact(tenant, ClientContact(bob, "Bob", "", bob_address), T0)
        # Ada says no to marketing in the portal: her reminders still come.
        await work.preferences.choose(tenant, ada, [Preference("marketing", "email", allowed=False)], T0)
        await work.commit()
    clock = Clock(T0 + timedelta(hours=1))
    sender = dispatcher(engine, port, clock, notification_settings)

    async def book(client: uuid.UUID, start: datetime) -> None:
        booked = step(tenant, uuid.uuid4(), client, "appointment.booked", start, T0)
        await notice_handlers.plan_appointment_notices(
            commands.PlanAppointmentNotices(booked, T0, 3), uow(engine, notification_settings)
        )

    first = T0 + timedelta(days=20)
    await book(ada, first)
    await book(bob, first)
    clock.now = first - timedelta(hours=2)
    await sender.dispatch_all_due()
    [reminder] = [m for m in mailbox.messages if m["To"] == ada_address and "Reminder" in m["Subject"]]
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = reminder["List-Unsubscribe"].strip("<>")
    assert url.startswith("http://127.0.0.1:8080/unsubscribe/")
    assert f"Stop these reminders: {url}" in reminder.get_payload(0).get_payload(decode=True).decode()

    # Following Ada's link (no login) switches off her reminders by email, and only hers.
    token = url.rsplit("/", 1)[1]
    link = UnsubscribeLink.parse(token)
    assert link is not None and link.tenant_id == tenant
    unsubscribe = commands.Unsubscribe(tenant, link, clock.now)
    switched = await preference_handlers.unsubscribe(unsubscribe, uow(engine, notification_settings))
    assert switched == Preference("reminders", "email", allowed=False)
    forged = UnsubscribeLink.parse(token[:32] + "A" * 43)
    assert forged is not None
    forged_unsubscribe = commands.Unsubscribe(tenant, forged, clock.now)
    assert await preference_handlers.unsubscribe(forged_unsubscribe, uow(engine, notification_settings)) is None

    second = T0 + timedelta(days=30)
    await book(ada, second)
    await book(bob, second)
    clock.now = second - timedelta(hours=2)
    await sender.dispatch_all_due()
    ada_subjects, bob_subjects = subjects(mailbox, ada_address), subjects(mailbox, bob_address)
    # The second booking's email and its reminder go in one batch, in any order.
    assert sorted(s.split(":")[0] for s in ada_subjects) == ["Booked", "Booked", "Reminder"]
    assert sorted(s.split(":")[0] for s in bob_subjects) == ["Booked", "Booked", "Reminder", "Reminder"]


async def test_a_reassignment_tells_the_client_and_both_staff_members_and_keeps_one_reminder(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    tenant, client, address = await business_with_client(engine, notification_settings)
    before, after = uuid.uuid4(), uuid.uuid4()
    async with uow(engine, notification_settings) as work:
        for staff_id, name in ((before, "Jonas"), (after, "Bea")):
            member = StaffMember(
                staff_id, f"{name.lower()}-{tenant.hex[:6]}@example.com", name, frozenset(), True, "en", "Europe/Berlin"
            )
            await work.directory.keep_staff(tenant, member, T0)
        await work.commit()
    appointment, start = uuid.uuid4(), T0 + timedelta(days=2)
    booked = replace(step(tenant, appointment, client, "appointment.booked", start, T0), staff_ids=(before,))
    moved = replace(
        step(tenant, appointment, client, "appointment.rescheduled", start, T0 + timedelta(minutes=1)),
        staff_ids=(after,),
    )
    for change in (booked, moved):
        await notice_handlers.plan_appointment_notices(
            commands.PlanAppointmentNotices(change, change.occurred_at, 3), uow(engine, notification_settings)
        )
    clock = Clock(T0 + timedelta(minutes=2))
    sender = dispatcher(engine, port, clock, notification_settings)
    await sender.dispatch_all_due()
    when = "Thursday, June 3, 2100, 10:00 (Europe/Berlin)"
    assert subjects(mailbox, address)[-1] == f"Massage on {when}: now with Bea"
    assert subjects(mailbox, f"jonas-{tenant.hex[:6]}@example.com")[-1] == f"No longer yours: Massage on {when}"
    assert subjects(mailbox, f"bea-{tenant.hex[:6]}@example.com") == [f"Assigned to you: Massage on {when}"]

    clock.now = start - timedelta(hours=2)
    await sender.dispatch_all_due()
    assert subjects(mailbox, address).count(f"Reminder: Massage on {when}") == 1


async def test_a_follow_up_to_call_reminds_its_staff_member_when_due_at_its_final_time_and_a_meeting_does_not(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    tenant, client, _ = await business_with_client(engine, notification_settings)
    staff_id = uuid.uuid4()
    address = f"maria-{tenant.hex[:6]}@example.com"
    async with uow(engine, notification_settings) as work:
        member = StaffMember(staff_id, address, "Maria", frozenset(), True, "en", "Europe/Berlin")
        await work.directory.keep_staff(tenant, member, T0)
        await work.commit()
    call, meeting = uuid.uuid4(), uuid.uuid4()
    first, final = T0 + timedelta(days=2), T0 + timedelta(days=3)
    changes = [
        replace(
            step(tenant, call, client, "appointment.booked", first, T0), staff_ids=(staff_id,), follow_up_action="call"
        ),
        # The move names no action: the booked one holds.
        replace(
            step(tenant, call, client, "appointment.rescheduled", final, T0 + timedelta(minutes=1)),
            staff_ids=(staff_id,),
        ),
        replace(
            step(tenant, meeting, client, "appointment.booked", first, T0),
            staff_ids=(staff_id,),
            follow_up_action="meet",
        ),
    ]
    for change in changes:
        await notice_handlers.plan_appointment_notices(
            commands.PlanAppointmentNotices(change, change.occurred_at, 3), uow(engine, notification_settings)
        )
    clock = Clock(T0 + timedelta(minutes=2))
    sender = dispatcher(engine, port, clock, notification_settings)

    def follow_ups() -> list[str]:
        return [s for s in subjects(mailbox, address) if s.startswith("Follow-up due")]

    for moment in (first, final - timedelta(seconds=1)):
        clock.now = moment
        await sender.dispatch_all_due()
        assert follow_ups() == []
    clock.now = final
    await sender.dispatch_all_due()
    assert follow_ups() == ["Follow-up due: call Ada"]
