"""Calendar feeds, pure: tokens, who may manage a feed, the iCalendar of appointments. Fixed dates, no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from platform_core.errors import InvalidArgument, NotFound, PermissionDenied
from scheduling_svc.adapters import ical
from scheduling_svc.domain.appointments import Appointment, Segment, Status
from scheduling_svc.domain.feeds import (
    FeedOwner,
    Viewer,
    check_may_manage,
    hash_secret,
    new_secret,
    parse_token,
    secret_matches,
    token_for,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TENANT = uuid.UUID("0190a5d0-0000-7000-8000-000000000001")
ANNA = uuid.UUID("0190a5d0-0000-7000-8000-0000000000a1")
BEN = uuid.UUID("0190a5d0-0000-7000-8000-0000000000b2")


# --- tokens ------------------------------------------------------------------------------------


def test_a_token_names_tenant_and_feed_and_only_its_secret_matches_the_stored_hash() -> None:
    feed_id = uuid.uuid4()
    secret, digest = new_secret()
    token = token_for(TENANT, feed_id, secret)
    parsed = parse_token(token)
    assert (parsed.tenant_id, parsed.feed_id, parsed.secret) == (TENANT, feed_id, secret)
    assert len(digest) == 32 and digest == hash_secret(secret)
    assert secret not in digest.hex()
    assert secret_matches(digest, secret)
    other, _ = new_secret()
    assert other != secret and not secret_matches(digest, other)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        f"{TENANT.hex}.{uuid.uuid4().hex}",
        f"{TENANT.hex}.{uuid.uuid4().hex}.short",
        f"not-hex.{uuid.uuid4().hex}.{'a' * 43}",
        f"{TENANT.hex}.{uuid.uuid4().hex}.{'a' * 43}.extra",
    ],
)
def test_a_malformed_token_names_no_feed(token: str) -> None:
    with pytest.raises(NotFound):
        parse_token(token)


# --- who may manage a feed ---------------------------------------------------------------------


def test_staff_manage_their_own_feed_and_owners_and_admins_anyones() -> None:
    anna_feed = FeedOwner("staff", ANNA)
    check_may_manage(Viewer("staff", str(ANNA), "staff"), anna_feed)
    check_may_manage(Viewer("staff", str(BEN), "admin"), anna_feed)
    check_may_manage(Viewer("staff", str(BEN), "owner"), anna_feed)
    check_may_manage(Viewer("service", "gateway"), anna_feed)
    with pytest.raises(PermissionDenied):
        check_may_manage(Viewer("staff", str(BEN), "staff"), anna_feed)
    with pytest.raises(PermissionDenied):
        check_may_manage(Viewer("portal", str(uuid.uuid4()), "", str(ANNA)), anna_feed)


def test_any_staff_member_manages_a_clients_feed_and_a_client_only_its_own() -> None:
    client = uuid.uuid4()
    feed = FeedOwner("client", client)
    check_may_manage(Viewer("staff", str(BEN), "staff"), feed)
    check_may_manage(Viewer("portal", str(uuid.uuid4()), "", str(client)), feed)
    with pytest.raises(NotFound):
        check_may_manage(Viewer("portal", str(uuid.uuid4()), "", str(uuid.uuid4())), feed)


def test_an_owner_must_be_staff_or_client_with_an_id() -> None:
    with pytest.raises(InvalidArgument) as kind:
        FeedOwner.parse("room", str(ANNA))
    assert kind.value.violations[0].field == "owner.kind"
    with pytest.raises(InvalidArgument) as bad_id:
        FeedOwner.parse("staff", "anna")
    assert bad_id.value.violations[0].field == "owner.id"


# --- iCalendar ---------------------------------------------------------------------------------


def segment(position: int, name: str, staff: uuid.UUID, start: datetime, minutes: int, capacity: int = 1) -> Segment:
    return Segment(
        position=position,
        service_id=uuid.uuid5(uuid.NAMESPACE_DNS, name),
        service_name=name,
        staff_id=staff,
        start=start,
        end=start + timedelta(minutes=minutes),
        seats=1,
        price_minor=4500,
        currency="EUR",
        buffer_before=timedelta(0),
        buffer_after=timedelta(0),
        capacity=capacity,
        resource_ids=(),
    )


def appointment(segments: tuple[Segment, ...], *, status: Status = Status.BOOKED, version: int = 1) -> Appointment:
    created = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    return Appointment(
        tenant_id=TENANT,
        id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        status=status,
        timezone="Europe/Berlin",
        segments=segments,
        notes="allergic to ammonia",
        source="staff",
        availability_overridden=False,
        created_by="staff:x",
        created_at=created,
        updated_at=created + timedelta(hours=version),
        version=version,
    )


def events_of(content: bytes) -> dict[str, object]:
    return {str(e["uid"]): e for e in Calendar.from_ical(content).walk("VEVENT")}


def test_a_clients_calendar_has_each_appointment_once_in_utc_with_a_stable_uid() -> None:
    # 10:00 in Berlin in winter (UTC+1) and in summer (UTC+2): New York is 6 hours behind in both, except in
    # the weeks when only one side has changed its clocks (here 2026-03-20: New York already on summer time).
    winter = datetime(2026, 1, 15, 10, 0, tzinfo=BERLIN)
    march = datetime(2026, 3, 20, 10, 0, tzinfo=BERLIN)
    first = appointment(
        (segment(0, "Haircut", ANNA, winter, 60), segment(1, "Colour", BEN, winter + timedelta(hours=1), 30))
    )
    second = appointment((segment(0, "Haircut", ANNA, march, 60),), version=3)
    content = ical.calendar(
        [second, first], name="My appointments", staff_id=None, staff_names={ANNA: "Anna", BEN: "Ben"}, feed=True
    )
    assert b"DTSTART:20260115T090000Z" in content and b"DTEND:20260115T103000Z" in content
    parsed = Calendar.from_ical(content)
    assert str(parsed["version"]) == "2.0" and str(parsed["x-wr-calname"]) == "My appointments"
    assert [str(e["uid"]) for e in parsed.walk("VEVENT")] == [f"{first.id}@atrium", f"{second.id}@atrium"]
    events = events_of(content)
    one, two = events[f"{first.id}@atrium"], events[f"{second.id}@atrium"]
    assert str(one["summary"]) == "Haircut + Colour"  # type: ignore[index]
    assert str(one["description"]) == "Haircut with Anna\nColour with Ben"  # type: ignore[index]
    start_one = one.decoded("dtstart")  # type: ignore[attr-defined]
    start_two = two.decoded("dtstart")  # type: ignore[attr-defined]
    assert start_one.utcoffset() == timedelta(0)
    assert start_one.astimezone(BERLIN).time() == time(10, 0) and start_one.astimezone(NEW_YORK).time() == time(4, 0)
    assert start_two.astimezone(BERLIN).time() == time(10, 0) and start_two.astimezone(NEW_YORK).time() == time(5, 0)
    assert int(two["sequence"]) == 3  # type: ignore[index]
    assert two.decoded("dtstamp") == second.updated_at  # type: ignore[attr-defined]
    assert str(one["status"]) == "CONFIRMED"  # type: ignore[index]
    assert b"ammonia" not in content and str(first.client_id).encode() not in content and b"4500" not in content


def test_a_staff_members_event_covers_only_the_services_they_perform() -> None:
    start = datetime(2026, 2, 2, 9, 0, tzinfo=BERLIN)
    mixed = appointment(
        (segment(0, "Haircut", BEN, start, 60), segment(1, "Colour", ANNA, start + timedelta(hours=1), 30))
    )
    others = appointment((segment(0, "Haircut", BEN, start + timedelta(hours=3), 60),))
    group = appointment((segment(0, "Yoga", ANNA, start + timedelta(hours=5), 60, capacity=8),))
    content = ical.calendar([mixed, others, group], name="Anna", staff_id=ANNA, staff_names={ANNA: "Anna"}, feed=True)
    events = events_of(content)
    assert set(events) == {f"{mixed.id}@atrium", f"{group.id}@atrium"}
    colour = events[f"{mixed.id}@atrium"]
    assert str(colour["summary"]) == "Colour"  # type: ignore[index]
    assert colour.decoded("dtstart") == start + timedelta(hours=1)  # type: ignore[attr-defined]
    assert colour.decoded("dtend") == start + timedelta(hours=1, minutes=30)  # type: ignore[attr-defined]
    assert str(events[f"{group.id}@atrium"]["summary"]) == "Yoga (group session)"  # type: ignore[index]
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in content


def test_a_cancelled_appointment_is_cancelled_and_takes_no_time() -> None:
    start = datetime(2026, 2, 2, 9, 0, tzinfo=BERLIN)
    cancelled = appointment((segment(0, "Haircut", ANNA, start, 60),), status=Status.CANCELLED, version=2)
    content = ical.calendar([cancelled], name="", staff_id=None, staff_names={}, feed=False)
    event = events_of(content)[f"{cancelled.id}@atrium"]
    assert (str(event["status"]), str(event["transp"])) == ("CANCELLED", "TRANSPARENT")  # type: ignore[index]
    assert b"REFRESH-INTERVAL" not in content and b"X-WR-CALNAME" not in content
