"""Use cases of appointment requests: submit, approve, decline, withdraw, expire."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from platform_core.errors import InvalidArgument, NotFound
from platform_core.ids import new_id
from portal_requests_svc.adapters.remote import AbstractCatalogue, AbstractClientDirectory, AbstractScheduler, Booking
from portal_requests_svc.domain.requests import (
    AppointmentRequest,
    TimeOption,
    check_client_may_request,
    check_open_limit,
)
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork

UowFactory = Callable[[], PortalRequestsUnitOfWork]


@dataclass(frozen=True)
class RequestLimits:
    max_open_per_client: int
    horizon: timedelta


@dataclass(frozen=True)
class SubmitRequest:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    service_id: uuid.UUID
    preferred_staff_id: uuid.UUID | None
    options: Sequence[TimeOption]
    message: str
    timezone: str
    submission_id: str | None
    # Custom field values of the booking request form (JSON values by field key).
    answers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApproveRequest:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    start: datetime
    staff_id: uuid.UUID | None
    override_availability: bool
    actor: str


async def submit_request(
    uow_factory: UowFactory,
    directory: AbstractClientDirectory,
    catalogue: AbstractCatalogue,
    command: SubmitRequest,
    limits: RequestLimits,
    now: datetime,
) -> AppointmentRequest:
    if command.submission_id:
        async with uow_factory() as uow:
            existing = await uow.requests.get_by_submission(command.tenant_id, command.client_id, command.submission_id)
        if existing is not None:
            return existing
    # The client service decides, at submit time, whether this client may ask at all.
    client = await directory.lookup(command.client_id)
    if client is None:
        raise NotFound("client not found")
    check_client_may_request(deleted=client.deleted, blocked=client.online_booking_blocked)
    service = await catalogue.service(command.service_id)
    if service is None or not service.bookable_online:
        raise InvalidArgument.single("service_id", "names no service that can be requested online")
    if command.preferred_staff_id is not None and command.preferred_staff_id not in service.staff_ids:
        raise InvalidArgument.single("preferred_staff_id", "does not perform this service")
    request = AppointmentRequest.submit(
        tenant_id=command.tenant_id,
        request_id=new_id(),
        client_id=command.client_id,
        service_id=command.service_id,
        preferred_staff_id=command.preferred_staff_id,
        options=command.options,
        message=command.message,
        # Shown on the client's wall clock: its own timezone, else the business's.
        timezone=command.timezone or client.timezone or await catalogue.business_timezone(),
        submission_id=command.submission_id,
        now=now,
        horizon=limits.horizon,
    )
    # The form's answers belong to the client record; the client service checks them (required ones too)
    # once the request itself is sound, before it is taken.
    await directory.answer_booking_form(command.client_id, command.answers)
    async with uow_factory() as uow:
        # One client's submissions queue here, so the open-request count and the submission id hold.
        await uow.requests.lock_client(command.tenant_id, command.client_id)
        if command.submission_id:
            existing = await uow.requests.get_by_submission(command.tenant_id, command.client_id, command.submission_id)
            if existing is not None:
                return existing
        check_open_limit(
            await uow.requests.count_open(command.tenant_id, command.client_id), limits.max_open_per_client
        )
        uow.requests.add(request)
        await uow.commit()
    return request


async def approve_request(
    uow_factory: UowFactory, scheduler: AbstractScheduler, command: ApproveRequest, now: datetime
) -> AppointmentRequest:
    async with uow_factory() as uow:
        # The row stays locked while scheduling books: a second approver, a decline or a withdrawal waits and
        # then finds the request decided (409), so exactly one decision wins and only it books.
        request = await uow.requests.get(command.tenant_id, command.request_id, for_update=True)
        request.require_pending()
        booked = await scheduler.book(
            Booking(
                request_id=request.id,
                client_id=request.client_id,
                service_id=request.service_id,
                staff_id=command.staff_id or request.preferred_staff_id,
                start=command.start,
                timezone=request.timezone,
                override_availability=command.override_availability,
            )
        )
        # A refused booking (a taken slot) raised above: nothing was written and the request stays pending.
        request.approve(appointment_id=booked.appointment_id, start=booked.start, actor=command.actor, now=now)
        await uow.commit()
    return request


async def decline_request(
    uow_factory: UowFactory, tenant_id: uuid.UUID, request_id: uuid.UUID, reason: str, actor: str, now: datetime
) -> AppointmentRequest:
    async with uow_factory() as uow:
        request = await uow.requests.get(tenant_id, request_id, for_update=True)
        request.decline(reason=reason, actor=actor, now=now)
        await uow.commit()
    return request


async def withdraw_request(
    uow_factory: UowFactory, tenant_id: uuid.UUID, client_id: uuid.UUID, request_id: uuid.UUID, now: datetime
) -> AppointmentRequest:
    async with uow_factory() as uow:
        request = await uow.requests.get(tenant_id, request_id, for_update=True)
        if request.client_id != client_id:
            raise NotFound("appointment request not found")
        request.withdraw(actor=f"client:{client_id}", now=now)
        await uow.commit()
    return request


async def expire_due_requests(uow_factory: UowFactory, now: datetime, batch: int) -> int:
    """Expire one batch of pending requests whose every option has passed; returns how many."""
    async with uow_factory() as uow:
        due = await uow.requests.expirable(now, batch)
        for request in due:
            request.expire(now)
        await uow.commit()
    return len(due)
