"""The use cases through the fake unit of work (tests/unit/fakes.py): what is asked of the other services, what
is written."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from portal_requests_svc.adapters.repository import RequestSettings
from portal_requests_svc.adapters.scheduler import SlotToHold
from portal_requests_svc.domain import commands
from portal_requests_svc.domain.events import FreedSlot
from portal_requests_svc.domain.requests import AppointmentRequest, Status, TimeOption
from portal_requests_svc.domain.waitlist import EntryStatus
from portal_requests_svc.service_layer import handlers, hold_handlers, waitlist_handlers

from .fakes import (
    ANNA,
    BEN,
    CLIENT,
    LIMITS,
    MAX_ACTIVE,
    NOW,
    SERVICE,
    TENANT,
    FakeDirectory,
    FakeScheduler,
    FakeUnitOfWork,
)


def submission(hour: int = 10) -> commands.SubmitRequest:
    return commands.SubmitRequest(
        tenant_id=TENANT,
        client_id=CLIENT,
        service_id=SERVICE,
        preferred_staff_id=None,
        options=[TimeOption(NOW + timedelta(days=1, hours=hour))],
        message="",
        timezone="",
        submission_id=None,
        now=NOW,
    )


async def test_a_blocked_client_is_refused_and_nothing_is_written() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.submit_request(submission(), uow.using(directory=FakeDirectory(blocked=True)))
    assert refused.value.reason == "BOOKING_BLOCKED"
    assert uow.stored == {} and uow.published == []


async def test_submission_takes_the_clients_timezone_and_the_open_limit_holds() -> None:
    uow = FakeUnitOfWork()
    for hour in (1, 2):
        request = await handlers.submit_request(submission(hour), uow)
    assert request.timezone == "Europe/Berlin" and len(uow.published) == 2
    assert (request.reference, request.service_name, request.business_timezone) == (
        "REQ-1002",
        "Haircut",
        "America/New_York",
    )
    assert uow.contacts[CLIENT].name == "Mia Park"
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.submit_request(submission(3), uow)
    assert refused.value.reason == "TOO_MANY_OPEN_REQUESTS"


def approval(request: AppointmentRequest, technician: uuid.UUID = ANNA, **changes: Any) -> commands.ApproveRequest:
    return commands.ApproveRequest(
        **{  # type: ignore[arg-type]
            "tenant_id": TENANT,
            "request_id": request.id,
            "start": NOW + timedelta(days=1),
            "technician_id": technician,
            "override_availability": False,
            "actor": "staff:anna",
            "now": NOW,
        }
        | changes
    )


async def test_a_refused_booking_leaves_the_request_pending_and_a_later_one_approves_it() -> None:
    uow = FakeUnitOfWork()
    request = await handlers.submit_request(submission(), uow)
    with pytest.raises(Conflict):
        await handlers.approve_request(
            approval(request),
            uow.using(scheduler=FakeScheduler(Conflict("taken", reason="SLOT_TAKEN"))),
        )
    assert uow.stored[request.id].status is Status.PENDING and len(uow.published) == 1
    scheduler = FakeScheduler()
    approved = await handlers.approve_request(
        approval(request, internal_notes="VIP", ticket="4711"),
        uow.using(scheduler=scheduler),
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
    request = await handlers.submit_request(submission(), uow)
    scheduler = FakeScheduler()
    for bad, field_name in (
        (approval(request, technician=BEN), "technician_id"),
        (approval(request, technician=uuid.uuid4()), "technician_id"),
        (approval(request, internal_notes="x" * 4001), "internal_notes"),
        (approval(request, ticket="a b"), "ticket"),
    ):
        with pytest.raises(InvalidArgument) as refused:
            await handlers.approve_request(bad, uow.using(scheduler=scheduler))
        assert [v.field for v in refused.value.violations] == [field_name]
    assert scheduler.bookings == [] and uow.stored[request.id].status is Status.PENDING


async def test_an_edit_and_an_approval_on_the_same_version_cannot_both_win() -> None:
    uow = FakeUnitOfWork()
    request = await handlers.submit_request(submission(), uow)
    seen = request.version
    edit = commands.UpdateRequest(TENANT, CLIENT, request.id, seen, NOW, message="Anna please")
    edited = await handlers.update_request(edit, uow)
    assert (edited.message, edited.version) == ("Anna please", seen + 1)
    with pytest.raises(Conflict) as refused:
        await handlers.approve_request(approval(request, version=seen), uow)
    assert refused.value.reason == "CONCURRENT_CHANGE"
    with pytest.raises(Conflict):
        # The same old version:
        await handlers.update_request(edit, uow)
    # Another client's request looks missing.
    with pytest.raises(NotFound):
        await handlers.update_request(replace(edit, client_id=uuid.uuid4(), version=seen + 1), uow)


async def test_cancelling_an_approved_request_cancels_its_appointment_first() -> None:
    uow = FakeUnitOfWork()
    request = await handlers.submit_request(submission(), uow)
    await handlers.approve_request(approval(request), uow)
    late = FakeScheduler(FailedPrecondition("too late", reason="CANCELLATION_WINDOW_PASSED"))
    with pytest.raises(FailedPrecondition):
        await handlers.cancel_request(
            commands.CancelRequest(TENANT, CLIENT, request.id, NOW), uow.using(scheduler=late)
        )
    assert uow.stored[request.id].status is Status.APPROVED
    scheduler = FakeScheduler()
    cancelled = await handlers.cancel_request(
        commands.CancelRequest(TENANT, CLIENT, request.id, NOW), uow.using(scheduler=scheduler)
    )
    assert (cancelled.status, scheduler.cancelled) == (Status.CANCELLED, [cancelled.appointment_id])
    assert type(uow.published[-1]).__name__ == "RequestCancelled"


async def test_upcoming_bookings_and_pending_requests_count_against_the_active_limit() -> None:
    uow = FakeUnitOfWork()
    busy = FakeScheduler(upcoming=MAX_ACTIVE - 1)  # one booking short of the limit
    first = await handlers.submit_request(submission(1), uow.using(scheduler=busy))
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.submit_request(submission(2), uow.using(scheduler=busy))
    assert refused.value.reason == "MAX_ACTIVE_BOOKINGS" and len(uow.stored) == 1

    # At approval the rules are asked again: now at the limit (or blocked), staff must override, on record.
    full = FakeScheduler(upcoming=MAX_ACTIVE)
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.approve_request(approval(first), uow.using(scheduler=full))
    assert refused.value.reason == "MAX_ACTIVE_BOOKINGS" and full.bookings == []
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.approve_request(
            approval(first), uow.using(directory=FakeDirectory(blocked=True), scheduler=FakeScheduler())
        )
    assert refused.value.reason == "BOOKING_BLOCKED"
    approved = await handlers.approve_request(
        approval(first, override_booking_rules=True), uow.using(directory=FakeDirectory(blocked=True), scheduler=full)
    )
    assert approved.status is Status.APPROVED


async def test_the_sweep_expires_only_requests_whose_every_time_has_passed() -> None:
    uow = FakeUnitOfWork()
    soon = await handlers.submit_request(submission(0), uow)
    later = await handlers.submit_request(submission(5), uow)
    later_on = NOW + timedelta(days=1, hours=1)
    assert await handlers.expire_due_requests(commands.ExpireDueRequests(later_on, 10), uow) == 1
    assert (uow.stored[soon.id].status, uow.stored[later.id].status) == (Status.EXPIRED, Status.PENDING)


async def test_a_freed_time_goes_to_the_first_client_it_suits_and_a_lapsed_offer_passes_on() -> None:
    uow = FakeUnitOfWork()
    slot_start = NOW + timedelta(days=2, hours=1)  # 10:00 in Berlin
    slot = FreedSlot(SERVICE, ANNA, slot_start, slot_start + timedelta(minutes=45))
    day = slot_start.date()
    first, second, evenings = (uuid.uuid4() for _ in range(3))
    for client_id, window in ((evenings, (time(17), time(20))), (first, None), (second, None)):
        await waitlist_handlers.join_waitlist(
            commands.JoinWaitlist(
                TENANT, client_id, SERVICE, None, day, day, *(window or (None, None)), "", "client", NOW
            ),
            uow,
        )
    offered = await waitlist_handlers.offer_freed_time(commands.OfferFreedTime(TENANT, slot, NOW), uow)
    assert offered is not None and offered.client_id == first  # the evening-only client does not suit 10:00
    offer = offered.offers[0]
    assert offer.hold_until == NOW + timedelta(minutes=120)
    # Nobody accepts in time: the time passes to the next waiting client, the first waits for the next one.
    assert await waitlist_handlers.pass_on_expired_offers(commands.PassOnExpiredOffers(offer.hold_until, 10), uow) == 1
    by_client = {e.client_id: e for e in uow.entries.values()}
    assert (by_client[first].status, by_client[second].status) == (EntryStatus.WAITING, EntryStatus.OFFERED)
    passed = by_client[second].offers[0]
    scheduler = FakeScheduler()
    booked = await waitlist_handlers.accept_offer(
        commands.AcceptWaitlistOffer(TENANT, second, passed.id, offer.hold_until),
        uow.using(scheduler=scheduler),
    )
    assert booked.status is EntryStatus.BOOKED and [b.request_id for b in scheduler.bookings] == [passed.id]
    with pytest.raises(FailedPrecondition) as refused:
        await waitlist_handlers.accept_offer(
            commands.AcceptWaitlistOffer(TENANT, second, passed.id, offer.hold_until),
            uow.using(scheduler=scheduler),
        )
    assert refused.value.reason == "OFFER_NOT_OPEN" and len(scheduler.bookings) == 1
    with pytest.raises(FailedPrecondition) as refused:
        await waitlist_handlers.accept_offer(
            commands.AcceptWaitlistOffer(TENANT, first, offer.id, offer.hold_until),
            uow.using(scheduler=scheduler),
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
    await waitlist_handlers.join_waitlist(
        commands.JoinWaitlist(
            TENANT, CLIENT, SERVICE, None, slot_start.date(), slot_start.date(), None, None, "", "client", NOW
        ),
        uow,
    )
    offered = await waitlist_handlers.offer_freed_time(commands.OfferFreedTime(TENANT, slot, NOW), uow)
    assert offered is not None
    offer = offered.offers[0]
    # Two upcoming appointments and one open request: the business's limit of three is reached.
    await handlers.submit_request(submission(), uow)
    for directory, scheduler, reason in (
        (FakeDirectory(), FakeScheduler(upcoming=MAX_ACTIVE - 1), "MAX_ACTIVE_BOOKINGS"),
        (FakeDirectory(blocked=True), FakeScheduler(), "BOOKING_BLOCKED"),
    ):
        with pytest.raises(FailedPrecondition) as refused:
            await waitlist_handlers.accept_offer(
                commands.AcceptWaitlistOffer(TENANT, CLIENT, offer.id, NOW),
                uow.using(directory=directory, scheduler=scheduler),
            )
        assert refused.value.reason == reason and scheduler.bookings == []
    booked = await waitlist_handlers.accept_offer(
        commands.AcceptWaitlistOffer(TENANT, CLIENT, offer.id, NOW),
        uow.using(directory=FakeDirectory(), scheduler=FakeScheduler(upcoming=MAX_ACTIVE - 2)),
    )
    assert booked.status is EntryStatus.BOOKED


async def test_staff_may_put_a_blocked_client_on_the_waitlist_past_its_booking_rules_and_the_offer_books() -> None:
    uow, blocked = FakeUnitOfWork(), FakeDirectory(blocked=True)
    slot_start = NOW + timedelta(days=2, hours=1)
    day = slot_start.date()
    by_staff = commands.JoinWaitlist(TENANT, CLIENT, SERVICE, None, day, day, None, None, "", "staff", NOW)
    with pytest.raises(FailedPrecondition) as refused:
        await waitlist_handlers.join_waitlist(by_staff, uow.using(directory=blocked))
    assert refused.value.reason == "BOOKING_BLOCKED" and uow.entries == {}
    # A client cannot override its own rules; nothing is written.
    own = replace(by_staff, joined_by="client", override_booking_rules=True)
    with pytest.raises(InvalidArgument) as invalid:
        await waitlist_handlers.join_waitlist(own, uow.using(directory=FakeDirectory()))
    assert [v.field for v in invalid.value.violations] == ["override_booking_rules"] and uow.entries == {}
    entry = await waitlist_handlers.join_waitlist(
        replace(by_staff, override_booking_rules=True), uow.using(directory=blocked)
    )
    assert entry.booking_rules_overridden and uow.entries[entry.id].booking_rules_overridden
    offered = await waitlist_handlers.offer_freed_time(
        commands.OfferFreedTime(TENANT, FreedSlot(SERVICE, ANNA, slot_start, slot_start + timedelta(minutes=45)), NOW),
        uow,
    )
    assert offered is not None
    # The still-blocked client takes the offer in the portal: staff's override holds for it, and scheduling is
    # asked for the business (its online rules would refuse the client).
    scheduler = FakeScheduler()
    with bind_call_context(CallContext(TENANT, Principal("portal", "login", "", str(CLIENT)))):
        booked = await waitlist_handlers.accept_offer(
            commands.AcceptWaitlistOffer(TENANT, CLIENT, offered.offers[0].id, NOW),
            uow.using(directory=blocked, scheduler=scheduler),
        )
    assert booked.status is EntryStatus.BOOKED and scheduler.booked_as == ["service"]


async def test_staff_requests_skip_the_portal_form_and_limit_but_keep_the_booking_rules() -> None:
    uow = FakeUnitOfWork()
    directory = FakeDirectory(blocked=True)
    by_staff = replace(submission(), channel="staff", staff_actor="staff:desk", answers={"allergies": "none"})
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.submit_request(by_staff, uow.using(directory=directory))
    assert refused.value.reason == "BOOKING_BLOCKED" and uow.stored == {}
    overridden = replace(by_staff, override_booking_rules=True)
    made = [
        await handlers.submit_request(replace(overridden, options=[option]), uow.using(directory=directory))
        for option in (TimeOption(NOW + timedelta(days=1, hours=h)) for h in (1, 2, 3))
    ]
    # Past the portal's open-request limit of two, and the form was not the portal's to answer.
    assert [r.channel for r in made] == ["staff"] * 3 and directory.answers == {}
    with pytest.raises(InvalidArgument) as invalid:
        await handlers.submit_request(
            replace(submission(), override_booking_rules=True),
            uow.using(directory=FakeDirectory()),
        )
    assert [v.field for v in invalid.value.violations] == ["override_booking_rules"]


def holding_uow() -> FakeUnitOfWork:
    """A business whose pending requests hold their first preferred time."""
    return FakeUnitOfWork(RequestSettings(tentative_holds=True))


async def test_a_pending_request_holds_its_first_time_until_it_is_decided() -> None:
    uow, scheduler = holding_uow(), FakeScheduler()
    request = await handlers.submit_request(submission(), uow.using(scheduler=scheduler))
    first = request.options[0].start
    assert request.hold is not None and request.hold.start == first and list(scheduler.holds) == [request.id]
    # An edit of the first time moves the hold; a window first gives it back.
    later = TimeOption(first + timedelta(hours=2))
    edit = commands.UpdateRequest(TENANT, CLIENT, request.id, request.version, NOW, options=[later])
    moved = await handlers.update_request(edit, uow.using(scheduler=scheduler))
    assert moved.hold is not None and scheduler.holds[request.id].start == later.start
    window = TimeOption(first, first + timedelta(hours=3))
    edit = commands.UpdateRequest(TENANT, CLIENT, request.id, moved.version, NOW, options=[window])
    released = await handlers.update_request(edit, uow.using(scheduler=scheduler))
    assert released.hold is None and scheduler.holds == {}


async def test_the_reconciler_gives_back_holds_no_pending_request_owns_once_their_grace_has_passed() -> None:
    uow, scheduler = holding_uow(), FakeScheduler()
    kept = await handlers.submit_request(submission(), uow.using(scheduler=scheduler))
    # A submission whose transaction failed after scheduling placed its hold: no request owns it.
    orphan = uuid.uuid4()
    await scheduler.hold(SlotToHold(orphan, CLIENT, SERVICE, ANNA, NOW + timedelta(days=2), "REQ-9999"))
    # A just-placed one is spared until its grace has passed (its submission may still be running).
    grace = timedelta(minutes=1)
    assert (
        await hold_handlers.release_orphan_holds(
            commands.ReleaseOrphanHolds(TENANT, NOW, grace=grace, horizon=LIMITS.horizon),
            uow.using(scheduler=scheduler),
        )
        == []
    )
    later = NOW + grace
    released = await hold_handlers.release_orphan_holds(
        commands.ReleaseOrphanHolds(TENANT, later, grace=grace, horizon=LIMITS.horizon), uow.using(scheduler=scheduler)
    )
    assert released == [orphan] and list(scheduler.holds) == [kept.id]
    # A decided request whose hold outlived its decision loses it too.
    uow.stored[kept.id].status = Status.DECLINED
    assert await hold_handlers.release_orphan_holds(
        commands.ReleaseOrphanHolds(TENANT, later, grace=grace, horizon=LIMITS.horizon), uow.using(scheduler=scheduler)
    ) == [kept.id]
    assert scheduler.holds == {}


async def test_a_taken_first_time_refuses_the_request_and_every_decision_gives_the_hold_back() -> None:
    uow = holding_uow()
    taken = FakeScheduler(Conflict("the slot at 10:00 is no longer free", reason="SLOT_TAKEN"))
    with pytest.raises(Conflict):
        await handlers.submit_request(submission(), uow.using(scheduler=taken))
    assert uow.stored == {} and uow.published == []

    scheduler = FakeScheduler()
    roomy = replace(LIMITS, max_open_per_client=5)

    async def submitted(hour: int) -> AppointmentRequest:
        return await handlers.submit_request(submission(hour), uow.using(scheduler=scheduler, limits=roomy))

    held = [await submitted(hour) for hour in (1, 2, 3)]
    approved = await handlers.approve_request(approval(held[0]), uow.using(scheduler=scheduler))
    held.append(await submitted(4))
    # The approval books into the hold: scheduling releases it in the booking's transaction.
    assert scheduler.bookings[-1].hold_id == held[0].id and approved.hold is None
    await handlers.decline_request(
        commands.DeclineRequest(TENANT, held[1].id, "Fully booked", "staff:anna", NOW), uow.using(scheduler=scheduler)
    )
    await handlers.cancel_request(
        commands.CancelRequest(TENANT, CLIENT, held[2].id, NOW), uow.using(scheduler=scheduler)
    )
    await handlers.propose_alternatives(
        commands.ProposeAlternatives(TENANT, held[3].id, [NOW + timedelta(days=3)], None, "", "staff:anna", NOW),
        uow.using(scheduler=scheduler),
    )
    assert set(scheduler.holds) == {held[0].id}  # only the approved one's, which scheduling released itself
    assert all(uow.stored[r.id].hold is None for r in held)


async def test_a_cancelled_appointment_cancels_its_request_and_offers_its_time_to_the_waitlist() -> None:
    uow = FakeUnitOfWork()
    request = await handlers.submit_request(submission(), uow)
    approved = await handlers.approve_request(approval(request), uow)
    assert approved.appointment_id is not None
    slot_start = NOW + timedelta(days=2, hours=1)
    freed = FreedSlot(SERVICE, ANNA, slot_start, slot_start + timedelta(minutes=45))
    waiting = uuid.uuid4()
    day = slot_start.date()
    await waitlist_handlers.join_waitlist(
        commands.JoinWaitlist(TENANT, waiting, SERVICE, None, day, day, None, None, "", "client", NOW), uow
    )
    cancelled = await handlers.appointment_cancelled(
        commands.CancelRequestOfAppointment(TENANT, approved.appointment_id, "client", NOW), uow
    )
    assert cancelled is not None and (cancelled.status, cancelled.cancelled_by) == (Status.CANCELLED, "client")
    # Scheduling says which time the appointment held; the first waiting client it suits is offered it.
    offered = await waitlist_handlers.offer_times_of_appointment(
        commands.OfferTimesOfAppointment(TENANT, approved.appointment_id, NOW),
        uow.using(scheduler=FakeScheduler(times=[freed])),
    )
    assert [(e.client_id, e.offers[0].slot) for e in offered] == [(waiting, freed)]
    # An appointment no request booked changes no request.
    assert (
        await handlers.appointment_cancelled(
            commands.CancelRequestOfAppointment(TENANT, uuid.uuid4(), "staff", NOW), uow
        )
        is None
    )


async def test_a_client_leaves_only_its_own_waitlist_entry_and_staff_any() -> None:
    uow = FakeUnitOfWork()
    day = (NOW + timedelta(days=2)).date()
    entry = await waitlist_handlers.join_waitlist(
        commands.JoinWaitlist(TENANT, CLIENT, SERVICE, None, day, day, None, None, "", "client", NOW), uow
    )
    with pytest.raises(NotFound):
        await waitlist_handlers.leave_waitlist(commands.LeaveWaitlist(TENANT, entry.id, uuid.uuid4(), NOW), uow)
    assert uow.entries[entry.id].status is EntryStatus.WAITING
    left = await waitlist_handlers.leave_waitlist(commands.LeaveWaitlist(TENANT, entry.id, None, NOW), uow)
    assert left.status is EntryStatus.LEFT and uow.entries[entry.id].status is EntryStatus.LEFT
    with pytest.raises(FailedPrecondition) as refused:
        await waitlist_handlers.leave_waitlist(commands.LeaveWaitlist(TENANT, entry.id, CLIENT, NOW), uow)
    assert refused.value.reason == "WAITLIST_ENTRY_CLOSED"


async def test_request_settings_keep_their_holds_within_bounds() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(InvalidArgument) as invalid:
        await handlers.update_request_settings(commands.UpdateRequestSettings(TENANT, "", 14, 120, 0), uow)
    assert [v.field for v in invalid.value.violations] == ["proposal_hold_minutes"]
    saved = await handlers.update_request_settings(
        commands.UpdateRequestSettings(TENANT, "https://tickets.example.com/{id}", 60, 30, 0, True), uow
    )
    assert (saved.proposal_hold, saved.offer_hold, saved.tentative_holds) == (
        timedelta(hours=1),
        timedelta(minutes=30),
        True,
    )


async def test_the_reconciliation_pass_acts_for_each_business_and_counts_what_it_gave_back() -> None:
    uow, scheduler = holding_uow(), FakeScheduler()
    orphan = uuid.uuid4()
    await scheduler.hold(SlotToHold(orphan, CLIENT, SERVICE, ANNA, NOW + timedelta(days=2), "REQ-9999"))
    reconcile = commands.ReconcileHolds(NOW + timedelta(minutes=5), grace=timedelta(minutes=1), horizon=LIMITS.horizon)
    assert await hold_handlers.reconcile_holds(reconcile, uow.using(scheduler=scheduler)) == 1
    assert scheduler.holds == {}


@pytest.mark.parametrize(
    ("approval_until", "held"),
    [
        (NOW + timedelta(seconds=1), True),
        # Lapsed by itself at its instant: nothing has to lift it.
        (NOW, False),
        (None, False),
    ],
)
async def test_a_client_whose_requests_need_approval_has_them_held_for_it(
    approval_until: datetime | None, held: bool
) -> None:
    uow = FakeUnitOfWork()
    if approval_until is not None:
        uow.approval_until[CLIENT] = approval_until
    request = await handlers.submit_request(submission(), uow)
    assert request.status is Status.PENDING and request.held_for_approval is held


async def test_a_client_whose_requests_need_approval_cannot_take_a_waitlist_offer_by_itself() -> None:
    uow = FakeUnitOfWork()
    slot_start = NOW + timedelta(days=2, hours=1)
    day = slot_start.date()
    await waitlist_handlers.join_waitlist(
        commands.JoinWaitlist(TENANT, CLIENT, SERVICE, None, day, day, None, None, "", "client", NOW), uow
    )
    offered = await waitlist_handlers.offer_freed_time(
        commands.OfferFreedTime(TENANT, FreedSlot(SERVICE, ANNA, slot_start, slot_start + timedelta(minutes=45)), NOW),
        uow,
    )
    assert offered is not None
    uow.approval_until[CLIENT] = NOW + timedelta(days=14)
    scheduler = FakeScheduler()
    with pytest.raises(FailedPrecondition) as refused:
        await waitlist_handlers.accept_offer(
            commands.AcceptWaitlistOffer(TENANT, CLIENT, offered.offers[0].id, NOW), uow.using(scheduler=scheduler)
        )
    assert refused.value.reason == "APPROVAL_REQUIRED" and scheduler.bookings == []
