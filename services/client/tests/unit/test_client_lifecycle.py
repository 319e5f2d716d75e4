import uuid
from datetime import UTC, datetime, timedelta

import pytest

from client_svc.domain import commands, events
from client_svc.domain.model import Client
from platform_core.errors import FailedPrecondition, InvalidArgument

CREATED = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
LATER = CREATED + timedelta(hours=1)
TENANT = uuid.uuid4()


def client() -> Client:
    new = Client.register(
        commands.CreateClient(tenant_id=TENANT, first_name="Ada", email="ada@example.com", now=CREATED),
        client_id=uuid.uuid4(),
        now=CREATED,
    )
    new.events.clear()
    return new


def update(c: Client, **fields: str) -> None:
    c.update(
        commands.UpdateClient(tenant_id=TENANT, client_id=c.id, default_region="US", **fields, now=CREATED), now=LATER
    )


def test_an_update_records_exactly_the_fields_that_changed() -> None:
    c = client()
    update(c, first_name="Ada", last_name="Lovelace", phone="(212) 555-0142")
    [event] = c.events
    assert isinstance(event, events.ClientUpdated)
    assert event.changed_fields == ("last_name", "phone")
    assert (c.phone, c.updated_at) == ("+12125550142", LATER)


def test_an_update_that_changes_nothing_records_nothing() -> None:
    c = client()
    update(c, first_name=" Ada ", email="ada@example.com")
    assert c.events == [] and c.updated_at == CREATED


def test_an_empty_email_clears_it_and_a_blank_first_name_is_refused() -> None:
    c = client()
    update(c, email="")
    assert c.email is None
    with pytest.raises(InvalidArgument) as exc:
        update(c, first_name="  ", phone="nope")
    assert {v.field for v in exc.value.violations} == {"first_name", "phone"}


def test_delete_and_restore_are_recorded_and_checked() -> None:
    c = client()
    c.delete(now=LATER)
    with pytest.raises(FailedPrecondition):
        c.delete(now=LATER)
    with pytest.raises(FailedPrecondition):
        update(c, first_name="Changed")
    c.restore(now=LATER)
    with pytest.raises(FailedPrecondition):
        c.restore(now=LATER)
    assert [type(e) for e in c.events] == [events.ClientDeleted, events.ClientRestored]
    assert c.deleted_at is None


def test_blocking_online_booking_is_idempotent() -> None:
    c = client()
    c.set_online_booking_blocked(True, reason="no-shows", now=LATER)
    c.set_online_booking_blocked(True, reason="again", now=LATER)
    c.set_online_booking_blocked(False, reason="", now=LATER)
    assert [type(e) for e in c.events] == [events.ClientBookingBlocked, events.ClientBookingUnblocked]
    assert c.events[0].reason == "no-shows"
    with pytest.raises(InvalidArgument):
        c.set_online_booking_blocked(True, reason="x" * 501, now=LATER)


def test_a_block_with_an_end_is_extended_never_shortened_and_lifted_when_it_ends() -> None:
    c = client()
    ends = LATER + timedelta(days=14)
    c.set_online_booking_blocked(True, reason="3 no-shows", now=LATER, until=ends)
    c.set_online_booking_blocked(True, reason="again", now=LATER, until=ends - timedelta(days=1))
    assert c.online_booking_blocked_until == ends
    c.set_online_booking_blocked(True, reason="again", now=LATER, until=ends + timedelta(days=1))
    assert c.online_booking_blocked_until == ends + timedelta(days=1)
    c.lift_ended_block(ends)
    assert c.online_booking_blocked
    c.lift_ended_block(ends + timedelta(days=1))
    assert (c.online_booking_blocked, c.online_booking_blocked_until) == (False, None)
    assert [type(e) for e in c.events] == [events.ClientBookingBlocked, events.ClientBookingUnblocked]
    with pytest.raises(InvalidArgument):
        c.set_online_booking_blocked(True, reason="", now=LATER, until=LATER)


def test_a_block_without_an_end_stays_so() -> None:
    c = client()
    c.set_online_booking_blocked(True, reason="by staff", now=LATER)
    c.set_online_booking_blocked(True, reason="no-shows", now=LATER, until=LATER + timedelta(days=7))
    assert (c.online_booking_blocked, c.online_booking_blocked_until) == (True, None)
    c.lift_ended_block(LATER + timedelta(days=30))
    assert c.online_booking_blocked
    # Staff may turn a timed block into one without an end.
    d = client()
    d.set_online_booking_blocked(True, reason="no-shows", now=LATER, until=LATER + timedelta(days=7))
    d.set_online_booking_blocked(True, reason="by staff", now=LATER)
    assert (d.online_booking_blocked, d.online_booking_blocked_until) == (True, None)
    assert [type(e) for e in d.events] == [events.ClientBookingBlocked]


def test_tags_are_tidied_deduplicated_whatever_the_case_and_recorded_once() -> None:
    c = client()
    c.set_tags(["  VIP ", "vip", "Walk-in", "new   client"], now=LATER)
    assert c.tags == ["new client", "VIP", "Walk-in"]
    c.set_tags(["Walk-in", "VIP", "new client"], now=LATER)  # the same tags in another order: no change
    [event] = c.events
    assert isinstance(event, events.ClientUpdated) and event.changed_fields == ("tags",)
    c.set_tags(["walk-in", "VIP", "new client"], now=LATER)  # a new spelling replaces the old one
    assert c.tags == ["new client", "VIP", "walk-in"]
    assert len(c.events) == 2
    with pytest.raises(InvalidArgument):
        c.set_tags(["x" * 41], now=LATER)
    with pytest.raises(InvalidArgument):
        c.set_tags([f"t{i}" for i in range(31)], now=LATER)
