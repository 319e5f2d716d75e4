"""The AppointmentRequest aggregate: option rules, references, edits, the lifecycle (cancellation after
approval included) and the expiry rule, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument
from portal_requests_svc.domain import events
from portal_requests_svc.domain.requests import (
    ALLOWED_TRANSITIONS,
    BOOKING_BLOCKED,
    CLIENT_DELETED,
    CONCURRENT_CHANGE,
    NOT_PENDING,
    TOO_MANY_OPEN_REQUESTS,
    UNCHANGED,
    AppointmentRequest,
    ServiceTerms,
    Status,
    Technician,
    TimeOption,
    check_client_may_request,
    check_open_limit,
    check_ticket,
    check_ticket_url_pattern,
    reference_number,
    ticket_url,
)

NOW = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
HORIZON = timedelta(days=90)
STAFF = "staff:" + str(uuid.uuid4())
HAIRCUT = ServiceTerms(uuid.uuid4(), "Haircut", 45)
ANNA = Technician(uuid.uuid4(), "Anna")


def submit(
    *options: TimeOption, message: str = "", timezone: str = "Europe/Berlin", service: ServiceTerms = HAIRCUT
) -> AppointmentRequest:
    request = AppointmentRequest.submit(
        tenant_id=uuid.uuid4(),
        request_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        service=service,
        preferred_staff=None,
        options=options or (TimeOption(NOW + timedelta(days=1)),),
        message=message,
        timezone=timezone,
        business_timezone="America/New_York",
        submission_id=None,
        now=NOW,
        horizon=HORIZON,
    )
    request.register(1042)
    return request


def approve(request: AppointmentRequest, **changes: object) -> None:
    start = NOW + timedelta(days=1)
    request.approve(
        **{  # type: ignore[arg-type]
            "appointment_id": uuid.uuid4(),
            "technician": ANNA,
            "start": start,
            "end": start + timedelta(minutes=45),
            "internal_notes": "",
            "ticket": "",
            "actor": STAFF,
            "now": NOW,
        }
        | changes
    )


def fields(exc: pytest.ExceptionInfo[InvalidArgument]) -> set[str]:
    return {v.field for v in exc.value.violations}


def test_a_submitted_request_is_pending_with_one_event_and_one_history_entry() -> None:
    window = TimeOption(NOW + timedelta(days=2, hours=1), NOW + timedelta(days=2, hours=4))
    request = submit(TimeOption(NOW + timedelta(days=1)), window, message="  Anna if possible  ")
    assert request.status is Status.PENDING and request.message == "Anna if possible"
    assert request.expires_at == window.end
    [event] = request.events
    assert isinstance(event, events.RequestSubmitted) and len(event.options) == 2
    assert (event.facts.reference, event.facts.service_name, event.facts.duration_minutes) == (
        "REQ-1042",
        "Haircut",
        45,
    )
    assert (event.facts.client_timezone, event.facts.business_timezone) == ("Europe/Berlin", "America/New_York")
    assert event.facts.description == "Anna if possible"
    assert [h.action for h in request.new_history] == ["submitted"]
    assert request.new_history[0].details["reference"] == "REQ-1042"


def test_references_are_read_with_or_without_the_prefix() -> None:
    assert [reference_number(t) for t in ("REQ-1042", "req-1042", " 1042 ", "REQ-", "Mia", "12a")] == [
        1042,
        1042,
        1042,
        None,
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ((), "options"),
        (tuple(TimeOption(NOW + timedelta(days=d)) for d in range(1, 7)), "options"),
        ((TimeOption(NOW - timedelta(minutes=1)),), "options[0].start"),
        ((TimeOption(NOW + timedelta(days=1)), TimeOption(NOW + timedelta(days=91))), "options[1].start"),
        ((TimeOption(NOW + timedelta(days=1), NOW + timedelta(days=1)),), "options[0].end"),
        ((TimeOption(NOW + timedelta(days=1), NOW + timedelta(days=1, hours=13)),), "options[0].end"),
        ((TimeOption(NOW + timedelta(days=1)), TimeOption(NOW + timedelta(days=1))), "options[1]"),
    ],
)
def test_bad_options_are_refused_naming_the_option(options: tuple[TimeOption, ...], field: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        AppointmentRequest.submit(
            tenant_id=uuid.uuid4(),
            request_id=uuid.uuid4(),
            client_id=uuid.uuid4(),
            service=HAIRCUT,
            preferred_staff=None,
            options=options,
            message="",
            timezone="UTC",
            business_timezone="UTC",
            submission_id=None,
            now=NOW,
            horizon=HORIZON,
        )
    assert field in fields(exc)


def test_a_too_long_message_and_an_unknown_timezone_are_refused() -> None:
    with pytest.raises(InvalidArgument) as exc:
        submit(message="x" * 1001)
    assert fields(exc) == {"message"}
    with pytest.raises(InvalidArgument) as exc:
        submit(timezone="Mars/Olympus")
    assert fields(exc) == {"timezone"}


def test_approval_records_technician_time_notes_and_ticket_and_is_final() -> None:
    request = submit()
    request.events.clear()
    appointment_id = uuid.uuid4()
    approve(request, appointment_id=appointment_id, internal_notes=" Bring the big chair ", ticket="T-77")
    assert (request.status, request.appointment_id, request.decided_by) == (Status.APPROVED, appointment_id, STAFF)
    assert (request.technician_name, request.internal_notes, request.ticket) == ("Anna", "Bring the big chair", "T-77")
    [event] = request.events
    assert isinstance(event, events.RequestApproved)
    assert (event.facts.technician_name, event.facts.start, event.facts.end) == ("Anna", request.start, request.end)
    for decide in (
        lambda: request.decline(reason="no", actor=STAFF, now=NOW),
        lambda: approve(request),
        lambda: request.update(
            service=None,
            preferred_staff=UNCHANGED,
            options=None,
            message="x",
            actor="client:x",
            now=NOW,
            horizon=HORIZON,
        ),
    ):
        with pytest.raises(FailedPrecondition) as refused:
            decide()
        assert refused.value.reason == NOT_PENDING
    assert request.status is Status.APPROVED


def test_bad_notes_and_tickets_are_refused_naming_the_field() -> None:
    request = submit()
    with pytest.raises(InvalidArgument) as exc:
        approve(request, internal_notes="x" * 4001)
    assert fields(exc) == {"internal_notes"}
    with pytest.raises(InvalidArgument) as exc:
        approve(request, ticket="T 77/../x")
    assert fields(exc) == {"ticket"}
    assert request.status is Status.PENDING


def test_a_ticket_becomes_a_link_through_the_business_pattern() -> None:
    assert check_ticket(" 4711 ") == "4711"
    pattern = check_ticket_url_pattern("https://desk.example.com/tickets/{id}")
    assert ticket_url(pattern, "4711") == "https://desk.example.com/tickets/4711"
    assert ticket_url("", "4711") == "" and ticket_url(pattern, "") == ""
    for bad in ("desk.example.com/{id}", "https://desk.example.com/tickets/", "ftp://x/{id}"):
        with pytest.raises(InvalidArgument) as exc:
            check_ticket_url_pattern(bad)
        assert fields(exc) == {"ticket_url_pattern"}


def test_a_decline_needs_a_reason_the_client_will_see() -> None:
    request = submit()
    with pytest.raises(InvalidArgument):
        request.decline(reason="   ", actor=STAFF, now=NOW)
    assert request.status is Status.PENDING
    request.decline(reason="Fully booked; Thursday 10:00 works", actor=STAFF, now=NOW)
    assert (request.status, request.decline_reason) == (Status.DECLINED, "Fully booked; Thursday 10:00 works")
    assert [h.action for h in request.new_history] == ["submitted", "declined"]
    assert isinstance(request.events[-1], events.RequestDeclined) and request.events[-1].facts.reference == "REQ-1042"


def test_a_client_edits_only_what_it_gives_and_each_edit_is_recorded() -> None:
    request = submit(message="first")
    later = TimeOption(NOW + timedelta(days=3))
    colour = ServiceTerms(uuid.uuid4(), "Colour", 90)
    request.update(
        service=colour, preferred_staff=ANNA, options=[later], message=None, actor="client:c", now=NOW, horizon=HORIZON
    )
    assert (request.service_name, request.duration_minutes, request.preferred_staff_name) == ("Colour", 90, "Anna")
    assert (request.options, request.message, request.expires_at) == ((later,), "first", later.start)
    event = request.events[-1]
    assert isinstance(event, events.RequestUpdated)
    assert event.changed == ("service_id", "preferred_staff_id", "options") and event.version == 2
    assert request.new_history[-1].details == {"changed": ["service_id", "preferred_staff_id", "options"]}
    # An edit that changes nothing records nothing.
    request.update(
        service=None,
        preferred_staff=UNCHANGED,
        options=None,
        message="first",
        actor="client:c",
        now=NOW,
        horizon=HORIZON,
    )
    assert len(request.events) == 2
    with pytest.raises(InvalidArgument) as exc:
        request.update(
            service=None,
            preferred_staff=None,
            options=[TimeOption(NOW - timedelta(hours=1))],
            message=None,
            actor="client:c",
            now=NOW,
            horizon=HORIZON,
        )
    assert fields(exc) == {"options[0].start"}


def test_an_edit_or_decision_on_an_older_version_is_refused() -> None:
    request = submit()
    request.check_version(0)  # no version: whatever it is now
    request.check_version(request.version)
    with pytest.raises(Conflict) as exc:
        request.check_version(request.version + 1)
    assert exc.value.reason == CONCURRENT_CHANGE


def test_cancelling_is_final_and_an_approved_request_can_be_cancelled_too() -> None:
    pending = submit()
    pending.cancel(by="client", actor=f"client:{pending.client_id}", now=NOW)
    assert (pending.status, pending.cancelled_by, pending.decided_at) == (Status.CANCELLED, "client", NOW)
    event = pending.events[-1]
    assert isinstance(event, events.RequestCancelled) and not event.was_approved and event.appointment_id is None
    with pytest.raises(FailedPrecondition):
        approve(pending)
    with pytest.raises(FailedPrecondition):
        pending.cancel(by="client", actor="client:x", now=NOW)

    approved = submit()
    approve(approved)
    approved.cancel(by="client", actor=f"client:{approved.client_id}", now=NOW + timedelta(hours=1))
    event = approved.events[-1]
    assert isinstance(event, events.RequestCancelled)
    assert event.was_approved and event.appointment_id == approved.appointment_id
    assert approved.decided_by == STAFF  # the approval stays who decided
    assert [h.action for h in approved.new_history] == ["submitted", "approved", "cancelled"]


def test_every_transition_the_domain_allows_is_the_schemas() -> None:
    assert {s: sorted(t) for s, t in ALLOWED_TRANSITIONS.items()} == {
        Status.PENDING: sorted({Status.PROPOSED, Status.APPROVED, Status.DECLINED, Status.CANCELLED, Status.EXPIRED}),
        Status.PROPOSED: sorted({Status.APPROVED, Status.DECLINED, Status.CANCELLED, Status.EXPIRED}),
        Status.APPROVED: [Status.CANCELLED],
        Status.DECLINED: [],
        Status.CANCELLED: [],
        Status.EXPIRED: [],
    }
    declined = submit()
    declined.decline(reason="no", actor=STAFF, now=NOW)
    with pytest.raises(FailedPrecondition):
        declined.cancel(by="client", actor="client:x", now=NOW)


def test_a_request_expires_only_once_every_option_has_passed() -> None:
    first, window = TimeOption(NOW + timedelta(hours=2)), TimeOption(NOW + timedelta(hours=5), NOW + timedelta(hours=8))
    request = submit(first, window)
    assert not request.has_passed(NOW + timedelta(hours=3))  # the first passed, the window has not
    with pytest.raises(FailedPrecondition):
        request.expire(NOW + timedelta(hours=7))  # still inside the window
    request.expire(NOW + timedelta(hours=8))
    assert (request.status, request.decided_by) == (Status.EXPIRED, "system")
    assert isinstance(request.events[-1], events.RequestExpired)


def test_who_may_request() -> None:
    check_client_may_request(deleted=False, blocked=False)
    with pytest.raises(FailedPrecondition) as exc:
        check_client_may_request(deleted=False, blocked=True)
    assert exc.value.reason == BOOKING_BLOCKED
    with pytest.raises(FailedPrecondition) as exc:
        check_client_may_request(deleted=True, blocked=False)
    assert exc.value.reason == CLIENT_DELETED
    check_open_limit(4, 5)
    with pytest.raises(FailedPrecondition) as exc:
        check_open_limit(5, 5)
    assert exc.value.reason == TOO_MANY_OPEN_REQUESTS


def propose(request: AppointmentRequest, *days: int, hold: timedelta = timedelta(hours=48)) -> None:
    request.propose(
        alternatives=[NOW + timedelta(days=d) for d in days or (2, 3)],
        technician=ANNA,
        note="Thursday is free",
        hold=hold,
        actor=STAFF,
        now=NOW,
    )


def test_a_counter_offer_holds_one_to_three_future_times_and_the_client_takes_one() -> None:
    request = submit()
    for bad, field_name in (((), "alternatives"), ((1, 2, 3, 4), "alternatives"), ((2, 2), "alternatives[1]")):
        with pytest.raises(InvalidArgument) as exc:
            propose(request, *bad) if bad else request.propose(
                alternatives=[], technician=None, note="", hold=timedelta(hours=1), actor=STAFF, now=NOW
            )
        assert field_name in fields(exc)
    assert request.status is Status.PENDING
    propose(request, 2, 3)
    assert (request.status, request.hold_until, request.expires_at) == (
        Status.PROPOSED,
        NOW + timedelta(hours=48),
        NOW + timedelta(hours=48),
    )
    proposed = request.events[-1]
    assert isinstance(proposed, events.RequestAlternativesProposed)
    assert (proposed.technician_name, proposed.note, len(proposed.alternatives)) == ("Anna", "Thursday is free", 2)
    with pytest.raises(FailedPrecondition):
        approve(request)  # staff approve pending requests; a proposal is the client's to answer
    with pytest.raises(InvalidArgument) as exc:
        request.require_acceptable(2, NOW)
    assert fields(exc) == {"alternative"}
    start = request.require_acceptable(1, NOW)
    request.accept_alternative(
        alternative=1,
        appointment_id=uuid.uuid4(),
        technician=ANNA,
        start=start,
        end=start + timedelta(minutes=45),
        now=NOW + timedelta(hours=1),
    )
    assert (request.status, request.start, request.decided_by) == (
        Status.APPROVED,
        NOW + timedelta(days=3),
        f"client:{request.client_id}",
    )
    assert isinstance(request.events[-1], events.RequestAlternativeAccepted)
    with pytest.raises(FailedPrecondition) as refused:
        request.require_acceptable(0, NOW)
    assert refused.value.reason == "REQUEST_NOT_PROPOSED"


def test_a_proposal_expires_with_its_hold_and_is_held_no_longer_than_its_last_time() -> None:
    request = submit()
    propose(request, 2, hold=timedelta(days=7))
    assert request.hold_until == NOW + timedelta(days=2)  # no use once the time itself has passed
    with pytest.raises(FailedPrecondition) as refused:
        request.require_acceptable(0, NOW + timedelta(days=2))
    assert refused.value.reason == "PROPOSAL_EXPIRED"
    request.expire(NOW + timedelta(days=2))
    assert (request.status, request.decided_by) == (Status.EXPIRED, "system")
    assert request.new_history[-1].details == {
        "from": "proposed",
        "to": "expired",
        "hold_until": request.hold_until.isoformat(),
    }
