"""The waitlist: a client waits for a service (maybe with one staff member) on some days, maybe within a time
of day. When a booked time is freed (a cancellation or a reschedule), the first waiting client it suits gets
an offer that holds for a while; accepting books it, and an offer that runs out passes the time to the next.

An entry and its offers are one aggregate: an entry has at most one open offer, and a freed time at most one
open offer at a time (the schema's unique indexes say so too).
"""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from platform_core.errors import FailedPrecondition, InvalidArgument
from platform_core.validation import Violations
from portal_requests_svc.domain import events
from portal_requests_svc.domain.events import FreedSlot, WaitlistDates, WaitlistFacts
from portal_requests_svc.domain.requests import ServiceTerms, Technician

# A wait longer than this is no plan at all.
MAX_RANGE = timedelta(days=180)
NOT_WAITING = "WAITLIST_ENTRY_CLOSED"
OFFER_NOT_OPEN = "OFFER_NOT_OPEN"
OFFER_EXPIRED = "OFFER_EXPIRED"


class EntryStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    LEFT = "left"


class OfferStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    EXPIRED = "expired"


@dataclass(eq=False)
class WaitlistOffer:
    id: uuid.UUID
    slot: FreedSlot
    hold_until: datetime
    status: OfferStatus
    created_at: datetime
    appointment_id: uuid.UUID | None = None
    is_new: bool = False
    changed: bool = False

    def fact(self) -> events.OfferFact:
        return events.OfferFact(self.id, self.slot, self.hold_until, self.appointment_id)


def check_window(start: time | None, end: time | None) -> None:
    if (start is None) != (end is None):
        raise InvalidArgument.single("window_end" if end is None else "window_start", "give both ends of the window")
    if start is not None and end is not None and end <= start:
        raise InvalidArgument.single("window_end", "must be after window_start")


