"""Use cases of the waitlist: join, leave, offer a freed time to the first client it suits, accept an offer
(booking it), and pass on offers whose hold ran out."""

from __future__ import annotations

import uuid
from datetime import datetime

from platform_core.errors import NotFound
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.ids import new_id
from portal_requests_svc.adapters.scheduler import Booking
from portal_requests_svc.domain import commands
from portal_requests_svc.domain.events import FreedSlot
from portal_requests_svc.domain.requests import check_client_may_request, check_may_book_without_approval
from portal_requests_svc.domain.waitlist import WaitlistEntry
from portal_requests_svc.service_layer.handlers import (
    _check_booking_rules,
    _online_service,
    _requesting_client,
    _staff_of,
)
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork


async def join_waitlist(cmd: commands.JoinWaitlist, uow: PortalRequestsUnitOfWork) -> WaitlistEntry:
    client = await uow.client_directory.lookup(cmd.client_id)
    if client is None:
        raise NotFound("client not found")
    # A client's own entry cannot override (the domain refuses it below).
    check_client_may_request(
        deleted=client.facts.deleted,
        blocked=client.facts.online_booking_blocked and not cmd.override_booking_rules,
    )
    service = await _online_service(uow.catalogue, cmd.service_id)
    staff = await _staff_of(uow.catalogue, service, cmd.staff_id, "staff_id") if cmd.staff_id else None
    terms = await uow.catalogue.business_terms()
    entry = WaitlistEntry.join(
        tenant_id=cmd.tenant_id,
        entry_id=new_id(),
        client_id=cmd.client_id,
        service=service.terms,
        staff=staff,
        from_date=cmd.from_date,
        to_date=cmd.to_date,
        window_start=cmd.window_start,
        window_end=cmd.window_end,
        timezone=cmd.timezone or client.facts.timezone or terms.timezone,
        business_timezone=terms.timezone,
        joined_by=cmd.joined_by,
        now=cmd.now,
        booking_rules_overridden=cmd.override_booking_rules,
    )
    async with uow:
        uow.waitlist.add(entry)
        await uow.commit()
    return entry


async def leave_waitlist(cmd: commands.LeaveWaitlist, uow: PortalRequestsUnitOfWork) -> WaitlistEntry:
    """A client leaves its own entry (``client_id``); staff any entry (None)."""
    async with uow:
        entry = await uow.waitlist.get(cmd.tenant_id, cmd.entry_id)
        if cmd.client_id is not None and entry.client_id != cmd.client_id:
            raise NotFound("waitlist entry not found")
        entry.leave(cmd.now)
        await uow.commit()
    return entry


async def _offer_to_first_suited(
    uow: PortalRequestsUnitOfWork, tenant_id: uuid.UUID, slot: FreedSlot, now: datetime
) -> WaitlistEntry | None:
    if slot.start <= now:
        return None
    settings = await uow.requests.settings(tenant_id)
    for entry in await uow.waitlist.candidates(tenant_id, slot):
        if entry.suits(slot):
            entry.offer(slot, offer_id=new_id(), hold=settings.offer_hold, now=now)
            return entry
    return None


async def offer_freed_time(cmd: commands.OfferFreedTime, uow: PortalRequestsUnitOfWork) -> WaitlistEntry | None:
    """A cancellation or reschedule freed ``slot``: the first waiting client it suits gets an offer."""
    async with uow:
        offered = await _offer_to_first_suited(uow, cmd.tenant_id, cmd.slot, cmd.now)
        await uow.commit()
    return offered


async def offer_times_of_appointment(
    cmd: commands.OfferTimesOfAppointment, uow: PortalRequestsUnitOfWork
) -> list[WaitlistEntry]:
    """A cancelled appointment freed its services' staff members' times (scheduling's to say: the event names
    the appointment only); each is offered as offer_freed_time does. Returns the entries that got an offer."""
    offered: list[WaitlistEntry] = []
    for slot in await uow.scheduler.times_of(cmd.appointment_id):
        entry = await offer_freed_time(commands.OfferFreedTime(cmd.tenant_id, slot, cmd.now), uow)
        if entry is not None:
            offered.append(entry)
    return offered


async def accept_offer(cmd: commands.AcceptWaitlistOffer, uow: PortalRequestsUnitOfWork) -> WaitlistEntry:
    """Book the offered time. The entry's row stays locked while scheduling books (the offer's id is the
    booking's idempotency key), so two acceptances book once; a time taken meanwhile is scheduling's 409."""
    tenant_id, client_id, offer_id, now = cmd.tenant_id, cmd.client_id, cmd.offer_id, cmd.now
    async with uow:
        entry = await uow.waitlist.with_offer(tenant_id, offer_id)
        if entry.client_id != client_id:
            raise NotFound("waitlist offer not found")
        offer = entry.require_acceptable(offer_id, now)
        # Staff who put the client on past its booking rules let it take the offer past them too.
        await _check_booking_rules(
            uow,
            await _requesting_client(uow.client_directory, client_id),
            tenant_id,
            override=entry.booking_rules_overridden,
        )
        if not entry.booking_rules_overridden:
            check_may_book_without_approval(await uow.requests.needs_approval(tenant_id, client_id, now))
        booking = Booking(
            request_id=offer.id,
            client_id=client_id,
            service_id=offer.slot.service_id,
            staff_id=offer.slot.staff_id,
            start=offer.slot.start,
            timezone=entry.timezone,
            override_availability=False,
        )
        if entry.booking_rules_overridden:
            # Booked for the business, not as the client online, so scheduling's online rules (the block) do not
            # refuse what staff allowed; the time must still be free and within working hours.
            with bind_call_context(CallContext(tenant_id, Principal.service("portal_requests"))):
                booked = await uow.scheduler.book(booking)
        else:
            booked = await uow.scheduler.book(booking)
        entry.accept(offer_id, appointment_id=booked.appointment_id, now=now)
        await uow.commit()
    return entry


async def pass_on_expired_offers(cmd: commands.PassOnExpiredOffers, uow: PortalRequestsUnitOfWork) -> int:
    """Close one batch of offers whose hold ran out and offer each time to the next client it suits; returns
    how many ran out."""
    async with uow:
        ran_out = await uow.waitlist.ran_out(cmd.now, cmd.batch)
        for entry in ran_out:
            offer = entry.expire_offer(cmd.now)
            await _offer_to_first_suited(uow, entry.tenant_id, offer.slot, cmd.now)
        await uow.commit()
    return len(ran_out)
