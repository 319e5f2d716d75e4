"""Use cases of appointment requests: submit, edit, approve, decline, cancel, expire; the request settings."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from platform_core.errors import InvalidArgument, NotFound
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.ids import new_id
from portal_requests_svc.adapters.catalogue import AbstractCatalogue, OfferedService
from portal_requests_svc.adapters.client_directory import AbstractClientDirectory, RequestingClient
from portal_requests_svc.adapters.repository import ClientContact, RequestSettings
from portal_requests_svc.adapters.scheduler import AbstractScheduler, Booking, SlotToHold
from portal_requests_svc.domain import requests as rules
from portal_requests_svc.domain.requests import (
    MAX_INTERNAL_NOTES_LENGTH,
    UNCHANGED,
    AppointmentRequest,
    Status,
    Technician,
    TimeOption,
    Unchanged,
    check_client_may_request,
    check_open_limit,
    check_text,
    check_ticket,
    check_ticket_url_pattern,
)
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork

UowFactory = Callable[[], PortalRequestsUnitOfWork]
# A retried submission (the same Idempotency-Key) gets the same request id, so a hold its failed first attempt
# may have left in scheduling is the retry's own.
SUBMISSION_IDS = uuid.UUID("6f0c1f4e-2b1e-4f0a-9a59-0d6c1f1f5a01")
# How long proposed times and waitlist offers may hold (the schema's CHECKs say the same).
PROPOSAL_HOLD_MINUTES = (15, 14 * 24 * 60)
OFFER_HOLD_MINUTES = (5, 2 * 24 * 60)


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
    # Where it was asked: the portal, the public booking page ("public"), or "staff" (with staff_actor).
    channel: str = "portal"
    # Staff making the request for the client ("staff:<id>"); empty: the client.
    staff_actor: str = ""
    # Staff only: past the client's booking rules (online-booking block, active bookings limit), on record.
    override_booking_rules: bool = False


@dataclass(frozen=True)
class UpdateRequest:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    request_id: uuid.UUID
    version: int
    service_id: uuid.UUID | None = None
    preferred_staff_id: uuid.UUID | Unchanged | None = UNCHANGED
    options: Sequence[TimeOption] | None = None
    message: str | None = None


@dataclass(frozen=True)
class ApproveRequest:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    start: datetime
    technician_id: uuid.UUID
    override_availability: bool
    actor: str
    internal_notes: str = ""
    ticket: str = ""
    version: int = 0
    # Staff book past the client's booking rules (online-booking block, active bookings limit); kept in the
    # request's history.
    override_booking_rules: bool = False


async def staff_of(
    catalogue: AbstractCatalogue, service: OfferedService | None, staff_id: uuid.UUID, field_name: str
) -> Technician:
    """The staff member, who must perform the service; InvalidArgument naming ``field_name`` otherwise."""
    if service is None or staff_id not in service.staff_ids:
        raise InvalidArgument.single(field_name, "is not a staff member who performs this service")
    staff = await catalogue.staff_member(staff_id)
    if staff is None:
        raise InvalidArgument.single(field_name, "names no staff member of this business")
    return staff


async def online_service(catalogue: AbstractCatalogue, service_id: uuid.UUID) -> OfferedService:
    service = await catalogue.service(service_id)
    if service is None or not service.bookable_online:
        raise InvalidArgument.single("service_id", "names no service that can be requested online")
    return service


async def live_service(catalogue: AbstractCatalogue, service_id: uuid.UUID) -> OfferedService:
    """Any service the business offers (staff may ask for one clients cannot book online)."""
    service = await catalogue.service(service_id)
    if service is None:
        raise InvalidArgument.single("service_id", "names no service of this business")
    return service


async def submit_request(
    uow_factory: UowFactory,
    directory: AbstractClientDirectory,
    catalogue: AbstractCatalogue,
    scheduler: AbstractScheduler,
    command: SubmitRequest,
    limits: RequestLimits,
    now: datetime,
) -> AppointmentRequest:
    """A client's request from the portal, or staff's for a client (channel "staff": any live service, no
    booking form, not held to the portal's open-request limit; the booking rules hold unless overridden)."""
    by_staff = bool(command.staff_actor)
    if command.override_booking_rules and not by_staff:
        raise InvalidArgument.single("override_booking_rules", "only staff may book past the booking rules")
    if command.submission_id:
        async with uow_factory() as uow:
            existing = await uow.requests.get_by_submission(command.tenant_id, command.client_id, command.submission_id)
        if existing is not None:
            return existing
    # The client service decides, at submit time, whether this client may ask at all.
    client = await directory.lookup(command.client_id)
    if client is None:
        raise NotFound("client not found")
    check_client_may_request(
        deleted=client.facts.deleted, blocked=client.facts.online_booking_blocked and not command.override_booking_rules
    )
    service = await (live_service if by_staff else online_service)(catalogue, command.service_id)
    preferred = (
        await staff_of(catalogue, service, command.preferred_staff_id, "preferred_staff_id")
        if command.preferred_staff_id is not None
        else None
    )
    terms = await catalogue.business_terms()
    request = AppointmentRequest.submit(
        tenant_id=command.tenant_id,
        request_id=(
            uuid.uuid5(SUBMISSION_IDS, f"{command.tenant_id}:{command.client_id}:{command.submission_id}")
            if command.submission_id
            else new_id()
        ),
        client_id=command.client_id,
        service=service.terms,
        preferred_staff=preferred,
        options=command.options,
        message=command.message,
        # Shown on the client's wall clock: its own timezone, else the business's.
        timezone=command.timezone or client.facts.timezone or terms.timezone,
        business_timezone=terms.timezone,
        submission_id=command.submission_id,
        now=now,
        horizon=limits.horizon,
        channel=command.channel,
    )
    if not by_staff:
        # The form's answers belong to the client record; the client service checks them (required ones too)
        # once the request itself is sound, before it is taken.
        await directory.answer_booking_form(command.client_id, command.answers)
    async with uow_factory() as uow:
        # One client's submissions and decisions queue here (check_booking_rules takes the client's lock), so
        # the open-request count, the active bookings and the submission id hold.
        await check_booking_rules(
            uow, client, catalogue, scheduler, command.tenant_id, override=command.override_booking_rules
        )
        if command.submission_id:
            existing = await uow.requests.get_by_submission(command.tenant_id, command.client_id, command.submission_id)
            if existing is not None:
                return existing
        if not by_staff:
            pending = await uow.requests.count_open(command.tenant_id, command.client_id)
            check_open_limit(pending, limits.max_open_per_client)
        request.register(
            await uow.requests.next_reference_number(command.tenant_id),
            actor=command.staff_actor,
            booking_rules_overridden=command.override_booking_rules,
        )
        # Held before the request is taken: a time someone else holds or booked refuses the request (409). The
        # hold's lock, kept until this transaction ends, tells the hold reconciler to wait for its outcome.
        await uow.requests.lock_hold(command.tenant_id, request.id)
        await keep_hold(scheduler, request, (await uow.requests.settings(command.tenant_id)).tentative_holds)
        await uow.requests.remember_client(
            command.tenant_id, ClientContact(command.client_id, client.name, client.email, client.phone, now)
        )
        uow.requests.add(request)
        await uow.commit()
    return request


async def update_request(
    uow_factory: UowFactory,
    catalogue: AbstractCatalogue,
    scheduler: AbstractScheduler,
    command: UpdateRequest,
    limits: RequestLimits,
    now: datetime,
) -> AppointmentRequest:
    async with uow_factory() as uow:
        # Read for update: a staff decision on this request waits for the edit or the edit for it, and the
        # version says whether the other one came first (409 for the loser).
        request = await uow.requests.get(command.tenant_id, command.request_id, for_update=True)
        if request.client_id != command.client_id:
            raise NotFound("appointment request not found")
        request.require_pending()
        request.check_version(command.version)
        service_changes = command.service_id is not None and command.service_id != request.service_id
        # A new service must be one clients may ask for; the one staff chose for them may stay.
        service = await (online_service if service_changes else live_service)(
            catalogue, command.service_id or request.service_id
        )
        preferred: Technician | Unchanged | None = UNCHANGED
        if isinstance(command.preferred_staff_id, uuid.UUID):
            preferred = await staff_of(catalogue, service, command.preferred_staff_id, "preferred_staff_id")
        elif command.preferred_staff_id is None:
            preferred = None
        elif service_changes and request.preferred_staff_id not in (None, *service.staff_ids):
            raise InvalidArgument.single("preferred_staff_id", "does not perform the new service; choose another")
        slot_before = (request.service_id, request.preferred_staff_id, request.first_slot)
        request.update(
            service=service.terms if service_changes else None,
            preferred_staff=preferred,
            options=command.options,
            message=command.message,
            actor=f"client:{command.client_id}",
            now=now,
            horizon=limits.horizon,
        )
        if (request.service_id, request.preferred_staff_id, request.first_slot) != slot_before:
            # The hold moves with the first preferred time; when that is taken, the edit is refused (409).
            await keep_hold(scheduler, request, (await uow.requests.settings(command.tenant_id)).tentative_holds)
        await uow.commit()
    return request


async def check_booking_rules(
    uow: PortalRequestsUnitOfWork,
    client: RequestingClient,
    catalogue: AbstractCatalogue,
    scheduler: AbstractScheduler,
    tenant_id: uuid.UUID,
    *,
    deciding: uuid.UUID | None = None,
    override: bool = False,
) -> None:
    """The client's booking rules as they stand now, inside the caller's transaction: every way to a booking
    (a request from the portal, staff or the public page, its approval, an accepted proposal or waitlist offer)
    asks this. The client's lock is taken first, so two of them for one client are counted one after the other;
    the request being decided (``deciding``) is not counted against itself. Upcoming appointments are
    scheduling's exact count."""
    client_id = client.facts.client_id
    await uow.requests.lock_client(tenant_id, client_id)
    max_active = 0 if override else (await catalogue.business_terms()).max_active_bookings_per_client
    rules.check_booking_rules(
        deleted=client.facts.deleted,
        blocked=client.facts.online_booking_blocked,
        upcoming=await scheduler.upcoming_bookings(client_id) if max_active else 0,
        open_requests=await uow.requests.count_open(tenant_id, client_id, excluding=deciding) if max_active else 0,
        max_active=max_active,
        override=override,
    )


async def requesting_client(directory: AbstractClientDirectory, client_id: uuid.UUID) -> RequestingClient:
    client = await directory.lookup(client_id)
    if client is None:
        raise NotFound("client not found")
    return client


async def keep_hold(scheduler: AbstractScheduler, request: AppointmentRequest, holding: bool) -> None:
    """The request's tentative hold follows its first preferred time: placed or moved there (scheduling decides:
    a taken time is a Conflict naming it and nothing changes), or given back when there is nothing to hold
    (a window first, or holds switched off)."""
    slot = request.first_slot if holding else None
    if slot is None:
        if request.hold is not None:
            await scheduler.release_hold(request.id)
            request.hold = None
        return
    wanted = SlotToHold(
        request.id, request.client_id, request.service_id, request.preferred_staff_id, slot, request.reference
    )
    request.hold = await scheduler.hold(wanted)


async def release_hold(scheduler: AbstractScheduler, request: AppointmentRequest, had_hold: bool) -> None:
    """A request that held a time was just decided (or expired): its time goes back, before the decision commits
    (if scheduling cannot be told, the decision fails and nothing changes)."""
    if had_hold:
        await scheduler.release_hold(request.id)


async def approve_request(
    uow_factory: UowFactory,
    directory: AbstractClientDirectory,
    catalogue: AbstractCatalogue,
    scheduler: AbstractScheduler,
    command: ApproveRequest,
    now: datetime,
) -> AppointmentRequest:
    # Checked before anything is booked: a bad note must not leave an appointment behind.
    internal_notes = check_text(command.internal_notes, "internal_notes", MAX_INTERNAL_NOTES_LENGTH)
    ticket = check_ticket(command.ticket)
    async with uow_factory() as uow:
        # The row stays locked while scheduling books: a second approver, a decline, an edit or a cancellation
        # waits and then finds the request decided (409), so exactly one decision wins and only it books.
        request = await uow.requests.get(command.tenant_id, command.request_id, for_update=True)
        request.require_pending()
        request.check_version(command.version)
        technician = await staff_of(
            catalogue, await catalogue.service(request.service_id), command.technician_id, "technician_id"
        )
        await check_booking_rules(
            uow,
            await requesting_client(directory, request.client_id),
            catalogue,
            scheduler,
            command.tenant_id,
            deciding=request.id,
            override=command.override_booking_rules,
        )
        booked = await scheduler.book(
            Booking(
                request_id=request.id,
                client_id=request.client_id,
                service_id=request.service_id,
                staff_id=technician.staff_id,
                start=command.start,
                timezone=request.timezone,
                override_availability=command.override_availability,
                staff_notes=internal_notes,
                ticket=ticket,
                # Its own hold is released in the booking's transaction: it books into it, or elsewhere.
                hold_id=request.id if request.hold is not None else None,
            )
        )
        # A refused booking (a taken slot) raised above: nothing was written and the request stays pending.
        request.approve(
            appointment_id=booked.appointment_id,
            technician=technician,
            start=booked.start,
            end=booked.end,
            internal_notes=internal_notes,
            ticket=ticket,
            actor=command.actor,
            now=now,
            booking_rules_overridden=command.override_booking_rules,
        )
        await uow.commit()
    return request


@dataclass(frozen=True)
class ProposeAlternatives:
    tenant_id: uuid.UUID
    request_id: uuid.UUID
    alternatives: Sequence[datetime]
    technician_id: uuid.UUID | None
    note: str
    actor: str
    version: int = 0


async def propose_alternatives(
    uow_factory: UowFactory,
    catalogue: AbstractCatalogue,
    scheduler: AbstractScheduler,
    command: ProposeAlternatives,
    now: datetime,
) -> AppointmentRequest:
    async with uow_factory() as uow:
        request = await uow.requests.get(command.tenant_id, command.request_id, for_update=True)
        request.require_pending()
        request.check_version(command.version)
        technician = (
            await staff_of(
                catalogue, await catalogue.service(request.service_id), command.technician_id, "technician_id"
            )
            if command.technician_id is not None
            else None
        )
        settings = await uow.requests.settings(command.tenant_id)
        had_hold = request.hold is not None
        request.propose(
            alternatives=command.alternatives,
            technician=technician,
            note=command.note,
            hold=settings.proposal_hold,
            actor=command.actor,
            now=now,
        )
        await release_hold(scheduler, request, had_hold)
        await uow.commit()
    return request


async def accept_alternative(
    uow_factory: UowFactory,
    directory: AbstractClientDirectory,
    catalogue: AbstractCatalogue,
    scheduler: AbstractScheduler,
    tenant_id: uuid.UUID,
    client_id: uuid.UUID,
    request_id: uuid.UUID,
    alternative: int,
    now: datetime,
) -> AppointmentRequest:
    """The client takes one of the proposed times. The request's row stays locked while scheduling books it, so
    of two acceptances the first books and the second finds the request approved (409); a time taken meanwhile
    is scheduling's 409 and the proposal stays open."""
    async with uow_factory() as uow:
        request = await uow.requests.get(tenant_id, request_id, for_update=True)
        if request.client_id != client_id:
            raise NotFound("appointment request not found")
        start = request.require_acceptable(alternative, now)
        await check_booking_rules(
            uow, await requesting_client(directory, client_id), catalogue, scheduler, tenant_id, deciding=request.id
        )
        booked = await scheduler.book(
            Booking(
                request_id=request.id,
                client_id=client_id,
                service_id=request.service_id,
                staff_id=request.proposed_technician_id,
                start=start,
                timezone=request.timezone,
                override_availability=False,
            )
        )
        technician = await catalogue.staff_member(booked.staff_id) or Technician(booked.staff_id, "")
        request.accept_alternative(
            alternative=alternative,
            appointment_id=booked.appointment_id,
            technician=technician,
            start=booked.start,
            end=booked.end,
            now=now,
        )
        await uow.commit()
    return request


async def decline_request(
    uow_factory: UowFactory,
    scheduler: AbstractScheduler,
    tenant_id: uuid.UUID,
    request_id: uuid.UUID,
    reason: str,
    actor: str,
    now: datetime,
) -> AppointmentRequest:
    async with uow_factory() as uow:
        request = await uow.requests.get(tenant_id, request_id, for_update=True)
        had_hold = request.hold is not None
        request.decline(reason=reason, actor=actor, now=now)
        await release_hold(scheduler, request, had_hold)
        await uow.commit()
    return request


async def cancel_request(
    uow_factory: UowFactory,
    scheduler: AbstractScheduler,
    tenant_id: uuid.UUID,
    client_id: uuid.UUID,
    request_id: uuid.UUID,
    now: datetime,
) -> AppointmentRequest:
    async with uow_factory() as uow:
        request = await uow.requests.get(tenant_id, request_id, for_update=True)
        if request.client_id != client_id:
            raise NotFound("appointment request not found")
        request.require_cancellable()
        if request.status is Status.APPROVED:
            assert request.appointment_id is not None
            # Scheduling holds the business's cancellation notice for clients: outside it this raises (409)
            # and the request stays approved.
            await scheduler.cancel(request.appointment_id, "")
        had_hold = request.hold is not None
        request.cancel(by="client", actor=f"client:{client_id}", now=now)
        await release_hold(scheduler, request, had_hold)
        await uow.commit()
    return request


async def appointment_cancelled(
    uow: PortalRequestsUnitOfWork, tenant_id: uuid.UUID, appointment_id: uuid.UUID, by: str, now: datetime
) -> AppointmentRequest | None:
    """Scheduling cancelled an appointment (staff, or the client in the portal's appointments): the request that
    booked it is cancelled too, so the client never sees it approved. One cancelled through its request is
    cancelled already."""
    async with uow:
        request = await uow.requests.approved_with(tenant_id, appointment_id)
        if request is not None:
            request.cancel(by=by if by in ("client", "staff") else "staff", actor="system", now=now)
        await uow.commit()
    return request


async def expire_due_requests(uow_factory: UowFactory, scheduler: AbstractScheduler, now: datetime, batch: int) -> int:
    """Expire one batch of pending requests whose every option has passed (giving back what they held); returns
    how many."""
    async with uow_factory() as uow:
        due = await uow.requests.expirable(now, batch)
        for request in due:
            had_hold = request.hold is not None
            request.expire(now)
            # The sweep acts for the business of each request it claimed.
            with bind_call_context(CallContext(request.tenant_id, Principal.service("portal_requests"))):
                await release_hold(scheduler, request, had_hold)
        await uow.commit()
    return len(due)


async def update_request_settings(
    uow_factory: UowFactory,
    tenant_id: uuid.UUID,
    ticket_url_pattern: str,
    proposal_hold_minutes: int,
    offer_hold_minutes: int,
    version: int,
    tentative_holds: bool = False,
) -> RequestSettings:
    for name, minutes, (low, high) in (
        ("proposal_hold_minutes", proposal_hold_minutes, PROPOSAL_HOLD_MINUTES),
        ("offer_hold_minutes", offer_hold_minutes, OFFER_HOLD_MINUTES),
    ):
        if not low <= minutes <= high:
            raise InvalidArgument.single(name, f"must be {low} to {high} minutes")
    checked = RequestSettings(
        check_ticket_url_pattern(ticket_url_pattern),
        version,
        proposal_hold_minutes,
        offer_hold_minutes,
        tentative_holds,
    )
    async with uow_factory() as uow:
        saved = await uow.requests.save_settings(tenant_id, checked)
        await uow.commit()
    return saved
