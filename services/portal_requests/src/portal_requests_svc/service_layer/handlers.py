"""Use cases of appointment requests: submit, edit, approve, decline, cancel, expire; the request settings."""

from __future__ import annotations

import uuid

from platform_core.errors import InvalidArgument, NotFound
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.ids import new_id
from portal_requests_svc.adapters.catalogue import AbstractCatalogue, OfferedService
from portal_requests_svc.adapters.client_directory import AbstractClientDirectory, RequestingClient
from portal_requests_svc.adapters.repository import ClientContact, RequestSettings
from portal_requests_svc.adapters.scheduler import AbstractScheduler, Booking, SlotToHold
from portal_requests_svc.domain import commands
from portal_requests_svc.domain import requests as rules
from portal_requests_svc.domain.requests import (
    MAX_INTERNAL_NOTES_LENGTH,
    UNCHANGED,
    AppointmentRequest,
    Status,
    Technician,
    Unchanged,
    check_client_may_request,
    check_open_limit,
    check_text,
    check_ticket,
    check_ticket_url_pattern,
)
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork

# A retried submission (the same Idempotency-Key) gets the same request id, so a hold its failed first attempt
# may have left in scheduling is the retry's own.
SUBMISSION_IDS = uuid.UUID("6f0c1f4e-2b1e-4f0a-9a59-0d6c1f1f5a01")
# How long proposed times and waitlist offers may hold (the schema's CHECKs say the same).
PROPOSAL_HOLD_MINUTES = (15, 14 * 24 * 60)
OFFER_HOLD_MINUTES = (5, 2 * 24 * 60)


async def _staff_of(
    catalogue: AbstractCatalogue, service: OfferedService | None, staff_id: uuid.UUID, field_name: str
) -> Technician:
    """The staff member, who must perform the service; InvalidArgument naming ``field_name`` otherwise."""
    if service is None or staff_id not in service.staff_ids:
        raise InvalidArgument.single(field_name, "is not a staff member who performs this service")
    staff = await catalogue.staff_member(staff_id)
    if staff is None:
        raise InvalidArgument.single(field_name, "names no staff member of this business")
    return staff


async def _online_service(catalogue: AbstractCatalogue, service_id: uuid.UUID) -> OfferedService:
    service = await catalogue.service(service_id)
    if service is None or not service.bookable_online:
        raise InvalidArgument.single("service_id", "names no service that can be requested online")
    return service


async def _live_service(catalogue: AbstractCatalogue, service_id: uuid.UUID) -> OfferedService:
    """Any service the business offers (staff may ask for one clients cannot book online)."""
    service = await catalogue.service(service_id)
    if service is None:
        raise InvalidArgument.single("service_id", "names no service of this business")
    return service


