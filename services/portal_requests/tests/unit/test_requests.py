"""The AppointmentRequest aggregate: option rules, the lifecycle and the expiry rule, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from platform_core.errors import FailedPrecondition, InvalidArgument
from portal_requests_svc.domain import events
from portal_requests_svc.domain.requests import (
    BOOKING_BLOCKED,
    CLIENT_DELETED,
    NOT_PENDING,
    TOO_MANY_OPEN_REQUESTS,
    AppointmentRequest,
    Status,
    TimeOption,
    check_client_may_request,
    check_open_limit,
)

NOW = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
HORIZON = timedelta(days=90)
STAFF = "staff:" + str(uuid.uuid4())


def submit(*options: TimeOption, message: str = "", timezone: str = "Europe/Berlin") -> AppointmentRequest:
    return AppointmentRequest.submit(
        tenant_id=uuid.uuid4(),
        request_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        service_id=uuid.uuid4(),
        preferred_staff_id=None,
        options=options or (TimeOption(NOW + timedelta(days=1)),),
        message=message,
        timezone=timezone,
        submission_id=None,
        now=NOW,
        horizon=HORIZON,
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
    assert [h.action for h in request.new_history] == ["submitted"]


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
            service_id=uuid.uuid4(),
            preferred_staff_id=None,
            options=options,
            message="",
            timezone="UTC",
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


def test_approval_records_the_appointment_and_is_final() -> None:
    request = submit()
    request.events.clear()
    appointment_id = uuid.uuid4()
    request.approve(appointment_id=appointment_id, start=NOW + timedelta(days=1), actor=STAFF, now=NOW)
    assert (request.status, request.appointment_id, request.decided_by) == (Status.APPROVED, appointment_id, STAFF)
    assert isinstance(request.events[0], events.RequestApproved)
    for decide in (
        lambda: request.decline(reason="no", actor=STAFF, now=NOW),
        lambda: request.withdraw(actor="client:x", now=NOW),
        lambda: request.approve(appointment_id=uuid.uuid4(), start=NOW, actor=STAFF, now=NOW),
    ):
        with pytest.raises(FailedPrecondition) as refused:
            decide()
        assert refused.value.reason == NOT_PENDING
    assert request.status is Status.APPROVED


def test_a_decline_needs_a_reason_the_client_will_see() -> None:
    request = submit()
    with pytest.raises(InvalidArgument):
        request.decline(reason="   ", actor=STAFF, now=NOW)
    assert request.status is Status.PENDING
    request.decline(reason="Fully booked; Thursday 10:00 works", actor=STAFF, now=NOW)
    assert (request.status, request.decline_reason) == (Status.DECLINED, "Fully booked; Thursday 10:00 works")
    assert [h.action for h in request.new_history] == ["submitted", "declined"]


def test_a_withdrawn_request_cannot_be_approved() -> None:
    request = submit()
    request.withdraw(actor=f"client:{request.client_id}", now=NOW)
    assert request.status is Status.WITHDRAWN
    with pytest.raises(FailedPrecondition):
        request.approve(appointment_id=uuid.uuid4(), start=NOW, actor=STAFF, now=NOW)


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
