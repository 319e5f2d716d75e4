"""Use cases of the waitlist: join, leave, offer a freed time to the first client it suits, accept an offer
(booking it), and pass on offers whose hold ran out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time

from platform_core.errors import NotFound
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.ids import new_id
from portal_requests_svc.adapters.catalogue import AbstractCatalogue
from portal_requests_svc.adapters.client_directory import AbstractClientDirectory
from portal_requests_svc.adapters.scheduler import AbstractScheduler, Booking
from portal_requests_svc.domain.events import FreedSlot
from portal_requests_svc.domain.requests import check_client_may_request
from portal_requests_svc.domain.waitlist import WaitlistEntry
from portal_requests_svc.service_layer.handlers import (
    UowFactory,
    check_booking_rules,
    online_service,
    requesting_client,
    staff_of,
)
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork


@dataclass(frozen=True)
class JoinWaitlist:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    service_id: uuid.UUID
    staff_id: uuid.UUID | None
    from_date: date
    to_date: date
    window_start: time | None
    window_end: time | None
    timezone: str
    joined_by: str  # "client" or "staff"
    # Staff only: past the client's booking rules (online-booking block), kept on the entry.
    override_booking_rules: bool = False


async def join_waitlist(
    uow_factory: UowFactory,
    directory: AbstractClientDirectory,
    catalogue: AbstractCatalogue,
    command: JoinWaitlist,
    now: datetime,
) -> WaitlistEntry:
    client = await directory.lookup(command.client_id)
    if client is None:
        raise NotFound("client not found")
    # A client's own entry cannot override (the domain refuses it below).
    check_client_may_request(
        deleted=client.facts.deleted,
        blocked=client.facts.online_booking_blocked and not command.override_booking_rules,
    )
    service = await online_service(catalogue, command.service_id)
    staff = await staff_of(catalogue, service, command.staff_id, "staff_id") if command.staff_id else None
    terms = await catalogue.business_terms()
    entry = WaitlistEntry.join(
        tenant_id=command.tenant_id,
        entry_id=new_id(),
        client_id=command.client_id,
        service=service.terms,
        staff=staff,
        from_date=command.from_date,
        to_date=command.to_date,
        window_start=command.window_start,
        window_end=command.window_end,
        timezone=command.timezone or client.facts.timezone or terms.timezone,
        business_timezone=terms.timezone,
        joined_by=command.joined_by,
        now=now,
        booking_rules_overridden=command.override_booking_rules,
    )
    async with uow_factory() as uow:
        uow.waitlist.add(entry)
        await uow.commit()
    return entry


async def leave_waitlist(
    uow_factory: UowFactory, tenant_id: uuid.UUID, entry_id: uuid.UUID, client_id: uuid.UUID | None, now: datetime
) -> WaitlistEntry:
    """A client leaves its own entry (``client_id``); staff any entry (None)."""
    async with uow_factory() as uow:
        entry = await uow.waitlist.get(tenant_id, entry_id)
        if client_id is not None and entry.client_id != client_id:
            raise NotFound("waitlist entry not found")
        entry.leave(now)
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


async def offer_freed_time(
    uow: PortalRequestsUnitOfWork, tenant_id: uuid.UUID, slot: FreedSlot, now: datetime
) -> WaitlistEntry | None:
    """A cancellation or reschedule freed ``slot``: the first waiting client it suits gets an offer."""
    async with uow:
        offered = await _offer_to_first_suited(uow, tenant_id, slot, now)
        await uow.commit()
    return offered


async def accept_offer(
    uow_factory: UowFactory,
    directory: AbstractClientDirectory,
    catalogue: AbstractCatalogue,
    scheduler: AbstractScheduler,
    tenant_id: uuid.UUID,
    client_id: uuid.UUID,
    offer_id: uuid.UUID,
    now: datetime,
) -> WaitlistEntry:
    """Book the offered time. The entry's row stays locked while scheduling books (the offer's id is the
    booking's idempotency key), so two acceptances book once; a time taken meanwhile is scheduling's 409."""
    async with uow_factory() as uow:
        entry = await uow.waitlist.with_offer(tenant_id, offer_id)
        if entry.client_id != client_id:
            raise NotFound("waitlist offer not found")
        offer = entry.require_acceptable(offer_id, now)
        # Staff who put the client on past its booking rules let it take the offer past them too.
        await check_booking_rules(
            uow,
            await requesting_client(directory, client_id),
            catalogue,
            scheduler,
            tenant_id,
            override=entry.booking_rules_overridden,
        )
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
                booked = await scheduler.book(booking)
        else:
            booked = await scheduler.book(booking)
        entry.accept(offer_id, appointment_id=booked.appointment_id, now=now)
        await uow.commit()
    return entry


async def pass_on_expired_offers(uow_factory: UowFactory, now: datetime, batch: int) -> int:
    """Close one batch of offers whose hold ran out and offer each time to the next client it suits; returns
    how many ran out."""
    async with uow_factory() as uow:
        ran_out = await uow.waitlist.ran_out(now, batch)
        for entry in ran_out:
            offer = entry.expire_offer(now)
            await _offer_to_first_suited(uow, entry.tenant_id, offer.slot, now)
        await uow.commit()
    return len(ran_out)