async def submit_request(cmd: commands.SubmitRequest, uow: PortalRequestsUnitOfWork) -> AppointmentRequest:
    """A client's request from the portal, or staff's for a client (channel "staff": any live service, no
    booking form, not held to the portal's open-request limit; the booking rules hold unless overridden)."""
    by_staff = bool(cmd.staff_actor)
    if cmd.override_booking_rules and not by_staff:
        raise InvalidArgument.single("override_booking_rules", "only staff may book past the booking rules")
    if cmd.submission_id:
        async with uow:
            existing = await uow.requests.get_by_submission(cmd.tenant_id, cmd.client_id, cmd.submission_id)
        if existing is not None:
            return existing
    # The client service decides, at submit time, whether this client may ask at all.
    client = await uow.client_directory.lookup(cmd.client_id)
    if client is None:
        raise NotFound("client not found")
    check_client_may_request(
        deleted=client.facts.deleted, blocked=client.facts.online_booking_blocked and not cmd.override_booking_rules
    )
    service = await (_live_service if by_staff else _online_service)(uow.catalogue, cmd.service_id)
    preferred = (
        await _staff_of(uow.catalogue, service, cmd.preferred_staff_id, "preferred_staff_id")
        if cmd.preferred_staff_id is not None
        else None
    )
    terms = await uow.catalogue.business_terms()
    request = AppointmentRequest.submit(
        tenant_id=cmd.tenant_id,
        request_id=(
            uuid.uuid5(SUBMISSION_IDS, f"{cmd.tenant_id}:{cmd.client_id}:{cmd.submission_id}")
            if cmd.submission_id
            else new_id()
        ),
        client_id=cmd.client_id,
        service=service.terms,
        preferred_staff=preferred,
        options=cmd.options,
        message=cmd.message,
        # Shown on the client's wall clock: its own timezone, else the business's.
        timezone=cmd.timezone or client.facts.timezone or terms.timezone,
        business_timezone=terms.timezone,
        submission_id=cmd.submission_id,
        now=cmd.now,
        horizon=uow.limits.horizon,
        channel=cmd.channel,
    )
    if not by_staff:
        # The form's answers belong to the client record; the client service checks them (required ones too)
        # once the request itself is sound, before it is taken.
        await uow.client_directory.answer_booking_form(cmd.client_id, cmd.answers, cmd.region)
    async with uow:
        # One client's submissions and decisions queue here (check_booking_rules takes the client's lock), so
        # the open-request count, the active bookings and the submission id hold.
        await _check_booking_rules(uow, client, cmd.tenant_id, override=cmd.override_booking_rules)
        if cmd.submission_id:
            existing = await uow.requests.get_by_submission(cmd.tenant_id, cmd.client_id, cmd.submission_id)
            if existing is not None:
                return existing
        if not by_staff:
            pending = await uow.requests.count_open(cmd.tenant_id, cmd.client_id)
            check_open_limit(pending, uow.limits.max_open_per_client)
        request.register(
            await uow.requests.next_reference_number(cmd.tenant_id),
            actor=cmd.staff_actor,
            booking_rules_overridden=cmd.override_booking_rules,
            held_for_approval=await uow.requests.needs_approval(cmd.tenant_id, cmd.client_id, cmd.now),
        )
        # Held before the request is taken: a time someone else holds or booked refuses the request (409). The
        # hold's lock, kept until this transaction ends, tells the hold reconciler to wait for its outcome.
        await uow.requests.lock_hold(cmd.tenant_id, request.id)
        await _keep_hold(uow.scheduler, request, (await uow.requests.settings(cmd.tenant_id)).tentative_holds)
        await uow.requests.remember_client(
            cmd.tenant_id, ClientContact(cmd.client_id, client.name, client.email, client.phone, cmd.now)
        )
        uow.requests.add(request)
        await uow.commit()
    return request


async def update_request(cmd: commands.UpdateRequest, uow: PortalRequestsUnitOfWork) -> AppointmentRequest:
    async with uow:
        # Read for update: a staff decision on this request waits for the edit or the edit for it, and the
        # version says whether the other one came first (409 for the loser).
        request = await uow.requests.get(cmd.tenant_id, cmd.request_id, for_update=True)
        if request.client_id != cmd.client_id:
            raise NotFound("appointment request not found")
        request.require_pending()
        request.check_version(cmd.version)
        service_changes = cmd.service_id is not None and cmd.service_id != request.service_id
        # A new service must be one clients may ask for; the one staff chose for them may stay.
        service = await (_online_service if service_changes else _live_service)(
            uow.catalogue, cmd.service_id or request.service_id
        )
        preferred: Technician | Unchanged | None = UNCHANGED
        if isinstance(cmd.preferred_staff_id, uuid.UUID):
            preferred = await _staff_of(uow.catalogue, service, cmd.preferred_staff_id, "preferred_staff_id")
        elif cmd.preferred_staff_id is None:
            preferred = None
        elif service_changes and request.preferred_staff_id not in (None, *service.staff_ids):
            raise InvalidArgument.single("preferred_staff_id", "does not perform the new service; choose another")
        slot_before = (request.service_id, request.preferred_staff_id, request.first_slot)
        request.update(
            service=service.terms if service_changes else None,
            preferred_staff=preferred,
            options=cmd.options,
            message=cmd.message,
            actor=f"client:{cmd.client_id}",
            now=cmd.now,
            horizon=uow.limits.horizon,
        )
        if (request.service_id, request.preferred_staff_id, request.first_slot) != slot_before:
            # The hold moves with the first preferred time; when that is taken, the edit is refused (409).
            await _keep_hold(uow.scheduler, request, (await uow.requests.settings(cmd.tenant_id)).tentative_holds)
        await uow.commit()
    return request


