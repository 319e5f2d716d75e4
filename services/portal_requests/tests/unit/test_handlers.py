"""The use cases with fakes for the database and the other services: what is asked, what is written."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from platform_core.client_lookup import ClientFacts
from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound
from platform_core.grpc.context import CallContext, Principal, bind_call_context, maybe_current_context
from portal_requests_svc.adapters.remote import (
    AbstractCatalogue,
    AbstractClientDirectory,
    AbstractScheduler,
    BookedAppointment,
    Booking,
    BusinessTerms,
    OfferedService,
    PlacedHold,
    RequestingClient,
    SlotToHold,
)
from portal_requests_svc.adapters.repository import AbstractRequestRepository, ClientContact, RequestSettings
from portal_requests_svc.adapters.waitlist_repository import AbstractWaitlistRepository
from portal_requests_svc.domain.events import FreedSlot
from portal_requests_svc.domain.requests import OPEN, AppointmentRequest, HeldSlot, Status, Technician, TimeOption
from portal_requests_svc.domain.waitlist import EntryStatus, WaitlistEntry
from portal_requests_svc.service_layer import handlers, hold_reconciliation, waitlist
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork

NOW = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
TENANT, CLIENT, SERVICE, ANNA, BEN = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
LIMITS = handlers.RequestLimits(max_open_per_client=2, horizon=timedelta(days=90))
MAX_ACTIVE = 3  # the business's limit of a client's active bookings


class FakeRepository(AbstractRequestRepository):
    def __init__(
        self,
        stored: dict[uuid.UUID, AppointmentRequest],
        contacts: dict[uuid.UUID, ClientContact],
        settings: RequestSettings,
    ) -> None:
        super().__init__()
        self._stored = stored
        self._contacts = contacts
        self.request_settings = settings

    async def next_reference_number(self, tenant_id: uuid.UUID) -> int:
        return 1001 + len(self._stored)

    async def remember_client(self, tenant_id: uuid.UUID, contact: ClientContact) -> None:
        self._contacts[contact.client_id] = contact

    async def settings(self, tenant_id: uuid.UUID) -> RequestSettings:
        return self.request_settings

    async def save_settings(self, tenant_id: uuid.UUID, settings: RequestSettings) -> RequestSettings:
        return settings

    async def _get(self, tenant_id: uuid.UUID, request_id: uuid.UUID, *, for_update: bool) -> AppointmentRequest | None:
        return self._stored.get(request_id)

    async def _expirable(self, now: datetime, limit: int) -> list[AppointmentRequest]:
        due = [r for r in self._stored.values() if r.status is Status.PENDING and r.has_passed(now)]
        return due[:limit]

    async def _approved_with(self, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> AppointmentRequest | None:
        return next(
            (r for r in self._stored.values() if r.appointment_id == appointment_id and r.status is Status.APPROVED),
            None,
        )

    async def get_by_submission(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, submission_id: str
    ) -> AppointmentRequest | None:
        return next((r for r in self._stored.values() if r.submission_id == submission_id), None)

    async def lock_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> None:
        return None

    async def lock_hold(self, tenant_id: uuid.UUID, request_id: uuid.UUID) -> None:
        return None

    async def keeps_hold(self, tenant_id: uuid.UUID, request_id: uuid.UUID) -> bool:
        request = self._stored.get(request_id)
        return request is not None and request.status is Status.PENDING and request.hold is not None

    async def holding(self, tenant_id: uuid.UUID, request_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return {i for i in request_ids if await self.keeps_hold(tenant_id, i)}

    async def tenants_with_settings(self) -> list[uuid.UUID]:
        return [TENANT]

    async def count_open(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, *, excluding: uuid.UUID | None = None
    ) -> int:
        return sum(r.client_id == client_id and r.status in OPEN and r.id != excluding for r in self._stored.values())

    async def save(self, request: AppointmentRequest) -> None:
        if not request.is_new and request.new_history:
            request.version += 1
        self._stored[request.id] = request
        request.is_new = False
        request.new_history.clear()


class FakeWaitlist(AbstractWaitlistRepository):
    def __init__(self, stored: dict[uuid.UUID, WaitlistEntry]) -> None:
        super().__init__()
        self._stored = stored

    async def _get(self, tenant_id: uuid.UUID, entry_id: uuid.UUID) -> WaitlistEntry | None:
        return self._stored.get(entry_id)

    async def _entry_of_offer(self, tenant_id: uuid.UUID, offer_id: uuid.UUID) -> uuid.UUID | None:
        return next((e.id for e in self._stored.values() if any(o.id == offer_id for o in e.offers)), None)

    async def _candidates(self, tenant_id: uuid.UUID, slot: FreedSlot, held: set[uuid.UUID]) -> list[WaitlistEntry]:
        offered = {e.id for e in self._stored.values() for o in e.offers if o.slot == slot}
        return sorted(
            (e for e in self._stored.values() if e.status is EntryStatus.WAITING and e.id not in offered | held),
            key=lambda e: e.created_at,
        )

    async def _ran_out(self, now: datetime, limit: int) -> list[WaitlistEntry]:
        return [e for e in self._stored.values() if e.open_offer and e.open_offer.hold_until <= now][:limit]

    async def save(self, entry: WaitlistEntry) -> None:
        self._stored[entry.id] = entry
        entry.is_new = entry.changed = False
        for offer in entry.offers:
            offer.is_new = offer.changed = False


class FakeUnitOfWork(PortalRequestsUnitOfWork):
    def __init__(self, settings: RequestSettings | None = None) -> None:
        self.settings = settings or RequestSettings()
        self.stored: dict[uuid.UUID, AppointmentRequest] = {}
        self.contacts: dict[uuid.UUID, ClientContact] = {}
        self.entries: dict[uuid.UUID, WaitlistEntry] = {}
        self.published: list[Any] = []

    async def _start(self) -> None:
        self.requests = FakeRepository(self.stored, self.contacts, self.settings)
        self.waitlist = FakeWaitlist(self.entries)
        self.repositories = (self.requests, self.waitlist)

    async def _commit(self, events: list[Any]) -> None:
        self.published.extend(events)

    async def rollback(self) -> None:
        return None

    async def _close(self) -> None:
        return None


class FakeDirectory(AbstractClientDirectory):
    def __init__(self, *, blocked: bool = False) -> None:
        self.blocked = blocked
        self.answers: dict[uuid.UUID, dict[str, object]] = {}

    async def lookup(self, client_id: uuid.UUID) -> RequestingClient | None:
        return RequestingClient(
            ClientFacts(client_id, self.blocked, False, "Europe/Berlin"), "Mia Park", "mia@example.com", "+4930123456"
        )

    async def answer_booking_form(self, client_id: uuid.UUID, answers: Mapping[str, Any]) -> None:
        self.answers[client_id] = dict(answers)

    async def check_booking_form(self, answers: Mapping[str, Any], region: str) -> dict[str, Any]:
        return dict(answers)


class FakeCatalogue(AbstractCatalogue):
    """One service, performed by Anna; Ben works here but does not perform it."""

    async def service(self, service_id: uuid.UUID) -> OfferedService | None:
        return OfferedService(service_id, True, frozenset({ANNA}), "Haircut", 45) if service_id == SERVICE else None

    async def business_terms(self) -> BusinessTerms:
        return BusinessTerms("America/New_York", MAX_ACTIVE)

    async def staff_member(self, staff_id: uuid.UUID) -> Technician | None:
        return {ANNA: Technician(ANNA, "Anna"), BEN: Technician(BEN, "Ben")}.get(staff_id)


class FakeScheduler(AbstractScheduler):
    def __init__(self, refusal: Exception | None = None, *, upcoming: int = 0) -> None:
        self.refusal = refusal
        self.upcoming = upcoming
        self.bookings: list[Booking] = []
        self.booked_as: list[str] = []  # the principal each booking was asked as
        self.cancelled: list[uuid.UUID] = []
        self.holds: dict[uuid.UUID, HeldSlot] = {}
        self.placed_at: dict[uuid.UUID, datetime] = {}

    async def book(self, booking: Booking) -> BookedAppointment:
        self.bookings.append(booking)
        bound = maybe_current_context()
        self.booked_as.append(bound.principal.kind if bound else "")
        if self.refusal:
            raise self.refusal
        return BookedAppointment(
            uuid.uuid4(), booking.start, booking.start + timedelta(minutes=45), booking.staff_id or ANNA
        )

    async def times_of(self, appointment_id: uuid.UUID) -> list[FreedSlot]:
        return []

    async def upcoming_bookings(self, client_id: uuid.UUID) -> int:
        return self.upcoming

    async def cancel(self, appointment_id: uuid.UUID, reason: str) -> None:
        if self.refusal:
            raise self.refusal
        self.cancelled.append(appointment_id)

    async def hold(self, slot: SlotToHold) -> HeldSlot:
        if self.refusal:
            raise self.refusal
        self.holds[slot.hold_id] = HeldSlot(slot.staff_id or ANNA, slot.start, slot.start + timedelta(minutes=45))
        self.placed_at.setdefault(slot.hold_id, NOW)
        return self.holds[slot.hold_id]

    async def release_hold(self, hold_id: uuid.UUID) -> None:
        self.holds.pop(hold_id, None)
        self.placed_at.pop(hold_id, None)

    async def holds_between(self, start: datetime, end: datetime) -> list[PlacedHold]:
        return [
            PlacedHold(hold_id, self.placed_at[hold_id])
            for hold_id, held in self.holds.items()
            if held.start < end and held.end > start
        ]


def submission(hour: int = 10) -> handlers.SubmitRequest:
    return handlers.SubmitRequest(
        tenant_id=TENANT,
        client_id=CLIENT,
        service_id=SERVICE,
        preferred_staff_id=None,
        options=[TimeOption(NOW + timedelta(days=1, hours=hour))],
        message="",
        timezone="",
        submission_id=None,
    )


async def test_a_blocked_client_is_refused_and_nothing_is_written() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.submit_request(
            lambda: uow, FakeDirectory(blocked=True), FakeCatalogue(), FakeScheduler(), submission(), LIMITS, NOW
        )
    assert refused.value.reason == "BOOKING_BLOCKED"
    assert uow.stored == {} and uow.published == []


async def test_submission_takes_the_clients_timezone_and_the_open_limit_holds() -> None:
    uow = FakeUnitOfWork()
    for hour in (1, 2):
        request = await handlers.submit_request(
            lambda: uow, FakeDirectory(), FakeCatalogue(), FakeScheduler(), submission(hour), LIMITS, NOW
        )
    assert request.timezone == "Europe/Berlin" and len(uow.published) == 2
    assert (request.reference, request.service_name, request.business_timezone) == (
        "REQ-1002",
        "Haircut",
        "America/New_York",
    )
    assert uow.contacts[CLIENT].name == "Mia Park"
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.submit_request(
            lambda: uow, FakeDirectory(), FakeCatalogue(), FakeScheduler(), submission(3), LIMITS, NOW
        )
    assert refused.value.reason == "TOO_MANY_OPEN_REQUESTS"


def approval(request: AppointmentRequest, technician: uuid.UUID = ANNA, **changes: Any) -> handlers.ApproveRequest:
    return handlers.ApproveRequest(
        **{  # type: ignore[arg-type]
            "tenant_id": TENANT,
            "request_id": request.id,
            "start": NOW + timedelta(days=1),
            "technician_id": technician,
            "override_availability": False,
            "actor": "staff:anna",
        }
        | changes
    )


async def test_a_refused_booking_leaves_the_request_pending_and_a_later_one_approves_it() -> None:
    uow = FakeUnitOfWork()
    request = await handlers.submit_request(
        lambda: uow, FakeDirectory(), FakeCatalogue(), FakeScheduler(), submission(), LIMITS, NOW
    )
    with pytest.raises(Conflict):
        await handlers.approve_request(
            lambda: uow,
            FakeDirectory(),
            FakeCatalogue(),
            FakeScheduler(Conflict("taken", reason="SLOT_TAKEN")),
            approval(request),
            NOW,
        )
    assert uow.stored[request.id].status is Status.PENDING and len(uow.published) == 1
    scheduler = FakeScheduler()
    approved = await handlers.approve_request(
        lambda: uow,
        FakeDirectory(),
        FakeCatalogue(),
        scheduler,
        approval(request, internal_notes="VIP", ticket="4711"),
        NOW,
    )
    assert (approved.status, approved.technician_name, approved.internal_notes, approved.ticket) == (
        Status.APPROVED,
        "Anna",
        "VIP",
        "4711",
    )
    # Scheduling is told which request books and who performs it, so a retried approval finds that booking.
    assert [(b.request_id, b.staff_id) for b in scheduler.bookings] == [(request.id, ANNA)]


async def test_the_technician_must_perform_the_service_and_bad_input_books_nothing() -> None:
    uow = FakeUnitOfWork()
    request = await handlers.submit_request(
        lambda: uow, FakeDirectory(), FakeCatalogue(), FakeScheduler(), submission(), LIMITS, NOW
    )
    scheduler = FakeScheduler()
    for bad, field_name in (
        (approval(request, technician=BEN), "technician_id"),
        (approval(request, technician=uuid.uuid4()), "technician_id"),
        (approval(request, internal_notes="x" * 4001), "internal_notes"),
        (approval(request, ticket="a b"), "ticket"),
    ):
        with pytest.raises(InvalidArgument) as refused:
            await handlers.approve_request(lambda: uow, FakeDirectory(), FakeCatalogue(), scheduler, bad, NOW)
        assert [v.field for v in refused.value.violations] == [field_name]
    assert scheduler.bookings == [] and uow.stored[request.id].status is Status.PENDING


async def test_an_edit_and_an_approval_on_the_same_version_cannot_both_win() -> None:
    uow = FakeUnitOfWork()
    request = await handlers.submit_request(
        lambda: uow, FakeDirectory(), FakeCatalogue(), FakeScheduler(), submission(), LIMITS, NOW
    )
    seen = request.version
    edit = handlers.UpdateRequest(TENANT, CLIENT, request.id, seen, message="Anna please")
    edited = await handlers.update_request(lambda: uow, FakeCatalogue(), FakeScheduler(), edit, LIMITS, NOW)
    assert (edited.message, edited.version) == ("Anna please", seen + 1)
    with pytest.raises(Conflict) as refused:
        await handlers.approve_request(
            lambda: uow, FakeDirectory(), FakeCatalogue(), FakeScheduler(), approval(request, version=seen), NOW
        )
    assert refused.value.reason == "CONCURRENT_CHANGE"
    with pytest.raises(Conflict):
        # The same old version:
        await handlers.update_request(lambda: uow, FakeCatalogue(), FakeScheduler(), edit, LIMITS, NOW)
    # Another client's request looks missing.
    with pytest.raises(NotFound):
        await handlers.update_request(
            lambda: uow,
            FakeCatalogue(),
            FakeScheduler(),
            replace(edit, client_id=uuid.uuid4(), version=seen + 1),
            LIMITS,
            NOW,
        )


async def test_cancelling_an_approved_request_cancels_its_appointment_first() -> None:
    uow = FakeUnitOfWork()
    request = await handlers.submit_request(
        lambda: uow, FakeDirectory(), FakeCatalogue(), FakeScheduler(), submission(), LIMITS, NOW
    )
    await handlers.approve_request(
        lambda: uow, FakeDirectory(), FakeCatalogue(), FakeScheduler(), approval(request), NOW
    )
    late = FakeScheduler(FailedPrecondition("too late", reason="CANCELLATION_WINDOW_PASSED"))
    with pytest.raises(FailedPrecondition):
        await handlers.cancel_request(lambda: uow, late, TENANT, CLIENT, request.id, NOW)
    assert uow.stored[request.id].status is Status.APPROVED
    scheduler = FakeScheduler()
    cancelled = await handlers.cancel_request(lambda: uow, scheduler, TENANT, CLIENT, request.id, NOW)
    assert (cancelled.status, scheduler.cancelled) == (Status.CANCELLED, [cancelled.appointment_id])
    assert type(uow.published[-1]).__name__ == "RequestCancelled"


async def test_upcoming_bookings_and_pending_requests_count_against_the_active_limit() -> None:
    uow = FakeUnitOfWork()
    busy = FakeScheduler(upcoming=MAX_ACTIVE - 1)  # one booking short of the limit
    first = await handlers.submit_request(
        lambda: uow, FakeDirectory(), FakeCatalogue(), busy, submission(1), LIMITS, NOW
    )
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.submit_request(lambda: uow, FakeDirectory(), FakeCatalogue(), busy, submission(2), LIMITS, NOW)
    assert refused.value.reason == "MAX_ACTIVE_BOOKINGS" and len(uow.stored) == 1

    # At approval the rules are asked again: now at the limit (or blocked), staff must override, on record.
    full = FakeScheduler(upcoming=MAX_ACTIVE)
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.approve_request(lambda: uow, FakeDirectory(), FakeCatalogue(), full, approval(first), NOW)
    assert refused.value.reason == "MAX_ACTIVE_BOOKINGS" and full.bookings == []
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.approve_request(
            lambda: uow, FakeDirectory(blocked=True), FakeCatalogue(), FakeScheduler(), approval(first), NOW
        )
    assert refused.value.reason == "BOOKING_BLOCKED"
    approved = await handlers.approve_request(
        lambda: uow,
        FakeDirectory(blocked=True),
        FakeCatalogue(),
        full,
        approval(first, override_booking_rules=True),
        NOW,
    )
    assert approved.status is Status.APPROVED


async def test_the_sweep_expires_only_requests_whose_every_time_has_passed() -> None:
    uow = FakeUnitOfWork()
    soon = await handlers.submit_request(
        lambda: uow, FakeDirectory(), FakeCatalogue(), FakeScheduler(), submission(0), LIMITS, NOW
    )
    later = await handlers.submit_request(
        lambda: uow, FakeDirectory(), FakeCatalogue(), FakeScheduler(), submission(5), LIMITS, NOW
    )
    later_on = NOW + timedelta(days=1, hours=1)
    assert await handlers.expire_due_requests(lambda: uow, FakeScheduler(), later_on, batch=10) == 1
    assert (uow.stored[soon.id].status, uow.stored[later.id].status) == (Status.EXPIRED, Status.PENDING)


async def test_a_freed_time_goes_to_the_first_client_it_suits_and_a_lapsed_offer_passes_on() -> None:
    uow = FakeUnitOfWork()
    slot_start = NOW + timedelta(days=2, hours=1)  # 10:00 in Berlin
    slot = FreedSlot(SERVICE, ANNA, slot_start, slot_start + timedelta(minutes=45))
    day = slot_start.date()
    first, second, evenings = (uuid.uuid4() for _ in range(3))
    for client_id, window in ((evenings, (time(17), time(20))), (first, None), (second, None)):
        await waitlist.join_waitlist(
            lambda: uow,
            FakeDirectory(),
            FakeCatalogue(),
            waitlist.JoinWaitlist(TENANT, client_id, SERVICE, None, day, day, *(window or (None, None)), "", "client"),
            NOW,
        )
    offered = await waitlist.offer_freed_time(uow, TENANT, slot, NOW)
    assert offered is not None and offered.client_id == first  # the evening-only client does not suit 10:00
    offer = offered.offers[0]
    assert offer.hold_until == NOW + timedelta(minutes=120)
    # Nobody accepts in time: the time passes to the next waiting client, the first waits for the next one.
    assert await waitlist.pass_on_expired_offers(lambda: uow, offer.hold_until, batch=10) == 1
    by_client = {e.client_id: e for e in uow.entries.values()}
    assert (by_client[first].status, by_client[second].status) == (EntryStatus.WAITING, EntryStatus.OFFERED)
    passed = by_client[second].offers[0]
    scheduler = FakeScheduler()
    booked = await waitlist.accept_offer(
        lambda: uow, FakeDirectory(), FakeCatalogue(), scheduler, TENANT, second, passed.id, offer.hold_until
    )
    assert booked.status is EntryStatus.BOOKED and [b.request_id for b in scheduler.bookings] == [passed.id]
    with pytest.raises(FailedPrecondition) as refused:
        await waitlist.accept_offer(
            lambda: uow, FakeDirectory(), FakeCatalogue(), scheduler, TENANT, second, passed.id, offer.hold_until
        )
    assert refused.value.reason == "OFFER_NOT_OPEN" and len(scheduler.bookings) == 1
    with pytest.raises(FailedPrecondition) as refused:
        await waitlist.accept_offer(
            lambda: uow, FakeDirectory(), FakeCatalogue(), scheduler, TENANT, first, offer.id, offer.hold_until
        )
    assert refused.value.reason == "OFFER_NOT_OPEN"
    names = [type(e).__name__ for e in uow.published]
    assert sorted(names) == sorted(
        ["WaitlistJoined"] * 3 + ["WaitlistOfferMade"] * 2 + ["WaitlistOfferExpired", "WaitlistOfferAccepted"]
    )


async def test_a_waitlist_offer_is_taken_only_within_the_clients_booking_rules() -> None:
    uow = FakeUnitOfWork()
    slot_start = NOW + timedelta(days=2, hours=1)
    slot = FreedSlot(SERVICE, ANNA, slot_start, slot_start + timedelta(minutes=45))
    await waitlist.join_waitlist(
        lambda: uow,
        FakeDirectory(),
        FakeCatalogue(),
        waitlist.JoinWaitlist(
            TENANT, CLIENT, SERVICE, None, slot_start.date(), slot_start.date(), None, None, "", "client"
        ),
        NOW,
    )
    offered = await waitlist.offer_freed_time(uow, TENANT, slot, NOW)
    assert offered is not None
    offer = offered.offers[0]
    # Two upcoming appointments and one open request: the business's limit of three is reached.
    await handlers.submit_request(
        lambda: uow, FakeDirectory(), FakeCatalogue(), FakeScheduler(), submission(), LIMITS, NOW
    )
    for directory, scheduler, reason in (
        (FakeDirectory(), FakeScheduler(upcoming=MAX_ACTIVE - 1), "MAX_ACTIVE_BOOKINGS"),
        (FakeDirectory(blocked=True), FakeScheduler(), "BOOKING_BLOCKED"),
    ):
        with pytest.raises(FailedPrecondition) as refused:
            await waitlist.accept_offer(
                lambda: uow, directory, FakeCatalogue(), scheduler, TENANT, CLIENT, offer.id, NOW
            )
        assert refused.value.reason == reason and scheduler.bookings == []
    booked = await waitlist.accept_offer(
        lambda: uow,
        FakeDirectory(),
        FakeCatalogue(),
        FakeScheduler(upcoming=MAX_ACTIVE - 2),
        TENANT,
        CLIENT,
        offer.id,
        NOW,
    )
    assert booked.status is EntryStatus.BOOKED


async def test_staff_may_put_a_blocked_client_on_the_waitlist_past_its_booking_rules_and_the_offer_books() -> None:
    uow, blocked = FakeUnitOfWork(), FakeDirectory(blocked=True)
    slot_start = NOW + timedelta(days=2, hours=1)
    day = slot_start.date()
    by_staff = waitlist.JoinWaitlist(TENANT, CLIENT, SERVICE, None, day, day, None, None, "", "staff")
    with pytest.raises(FailedPrecondition) as refused:
        await waitlist.join_waitlist(lambda: uow, blocked, FakeCatalogue(), by_staff, NOW)
    assert refused.value.reason == "BOOKING_BLOCKED" and uow.entries == {}
    # A client cannot override its own rules; nothing is written.
    own = replace(by_staff, joined_by="client", override_booking_rules=True)
    with pytest.raises(InvalidArgument) as invalid:
        await waitlist.join_waitlist(lambda: uow, FakeDirectory(), FakeCatalogue(), own, NOW)
    assert [v.field for v in invalid.value.violations] == ["override_booking_rules"] and uow.entries == {}
    entry = await waitlist.join_waitlist(
        lambda: uow, blocked, FakeCatalogue(), replace(by_staff, override_booking_rules=True), NOW
    )
    assert entry.booking_rules_overridden and uow.entries[entry.id].booking_rules_overridden
    offered = await waitlist.offer_freed_time(
        uow, TENANT, FreedSlot(SERVICE, ANNA, slot_start, slot_start + timedelta(minutes=45)), NOW
    )
    assert offered is not None
    # The still-blocked client takes the offer in the portal: staff's override holds for it, and scheduling is
    # asked for the business (its online rules would refuse the client).
    scheduler = FakeScheduler()
    with bind_call_context(CallContext(TENANT, Principal("portal", "login", "", str(CLIENT)))):
        booked = await waitlist.accept_offer(
            lambda: uow, blocked, FakeCatalogue(), scheduler, TENANT, CLIENT, offered.offers[0].id, NOW
        )
    assert booked.status is EntryStatus.BOOKED and scheduler.booked_as == ["service"]


async def test_staff_requests_skip_the_portal_form_and_limit_but_keep_the_booking_rules() -> None:
    uow = FakeUnitOfWork()
    directory = FakeDirectory(blocked=True)
    by_staff = replace(submission(), channel="staff", staff_actor="staff:desk", answers={"allergies": "none"})
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.submit_request(lambda: uow, directory, FakeCatalogue(), FakeScheduler(), by_staff, LIMITS, NOW)
    assert refused.value.reason == "BOOKING_BLOCKED" and uow.stored == {}
    overridden = replace(by_staff, override_booking_rules=True)
    made = [
        await handlers.submit_request(
            lambda: uow, directory, FakeCatalogue(), FakeScheduler(), replace(overridden, options=[option]), LIMITS, NOW
        )
        for option in (TimeOption(NOW + timedelta(days=1, hours=h)) for h in (1, 2, 3))
    ]
    # Past the portal's open-request limit of two, and the form was not the portal's to answer.
    assert [r.channel for r in made] == ["staff"] * 3 and directory.answers == {}
    with pytest.raises(InvalidArgument) as invalid:
        await handlers.submit_request(
            lambda: uow,
            FakeDirectory(),
            FakeCatalogue(),
            FakeScheduler(),
            replace(submission(), override_booking_rules=True),
            LIMITS,
            NOW,
        )
    assert [v.field for v in invalid.value.violations] == ["override_booking_rules"]


def holding_uow() -> FakeUnitOfWork:
    """A business whose pending requests hold their first preferred time."""
    return FakeUnitOfWork(RequestSettings(tentative_holds=True))


async def test_a_pending_request_holds_its_first_time_until_it_is_decided() -> None:
    uow, scheduler = holding_uow(), FakeScheduler()
    request = await handlers.submit_request(
        lambda: uow, FakeDirectory(), FakeCatalogue(), scheduler, submission(), LIMITS, NOW
    )
    first = request.options[0].start
    assert request.hold is not None and request.hold.start == first and list(scheduler.holds) == [request.id]
    # An edit of the first time moves the hold; a window first gives it back.
    later = TimeOption(first + timedelta(hours=2))
    edit = handlers.UpdateRequest(TENANT, CLIENT, request.id, request.version, options=[later])
    moved = await handlers.update_request(lambda: uow, FakeCatalogue(), scheduler, edit, LIMITS, NOW)
    assert moved.hold is not None and scheduler.holds[request.id].start == later.start
    window = TimeOption(first, first + timedelta(hours=3))
    edit = handlers.UpdateRequest(TENANT, CLIENT, request.id, moved.version, options=[window])
    released = await handlers.update_request(lambda: uow, FakeCatalogue(), scheduler, edit, LIMITS, NOW)
    assert released.hold is None and scheduler.holds == {}


async def test_the_reconciler_gives_back_holds_no_pending_request_owns_once_their_grace_has_passed() -> None:
    uow, scheduler = holding_uow(), FakeScheduler()
    kept = await handlers.submit_request(
        lambda: uow, FakeDirectory(), FakeCatalogue(), scheduler, submission(), LIMITS, NOW
    )
    # A submission whose transaction failed after scheduling placed its hold: no request owns it.
    orphan = uuid.uuid4()
    await scheduler.hold(SlotToHold(orphan, CLIENT, SERVICE, ANNA, NOW + timedelta(days=2), "REQ-9999"))
    # A just-placed one is spared until its grace has passed (its submission may still be running).
    grace = timedelta(minutes=1)
    assert (
        await hold_reconciliation.release_orphan_holds(
            lambda: uow, scheduler, TENANT, NOW, grace=grace, horizon=LIMITS.horizon
        )
        == []
    )
    later = NOW + grace
    released = await hold_reconciliation.release_orphan_holds(
        lambda: uow, scheduler, TENANT, later, grace=grace, horizon=LIMITS.horizon
    )
    assert released == [orphan] and list(scheduler.holds) == [kept.id]
    # A decided request whose hold outlived its decision loses it too.
    uow.stored[kept.id].status = Status.DECLINED
    assert await hold_reconciliation.release_orphan_holds(
        lambda: uow, scheduler, TENANT, later, grace=grace, horizon=LIMITS.horizon
    ) == [kept.id]
    assert scheduler.holds == {}


async def test_a_taken_first_time_refuses_the_request_and_every_decision_gives_the_hold_back() -> None:
    uow = holding_uow()
    taken = FakeScheduler(Conflict("the slot at 10:00 is no longer free", reason="SLOT_TAKEN"))
    with pytest.raises(Conflict):
        await handlers.submit_request(lambda: uow, FakeDirectory(), FakeCatalogue(), taken, submission(), LIMITS, NOW)
    assert uow.stored == {} and uow.published == []

    scheduler = FakeScheduler()
    roomy = replace(LIMITS, max_open_per_client=5)

    async def submitted(hour: int) -> AppointmentRequest:
        return await handlers.submit_request(
            lambda: uow, FakeDirectory(), FakeCatalogue(), scheduler, submission(hour), roomy, NOW
        )

    held = [await submitted(hour) for hour in (1, 2, 3)]
    approved = await handlers.approve_request(
        lambda: uow, FakeDirectory(), FakeCatalogue(), scheduler, approval(held[0]), NOW
    )
    held.append(await submitted(4))
    # The approval books into the hold: scheduling releases it in the booking's transaction.
    assert scheduler.bookings[-1].hold_id == held[0].id and approved.hold is None
    await handlers.decline_request(lambda: uow, scheduler, TENANT, held[1].id, "Fully booked", "staff:anna", NOW)
    await handlers.cancel_request(lambda: uow, scheduler, TENANT, CLIENT, held[2].id, NOW)
    await handlers.propose_alternatives(
        lambda: uow,
        FakeCatalogue(),
        scheduler,
        handlers.ProposeAlternatives(TENANT, held[3].id, [NOW + timedelta(days=3)], None, "", "staff:anna"),
        NOW,
    )
    assert set(scheduler.holds) == {held[0].id}  # only the approved one's, which scheduling released itself
    assert all(uow.stored[r.id].hold is None for r in held)