@dataclass(eq=False)
class WaitlistEntry:
    tenant_id: uuid.UUID
    id: uuid.UUID
    client_id: uuid.UUID
    service: ServiceTerms
    staff: Technician | None
    from_date: date
    to_date: date
    window_start: time | None
    window_end: time | None
    timezone: str
    business_timezone: str
    joined_by: str
    status: EntryStatus
    created_at: datetime
    updated_at: datetime
    version: int = 1
    # Staff put the client on past its booking rules; its offer is accepted past them too.
    booking_rules_overridden: bool = False
    offers: list[WaitlistOffer] = field(default_factory=list)
    is_new: bool = False
    changed: bool = False
    events: list[Any] = field(default_factory=list)

    @classmethod
    def join(
        cls,
        *,
        tenant_id: uuid.UUID,
        entry_id: uuid.UUID,
        client_id: uuid.UUID,
        service: ServiceTerms,
        staff: Technician | None,
        from_date: date,
        to_date: date,
        window_start: time | None,
        window_end: time | None,
        timezone: str,
        business_timezone: str,
        joined_by: str,
        now: datetime,
        booking_rules_overridden: bool = False,
    ) -> WaitlistEntry:
        if booking_rules_overridden and joined_by != "staff":
            raise InvalidArgument.single("override_booking_rules", "only staff may go past the booking rules")
        today = now.astimezone(zoneinfo.ZoneInfo(timezone)).date()
        violations = Violations()
        if to_date < from_date:
            violations.add("to_date", "must not be before from_date")
        elif to_date - from_date > MAX_RANGE:
            violations.add("to_date", f"a waitlist spans at most {MAX_RANGE.days} days")
        if to_date < today:
            violations.add("to_date", "must not be in the past")
        violations.raise_if_any()
        check_window(window_start, window_end)
        entry = cls(
            tenant_id=tenant_id,
            id=entry_id,
            client_id=client_id,
            service=service,
            staff=staff,
            from_date=from_date,
            to_date=to_date,
            window_start=window_start,
            window_end=window_end,
            timezone=timezone,
            business_timezone=business_timezone,
            joined_by=joined_by,
            booking_rules_overridden=booking_rules_overridden,
            status=EntryStatus.WAITING,
            created_at=now,
            updated_at=now,
            is_new=True,
        )
        entry.events.append(events.WaitlistJoined(tenant_id, entry_id, client_id, entry.facts(), entry.dates(), now))
        return entry

    def facts(self) -> WaitlistFacts:
        return WaitlistFacts(
            service_id=self.service.service_id,
            service_name=self.service.name,
            duration_minutes=self.service.duration_minutes,
            staff_id=self.staff.staff_id if self.staff else None,
            staff_name=self.staff.name if self.staff else "",
            client_timezone=self.timezone,
            business_timezone=self.business_timezone,
        )

    def dates(self) -> WaitlistDates:
        return WaitlistDates(self.from_date, self.to_date, self.window_start, self.window_end, self.joined_by)

    @property
    def open_offer(self) -> WaitlistOffer | None:
        return next((o for o in self.offers if o.status is OfferStatus.OPEN), None)

    def suits(self, slot: FreedSlot) -> bool:
        """Whether the freed time is one this client waits for (its days and hours on its own wall clock)."""
        if self.status is not EntryStatus.WAITING or slot.service_id != self.service.service_id:
            return False
        if self.staff is not None and self.staff.staff_id != slot.staff_id:
            return False
        zone = zoneinfo.ZoneInfo(self.timezone)
        start, end = slot.start.astimezone(zone), slot.end.astimezone(zone)
        if not self.from_date <= start.date() <= self.to_date:
            return False
        if self.window_start is not None and self.window_end is not None:
            return start.date() == end.date() and self.window_start <= start.time() and end.time() <= self.window_end
        return True

    def offer(self, slot: FreedSlot, *, offer_id: uuid.UUID, hold: timedelta, now: datetime) -> WaitlistOffer:
        if not self.suits(slot):
            raise FailedPrecondition("the time does not suit this waitlist entry", reason=NOT_WAITING)
        # Held no longer than the time's own start: an offer is no use once it has begun.
        made = WaitlistOffer(offer_id, slot, min(now + hold, slot.start), OfferStatus.OPEN, now, is_new=True)
        self.offers.append(made)
        self._become(EntryStatus.OFFERED, now)
        self.events.append(
            events.WaitlistOfferMade(self.tenant_id, self.id, self.client_id, self.facts(), made.fact(), now)
        )
        return made

    def require_acceptable(self, offer_id: uuid.UUID, now: datetime) -> WaitlistOffer:
        offer = next((o for o in self.offers if o.id == offer_id), None)
        if offer is None or offer.status is not OfferStatus.OPEN:
            raise FailedPrecondition("this offer is no longer open", reason=OFFER_NOT_OPEN)
        if now >= offer.hold_until:
            raise FailedPrecondition(f"the offer was held until {offer.hold_until.isoformat()}", reason=OFFER_EXPIRED)
        return offer

    def accept(self, offer_id: uuid.UUID, *, appointment_id: uuid.UUID, now: datetime) -> None:
        offer = self.require_acceptable(offer_id, now)
        offer.status, offer.appointment_id, offer.changed = OfferStatus.ACCEPTED, appointment_id, True
        self._become(EntryStatus.BOOKED, now)
        self.events.append(
            events.WaitlistOfferAccepted(self.tenant_id, self.id, self.client_id, self.facts(), offer.fact(), now)
        )

    def expire_offer(self, now: datetime) -> WaitlistOffer:
        """The open offer's hold ran out: it passes on, and this client waits for the next freed time."""
        offer = self.open_offer
        if offer is None or now < offer.hold_until:
            raise FailedPrecondition("no offer of this entry has run out", reason=OFFER_NOT_OPEN)
        offer.status, offer.changed = OfferStatus.EXPIRED, True
        self._become(EntryStatus.WAITING, now)
        self.events.append(
            events.WaitlistOfferExpired(self.tenant_id, self.id, self.client_id, self.facts(), offer.fact(), now)
        )
        return offer

    def leave(self, now: datetime) -> None:
        if self.status not in (EntryStatus.WAITING, EntryStatus.OFFERED):
            raise FailedPrecondition(f"the waitlist entry is {self.status.value}", reason=NOT_WAITING)
        offer = self.open_offer
        if offer is not None:
            offer.status, offer.changed = OfferStatus.EXPIRED, True
        self._become(EntryStatus.LEFT, now)

    def _become(self, status: EntryStatus, now: datetime) -> None:
        self.status = status
        self.updated_at = now
        self.changed = True