async def _check_booking_rules(
    uow: PortalRequestsUnitOfWork,
    client: RequestingClient,
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
    max_active = 0 if override else (await uow.catalogue.business_terms()).max_active_bookings_per_client
    rules.check_booking_rules(
        deleted=client.facts.deleted,
        blocked=client.facts.online_booking_blocked,
        upcoming=await uow.scheduler.upcoming_bookings(client_id) if max_active else 0,
        open_requests=await uow.requests.count_open(tenant_id, client_id, excluding=deciding) if max_active else 0,
        max_active=max_active,
        override=override,
    )


async def _requesting_client(directory: AbstractClientDirectory, client_id: uuid.UUID) -> RequestingClient:
    client = await directory.lookup(client_id)
    if client is None:
        raise NotFound("client not found")
    return client


async def _keep_hold(scheduler: AbstractScheduler, request: AppointmentRequest, holding: bool) -> None:
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


async def _release_hold(scheduler: AbstractScheduler, request: AppointmentRequest, had_hold: bool) -> None:
    """A request that held a time was just decided (or expired): its time goes back, before the decision commits
    (if scheduling cannot be told, the decision fails and nothing changes)."""
    if had_hold:
        await scheduler.release_hold(request.id)


async def approve_request(cmd: commands.ApproveRequest, uow: PortalRequestsUnitOfWork) -> AppointmentRequest:
    # Checked before anything is booked: a bad note must not leave an appointment behind.
    internal_notes = check_text(cmd.internal_notes, "internal_notes", MAX_INTERNAL_NOTES_LENGTH)
    ticket = check_ticket(cmd.ticket)
    async with uow:
        # The row stays locked while scheduling books: a second approver, a decline, an edit or a cancellation
        # waits and then finds the request decided (409), so exactly one decision wins and only it books.
        request = await uow.requests.get(cmd.tenant_id, cmd.request_id, for_update=True)
        request.require_pending()
        request.check_version(cmd.version)
        technician = await _staff_of(
            uow.catalogue, await uow.catalogue.service(request.service_id), cmd.technician_id, "technician_id"
        )
        await _check_booking_rules(
            uow,
            await _requesting_client(uow.client_directory, request.client_id),
            cmd.tenant_id,
            deciding=request.id,
            override=cmd.override_booking_rules,
        )
        booked = await uow.scheduler.book(
            Booking(
                request_id=request.id,
                client_id=request.client_id,
                service_id=request.service_id,
                staff_id=technician.staff_id,
                start=cmd.start,
                timezone=request.timezone,
                override_availability=cmd.override_availability,
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
            actor=cmd.actor,
            now=cmd.now,
            booking_rules_overridden=cmd.override_booking_rules,
        )
        await uow.commit()
    return request


async def propose_alternatives(cmd: commands.ProposeAlternatives, uow: PortalRequestsUnitOfWork) -> AppointmentRequest:
    async with uow:
        request = await uow.requests.get(cmd.tenant_id, cmd.request_id, for_update=True)
        request.require_pending()
        request.check_version(cmd.version)
        technician = (
            await _staff_of(
                uow.catalogue, await uow.catalogue.service(request.service_id), cmd.technician_id, "technician_id"
            )
            if cmd.technician_id is not None
            else None
        )
        settings = await uow.requests.settings(cmd.tenant_id)
        had_hold = request.hold is not None
        request.propose(
            alternatives=cmd.alternatives,
            technician=technician,
            note=cmd.note,
            hold=settings.proposal_hold,
            actor=cmd.actor,
            now=cmd.now,
        )
        await _release_hold(uow.scheduler, request, had_hold)
        await uow.commit()
    return request


async def accept_alternative(cmd: commands.AcceptAlternative, uow: PortalRequestsUnitOfWork) -> AppointmentRequest:
    """The client takes one of the proposed times. The request's row stays locked while scheduling books it, so
    of two acceptances the first books and the second finds the request approved (409); a time taken meanwhile
    is scheduling's 409 and the proposal stays open."""
    tenant_id, client_id, alternative, now = cmd.tenant_id, cmd.client_id, cmd.alternative, cmd.now
    async with uow:
        request = await uow.requests.get(tenant_id, cmd.request_id, for_update=True)
        if request.client_id != client_id:
            raise NotFound("appointment request not found")
        start = request.require_acceptable(alternative, now)
        await _check_booking_rules(
            uow, await _requesting_client(uow.client_directory, client_id), tenant_id, deciding=request.id
        )
        booked = await uow.scheduler.book(
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
        technician = await uow.catalogue.staff_member(booked.staff_id) or Technician(booked.staff_id, "")
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


async def decline_request(cmd: commands.DeclineRequest, uow: PortalRequestsUnitOfWork) -> AppointmentRequest:
    async with uow:
        request = await uow.requests.get(cmd.tenant_id, cmd.request_id, for_update=True)
        had_hold = request.hold is not None
        request.decline(reason=cmd.reason, actor=cmd.actor, now=cmd.now)
        await _release_hold(uow.scheduler, request, had_hold)
        await uow.commit()
    return request


async def cancel_request(cmd: commands.CancelRequest, uow: PortalRequestsUnitOfWork) -> AppointmentRequest:
    async with uow:
        request = await uow.requests.get(cmd.tenant_id, cmd.request_id, for_update=True)
        if request.client_id != cmd.client_id:
            raise NotFound("appointment request not found")
        request.require_cancellable()
        if request.status is Status.APPROVED:
            assert request.appointment_id is not None
            # Scheduling holds the business's cancellation notice for clients: outside it this raises (409)
            # and the request stays approved.
            await uow.scheduler.cancel(request.appointment_id, "")
        had_hold = request.hold is not None
        request.cancel(by="client", actor=f"client:{cmd.client_id}", now=cmd.now)
        await _release_hold(uow.scheduler, request, had_hold)
        await uow.commit()
    return request


async def appointment_cancelled(
    cmd: commands.CancelRequestOfAppointment, uow: PortalRequestsUnitOfWork
) -> AppointmentRequest | None:
    """Scheduling cancelled an appointment (staff, or the client in the portal's appointments): the request that
    booked it is cancelled too, so the client never sees it approved. One cancelled through its request is
    cancelled already."""
    async with uow:
        request = await uow.requests.approved_with(cmd.tenant_id, cmd.appointment_id)
        if request is not None:
            request.cancel(by=cmd.by if cmd.by in ("client", "staff") else "staff", actor="system", now=cmd.now)
        await uow.commit()
    return request


async def expire_due_requests(cmd: commands.ExpireDueRequests, uow: PortalRequestsUnitOfWork) -> int:
    """Expire one batch of pending requests whose every option has passed (giving back what they held); returns
    how many."""
    async with uow:
        due = await uow.requests.expirable(cmd.now, cmd.batch)
        for request in due:
            had_hold = request.hold is not None
            request.expire(cmd.now)
            # The sweep acts for the business of each request it claimed.
            with bind_call_context(CallContext(request.tenant_id, Principal.service("portal_requests"))):
                await _release_hold(uow.scheduler, request, had_hold)
        await uow.commit()
    return len(due)


async def update_request_settings(
    cmd: commands.UpdateRequestSettings, uow: PortalRequestsUnitOfWork
) -> RequestSettings:
    for name, minutes, (low, high) in (
        ("proposal_hold_minutes", cmd.proposal_hold_minutes, PROPOSAL_HOLD_MINUTES),
        ("offer_hold_minutes", cmd.offer_hold_minutes, OFFER_HOLD_MINUTES),
    ):
        if not low <= minutes <= high:
            raise InvalidArgument.single(name, f"must be {low} to {high} minutes")
    checked = RequestSettings(
        check_ticket_url_pattern(cmd.ticket_url_pattern),
        cmd.version,
        cmd.proposal_hold_minutes,
        cmd.offer_hold_minutes,
        cmd.tentative_holds,
    )
    async with uow:
        saved = await uow.requests.save_settings(cmd.tenant_id, checked)
        await uow.commit()
    return saved
