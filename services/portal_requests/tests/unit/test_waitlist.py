"""The waitlist entry: what a freed time must be to suit it (days and hours on the client's wall clock, DST
included), and its offers' lifecycle, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest

from platform_core.errors import FailedPrecondition, InvalidArgument
from portal_requests_svc.domain import events
from portal_requests_svc.domain.events import FreedSlot
from portal_requests_svc.domain.requests import ServiceTerms, Technician
from portal_requests_svc.domain.waitlist import EntryStatus, OfferStatus, WaitlistEntry

# Sunday 2030-03-31 is the day Berlin moves to summer time (02:00 -> 03:00).
NOW = datetime(2030, 3, 20, 9, 0, tzinfo=UTC)
SERVICE = ServiceTerms(uuid.uuid4(), "Haircut", 60)
ANNA, BEN = Technician(uuid.uuid4(), "Anna"), Technician(uuid.uuid4(), "Ben")


def join(
    *, staff: Technician | None = None, window: tuple[time, time] | None = None, days: tuple[date, date] | None = None
) -> WaitlistEntry:
    first, last = days or (date(2030, 3, 30), date(2030, 4, 1))
    return WaitlistEntry.join(
        tenant_id=uuid.uuid4(),
        entry_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        service=SERVICE,
        staff=staff,
        from_date=first,
        to_date=last,
        window_start=window[0] if window else None,
        window_end=window[1] if window else None,
        timezone="Europe/Berlin",
        business_timezone="Europe/Berlin",
        joined_by="client",
        now=NOW,
    )


def slot(utc_start: datetime, staff: Technician = ANNA, minutes: int = 60) -> FreedSlot:
    return FreedSlot(SERVICE.service_id, staff.staff_id, utc_start, utc_start + timedelta(minutes=minutes))


def test_joining_checks_the_days_and_the_window_naming_the_field() -> None:
    for days, field_name in (
        ((date(2030, 4, 2), date(2030, 4, 1)), "to_date"),
        ((date(2030, 3, 1), date(2030, 3, 2)), "to_date"),  # already past
        ((date(2030, 3, 21), date(2030, 10, 1)), "to_date"),  # longer than 180 days
    ):
        with pytest.raises(InvalidArgument) as exc:
            join(days=days)
        assert [v.field for v in exc.value.violations] == [field_name]
    with pytest.raises(InvalidArgument) as exc:
        join(window=(time(12), time(9)))
    assert [v.field for v in exc.value.violations] == ["window_end"]
    [joined] = join().events
    assert isinstance(joined, events.WaitlistJoined) and joined.facts.service_name == "Haircut"


def test_a_freed_time_suits_by_service_staff_days_and_hours_on_the_clients_wall_clock() -> None:
    mornings = join(staff=ANNA, window=(time(9), time(12)))
    # 09:00 Berlin is 08:00 UTC before the change and 07:00 UTC after it: both suit, on their own day.
    assert mornings.suits(slot(datetime(2030, 3, 30, 8, tzinfo=UTC)))
    assert mornings.suits(slot(datetime(2030, 4, 1, 7, tzinfo=UTC)))
    assert not mornings.suits(slot(datetime(2030, 4, 1, 8, tzinfo=UTC), minutes=180))  # ends 13:00, past the window
    assert not mornings.suits(slot(datetime(2030, 3, 30, 8, tzinfo=UTC), staff=BEN))  # another staff member
    assert not mornings.suits(slot(datetime(2030, 4, 2, 7, tzinfo=UTC)))  # after the last day
    assert join().suits(slot(datetime(2030, 3, 31, 22, tzinfo=UTC)))  # midnight on 1 April, any time and anyone
    other = FreedSlot(
        uuid.uuid4(), ANNA.staff_id, datetime(2030, 3, 30, 8, tzinfo=UTC), datetime(2030, 3, 30, 9, tzinfo=UTC)
    )
    assert not join().suits(other)


def test_an_offer_is_held_at_most_until_the_time_itself_and_is_accepted_or_passed_on_once() -> None:
    entry = join(days=(date(2030, 3, 20), date(2030, 4, 1)))
    freed = slot(datetime(2030, 3, 20, 10, tzinfo=UTC))
    offer = entry.offer(freed, offer_id=uuid.uuid4(), hold=timedelta(hours=3), now=NOW)
    assert (offer.hold_until, entry.status) == (freed.start, EntryStatus.OFFERED)
    assert not entry.suits(freed)  # an entry holding an offer is not offered another
    with pytest.raises(FailedPrecondition):
        entry.expire_offer(NOW)  # still held
    entry.expire_offer(freed.start)
    assert (offer.status, entry.status) == (OfferStatus.EXPIRED, EntryStatus.WAITING)
    with pytest.raises(FailedPrecondition) as refused:
        entry.accept(offer.id, appointment_id=uuid.uuid4(), now=NOW)
    assert refused.value.reason == "OFFER_NOT_OPEN"

    later = slot(datetime(2030, 3, 30, 10, tzinfo=UTC))
    second = entry.offer(later, offer_id=uuid.uuid4(), hold=timedelta(hours=2), now=NOW)
    entry.accept(second.id, appointment_id=uuid.uuid4(), now=NOW + timedelta(hours=1))
    assert (second.status, entry.status) == (OfferStatus.ACCEPTED, EntryStatus.BOOKED)
    assert isinstance(entry.events[-1], events.WaitlistOfferAccepted)
    with pytest.raises(FailedPrecondition):
        entry.leave(NOW)
