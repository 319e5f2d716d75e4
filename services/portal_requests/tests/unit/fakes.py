"""The portal-requests unit of work without a database or other services: in-memory repositories and fake
ports (the client service, scheduling's catalogue, appointments, holds and free slots), for the handlers' unit
tests. The fakes answer as the real ones do where the handlers depend on it (what is locked is not modelled)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from client_contract.lookup import ClientFacts
from platform_core.grpc.context import maybe_current_context
from portal_requests_svc.adapters.catalogue import AbstractCatalogue, BusinessTerms, OfferedService
from portal_requests_svc.adapters.client_directory import AbstractClientDirectory, RequestingClient
from portal_requests_svc.adapters.public_request_repository import AbstractPublicRequestRepository
from portal_requests_svc.adapters.repository import AbstractRequestRepository, ClientContact, RequestSettings
from portal_requests_svc.adapters.scheduler import (
    AbstractScheduler,
    BookedAppointment,
    Booking,
    PlacedHold,
    SlotToHold,
)
from portal_requests_svc.adapters.slot_finder import AbstractSlotFinder
from portal_requests_svc.adapters.visitor_clients import AbstractVisitorClients
from portal_requests_svc.adapters.waitlist_repository import AbstractWaitlistRepository
from portal_requests_svc.domain.events import FreedSlot
from portal_requests_svc.domain.public_requests import NewClientTerms, PublicRequest, Visitor
from portal_requests_svc.domain.requests import (
    OPEN,
    AppointmentRequest,
    HeldSlot,
    RequestLimits,
    Status,
    Technician,
)
from portal_requests_svc.domain.waitlist import EntryStatus, WaitlistEntry
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork

NOW = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
TENANT, CLIENT, SERVICE, ANNA, BEN = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
LIMITS = RequestLimits(max_open_per_client=2, horizon=timedelta(days=90), code_ttl=timedelta(minutes=10))
MAX_ACTIVE = 3  # the business's limit of a client's active bookings


class FakeRepository(AbstractRequestRepository):
    def __init__(
        self,
        stored: dict[uuid.UUID, AppointmentRequest],
        contacts: dict[uuid.UUID, ClientContact],
        settings: RequestSettings,
        approval_until: dict[uuid.UUID, datetime],
    ) -> None:
        super().__init__()
        self._stored = stored
        self._contacts = contacts
        self.request_settings = settings
        self.approval_until = approval_until

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

    async def needs_approval(self, tenant_id: uuid.UUID, client_id: uuid.UUID, now: datetime) -> bool:
        until = self.approval_until.get(client_id)
        return until is not None and until > now

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


class FakePublicRequests(AbstractPublicRequestRepository):
    def __init__(self, stored: dict[uuid.UUID, PublicRequest]) -> None:
        super().__init__()
        self._stored = stored

    async def _get(self, tenant_id: uuid.UUID, verification_id: uuid.UUID) -> PublicRequest | None:
        found = self._stored.get(verification_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    async def save(self, verification: PublicRequest) -> None:
        self._stored[verification.id] = verification
        verification.is_new = False

    async def purge(self, before: datetime, limit: int) -> int:
        old = sorted((v for v in self._stored.values() if v.created_at < before), key=lambda v: v.created_at)[:limit]
        for verification in old:
            del self._stored[verification.id]
        return len(old)


class FakeDirectory(AbstractClientDirectory):
    def __init__(self, *, blocked: bool = False) -> None:
        self.blocked = blocked
        self.answers: dict[uuid.UUID, dict[str, object]] = {}

    async def lookup(self, client_id: uuid.UUID) -> RequestingClient | None:
        return RequestingClient(
            ClientFacts(client_id, self.blocked, False, "Europe/Berlin"), "Mia Park", "mia@example.com", "+4930123456"
        )

    async def answer_booking_form(self, client_id: uuid.UUID, answers: Mapping[str, Any], region: str) -> None:
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
    def __init__(self, refusal: Exception | None = None, *, upcoming: int = 0, times: Sequence[FreedSlot] = ()) -> None:
        self.refusal = refusal
        self.upcoming = upcoming
        self.times = list(times)  # what any appointment's times_of answers
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
        return list(self.times)

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


class FakeSlotFinder(AbstractSlotFinder):
    """Every time is free online except those ``taken``."""

    def __init__(self, taken: Sequence[datetime] = ()) -> None:
        self.taken = set(taken)

    async def is_offered(self, service_id: uuid.UUID, staff_id: uuid.UUID | None, start: datetime) -> bool:
        return start not in self.taken


class FakeVisitorClients(AbstractVisitorClients):
    """The business's clients by email; an unknown address makes a new client."""

    def __init__(self, known: Mapping[str, uuid.UUID] | None = None) -> None:
        self.by_email = dict(known or {})
        self.created: list[tuple[Visitor, NewClientTerms]] = []

    async def client_for(self, visitor: Visitor, terms: NewClientTerms) -> uuid.UUID:
        if visitor.email not in self.by_email:
            self.created.append((visitor, terms))
            self.by_email[visitor.email] = uuid.uuid4()
        return self.by_email[visitor.email]


class FakeUnitOfWork(PortalRequestsUnitOfWork):
    def __init__(self, settings: RequestSettings | None = None, *, limits: RequestLimits = LIMITS) -> None:
        self.settings = settings or RequestSettings()
        self.stored: dict[uuid.UUID, AppointmentRequest] = {}
        self.contacts: dict[uuid.UUID, ClientContact] = {}
        # Billing's repeat-offender rule as consumed: when each client's requests stop waiting for approval.
        self.approval_until: dict[uuid.UUID, datetime] = {}
        self.entries: dict[uuid.UUID, WaitlistEntry] = {}
        self.verifications: dict[uuid.UUID, PublicRequest] = {}
        self.published: list[Any] = []
        self.client_directory = FakeDirectory()
        self.catalogue = FakeCatalogue()
        self.scheduler = FakeScheduler()
        self.slot_finder = FakeSlotFinder()
        self.visitors = FakeVisitorClients()
        self.visitor_clients = self.visitors
        self.limits = limits

    def using(
        self,
        *,
        directory: AbstractClientDirectory | None = None,
        scheduler: AbstractScheduler | None = None,
        slot_finder: AbstractSlotFinder | None = None,
        limits: RequestLimits | None = None,
    ) -> Self:
        """This unit with the given ports (the others as they are): how the other services answer next."""
        self.client_directory = directory or self.client_directory
        self.scheduler = scheduler or self.scheduler
        self.slot_finder = slot_finder or self.slot_finder
        self.limits = limits or self.limits
        return self

    async def _start(self) -> None:
        self.requests = FakeRepository(self.stored, self.contacts, self.settings, self.approval_until)
        self.waitlist = FakeWaitlist(self.entries)
        self.public_requests = FakePublicRequests(self.verifications)
        self.repositories = (self.requests, self.waitlist, self.public_requests)

    async def _commit(self, events: list[Any]) -> None:
        self.published.extend(events)

    async def rollback(self) -> None:
        return None

    async def _close(self) -> None:
        return None
