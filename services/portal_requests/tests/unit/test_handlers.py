"""The use cases with fakes for the database and the other services: what is asked, what is written."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from platform_core.errors import Conflict, FailedPrecondition
from portal_requests_svc.adapters.remote import (
    AbstractCatalogue,
    AbstractClientDirectory,
    AbstractScheduler,
    BookedAppointment,
    Booking,
    ClientFacts,
    OfferedService,
)
from portal_requests_svc.adapters.repository import AbstractRequestRepository
from portal_requests_svc.domain.requests import AppointmentRequest, Status, TimeOption
from portal_requests_svc.service_layer import handlers
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork

NOW = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
TENANT, CLIENT, SERVICE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
LIMITS = handlers.RequestLimits(max_open_per_client=2, horizon=timedelta(days=90))


class FakeRepository(AbstractRequestRepository):
    def __init__(self, stored: dict[uuid.UUID, AppointmentRequest]) -> None:
        super().__init__()
        self._stored = stored

    async def _get(self, tenant_id: uuid.UUID, request_id: uuid.UUID, *, for_update: bool) -> AppointmentRequest | None:
        return self._stored.get(request_id)

    async def _expirable(self, now: datetime, limit: int) -> list[AppointmentRequest]:
        due = [r for r in self._stored.values() if r.status is Status.PENDING and r.has_passed(now)]
        return due[:limit]

    async def get_by_submission(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, submission_id: str
    ) -> AppointmentRequest | None:
        return next((r for r in self._stored.values() if r.submission_id == submission_id), None)

    async def lock_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> None:
        return None

    async def count_open(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> int:
        return sum(r.client_id == client_id and r.status is Status.PENDING for r in self._stored.values())

    async def save(self, request: AppointmentRequest) -> None:
        self._stored[request.id] = request
        request.is_new = False
        request.new_history.clear()


class FakeUnitOfWork(PortalRequestsUnitOfWork):
    def __init__(self) -> None:
        self.stored: dict[uuid.UUID, AppointmentRequest] = {}
        self.published: list[Any] = []

    async def _start(self) -> None:
        self.requests = FakeRepository(self.stored)
        self.repositories = (self.requests,)

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

    async def lookup(self, client_id: uuid.UUID) -> ClientFacts | None:
        return ClientFacts(client_id, self.blocked, False, "Europe/Berlin")

    async def answer_booking_form(self, client_id: uuid.UUID, answers: Mapping[str, Any]) -> None:
        self.answers[client_id] = dict(answers)


class FakeCatalogue(AbstractCatalogue):
    async def service(self, service_id: uuid.UUID) -> OfferedService | None:
        return OfferedService(service_id, True, frozenset()) if service_id == SERVICE else None

    async def business_timezone(self) -> str:
        return "Europe/Berlin"


class FakeScheduler(AbstractScheduler):
    def __init__(self, refusal: Exception | None = None) -> None:
        self.refusal = refusal
        self.bookings: list[Booking] = []

    async def book(self, booking: Booking) -> BookedAppointment:
        self.bookings.append(booking)
        if self.refusal:
            raise self.refusal
        return BookedAppointment(uuid.uuid4(), booking.start)


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
            lambda: uow, FakeDirectory(blocked=True), FakeCatalogue(), submission(), LIMITS, NOW
        )
    assert refused.value.reason == "BOOKING_BLOCKED"
    assert uow.stored == {} and uow.published == []


async def test_submission_takes_the_clients_timezone_and_the_open_limit_holds() -> None:
    uow = FakeUnitOfWork()
    for hour in (1, 2):
        request = await handlers.submit_request(
            lambda: uow, FakeDirectory(), FakeCatalogue(), submission(hour), LIMITS, NOW
        )
    assert request.timezone == "Europe/Berlin" and len(uow.published) == 2
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.submit_request(lambda: uow, FakeDirectory(), FakeCatalogue(), submission(3), LIMITS, NOW)
    assert refused.value.reason == "TOO_MANY_OPEN_REQUESTS"


async def test_a_refused_booking_leaves_the_request_pending_and_a_later_one_approves_it() -> None:
    uow = FakeUnitOfWork()
    request = await handlers.submit_request(lambda: uow, FakeDirectory(), FakeCatalogue(), submission(), LIMITS, NOW)
    approval = handlers.ApproveRequest(TENANT, request.id, NOW + timedelta(days=1), None, False, "staff:anna")
    with pytest.raises(Conflict):
        await handlers.approve_request(
            lambda: uow, FakeScheduler(Conflict("taken", reason="SLOT_TAKEN")), approval, NOW
        )
    assert uow.stored[request.id].status is Status.PENDING and len(uow.published) == 1
    scheduler = FakeScheduler()
    approved = await handlers.approve_request(lambda: uow, scheduler, approval, NOW)
    assert approved.status is Status.APPROVED
    # Scheduling is told which request books, so a retried approval finds that booking instead of a new one.
    assert [b.request_id for b in scheduler.bookings] == [request.id]


async def test_the_sweep_expires_only_requests_whose_every_time_has_passed() -> None:
    uow = FakeUnitOfWork()
    soon = await handlers.submit_request(lambda: uow, FakeDirectory(), FakeCatalogue(), submission(0), LIMITS, NOW)
    later = await handlers.submit_request(lambda: uow, FakeDirectory(), FakeCatalogue(), submission(5), LIMITS, NOW)
    assert await handlers.expire_due_requests(lambda: uow, NOW + timedelta(days=1, hours=1), batch=10) == 1
    assert (uow.stored[soon.id].status, uow.stored[later.id].status) == (Status.EXPIRED, Status.PENDING)
