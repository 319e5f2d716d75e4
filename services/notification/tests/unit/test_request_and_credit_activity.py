"""Timeline summaries of requests, the waitlist and the credits ledger, from the events as they arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from atrium.membership_billing.v1 import events_pb2 as billing_events
from atrium.portal_requests.v1 import events_pb2 as request_events
from atrium.portal_requests.v1 import portal_requests_pb2 as requests_pb
from notification_svc.domain.model import anonymous_summary
from notification_svc.entrypoints.consumers import BILLING_TIMELINE, REQUEST_TIMELINE, Timeline
from platform_core.grpc.values import timestamp

# Monday 30 March 2026, 09:00 in Berlin (summer time began the day before: 07:00 UTC).
START = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
FACTS = request_events.RequestFacts(reference="REQ-7", service_name="Massage", business_timezone="Europe/Berlin")
WAITING = request_events.WaitlistFacts(service_name="Massage", business_timezone="Europe/Berlin")


def summary(timeline: Timeline, payload: Any) -> tuple[str, str]:
    kind, summarize = timeline[type(payload)]
    return kind, summarize(payload)


def test_each_request_step_reads_on_the_business_clock() -> None:
    option = requests_pb.TimeOption(start=timestamp(START))
    later = requests_pb.TimeOption(start=timestamp(START + timedelta(days=1)))
    proposed = request_events.RequestAlternativesProposed(
        alternatives=[option, later], hold_until=timestamp(START - timedelta(hours=15)), facts=FACTS
    )
    steps = [
        request_events.RequestUpdated(options=[option, later], facts=FACTS),
        request_events.RequestApproved(start=timestamp(START), technician_name="Maria", facts=FACTS),
        request_events.RequestApproved(),
        proposed,
        request_events.RequestAlternativeAccepted(start=timestamp(START), technician_name="Maria", facts=FACTS),
        request_events.RequestCancelled(cancelled_by="client", was_approved=True, facts=FACTS),
        request_events.RequestCancelled(cancelled_by="staff", facts=FACTS),
        request_events.RequestWithdrawn(),
        request_events.RequestExpired(facts=FACTS),
    ]
    assert [summary(REQUEST_TIMELINE, p) for p in steps] == [
        ("request.updated", "Appointment request REQ-7 changed by the client (2 preferred times)"),
        (
            "request.approved",
            "Appointment request REQ-7 approved: Massage booked for Mon 30 Mar 2026, 09:00 Europe/Berlin with Maria",
        ),
        ("request.approved", "Appointment request approved: appointment booked"),
        (
            "request.alternatives_proposed",
            "Other times proposed for request REQ-7: Mon 30 Mar 2026, 09:00 Europe/Berlin; "
            "Tue 31 Mar 2026, 09:00 Europe/Berlin (held until Sun 29 Mar 2026, 18:00 Europe/Berlin)",
        ),
        (
            "request.alternative_accepted",
            "Proposed time accepted: Massage on Mon 30 Mar 2026, 09:00 Europe/Berlin with Maria",
        ),
        ("request.cancelled", "Appointment request REQ-7 cancelled by the client with its appointment"),
        ("request.cancelled", "Appointment request REQ-7 cancelled by staff"),
        ("request.withdrawn", "Appointment request withdrawn by the client"),
        ("request.expired", "Appointment request REQ-7 expired before a time was agreed"),
    ]


def test_each_waitlist_step_names_the_service_and_the_offered_time() -> None:
    steps = [
        request_events.WaitlistJoined(
            facts=WAITING, from_date="2026-04-01", to_date="2026-04-03", window_start="08:00", window_end="12:00"
        ),
        request_events.WaitlistOfferMade(
            facts=WAITING, start=timestamp(START), hold_until=timestamp(START - timedelta(hours=2))
        ),
        request_events.WaitlistOfferExpired(facts=WAITING),
        request_events.WaitlistOfferAccepted(facts=WAITING, start=timestamp(START)),
    ]
    assert [summary(REQUEST_TIMELINE, p) for p in steps] == [
        ("waitlist.joined", "Joined the waitlist for Massage: 2026-04-01 to 2026-04-03, 08:00-12:00"),
        (
            "waitlist.offer_made",
            "Waitlist offer: Massage on Mon 30 Mar 2026, 09:00 Europe/Berlin, "
            "held until Mon 30 Mar 2026, 07:00 Europe/Berlin",
        ),
        ("waitlist.offer_expired", "Waitlist offer for Massage lapsed untaken"),
        ("waitlist.offer_accepted", "Waitlist offer taken: Massage booked for Mon 30 Mar 2026, 09:00 Europe/Berlin"),
    ]


def test_credits_and_check_ins_say_how_much_of_what() -> None:
    steps = [
        billing_events.CreditsCharged(amount=10, unit="session", credit_type_name="Yoga 10-pack"),
        billing_events.CreditsUsed(amount=1, unit="session", credit_type_name="Yoga 10-pack", balance_after=9),
        billing_events.CreditsExpired(amount=3, unit="minutes", credit_type_name="Sauna"),
        billing_events.CreditsRestored(amount=2500, unit="EUR", credit_type_name="Gift card"),
        billing_events.CheckedIn(method="card", units_used=1, appointment_id=""),
        billing_events.CheckedIn(method="staff", appointment_id="01890a5d-ac96-774b-bcce-b302099a8057"),
    ]
    assert [summary(BILLING_TIMELINE, p) for p in steps] == [
        ("billing.credits_charged", "Credits given: 10 sessions of Yoga 10-pack"),
        ("billing.credits_used", "Credits used: 1 session of Yoga 10-pack, 9 sessions left"),
        ("billing.credits_expired", "Credits expired: 3 minutes of Sauna unused"),
        ("billing.credits_restored", "Credits given back: 25.00 EUR of Gift card"),
        ("billing.checked_in", "Checked in with the membership card, 1 credit used"),
        ("billing.checked_in", "Checked in for an appointment"),
    ]


def test_every_kind_on_these_timelines_has_its_own_erased_wording() -> None:
    for kind, _ in (*REQUEST_TIMELINE.values(), *BILLING_TIMELINE.values()):
        assert anonymous_summary(kind) != "Activity recorded", kind
